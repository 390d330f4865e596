"""Value semantics: one Sigma value (or a list of them) compiled into a test on a field's text.

Values are case-insensitive strings compared under full Unicode case folding (`str.casefold`, so
`ß` equals `SS`); wildcards and literal ends align on characters of the event value, so `?`
consumes exactly one character even where it folds to two. Numbers and booleans match their text,
`gt`/`gte`/`lt`/`lte` compare decimal numbers, `re` searches anywhere in the value, `cidr`
contains the address, `null` is an absent or empty field and `exists` tests presence only
(SigmaHQ/sigma-specification, `sigma-rules-specification.md` "Special Field Values",
`sigma-appendix-modifiers.md`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import ip_address
from math import isfinite

from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from .errors import UnsupportedRuleError


@dataclass(frozen=True)
class ValueTest:
    """A compiled value test: `present` on the text of a field that exists, `absent` otherwise."""

    present: Callable[[str], bool]
    absent: bool = False


def any_test(tests: list[ValueTest]) -> ValueTest:
    if len(tests) == 1:
        return tests[0]
    fns = tuple(test.present for test in tests)
    return ValueTest(lambda raw: any(fn(raw) for fn in fns), any(test.absent for test in tests))


def all_test(tests: list[ValueTest]) -> ValueTest:
    if len(tests) == 1:
        return tests[0]
    fns = tuple(test.present for test in tests)
    return ValueTest(lambda raw: all(fn(raw) for fn in fns), all(test.absent for test in tests))


# Marks the end of each event character's folded form, so that wildcards and literal ends fall on
# character boundaries when folding changes lengths (`ß` -> `ss`). A Unicode noncharacter: never
# in interchanged text.
_SEP = "\ufdd0"
_UNIT_ANY = f"(?:[^{_SEP}]*{_SEP})*"
_UNIT_ONE = f"[^{_SEP}]+{_SEP}"


def _unit_literal(text: str) -> str:
    return f"{_SEP}?".join(re.escape(char) for char in text) + _SEP


def _units(raw: str) -> str:
    return "".join(char.casefold() + _SEP for char in raw)


def _string_test(strings: list[SigmaString], fold: bool) -> ValueTest:
    """One test for OR-linked strings: a single fold, then set/prefix/suffix/infix/regex checks."""
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    infixes: list[str] = []
    patterns: list[str] = []
    unit_patterns: list[str] = []
    norm = str.casefold if fold else str
    for string in strings:
        parts = string.s
        if any(not isinstance(part, (str, SpecialChars)) for part in parts):
            raise UnsupportedRuleError(
                f"value {string} holds a placeholder (|expand); its meaning is left to the tool"
            )
        if fold:
            unit_patterns.append(
                "".join(
                    _UNIT_ANY
                    if part is SpecialChars.WILDCARD_MULTI
                    else _UNIT_ONE
                    if part is SpecialChars.WILDCARD_SINGLE
                    else _unit_literal(norm(part))
                    for part in parts
                )
            )
        shape = tuple(part if isinstance(part, SpecialChars) else str for part in parts)
        star = SpecialChars.WILDCARD_MULTI
        if shape == () or shape == (str,):
            exact.add(norm(parts[0]) if parts else "")
        elif shape == (str, star):
            prefixes.append(norm(parts[0]))
        elif shape == (star, str):
            suffixes.append(norm(parts[1]))
        elif shape == (star, str, star):
            infixes.append(norm(parts[1]))
        else:
            patterns.append(
                "".join(
                    ".*"
                    if part is star
                    else "."
                    if part is SpecialChars.WILDCARD_SINGLE
                    else re.escape(norm(part))
                    for part in parts
                )
            )
    exact_set = frozenset(exact)
    prefix_tuple, suffix_tuple, infix_tuple = tuple(prefixes), tuple(suffixes), tuple(infixes)
    # `*` and `?` stand for any character, line breaks included.
    regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.DOTALL) if patterns else None
    # compiled when first needed: only a value whose folding changes its length needs it, and
    # compiling every rule's unit patterns was a good part of a scan's startup
    unit_source = "|".join(f"(?:{p})" for p in unit_patterns)
    unit_regex: re.Pattern[str] | None = None

    def aligned(value: str) -> bool:
        return (
            value in exact_set
            or (bool(prefix_tuple) and value.startswith(prefix_tuple))
            or (bool(suffix_tuple) and value.endswith(suffix_tuple))
            or any(infix in value for infix in infix_tuple)
            or (regex is not None and regex.fullmatch(value) is not None)
        )

    if not fold:
        return ValueTest(aligned)

    def folded(raw: str) -> bool:
        value = raw.casefold()
        # Folding is per character and never shrinks one, so equal lengths mean one character
        # for one: plain string checks are then exact. Otherwise match on character units.
        if len(value) == len(raw):
            return aligned(value)
        nonlocal unit_regex
        if unit_regex is None:
            unit_regex = re.compile(unit_source, re.DOTALL)
        return unit_regex.fullmatch(_units(raw)) is not None

    return ValueTest(folded)


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _number(raw: str) -> int | float | None:
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:
        value = float(text)
        return value if isfinite(value) else None


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


def _compare_test(value: SigmaCompareExpression) -> ValueTest:
    op, bound = _COMPARE[value.op], value.number.number

    def compare(raw: str) -> bool:
        number = _number(raw)
        return number is not None and op(number, bound)

    return ValueTest(compare)


def _regex_test(value: SigmaRegularExpression) -> ValueTest:
    flags = 0
    for flag in value.flags:  # |i, |m, |s
        flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    pattern = re.compile(str(value.regexp), flags)
    # Sigma `re` is a search anywhere in the value, case-sensitive unless `|i`.
    return ValueTest(lambda raw: pattern.search(raw) is not None)


def _cidr_test(value: SigmaCIDRExpression) -> ValueTest:
    network = value.network

    def contains(raw: str) -> bool:
        try:
            return ip_address(raw.strip()) in network
        except ValueError:
            return False

    return ValueTest(contains)


def flatten(values: Iterable[SigmaType]) -> Iterable[SigmaType]:
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from flatten(value.values)
        else:
            yield value


def values_test(values: Iterable[SigmaType]) -> ValueTest:
    """OR of values (expansions such as `windash` and `base64offset` are OR-linked alternatives)."""
    folded: list[SigmaString] = []
    cased: list[SigmaString] = []
    tests: list[ValueTest] = []
    for value in flatten(values):
        if isinstance(value, SigmaCasedString):
            cased.append(value)
        elif isinstance(value, SigmaString):
            folded.append(value)
        elif isinstance(value, SigmaBool):
            # Booleans are strings too ("all values are treated as case-insensitive strings").
            folded.append(SigmaString.from_str("true" if value.boolean else "false"))
        elif type(value) is SigmaNumber:  # not its subclass SigmaTimestampPart
            # A number matches its own text: EventData values are strings.
            folded.append(SigmaString.from_str(str(value.number)))
        elif isinstance(value, SigmaNull):
            # Special Field Values: null is an absent field; '' (an empty value) counts as well.
            tests.append(ValueTest(lambda raw: raw == "", absent=True))
        elif isinstance(value, SigmaExists):
            wanted = value.exists
            tests.append(ValueTest(lambda raw, wanted=wanted: wanted, absent=not wanted))
        elif isinstance(value, SigmaRegularExpression):
            tests.append(_regex_test(value))
        elif isinstance(value, SigmaCIDRExpression):
            tests.append(_cidr_test(value))
        elif isinstance(value, SigmaCompareExpression):
            tests.append(_compare_test(value))
        else:
            raise UnsupportedRuleError(
                f"{type(value).__name__} values have no tool-independent meaning to evaluate"
            )
    if folded:
        tests.append(_string_test(folded, fold=True))
    if cased:
        tests.append(_string_test(cased, fold=False))
    return any_test(tests)
