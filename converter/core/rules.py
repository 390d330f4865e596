"""Loading the Sigma rules of the project: one `RuleFile` per YAML file under `sigma/`."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.conditions import ConditionItem
from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaFieldReference

from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.textfiles import load_yaml, read_text, shown_path, within


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


@lru_cache(maxsize=4096)
def _rule_document(text: str) -> Any:
    # One process, keyed by the whole text: never stale. InputError propagates (not cached).
    return load_yaml(text, "rule")


def rule_collection(text: str) -> SigmaCollection:
    """`SigmaCollection.from_yaml(text)`, each call a new collection, the YAML read once per text.

    pySigma's `from_yaml` is `from_dicts(list(yaml.safe_load_all(text)))` on PyYAML's pure-Python
    loader, run once per rule and target. This is exact: a text `load_yaml` accepts is one
    document (PyYAML's `load` refuses a second) that it reads as `yaml.safe_load` does (libyaml
    only where `converter.core.textfiles` shows they agree, else that same loader); a text it
    refuses (an alias, a repeated key) goes to pySigma as before. Each collection gets a deep copy
    of the document, so nothing a pipeline changes in one reaches another.
    """
    try:
        document = _rule_document(text)
    except Exception:  # noqa: BLE001 - whatever load_yaml refuses, pySigma reads as it always did
        return SigmaCollection.from_yaml(text)
    return SigmaCollection.from_dicts([copy.deepcopy(document)])


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


# Field names reach the queries unquoted or quoted differently by each backend: only names made of
# these characters are carried safely into EQL, SPL and KQL alike (and every taxonomy field is).
FIELD_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_.@-]{0,127}")
# pySigma's condition grammar recurses per nesting level and hits Python's recursion limit near
# 190 levels; real conditions nest a handful of levels.
MAX_CONDITION_DEPTH = 32


def detection_items(rule: SigmaRule) -> list[SigmaDetectionItem]:
    """Every detection item of the rule, in document order, without recursion."""
    items: list[SigmaDetectionItem] = []
    stack: list[SigmaDetection | SigmaDetectionItem] = list(
        reversed(list(rule.detection.detections.values()))
    )
    while stack:
        node = stack.pop()
        if isinstance(node, SigmaDetection):
            stack.extend(reversed(node.detection_items))
        else:
            items.append(node)
    return items


def _condition_depth(tree: object) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, ConditionItem):
            stack.extend((arg, depth + 1) for arg in node.args)
    return deepest


def _check_detection(rule: SigmaRule, text: str, shown: str) -> None:
    for item in detection_items(rule):
        names = [item.field] if item.field is not None else []
        names += [value.field for value in item.value if isinstance(value, SigmaFieldReference)]
        for name in names:
            if not FIELD_NAME.fullmatch(name):
                raise InputError(
                    shown,
                    f"field name {name!r} is not allowed; use letters, digits, _ . - @ only",
                    _line_of(text, name.splitlines()[0] if name.strip() else ":"),
                )
    for condition in rule.detection.parsed_condition:
        line = _line_of(text, "condition:")
        try:
            depth = _condition_depth(condition.parse(postprocess=False))
            if depth > MAX_CONDITION_DEPTH:
                raise InputError(
                    shown,
                    f"condition nested {depth} levels deep, over the limit of "
                    f"{MAX_CONDITION_DEPTH}; simplify it",
                    line,
                )
            condition.parse()
        except SigmaError as error:
            message = str(error.args[0]) if error.args else type(error).__name__
            raise InputError(shown, f"invalid condition: {message}", line) from None
        except RecursionError:
            raise InputError(
                shown, f"condition nested too deeply (limit {MAX_CONDITION_DEPTH} levels)", line
            ) from None
        except InputError:
            raise
        except Exception as error:  # e.g. a condition that is a number, not a string
            message = f"invalid condition ({type(error).__name__}: {error}); write it as text"
            raise InputError(shown, message, line) from error


# What to do about pySigma's errors that do not say it themselves
_HINTS = {
    "SigmaModifierError": "use a modifier of the Sigma specification (contains, startswith, "
    "endswith, all, windash, re, cidr, ...)",
    "SigmaRegularExpressionError": "fix the regular expression (Python re syntax)",
    "SigmaTypeError": "a modifier got a value it cannot take; check the modifier and the value",
    "SigmaValueError": "check the value",
    "SigmaDetectionError": "check the detection section",
}


def load_rule(path: Path, shown: str) -> RuleFile:
    text = read_text(path, shown)
    data = load_yaml(text, shown)
    if not isinstance(data, dict):
        raise InputError(shown, "a Sigma rule must be a YAML mapping", 1)
    try:
        rule = SigmaRule.from_dict(data)
    except SigmaError as error:
        message = str(error.args[0]) if error.args else type(error).__name__
        hint = _HINTS.get(type(error).__name__)
        message = f"{message}; {hint}" if hint and hint not in message else message
        raise InputError(shown, message, _error_line(text, error)) from None
    except Exception as error:  # pySigma assumes well-typed YAML; a hostile file is not
        raise InputError(
            shown, f"not a valid Sigma rule ({type(error).__name__}: {error}); check the types"
        ) from error
    if rule.id is None:
        raise InputError(shown, "rule has no id; add a UUID (certdetect new makes one)", 1)
    _check_detection(rule, text, shown)
    return RuleFile(path=shown, text=text, rule=rule)


def rule_paths(project: Project) -> list[Path]:
    return sorted(project.rules_dir.rglob("*.yml")) + sorted(project.rules_dir.rglob("*.yaml"))


def load_rules(project: Project, paths: Iterable[Path] | None = None) -> list[RuleFile]:
    rules: list[RuleFile] = []
    seen: dict[str, RuleFile] = {}
    for path in paths if paths is not None else rule_paths(project):
        shown = shown_path(path, project.root)
        if paths is None:  # found under sigma/: a link must not lead out of the project
            within(path, project.root, shown)
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
        raise InputError(
            project.relative(project.rules_dir),
            "no Sigma rules (*.yml) found; add one with `certdetect new`",
        )
    return sorted(rules, key=lambda r: r.path)
