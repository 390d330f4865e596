"""Every rule has cases, and every case names existing rules.

A rule is only verified against what its cases declare: with no case that must match, a query
that matches nothing passes; with no look-alike that must not match, a query that matches
everything passes. So each rule needs at least one case expecting it, and at least one case in its
own folder (`cases/<rule stem>/`) that does not. A case folder that names no rule, or an `expect`
entry that is no rule's id, is a case nobody verifies.
"""

from __future__ import annotations

from collections.abc import Sequence

from converter.core.cases import Case
from converter.core.rules import RuleFile
from converter.core.textfiles import line_of, lines_matching, lines_with

from .conventions import EXAMPLE
from .findings import Finding

CHECK = "cases"
PLACEHOLDER = "TODO"


def check_coverage(
    rules: Sequence[RuleFile],
    cases: Sequence[Case],
    texts: dict[str, str],
    unloaded: dict[str, str | None] | None = None,
) -> list[Finding]:
    """`texts`: each case's file text by its path, for line numbers. `unloaded`: stem -> id of
    rule files that could not be loaded (already reported); their cases are not blamed."""
    findings: list[Finding] = []
    unloaded = unloaded or {}
    stems = {rule.stem for rule in rules} | set(unloaded)
    ids = {rule.id for rule in rules} | {i for i in unloaded.values() if i}
    for rule in rules:
        line = line_of(rule.text, rule.id) or 1
        if not any(rule.id in case.expect for case in cases):
            findings.append(
                Finding(
                    rule.path,
                    line,
                    CHECK,
                    f'no case expects this rule; add cases/{rule.stem}/<name>.json with "expect": '
                    f'["{rule.id}"]',
                )
            )
        if not any(case.folder == rule.stem and rule.id not in case.expect for case in cases):
            findings.append(
                Finding(
                    rule.path,
                    line,
                    CHECK,
                    f"no look-alike case; add one under cases/{rule.stem}/ that must not match "
                    '("expect" without this rule\'s id)',
                )
            )
    for case in cases:
        text = texts.get(case.path, "")
        if case.folder not in stems:
            findings.append(
                Finding(
                    case.path,
                    1,
                    CHECK,
                    f"folder {case.folder!r} names no rule in sigma/; put the case in "
                    "cases/<rule file name without .yml>/",
                )
            )
        if case.folder in unloaded and not unloaded[case.folder]:
            continue  # the rule's id is unknown: its file could not be read
        for rule_id in sorted(case.expect - ids):
            findings.append(
                Finding(
                    case.path,
                    line_of(text, rule_id) or 1,
                    CHECK,
                    f"expects unknown rule id {rule_id}; use the id of a rule in sigma/",
                )
            )
        for line in lines_with(text, PLACEHOLDER):
            findings.append(
                Finding(case.path, line, CHECK, f"replace the {PLACEHOLDER} left by certdetect new")
            )
        for line in lines_matching(text, EXAMPLE):
            message = "replace the example event left by certdetect new"
            findings.append(Finding(case.path, line, CHECK, message))
    return findings
