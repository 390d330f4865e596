"""This project's rule conventions, on top of the Sigma schema and SigmaHQ's validators.

- The file is `sigma/<product>/<category>/<prefix><name>.yml` (service log sources as SigmaHQ
  files them: `sigma/linux/auditd/lnx_auditd_*.yml`, `sigma/network/zeek/zeek_<log>_*.yml`),
  the prefix being SigmaHQ's for the log source (SigmaHQ's own prefix check downloads its
  table, so the prefixes of the log sources this project can verify are kept in
  `converter.core.logsources`).
- The log source is one the Sigma reference has raw events for (`converter.core.logsources`): a
  rule the build cannot verify against its cases is not accepted.
- Tags: the project's technique (T1587.003) and its tactic, plus at least one ATT&CK tactic tag and
  one technique tag in total.
- `level` low, medium, high or critical (informational rules are not alerts); a description that
  starts "Detects"; real false positives; no `TODO` left from `certdetect new`.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from converter.core import logsources
from converter.core.rules import RuleFile
from converter.core.textfiles import lines_matching, lines_with

from .findings import Finding, YamlLines

CHECK = "convention"

PROJECT_TAGS = ("attack.resource-development", "attack.t1587.003")
# ATT&CK Enterprise tactics, as Sigma tags
TACTICS = frozenset(
    "attack." + name
    for name in (
        "reconnaissance resource-development initial-access execution persistence "
        "privilege-escalation defense-evasion credential-access discovery lateral-movement "
        "collection command-and-control exfiltration impact"
    ).split()
)
TECHNIQUE = re.compile(r"attack\.t\d{4}(\.\d{3})?")
LEVELS = ("low", "medium", "high", "critical")
PLACEHOLDER = "TODO"
# the example values certdetect new writes (converter.scaffold): `example-` and 8 hex digits
EXAMPLE = re.compile(r"example-[0-9a-f]{8}")
# False positives that say nothing a reviewer or an analyst can act on
EMPTY_FALSEPOSITIVES = frozenset({"unknown", "none", "n/a", "-", "unlikely"})


def check_conventions(rule: RuleFile) -> list[Finding]:
    findings: list[Finding] = []
    lines = YamlLines(rule.text)

    def report(message: str, line: int | None) -> None:
        findings.append(Finding(rule.path, line or 1, CHECK, message))

    sigma = rule.rule
    logsource = sigma.logsource
    log_source = logsources.find_log_source(
        logsource.product, logsource.category, logsource.service
    )
    if log_source is None:
        supported = ", ".join(
            source.name + (" (service)" if source.service else "")
            for source in logsources.LOG_SOURCES
        )
        report(
            f"log source {logsource.product}/{logsource.category}"
            + (f" (service {logsource.service})" if logsource.service else "")
            + " has no recorded-event model, so its cases cannot verify it; use one of: "
            + supported,
            lines.line("logsource"),
        )
    else:
        path = PurePosixPath(rule.path)
        prefix, expected = log_source.prefix, log_source.rule_folder
        if not path.name.startswith(prefix):
            report(f"file name must start with {prefix!r} for this log source", 1)
        if path.parent.parts[-3:] != expected:
            report(f"rule belongs in {'/'.join(expected)}/", 1)
    if path_name_problem := _name_problem(PurePosixPath(rule.path).name):
        report(path_name_problem, 1)

    tags = set(rule.tags)
    for tag in PROJECT_TAGS:
        if tag not in tags:
            report(f"add tag {tag}: every rule here detects T1587.003", lines.line("tags"))
    if not tags & TACTICS:
        report("add an ATT&CK tactic tag (e.g. attack.resource-development)", lines.line("tags"))
    if not any(TECHNIQUE.fullmatch(tag) for tag in tags):
        report("add an ATT&CK technique tag (e.g. attack.t1587.003)", lines.line("tags"))

    if rule.level not in LEVELS:
        report(f"level must be one of {', '.join(LEVELS)}", lines.line("level"))
    description = (sigma.description or "").strip()
    if not description.startswith("Detects"):
        report(
            'description must start with "Detects" and say why the level fits',
            lines.line("description"),
        )
    falsepositives = [str(fp).strip() for fp in sigma.falsepositives or []]
    if not falsepositives or all(fp.lower() in EMPTY_FALSEPOSITIVES for fp in falsepositives):
        report(
            "name the legitimate activity that also matches under falsepositives",
            lines.line("falsepositives"),
        )
    for line in lines_with(rule.text, PLACEHOLDER):
        report(f"replace the {PLACEHOLDER} left by certdetect new", line)
    for line in lines_matching(rule.text, EXAMPLE):
        report("replace the example detection left by certdetect new", line)
    return findings


def _name_problem(name: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9_]+\.yml", name):
        return "file name must be lowercase letters, digits and _ with the .yml extension"
    return None
