"""What certdetect does about the stock pySigma backends' wrong queries (docs/converter-defects.md).

Executing generated queries on events built to match and almost match Sigma values
(`tests/test_agreement.py`) shows value shapes each stock backend converts into a query that
means something else. This module is where each one is handled, per target:

- `check_rule` walks the rule as written, before any pipeline, and refuses every value shape the
  target cannot express faithfully: `UnsupportedShape` with the reason, so the build marks the
  artifact `unsupported` instead of shipping a query that silently matches something else;
- the backend subclasses below correct the shapes that have a faithful form in the target
  language: `|re` for EQL (Lucene) and KQL (RE2), EQL `|cased`, KQL values with inner or `?`
  wildcards and `|all` lists, SPL regexes under NOT or behind a reused identifier, SPL values
  holding `&<>`, SPL `|windash` grouping.

Artifacts of rules that use none of these shapes are byte-identical to sigma-cli's output; SPL
`|windash` expansions get parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from copy import copy
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from sigma.backends.elasticsearch import EqlBackend
from sigma.backends.kusto import KustoBackend
from sigma.backends.splunk import SplunkBackend
from sigma.backends.splunk.splunk import (
    SplunkDeferredORRegularExpression,
    SplunkDeferredRegularExpression,
)
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaDetection, SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from converter.execute.engines.base import QueryError
from converter.execute.engines.pcre import compile_pcre

try:  # Python's own regex parser: the Sigma reference evaluates `|re` with Python's `re`
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]


class UnsupportedShape(ValueError):
    """The rule holds a value the target's query cannot express; the message says why."""


# --- Refusals, checked on the rule as written ----------------------------------------------------


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


def _detection_values(detection: SigmaDetection) -> Iterator[Value]:
    """Every value of a detection (nested ones and expansions included), with its field."""
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _detection_values(item)
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
        yield from _detection_values(detection)


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


def refuse_regex_classes(language: str) -> Refusal:
    def refusal(value: Value) -> str | None:
        if isinstance(value.value, SigmaRegularExpression) and _has_class_escape(
            str(value.value.regexp)
        ):
            return f"{value.shown()}: {language}'s PCRE reads {_CLASS_REASON}"
        return None

    return refusal


RuleRefusal = Callable[[SigmaRule], "str | None"]


def refuse_negated_field_reference(rule: SigmaRule) -> str | None:
    """SPL: stock moves a field reference to `| where` after the search, which keeps its meaning
    only when the reference is ANDed with the rest; under a NOT covering more than the reference
    it wrote `NOT (other) | where 'a'='b'` for `not (selection and other)`."""
    holders = {
        name
        for name, detection in rule.detection.detections.items()
        if any(isinstance(v.value, SigmaFieldReference) for v in _detection_values(detection))
    }
    if not holders:
        return None

    def negated(node: object, under_not: bool) -> bool:
        if isinstance(node, ConditionIdentifier):
            return under_not and node.identifier in holders
        if isinstance(node, ConditionSelector):  # `1 of x*` may select a holder: refuse
            return under_not
        if isinstance(node, ConditionNOT):
            return any(negated(arg, True) for arg in node.args)
        if isinstance(node, (ConditionAND, ConditionOR)):
            return any(negated(arg, under_not) for arg in node.args)
        return False

    for condition in rule.detection.parsed_condition:
        if negated(condition.parse(postprocess=False), False):
            return (
                "a |fieldref under NOT: the Splunk backend moves field references to a `| where` "
                "after the search, outside the NOT (docs/converter-defects.md)"
            )
    return None


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


# --- Elastic EQL ---------------------------------------------------------------------------------


