"""Tests of one field value, one builder per EQL operator and function.

The builders are module-level and looked up at compile time, so that tests can swap one for
wrong semantics and watch the semantics table fail (`tests/test_engines_eql.py`).

From Elastic's documentation ("EQL syntax reference", "EQL function reference") and, where it
is silent, Elasticsearch's source:
- case-insensitive matching (`:`, `in~`, `like~`, `regex~`, `...~` functions) folds ASCII letters
  only (`AutomatonQueries.toCaseInsensitiveChar`, `RegExp.ASCII_CASE_INSENSITIVE`), and `regex~`
  leaves character ranges such as `[a-c]` case-sensitive (documented Lucene limitation);
- `:` and `like` take `*` and `?` and nothing else: a backslash is a literal character
  (`eql/util/StringUtils.toLikePattern`).

`endsWith` and `stringContains` follow the function reference (a plain substring). The planner
source read for this module (`QueryTranslator.CaseInsensitiveScalarFunctions`) builds an unescaped
Lucene wildcard query from their argument, which would make `*`, `?` and `\\` in it wildcard
syntax; that contradicts the documentation and is not reproduced.

A value's JSON type stands for its mapped type here (string -> keyword, number -> long/double,
true/false -> boolean). With a field schema, `schema_checks` rejects comparisons across those
families at compile time, as Elasticsearch's verifier does; without one they are false.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from converter.execute.engines.base import QueryError
from converter.execute.engines.eql.regexp import (
    CASE_INSENSITIVE_FLAGS,
    REGEX_FLAGS,
    lucene_regex,
)


@dataclass(frozen=True)
class ValueTest:
    """A test of one field value (never None, never a list).

    With `strings_only`, `test` is only called with str values: anything else fails unasked.
    """

    test: Callable[[Any], bool]
    strings_only: bool = False


def _family(value: Any) -> type | None:
    kind = type(value)
    if kind is str or kind is bool:
        return kind
    if kind is int or kind is float:
        return float
    return None


def equals_matcher(literal: Any) -> ValueTest:
    """`==`: case-sensitive, no wildcards (a term query)."""
    family = _family(literal)
    if family is str:
        return ValueTest(lambda v: v == literal, strings_only=True)
    if family is float:
        return ValueTest(lambda v: (type(v) is int or type(v) is float) and v == literal)
    return ValueTest(lambda v: v is literal)  # true / false


def member_matcher(literals: Sequence[Any], insensitive: bool) -> ValueTest:
    """`in` (a terms query) and `in~` (ASCII case-insensitive term queries)."""
    strings = [v for v in literals if type(v) is str]
    numbers = frozenset(v for v in literals if _family(v) is float)
    booleans = frozenset(v for v in literals if type(v) is bool)
    string_test = _exact_insensitive(strings) if insensitive else frozenset(strings).__contains__
    if not numbers and not booleans:
        return ValueTest(string_test, strings_only=True)

    def test(v: Any) -> bool:
        kind = type(v)
        if kind is str:
            return string_test(v)
        if kind is bool:
            return v in booleans
        return (kind is int or kind is float) and v in numbers

    return ValueTest(test)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def order_matcher(op: str, literal: Any) -> ValueTest:
    """`<`, `<=`, `>`, `>=`: numbers numerically, strings by code point (case-sensitive)."""
    compare = _ORDER[op]
    family = _family(literal)
    if family is str:
        return ValueTest(lambda v: compare(v, literal), strings_only=True)
    if family is float:
        return ValueTest(lambda v: (type(v) is int or type(v) is float) and compare(v, literal))
    raise QueryError(f"{op} needs a number or a string, not {literal!r}")


# Case-insensitive string tests fold ASCII letters only, as Lucene does. For an ASCII value,
# str.lower() is exactly that folding; a value with other characters goes to a regex compiled
# with re.IGNORECASE | re.ASCII.


def _exact_insensitive(strings: Sequence[str]) -> Callable[[str], bool]:
    """Equal to one of `strings`, ASCII case-insensitively."""
    # An ASCII value can only equal an ASCII literal, and a non-ASCII value a non-ASCII one.
    ascii_lowered = frozenset(s.lower() for s in strings if s.isascii())
    others = [s for s in strings if not s.isascii()]
    regex = (
        re.compile("|".join(re.escape(s) for s in others), CASE_INSENSITIVE_FLAGS)
        if others
        else None
    )

    def test(v: str) -> bool:
        if v.isascii():
            return v.lower() in ascii_lowered
        return regex is not None and regex.fullmatch(v) is not None

    return test


def _wildcard_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    translated = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(translated, CASE_INSENSITIVE_FLAGS if insensitive else REGEX_FLAGS)


def _one_wildcard(pattern: str, insensitive: bool) -> Callable[[str], bool]:
    """One `*`/`?` pattern against the whole value, with str-method fast paths."""
    body = pattern.strip("*")
    if "*" in body or "?" in body:
        fullmatch = _wildcard_regex(pattern, insensitive).fullmatch
        return lambda v: fullmatch(v) is not None
    leading, trailing = pattern.startswith("*"), pattern.endswith("*")
    if not insensitive:
        if leading and trailing:
            return lambda v: body in v
        if leading:
            return lambda v: v.endswith(body)
        if trailing:
            return lambda v: v.startswith(body)
        return lambda v: v == body
    if not leading and not trailing:
        return _exact_insensitive([body])
    lowered, size = body.lower(), len(body)
    fullmatch = _wildcard_regex(pattern, insensitive).fullmatch
    if leading and trailing:

        def test(v: str) -> bool:
            if v.isascii():
                return lowered in v.lower()
            return fullmatch(v) is not None
    elif leading:

        def test(v: str) -> bool:
            tail = v[-size:] if size else ""
            if tail.isascii():
                return len(v) >= size and tail.lower() == lowered
            return fullmatch(v) is not None
    else:

        def test(v: str) -> bool:
            head = v[:size]
            if head.isascii():
                return head.lower() == lowered
            return fullmatch(v) is not None

    return test


def _any_test(tests: Sequence[Callable[[str], bool]]) -> Callable[[str], bool]:
    if len(tests) == 1:
        return tests[0]

    def test(v: str) -> bool:
        for t in tests:
            if t(v):
                return True
        return False

    return test


def wildcard_matcher(patterns: Sequence[str], insensitive: bool) -> ValueTest:
    """`:` / `like~` (insensitive) and `like`: `*` and `?` only, against the whole value."""
    exact = [p for p in patterns if "*" not in p and "?" not in p]
    tests = [_one_wildcard(p, insensitive) for p in patterns if p not in exact]
    if exact:  # one set lookup for all the plain values
        tests.insert(0, _exact_insensitive(exact) if insensitive else frozenset(exact).__contains__)
    return ValueTest(_any_test(tests), strings_only=True)


def regex_matcher(patterns: Sequence[str], insensitive: bool) -> ValueTest:
    """`regex` / `regex~`: Lucene regular expressions matched against the whole value."""
    return ValueTest(_any_test([lucene_regex(p, insensitive) for p in patterns]), strings_only=True)


def prefix_matcher(prefix: str, insensitive: bool) -> ValueTest:
    """`startsWith`: a prefix query, no wildcard syntax."""
    if not insensitive:
        return ValueTest(lambda v: v.startswith(prefix), strings_only=True)
    match = re.compile(re.escape(prefix), CASE_INSENSITIVE_FLAGS).match
    return ValueTest(lambda v: match(v) is not None, strings_only=True)


def suffix_matcher(suffix: str, insensitive: bool) -> ValueTest:
    """`endsWith`: documented as a plain substring test, no wildcard syntax."""
    if not insensitive:
        return ValueTest(lambda v: v.endswith(suffix), strings_only=True)
    fullmatch = re.compile(".*" + re.escape(suffix), CASE_INSENSITIVE_FLAGS).fullmatch
    return ValueTest(lambda v: fullmatch(v) is not None, strings_only=True)


def substring_matcher(needle: str, insensitive: bool) -> ValueTest:
    """`stringContains`: documented as a plain substring test, no wildcard syntax.

    The function reference documents an empty substring as never contained.
    """
    if not needle:
        return ValueTest(lambda v: False, strings_only=True)
    if not insensitive:
        return ValueTest(lambda v: needle in v, strings_only=True)
    search = re.compile(re.escape(needle), CASE_INSENSITIVE_FLAGS).search
    return ValueTest(lambda v: search(v) is not None, strings_only=True)


def cidr_matcher(blocks: Sequence[str]) -> ValueTest:
    """`cidrMatch`: a terms query of CIDR blocks on an `ip` field.

    Elasticsearch stores IPv4 as IPv4-mapped IPv6, so both families share one 128-bit space.
    """
    ranges = []
    for block in blocks:
        try:
            network = ipaddress.ip_network(block, strict=False)
        except ValueError:
            raise QueryError(f"cidrMatch: invalid CIDR block {block!r}") from None
        low, high = _ip_int(network.network_address), _ip_int(network.broadcast_address)
        ranges.append((low, high))

    def test(v: str) -> bool:
        try:
            address = _ip_int(ipaddress.ip_address(v))
        except ValueError:
            return False  # not an address: an ip field would not have indexed it
        return any(low <= address <= high for low, high in ranges)

    return ValueTest(test, strings_only=True)


def _ip_int(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    if address.version == 4:
        return 0xFFFF_0000_0000 | int(address)
    return int(address)
