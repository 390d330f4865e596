"""`certdetect check`: every offline check on every rule and case, all findings at once.

The build stops at the first bad file; a contributor (and a pre-commit hook) wants the whole list.
So each file is loaded on its own: one that cannot be read at all becomes an error finding
(exit code 2), and the others go through the schema, pySigma's validators, the project's
conventions, the case coverage and the unknown-field check (exit code 1 on any finding).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from converter.core.cases import Case, case_paths, load_case
from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.rules import RuleFile, load_rule, rule_paths
from converter.core.targets import TARGETS, TargetSpec
from converter.core.textfiles import line_of, load_yaml, read_text, shown_path, within
from converter.verify.fields import field_line, field_pipeline, unknown_fields_message, unknown_in

from .conventions import check_conventions
from .coverage import check_coverage
from .findings import Finding, YamlLines
from .schema import check_schema
from .validators import NETWORK_VALIDATORS, load_validator, run_validators

INPUT = "input"
FIELDS = "fields"


@dataclass
class CheckReport:
    findings: list[Finding]
    rules: int
    cases: int
    skipped: dict[str, str] = field(default_factory=lambda: dict(NETWORK_VALIDATORS))

    @property
    def exit_code(self) -> int:
        if any(finding.error for finding in self.findings):
            return 2
        return 1 if self.findings else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.findings,
            "rules": self.rules,
            "cases": self.cases,
            "findings": [finding.to_dict() for finding in self.findings],
            "skipped_validators": [
                {"name": name, "needs": f"network ({data})"} for name, data in self.skipped.items()
            ],
        }


_ID = re.compile(r"^id:\s*['\"]?([0-9A-Fa-f-]{36})", re.MULTILINE)


def _stated_id(project: Project, path: Path, shown: str) -> str | None:
    """The `id:` a rule file that cannot be loaded states, if it can be read safely at all."""
    try:
        within(path, project.root, shown)
        found = _ID.search(read_text(path, shown))
    except InputError:
        return None
    return found.group(1).lower() if found else None


def _load_rules(project: Project) -> tuple[list[RuleFile], list[Finding], dict[str, str | None]]:
    """Loaded rules, findings, and stem -> id (when it can be read) of the files not loaded."""
    rules: list[RuleFile] = []
    findings: list[Finding] = []
    unloaded: dict[str, str | None] = {}
    seen: dict[str, RuleFile] = {}
    for path in rule_paths(project):
        shown = shown_path(path, project.root)
        try:
            within(path, project.root, shown)
            rule = load_rule(path, shown)
        except InputError as error:
            findings.append(Finding(shown, error.line, INPUT, error.message, error=True))
            unloaded[path.stem] = _stated_id(project, path, shown)
            continue
        if rule.id in seen:
            findings.append(
                Finding(
                    shown,
                    line_of(rule.text, rule.id),
                    "convention",
                    f"duplicate rule id {rule.id} (also in {seen[rule.id].path}); "
                    "give it a new UUID",
                )
            )
            continue
        seen[rule.id] = rule
        rules.append(rule)
    return rules, findings, unloaded


def _load_cases(project: Project) -> tuple[list[Case], dict[str, str], list[Finding]]:
    cases: list[Case] = []
    texts: dict[str, str] = {}
    findings: list[Finding] = []
    for path in case_paths(project):
        shown = shown_path(path, project.root)
        case_id = path.relative_to(project.cases_dir).with_suffix("").as_posix()
        try:
            within(path, project.root, shown)
            case = load_case(path, shown, case_id)
        except InputError as error:
            findings.append(Finding(shown, error.line, INPUT, error.message, error=True))
            continue
        cases.append(case)
        texts[shown] = read_text(path, shown)
    return cases, texts, findings


def _field_findings(
    project: Project, rules: Sequence[RuleFile], targets: Sequence[TargetSpec]
) -> list[Finding]:
    findings = []
    for target in targets:
        pipeline = field_pipeline(target, project.root)
        for rule in rules:
            unknown = unknown_in(rule, target, pipeline)
            if not unknown:
                continue
            message = unknown_fields_message(target, unknown)
            findings.append(
                Finding(rule.path, field_line(rule.text, unknown[0]) or 1, FIELDS, message)
            )
    return findings


def run_checks(
    project: Project, paths: Sequence[Path] | None = None, targets: Sequence[TargetSpec] = TARGETS
) -> CheckReport:
    """Check the whole project; with `paths`, report only findings in files under them."""
    if not rule_paths(project):
        raise InputError(
            project.relative(project.rules_dir),
            "no Sigma rules (*.yml) found; add one with `certdetect new`",
        )
    rules, findings, unloaded = _load_rules(project)
    cases, texts, case_errors = _load_cases(project)
    findings += case_errors
    for rule in rules:
        findings += check_schema(load_yaml(rule.text, rule.path), YamlLines(rule.text), rule.path)
    findings += run_validators(load_validator(project), rules)
    for rule in rules:
        findings += check_conventions(rule)
    findings += check_coverage(rules, cases, texts, unloaded)
    findings += _field_findings(project, rules, targets)
    if paths is not None:
        selected = [PurePosixPath(project.relative(path)) for path in paths]
        findings = [f for f in findings if _under(PurePosixPath(f.path), selected)]
    return CheckReport(
        findings=sorted(set(findings), key=lambda f: (f.path, f.line or 0, f.check, f.message)),
        rules=len(rules),
        cases=len(cases),
    )


def _under(path: PurePosixPath, selected: Sequence[PurePosixPath]) -> bool:
    return any(chosen in (path, *path.parents) for chosen in selected)