class CertdetectEqlBackend(EqlBackend):
    """EqlBackend with case-sensitive `like` for `|cased` and Lucene regexes for `|re`."""

    refusals: ClassVar[tuple[Refusal, ...]] = (
        refuse_literal_wildcards(
            "EQL",
            "wildcard patterns (`:`, `like`) have no escape for * and ?, and Elasticsearch's "
            "EQL parser rejects '\\*' and '\\?'",
        ),
        refuse_non_ascii_case(
            "EQL",
            "folds ASCII letters only (Lucene case-insensitive automata)",
            regex_ignorecase=False,  # the Lucene translation spells out every case variant
        ),
    )
    # `==` does no wildcard matching; `like` is EQL's case-sensitive wildcard operator.
    case_sensitive_match_expression: ClassVar[str] = "{field} like {value}"

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        # `like~ (...)` lists are case-insensitive: never put |cased values in one.
        if any(isinstance(getattr(arg, "value", None), SigmaCasedString) for arg in cond.args):
            return False
        return super().decide_convert_condition_as_in_expression(cond, state)

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # Stock writes `field:true`; `:` compares strings only (EQL syntax reference,
        # "Comparison operators") and Elasticsearch rejects the query. `==` compares booleans.
        value = "true" if cond.value.boolean else "false"  # type: ignore[union-attr]
        return f"{self.escape_and_quote_field(cond.field)} == {value}"

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        lucene = backend_regex(cond, LUCENE, "EQL")
        return f'{self.escape_and_quote_field(cond.field)} regex "{eql_string(lucene)}"'


