"""Refusals: the value and rule shapes a target cannot express, checked on the rule as written.

`check_rule` walks the rule before any pipeline and asks the backend class's `refusals` (one
value at a time) and `rule_refusals` (the whole rule) whether the target can express it
faithfully. The first that cannot raises `UnsupportedShape` with the reason, so the build marks
the artifact `unsupported` instead of shipping a query that silently matches something else.
The refusal builders here are shared; each backend module declares its own tuple, with the
reason in each entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sigma.rule import SigmaDetection, SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)


class UnsupportedShape(ValueError):
    """The rule holds a value the target's query cannot express; `reason` says why (pySigma
    appends the rule's source to the message of an error raised during conversion)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Value:
    """One value of a detection item, with what the refusals need to know about it."""

    field: str | None
    value: SigmaType

    def shown(self) -> str:
        text = str(self.value.regexp) if isinstance(self.value, SigmaRegularExpression) else None
        if text is None and isinstance(self.value, SigmaString):
            text = _sigma_text(self.value)
        return f"{self.field or '<keyword>'}: '{text}'" if text is not None else str(self.field)


Refusal = Callable[[Value], "str | None"]


def _sigma_text(value: SigmaString) -> str:
    """The value as written in Sigma: wildcards bare, literal `*`, `?` and `\\` escaped."""
    out = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append("*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("?")
        elif isinstance(part, str):
            out.append(re.sub(r"([*?\\])", r"\\\1", part))
    return "".join(out)


def _literal_text(value: SigmaString) -> str:
    return "".join(part for part in value.s if isinstance(part, str))


def _non_ascii_letter(text: str) -> str | None:
    for char in text:
        if not char.isascii() and (
            char.lower() != char or char.upper() != char or char.casefold() != char
        ):
            return char
    return None


def detection_values(detection: SigmaDetection) -> Iterator[Value]:
    """Every value of a detection (nested ones and expansions included), with its field."""
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from detection_values(item)
        else:
            for value in _flat(list(item.value)):
                yield Value(item.field, value)


def _flat(values: list[SigmaType]) -> Iterator[SigmaType]:
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from _flat(value.values)
        else:
            yield value


def _values(rule: SigmaRule) -> Iterator[Value]:
    for detection in rule.detection.detections.values():
        yield from detection_values(detection)


def refuse_literal_wildcards(language: str, why: str) -> Refusal:
    def refusal(value: Value) -> str | None:
        if isinstance(value.value, SigmaString):
            literal = _literal_text(value.value)
            for char in "*?":
                if char in literal:
                    return f"{value.shown()} holds a literal '{char}' (escaped); {language} {why}"
        return None

    return refusal


def refuse_literal_star(language: str, why: str) -> Refusal:
    def refusal(value: Value) -> str | None:
        if isinstance(value.value, SigmaString) and "*" in _literal_text(value.value):
            return f"{value.shown()} holds a literal '*' (escaped); {language} {why}"
        return None

    return refusal


def refuse_single_wildcard(language: str, why: str) -> Refusal:
    def refusal(value: Value) -> str | None:
        if isinstance(value.value, SigmaString) and SpecialChars.WILDCARD_SINGLE in value.value.s:
            return f"{value.shown()} uses the single-character wildcard '?'; {language} {why}"
        return None

    return refusal


def refuse_keywords(language: str, why: str) -> Refusal:
    """A value without a field (a Sigma keyword), which the language cannot search for."""

    def refusal(value: Value) -> str | None:
        if value.field is None:
            return f"{value.shown()} is a keyword (a value without a field); {language} {why}"
        return None

    return refusal


def refuse_cased(language: str, why: str) -> Refusal:
    def refusal(value: Value) -> str | None:
        if isinstance(value.value, SigmaCasedString):
            return f"{value.shown()} is |cased; {language} {why}"
        return None

    return refusal


def refuse_non_ascii_case(language: str, why: str, regex_ignorecase: bool) -> Refusal:
    """Sigma values are case-insensitive under full Unicode case folding (`ß` = `SS`)."""

    def refusal(value: Value) -> str | None:
        found = None
        if isinstance(value.value, SigmaString) and not isinstance(value.value, SigmaCasedString):
            found = _non_ascii_letter(_literal_text(value.value))
        elif (
            regex_ignorecase
            and isinstance(value.value, SigmaRegularExpression)
            and SigmaRegularExpressionFlag.IGNORECASE in value.value.flags
        ):
            found = _non_ascii_letter(str(value.value.regexp))
        if found is None:
            return None
        return (
            f"{value.shown()} matches the non-ASCII letter '{found}' case-insensitively, which "
            f"Sigma defines by full Unicode case folding; {language} {why}"
        )

    return refusal


RuleRefusal = Callable[[SigmaRule], "str | None"]


def check_rule(backend: Any, rule: SigmaRule) -> None:
    """Raise UnsupportedShape for the first value or rule shape the backend's target cannot
    express."""
    refusals: tuple[Refusal, ...] = getattr(type(backend), "refusals", ())
    for value in _values(rule):
        for refusal in refusals:
            reason = refusal(value)
            if reason is not None:
                raise UnsupportedShape(reason)
    rule_refusals: tuple[RuleRefusal, ...] = getattr(type(backend), "rule_refusals", ())
    for rule_refusal in rule_refusals:
        reason = rule_refusal(rule)
        if reason is not None:
            raise UnsupportedShape(reason)
