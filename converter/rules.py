"""Loading the Sigma rules of the project: one `RuleFile` per YAML file under `sigma/`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from converter.errors import InputError
from converter.project import Project
from converter.textfiles import load_yaml, read_text


@dataclass(frozen=True)
class RuleFile:
    path: str  # relative to the project root, POSIX separators
    text: str
    rule: SigmaRule

    @property
    def id(self) -> str:
        return str(self.rule.id)

    @property
    def title(self) -> str:
        return self.rule.title

    @property
    def level(self) -> str:
        return self.rule.level.name.lower() if self.rule.level else ""

    @property
    def tags(self) -> list[str]:
        return [str(tag) for tag in self.rule.tags]

    @property
    def stem(self) -> str:
        return Path(self.path).stem

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def parse(self) -> SigmaRule:
        """A fresh rule object: pySigma pipelines change rules in place."""
        return SigmaRule.from_yaml(self.text)


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle and needle in line:
            return number
    return None


def _error_line(text: str, error: SigmaError) -> int | None:
    if error.source is not None and error.source.line:
        return error.source.line
    # pySigma rarely knows the line; find the token its message quotes.
    for quoted in re.findall(r"'([^']+)'", str(error.args[0]) if error.args else ""):
        line = _line_of(text, quoted)
        if line:
            return line
    return None


def load_rule(path: Path, shown: str) -> RuleFile:
    text = read_text(path, shown)
    data = load_yaml(text, shown)
    if not isinstance(data, dict):
        raise InputError(shown, "a Sigma rule must be a YAML mapping", 1)
    try:
        rule = SigmaRule.from_dict(data)
    except SigmaError as error:
        message = str(error.args[0]) if error.args else type(error).__name__
        raise InputError(shown, message, _error_line(text, error)) from None
    if rule.id is None:
        raise InputError(shown, "rule has no id; add a UUID (certdetect new makes one)", 1)
    return RuleFile(path=shown, text=text, rule=rule)


def rule_paths(project: Project) -> list[Path]:
    return sorted(project.rules_dir.rglob("*.yml")) + sorted(project.rules_dir.rglob("*.yaml"))


def load_rules(project: Project, paths: Iterable[Path] | None = None) -> list[RuleFile]:
    rules: list[RuleFile] = []
    seen: dict[str, RuleFile] = {}
    for path in paths if paths is not None else rule_paths(project):
        shown = project.relative(path)
        rule = load_rule(path, shown)
        if rule.id in seen:
            raise InputError(
                shown,
                f"duplicate rule id {rule.id} (also in {seen[rule.id].path}); give it a new UUID",
                _line_of(rule.text, rule.id),
            )
        seen[rule.id] = rule
        rules.append(rule)
    if not rules:
        raise InputError(project.rules_dir, "no Sigma rules (*.yml) found")
    return sorted(rules, key=lambda r: r.path)