def _string_body(text: str, escape_controls: bool) -> str:
    """Body of a double-quoted EQL or KQL string; EQL also spells control characters out."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[char])
        elif escape_controls and (ord(char) < 0x20 or ord(char) == 0x7F):
            out.append(f"\\u{{{ord(char):02X}}}")
        else:
            out.append(char)
    return "".join(out)


def eql_string(text: str) -> str:
    """Body of an EQL double-quoted string."""
    return _string_body(text, escape_controls=True)


_STRING_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


# --- Regular expressions -------------------------------------------------------------------------
#
# The Sigma reference evaluates `|re` as Python's `re.search` (PCRE reads the constructs below the
# same way). The targets' regex engines differ: Lucene (Elasticsearch `regex`) matches the whole
# value, has no anchors, reads `.` as any character and `\d`/`\s`/`\w` as ASCII classes; RE2
# (Kusto `matches regex`) searches, but its `$` is only the end of the text and its classes are
# ASCII too. `translate_regex` parses the pattern with Python's own parser and writes it again
# for the target: case-insensitivity as explicit classes of the case variants Python's `re`
# accepts, `.` as "not a newline" unless `|s`, `$` as "end, or a newline that ends the value".
# What has no faithful form raises UnsupportedShape.

_OP = sre_constants
_MAXREPEAT = sre_constants.MAXREPEAT
_START = (_OP.AT_BEGINNING, _OP.AT_BEGINNING_STRING)
LUCENE = "Lucene"
RE2 = "RE2"


def backend_regex(cond: ConditionFieldEqualsValueExpression, dialect: str, language: str) -> str:
    """The `|re` value of `cond` in the target's regex dialect, or the backend's refusal."""
    value = cond.value
    assert isinstance(value, SigmaRegularExpression)
    try:
        return translate_regex(str(value.regexp), value.flags, dialect)
    except UnsupportedShape as error:
        raise SigmaFeatureNotSupportedByBackendError(
            f"{language}: {cond.field}|re '{value.regexp}': {error}"
        ) from None


def translate_regex(pattern: str, flags: set[SigmaRegularExpressionFlag], dialect: str) -> str:
    """`pattern` for `dialect`: Lucene matches a whole value exactly when `pattern` matches
    inside it; RE2 searches like Python."""
    py_flags = 0
    for flag in flags:
        py_flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    try:
        parsed = sre_parse.parse(pattern, py_flags)
    except re.error as error:
        raise UnsupportedShape(f"not a valid regular expression: {error}") from None
    all_flags = parsed.state.flags
    if all_flags & (re.ASCII | re.LOCALE):
        raise UnsupportedShape("the (?a) and (?L) flags are not supported")
    writer = _RegexWriter(
        dialect=dialect,
        ignorecase=bool(all_flags & re.IGNORECASE),
        dotall=bool(all_flags & re.DOTALL),
        multiline=bool(all_flags & re.MULTILINE),
    )
    items = list(parsed)
    if len(items) == 1 and items[0][0] is _OP.BRANCH:
        # search(A|B) is search(A) or search(B): anchor each alternative on its own.
        return "|".join(writer.searched(list(alt)) for alt in items[0][1][1])
    return writer.searched(items)


@dataclass(frozen=True)
class _RegexWriter:
    dialect: str
    ignorecase: bool
    dotall: bool
    multiline: bool

    def searched(self, items: list[tuple[Any, Any]]) -> str:
        lucene = self.dialect == LUCENE
        head = tail = "(.|\n)*" if lucene else ""
        if items and items[0][0] is _OP.AT and items[0][1] in _START:
            if items[0][1] is _OP.AT_BEGINNING and self.multiline:
                raise UnsupportedShape("'^' with the m flag (line starts) is not supported")
            head, items = "" if lucene else "^", items[1:]
        if items and items[-1][0] is _OP.AT and items[-1][1] is _OP.AT_END_STRING:
            tail, items = "" if lucene else "$", items[:-1]
        elif items and items[-1][0] is _OP.AT and items[-1][1] is _OP.AT_END:
            if self.multiline:
                raise UnsupportedShape("'$' with the m flag (line ends) is not supported")
            # Python's `$` also matches before a newline that ends the value.
            tail, items = ("\n?" if lucene else "\\n?$"), items[:-1]
        return head + self.sequence(items) + tail

    def sequence(self, items: list[tuple[Any, Any]]) -> str:
        if not items and self.dialect == LUCENE:
            return "()"  # Lucene reads `(|)` as the character '|'; `()` is the empty string
        return "".join(self.node(op, arg) for op, arg in items)

    def group(self, body: str) -> str:
        return f"({body})" if self.dialect == LUCENE else f"(?:{body})"

    def node(self, op: Any, arg: Any) -> str:
        if op is _OP.LITERAL:
            return self.literal(chr(arg))
        if op is _OP.NOT_LITERAL:
            return self.char_class([(_OP.NEGATE, None), (_OP.LITERAL, arg)])
        if op is _OP.ANY:
            if not self.dotall:
                return "[^\n]" if self.dialect == LUCENE else "[^\\n]"
            return "." if self.dialect == LUCENE else "(?s:.)"
        if op is _OP.IN:
            return self.char_class(list(arg))
        if op is _OP.BRANCH:
            return self.group("|".join(self.sequence(list(alt)) for alt in arg[1]))
        if op is _OP.SUBPATTERN:
            _group, add_flags, del_flags, inner = arg
            if add_flags or del_flags:
                raise UnsupportedShape("inline flags on a group are not supported")
            return self.group(self.sequence(list(inner)))
        if op in (_OP.MAX_REPEAT, _OP.MIN_REPEAT):  # lazy or greedy: the same values match
            low, high, inner = arg
            body = self.group(self.sequence(list(inner)))
            if high is _MAXREPEAT or high == _MAXREPEAT:
                return body + {0: "*", 1: "+"}.get(low, f"{{{low},}}")
            if high > 1000:
                raise UnsupportedShape("a repeat count above 1000 is not supported")
            if (low, high) == (0, 1):
                return body + "?"
            return body + (f"{{{low}}}" if low == high else f"{{{low},{high}}}")
        if op is _OP.AT and (arg is _OP.AT_BOUNDARY or arg is _OP.AT_NON_BOUNDARY):
            raise UnsupportedShape(f"the target reads {_CLASS_REASON}")
        if op is _OP.AT:
            raise UnsupportedShape("anchors are supported only at the start and the end")
        name = _CONSTRUCTS.get(str(op), str(op).lower())
        raise UnsupportedShape(f"{name} has no {self.dialect} form")

    def char(self, char: str, in_class: bool) -> str:
        if self.dialect == LUCENE:
            # A backslash before an ASCII letter is an error in Lucene, before anything else a
            # literal; control characters stand for themselves.
            return "\\" + char if char.isascii() and not char.isalnum() else char
        if char in _RE2_NAMED:
            return _RE2_NAMED[char]
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return f"\\x{{{ord(char):02x}}}"
        special = _RE2_CLASS_SPECIAL if in_class else _RE2_SPECIAL
        return "\\" + char if char in special else char

    def literal(self, char: str) -> str:
        variants = _case_variants(char) if self.ignorecase else (char,)
        if len(variants) == 1:
            return self.char(char, in_class=False)
        return "[" + "".join(self.char(v, in_class=True) for v in variants) + "]"

    def char_class(self, items: list[tuple[Any, Any]]) -> str:
        negated = False
        members: list[str] = []
        for op, arg in items:
            if op is _OP.NEGATE:
                negated = True
            elif op is _OP.LITERAL:
                chars = _case_variants(chr(arg)) if self.ignorecase else (chr(arg),)
                members.extend(self.char(c, in_class=True) for c in chars)
            elif op is _OP.RANGE and not self.ignorecase:
                low, high = (self.char(chr(code), in_class=True) for code in arg)
                members.append(f"{low}-{high}")
            elif op is _OP.RANGE and arg[1] - arg[0] <= 256:
                for code in range(arg[0], arg[1] + 1):
                    members.extend(self.char(c, in_class=True) for c in _case_variants(chr(code)))
            elif op is _OP.RANGE:
                raise UnsupportedShape("a case-insensitive range wider than 256 characters")
            else:
                raise UnsupportedShape(f"the target reads {_CLASS_REASON}")
        return "[" + ("^" if negated else "") + "".join(dict.fromkeys(members)) + "]"


_CLASS_REASON = (
    "\\d, \\w, \\s and \\b as ASCII classes, Sigma's reference (Python re) as Unicode "
    "classes; spell the class out, e.g. [0-9]"
)
_CONSTRUCTS = {
    "ASSERT": "a lookaround",
    "ASSERT_NOT": "a negative lookaround",
    "GROUPREF": "a backreference",
    "GROUPREF_EXISTS": "a conditional group",
    "ATOMIC_GROUP": "an atomic group",
    "POSSESSIVE_REPEAT": "a possessive repeat",
}
_RE2_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v"}
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")
_RE2_CLASS_SPECIAL = frozenset("\\[]^-")


def _regex_literals(pattern: str) -> set[str]:
    """The characters a pattern names literally (alone, negated, or as a range end)."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return set()
    found: set[str] = set()

    def walk(node: Any) -> None:
        if (
            isinstance(node, tuple)
            and len(node) == 2
            and (node[0] is _OP.LITERAL or node[0] is _OP.NOT_LITERAL)
        ):
            found.add(chr(node[1]))
        elif isinstance(node, tuple) and len(node) == 2 and node[0] is _OP.RANGE:
            low, high = node[1]
            found.update(c for c in _XML_SPECIALS if low <= ord(c) <= high)
        elif isinstance(node, (list, tuple, sre_parse.SubPattern)):
            for child in node:
                walk(child)

    walk(list(parsed))
    return found


