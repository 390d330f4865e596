"""pySigma's rule validators, core and SigmaHQ, run offline.

`sigma check` runs 80 validators; 10 of them load MITRE ATT&CK, MITRE D3FEND or SigmaHQ data files
from the network on first use (and cache them under ~/.cache), so they fail offline and would make
a pre-commit hook slow and flaky. `certdetect check` skips exactly those and lists them
(`NETWORK_VALIDATORS`, verified by a test that blocks the network); the project's own conventions
(`converter.checks.conventions`) cover what matters of them here: the filename prefix, ATT&CK tags.

Deliberate exceptions live in `validation.yml` at the project root, in sigma-cli's validation
configuration format (`validators:` to remove some with `-name`, `exclusions:` rule id -> names).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from uuid import UUID

from sigma.exceptions import SigmaRuleLocation
from sigma.rule import SigmaDetectionItem, SigmaRule, SigmaRuleTag
from sigma.types import SigmaString
from sigma.validation import SigmaValidator
from sigma.validators.base import SigmaRuleValidator, SigmaValidationIssue
from sigma.validators.core import validators as core_validators
from sigma.validators.sigmahq import validators as sigmahq_validators

from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.rules import RuleFile
from converter.core.textfiles import line_of, load_yaml, read_text

from .findings import Finding, YamlLines

CONFIG_FILE = "validation.yml"

# validator -> the data it downloads
NETWORK_VALIDATORS: dict[str, str] = {
    "attacktag": "MITRE ATT&CK",
    "d3_fendtag": "MITRE D3FEND",
    "sigmahq_category_event_id": "SigmaHQ Windows event ids",
    "sigmahq_category_windows_provider_name": "SigmaHQ Windows providers",
    "sigmahq_fieldname_cast": "SigmaHQ taxonomy",
    "sigmahq_filename_prefix": "SigmaHQ filename prefixes",
    "sigmahq_invalid_fieldname": "SigmaHQ taxonomy",
    "sigmahq_logsource_unknown": "SigmaHQ taxonomy",
    "sigmahq_redundant_field": "SigmaHQ taxonomy",
    "sigmahq_tags_techniques_without_tactics": "MITRE ATT&CK",
}

# The rule key a validator is about, when its issue names nothing that can be found in the text.
_TOPICS = (
    ("title", "title"),
    ("description", "description"),
    ("falsepositive", "falsepositives"),
    ("modified", "modified"),
    ("date", "date"),
    ("status", "status"),
    ("level", "level"),
    ("author", "author"),
    ("tag", "tags"),
    ("reference", "references"),
    ("link", "references"),
    ("condition", "condition"),
    ("logsource", "logsource"),
    ("identifier", "id"),
    ("fields", "fields"),
)


def all_validators() -> dict[str, type[SigmaRuleValidator]]:
    return {**core_validators, **sigmahq_validators}


def offline_validators() -> dict[str, type[SigmaRuleValidator]]:
    return {n: v for n, v in all_validators().items() if n not in NETWORK_VALIDATORS}


def load_validator(project: Project) -> SigmaValidator:
    """The offline validators, minus those `validation.yml` removes, with its exclusions."""
    known = all_validators()
    selected = offline_validators()
    path = project.root / CONFIG_FILE
    if not path.is_file():
        return SigmaValidator(selected.values())
    text = read_text(path, CONFIG_FILE)
    data = load_yaml(text, CONFIG_FILE) or {}
    shapes = {"validators": list, "exclusions": dict, "config": dict}
    if not isinstance(data, dict) or set(data) - set(shapes):
        raise InputError(CONFIG_FILE, "expected a mapping with validators, exclusions, config", 1)
    for key, shape in shapes.items():
        if not isinstance(data.get(key) or shape(), shape):
            message = f"{key} must be a {'list' if shape is list else 'mapping'}"
            raise InputError(CONFIG_FILE, message, line_of(text, f"{key}:"))

    def validator(name: Any) -> type[SigmaRuleValidator]:
        if name not in known:
            raise InputError(CONFIG_FILE, f"unknown validator {name!r}", line_of(text, str(name)))
        return known[name]

    for entry in data.get("validators") or []:
        name = str(entry)
        if name == "all":
            continue
        if not name.startswith("-"):
            raise InputError(
                CONFIG_FILE,
                f"{name!r}: list validators to remove as -name; all offline ones run",
                line_of(text, name),
            )
        validator(name[1:])
        selected.pop(name[1:], None)
    exclusions: dict[UUID | None, set[type[SigmaRuleValidator]]] = {}
    for rule_id, names in (data.get("exclusions") or {}).items():
        try:
            key = UUID(str(rule_id))
        except ValueError:
            raise InputError(
                CONFIG_FILE, f"{rule_id!r} is not a rule id", line_of(text, str(rule_id))
            ) from None
        exclusions[key] = {validator(n) for n in (names if isinstance(names, list) else [names])}
    config = {str(name): params for name, params in (data.get("config") or {}).items()}
    for name, params in config.items():
        validator(name)
        if not isinstance(params, dict):
            raise InputError(
                CONFIG_FILE, f"config of {name} must be a mapping", line_of(text, name)
            )
    try:
        return SigmaValidator(selected.values(), exclusions, config)
    except Exception as error:  # a validator's constructor refusing its config
        raise InputError(CONFIG_FILE, f"invalid validator config: {error}") from None


def _needles(issue: SigmaValidationIssue) -> list[str]:
    """The texts an issue names that can be found in the rule: tags, fields, values, words."""
    needles = []
    for field in dataclasses.fields(issue):
        value = getattr(issue, field.name)
        if isinstance(value, SigmaDetectionItem):
            value = value.field
        elif isinstance(value, (SigmaRuleTag, SigmaString)):
            value = str(value)
        if isinstance(value, str) and value:
            needles.append(value)
    return needles


def _issue_line(issue: SigmaValidationIssue, name: str, rule: RuleFile, lines: YamlLines) -> int:
    """The line of what the issue names, looked for first in the part of the rule the validator
    is about (a one-letter false positive `x` is not the `x` of `experimental`)."""
    text_lines = rule.text.splitlines()
    topic = next((key for word, key in _TOPICS if word in name), None)
    top = lines.keys()
    section = "detection" if topic == "condition" else topic
    begin = next((line for key, line in top if key == section), None)
    if begin is not None:
        after = [line for _, line in top if line > begin]
        end = min(after) - 1 if after else len(text_lines)
        for needle in _needles(issue):
            for number in range(begin, end + 1):
                if needle in text_lines[number - 1]:
                    return number
        where = lines.line("detection", "condition") if topic == "condition" else begin
        return where or begin
    for needle in _needles(issue):
        found = line_of(rule.text, needle)
        if found:
            return found
    return 1


def _message(issue: SigmaValidationIssue) -> str:
    details = []
    for field in dataclasses.fields(issue):
        value = getattr(issue, field.name)
        # `is`/isinstance only: pySigma's SigmaString raises on == with other types
        if field.name == "rules" or value is None or (isinstance(value, str) and not value):
            continue
        details.append(f"{field.name}={value}")
    text = issue.description.rstrip(".")
    return f"{text} ({', '.join(details)})" if details else text


def _failure(rule: RuleFile, name: str, error: Exception) -> Finding:
    message = f"validator failed on this rule ({type(error).__name__}: {error}); check its types"
    return Finding(rule.path, 1, name, message)


def run_validators(validator: SigmaValidator, rules: list[RuleFile]) -> list[Finding]:
    """Every validator on every rule, then each validator's finalization (uniqueness checks).

    SigmaValidator.validate_rules does the same but loses which validator raised an issue; the
    name is what an exclusion in validation.yml needs.
    """
    names = {cls: name for name, cls in all_validators().items()}
    by_id: dict[str, RuleFile] = {}
    issues: list[tuple[str, SigmaValidationIssue]] = []
    failures: list[Finding] = []
    for rule in rules:
        sigma_rule = SigmaRule.from_yaml(rule.text)
        sigma_rule.source = SigmaRuleLocation(Path(rule.path))
        by_id.setdefault(rule.id, rule)
        excluded = validator.exclusions[sigma_rule.id]
        for check in sorted(validator.validators, key=lambda v: names[type(v)]):
            if type(check) in excluded:
                continue
            try:
                issues.extend((names[type(check)], issue) for issue in check.validate(sigma_rule))
            except Exception as error:  # a validator tripping over an odd rule is a finding
                failures.append(_failure(rule, names[type(check)], error))
    for check in sorted(validator.validators, key=lambda v: names[type(v)]):
        issues.extend((names[type(check)], issue) for issue in check.finalize())
    findings = failures
    for name, issue in issues:
        for sigma_rule in issue.rules:
            rule = by_id.get(str(sigma_rule.id))
            if rule is None:
                continue
            line = _issue_line(issue, name, rule, YamlLines(rule.text))
            findings.append(Finding(rule.path, line, name, _message(issue)))
    return findings