def _has_class_escape(pattern: str) -> bool:
    """Whether the pattern uses \\d, \\w, \\s, \\b or their negations anywhere."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return False

    def walk(node: Any) -> bool:
        if isinstance(node, (list, tuple, sre_parse.SubPattern)):
            return any(walk(child) for child in node)
        return any(node is op for op in (_OP.CATEGORY, _OP.AT_BOUNDARY, _OP.AT_NON_BOUNDARY))

    return walk(list(parsed))


@cache
def _case_classes() -> dict[str, tuple[str, ...]]:
    """Case variants of each character, as Python's `re` matches them under IGNORECASE:
    characters are equal when one's simple lower or upper case mapping is the other, joined
    transitively ('s', 'S' and 'ſ'; 'i', 'I', 'İ' and 'ı'). Built once, on first use."""
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        while parent.get(char, char) != char:
            char = parent[char]
        return char

    def join(a: str, b: str) -> None:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[root_a] = root_b

    for code in range(0x110000):
        char = chr(code)
        lower, upper = char.lower(), char.upper()
        if lower != char:
            # İ lower-cases to 'i' + a combining dot; `re` uses the simple mapping, 'i'.
            join(char, lower[0])
        if len(upper) == 1 and upper != char:
            join(char, upper)
    classes: dict[str, set[str]] = {}
    for char in list(parent):
        classes.setdefault(find(char), {char}).add(char)
    variants = {}
    for root, members in classes.items():
        ordered = tuple(sorted(members | {root}))
        for member in ordered:
            variants[member] = ordered
    return variants


def _case_variants(char: str) -> tuple[str, ...]:
    return _case_classes().get(char, (char,))


# --- Splunk SPL ----------------------------------------------------------------------------------


_XML_SPECIALS = frozenset("&<>")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def refuse_regex_xml_specials(value: Value) -> str | None:
    if isinstance(value.value, SigmaRegularExpression) and _XML_SPECIALS.intersection(
        _regex_literals(str(value.value.regexp))
    ):
        return (
            f"{value.shown()} matches '&', '<' or '>'; Splunk's add-ons extract XML-rendered "
            "values without decoding entities ('<' is stored as '&lt;'), and `regex` runs on them"
        )
    return None


def refuse_pcre_differences(value: Value) -> str | None:
    """A pattern Splunk's PCRE reads differently from Python's `re` (the reference's)."""
    if not isinstance(value.value, SigmaRegularExpression):
        return None
    flags = "".join(sorted(SigmaRegularExpression.sigma_to_re_flag[f] for f in value.value.flags))
    try:
        # The SPL engine's PCRE model states where PCRE and Python differ.
        compile_pcre((f"(?{flags})" if flags else "") + str(value.value.regexp))
    except QueryError as error:
        return f"{value.shown()}: Splunk's PCRE and Sigma's reference (Python re) differ: {error}"
    return None


class CertdetectSplunkBackend(SplunkBackend):
    """SplunkBackend that refuses what SPL search cannot say and resets its per-rule state."""

    refusals: ClassVar[tuple[Refusal, ...]] = (
        refuse_literal_star(
            "SPL", "search cannot escape the asterisk (Search Manual, 'Backslashes')"
        ),
        refuse_single_wildcard(
            "SPL", "has no single-character wildcard (the backend would widen it to '*')"
        ),
        refuse_cased(
            "SPL", "search is case-insensitive and the backend drops |cased inside value lists"
        ),
        refuse_non_ascii_case(
            "SPL", "documents no Unicode case folding for search terms", regex_ignorecase=True
        ),
        refuse_regex_classes("SPL"),
        refuse_regex_xml_specials,
        refuse_pcre_differences,
    )
    rule_refusals: ClassVar[tuple[RuleRefusal, ...]] = (refuse_negated_field_reference,)

    def convert_condition_field_eq_expansion(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # `|windash` expands into an OR that the stock backend leaves bare, even with
        # `parenthesize`: `not x|windash` became `NOT x="-a" OR x="/a" ...`, NOT binding first.
        converted = super().convert_condition_field_eq_expansion(cond, state)
        if isinstance(converted, str):
            return self.group_expression.format(expr=converted)
        return converted

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        # The add-ons extract XML-rendered values without decoding entities: a value that holds
        # `<` is stored (and searched) as `&lt;`.
        if isinstance(s, SigmaString) and any(
            isinstance(part, str) and _XML_SPECIALS.intersection(part) for part in s.s
        ):
            s = copy(s)
            s.s = tuple(
                part.translate(_XML_ESCAPES) if isinstance(part, str) else part for part in s.s
            )
        return super().convert_value_str(s, state)

    def convert_rule(self, rule: SigmaRule, *args: Any, **kwargs: Any) -> list[Any]:
        # The OR-regex helper keeps its counters on the class; a rule that failed half-way
        # would leave them to the next rule.
        SplunkDeferredORRegularExpression.reset()
        return super().convert_rule(rule, *args, **kwargs)

    # Where a regex item stands: the boolean operators above it, outermost first. pySigma's
    # parent pointers cannot say: an identifier used twice in a condition shares one item, whose
    # parent is wherever it was used last. The conversion walk itself can.
    def _walk(self, kind: type, cond: Any, state: ConversionState, convert: Any) -> Any:
        stack = state.processing_state.setdefault(_OPERATORS, [])
        stack.append(kind)
        try:
            return convert(cond, state)
        finally:
            stack.pop()

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        return self._walk(ConditionAND, cond, state, super().convert_condition_and)

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        return self._walk(ConditionOR, cond, state, super().convert_condition_or)

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        return self._walk(ConditionNOT, cond, state, super().convert_condition_not)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        assert isinstance(value, SigmaRegularExpression)
        above = state.processing_state.get(_OPERATORS, [])
        regex = TextQueryBackend.convert_condition_field_eq_val_re(self, cond, state)
        # `| regex F="..."` after the search is right only under ANDs, or directly under one NOT
        # (`regex F!=`). The stock backend uses it whenever no OR is above, so `not (A and R)`
        # became `(not A) and R`; and it finds the ORs through the parent pointers.
        if ConditionOR not in above and ConditionNOT not in above[:-1]:
            return SplunkDeferredRegularExpression(state, cond.field, regex).postprocess(None, cond)
        if _matches_empty(value):
            raise SigmaFeatureNotSupportedByBackendError(
                f"SPL: {cond.field}|re '{value.regexp}' can match the empty string; inside an OR "
                "or a negated group it is tested with `rex` and `isnotnull`, and an empty "
                "capture sets no field, so a match would count as none"
            )
        # The stock form for regexes inside an OR: `rex` into a field, `eval` a flag, then
        # search the flag where the item stands.
        SplunkDeferredORRegularExpression(state, cond.field, regex).postprocess(None, cond)
        flag = SplunkDeferredORRegularExpression.get_field_condition(cond.field)
        flag_is_true = ConditionFieldEqualsValueExpression(flag, SigmaString("true"))
        return TextQueryBackend.convert_condition_field_eq_val_str(self, flag_is_true, state)


_OPERATORS = "certdetect_operators_above"


def _matches_empty(value: SigmaRegularExpression) -> bool:
    flags = 0
    for flag in value.flags:
        flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    try:
        return re.search(str(value.regexp), "", flags) is not None
    except re.error:
        return False


# --- Microsoft Defender XDR KQL ------------------------------------------------------------------


class CertdetectKustoBackend(KustoBackend):
    """KustoBackend with anchored, case-insensitive regexes for values with inner wildcards."""

    refusals: ClassVar[tuple[Refusal, ...]] = (
        refuse_cased(
            "KQL",
            "the backend refuses |cased values alone and drops |cased inside value lists",
        ),
        refuse_non_ascii_case(
            "KQL",
            "documents no Unicode case folding for =~, in~ and contains",
            regex_ignorecase=False,  # the RE2 translation spells out every case variant
        ),
    )
    # `has_all` is a term search, not equality: never turn AND-linked values into it.
    convert_and_as_in: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.processing_pipeline is not None:
            keep_registry_wildcards(self.processing_pipeline)
        self._category: str | None = None

    def convert_rule(self, rule: SigmaRule, *args: Any, **kwargs: Any) -> list[Any]:
        self._category = rule.logsource.category
        return super().convert_rule(rule, *args, **kwargs)

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if (
            self._category == "registry_set"
            and cond.field == "RegistryKey"
            and isinstance(value, SigmaString)
        ):
            split = split_registry_value_name(value)
            if split is not None:
                return self._key_and_value_name(split, state)
        if isinstance(value, SigmaString) and _needs_regex(value):
            field = self.escape_and_quote_field(cond.field)
            return f'{field} matches regex "{kql_string(kql_wildcard_regex(value))}"'
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        re2 = backend_regex(cond, RE2, "KQL")
        return f'{self.escape_and_quote_field(cond.field)} matches regex "{kql_string(re2)}"'

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        # The stock method splits a value with an inner wildcard into unordered `contains`.
        plain = [
            arg
            for arg in cond.args
            if isinstance(arg, ConditionFieldEqualsValueExpression)
            and not (isinstance(arg.value, SigmaString) and _needs_regex(arg.value))
        ]
        if len(plain) == len(cond.args):
            return super().convert_condition_as_in_expression(cond, state)
        parts = []
        if plain:
            rest = cond.__class__(plain)  # type: ignore[arg-type]
            parts.append(super().convert_condition_as_in_expression(rest, state))
        for arg in cond.args:
            if arg not in plain:
                assert isinstance(arg, ConditionFieldEqualsValueExpression)
                parts.append(self.convert_condition_field_eq_val_str(arg, state))
        operator = self.or_token if isinstance(cond, ConditionOR) else self.and_token
        return f"{self.token_separator}{operator}{self.token_separator}".join(parts)

    def _key_and_value_name(
        self, split: tuple[SigmaString | None, str], state: ConversionState
    ) -> Any:
        key, name = split
        name_test = f'RegistryValueName =~ "{kql_string(name)}"'
        if key is None:
            return name_test
        key_test = self.convert_condition_field_eq_val_str(
            ConditionFieldEqualsValueExpression("RegistryKey", key), state
        )
        return f"({key_test} and {name_test})"


def split_registry_value_name(value: SigmaString) -> tuple[SigmaString | None, str] | None:
    """Split a Sysmon 13 TargetObject value into its key part and the value name.

    Sysmon's TargetObject for a value write ends with the value name; Defender's RegistryKey
    never holds it (it is in RegistryValueName), so `TargetObject|endswith: '\\Blob'` mapped to
    `RegistryKey endswith "\\Blob"` never matches (pysigma-findings.md, finding 2). Only values
    whose last segment is plain text can be split: `*\\Name` (endswith) gives no key part,
    `*\\Key\\Name` a key that must end with `\\Key`, and a full path an exact key.
    """
    parts = list(value.s)
    if not parts or not isinstance(parts[-1], str) or "\\" not in parts[-1]:
        return None
    head, name = parts[-1].rsplit("\\", 1)
    if not name:
        return None
    key_parts = [*parts[:-1], head] if head else parts[:-1]
    if key_parts == [SpecialChars.WILDCARD_MULTI]:
        return None, name
    if any(isinstance(part, SpecialChars) for part in key_parts[1:]) or not key_parts:
        return None
    return _sigma_string(key_parts), name


def _sigma_string(parts: list[Any]) -> SigmaString:
    string = SigmaString("")
    string.s = [part for part in parts if part != ""]
    return string


def keep_registry_wildcards(pipeline: Any) -> None:
    """Make microsoft_xdr's HKLM/HKU/HKCR prefix replacements leave wildcards alone.

    They rewrite the plain text of the value and parse it again, so the trailing backslash of
    `contains: '\\...\\Certificates\\'` escapes the wildcard after it and the query searches
    for a literal `*` (pysigma-findings.md, finding 1; fixed in pySigma 2.0.1). Replacing in the
    plain parts only (skip_special) keeps the wildcards; the `^HK..` patterns can only match at
    the start of a value's first plain part, which is where a hive name stands.
    """
    for item in pipeline.items:
        if (item.identifier or "").startswith("microsoft_xdr_registry_key_replace"):
            item.transformation.skip_special = True


def _needs_regex(value: SigmaString) -> bool:
    """More than a leading and a trailing `*`: no KQL string operator expresses it."""
    parts = list(value.s)
    if parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts = parts[1:]
    if parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts = parts[:-1]
    return any(isinstance(part, SpecialChars) for part in parts)


_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def kql_wildcard_regex(value: SigmaString) -> str:
    """An RE2 regex for the whole value: case-insensitive, `*` and `?` across line breaks."""
    out = ["(?is)^"]
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        elif isinstance(part, str):
            out.append("".join("\\" + c if c in _RE2_SPECIAL else c for c in part))
    out.append("$")
    return "".join(out)


def kql_string(text: str) -> str:
    """Body of a KQL double-quoted string."""
    return _string_body(text, escape_controls=False)
