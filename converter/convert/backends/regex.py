r"""Sigma `|re` values rewritten for the targets' regex dialects (Lucene, RE2).

The Sigma reference evaluates `|re` as Python's `re.search` (PCRE reads the constructs below the
same way). The targets' regex engines differ: Lucene (Elasticsearch `regex`) matches the whole
value, has no anchors, reads `.` as any character and `\d`/`\s`/`\w` as ASCII classes; RE2
(Kusto `matches regex`) searches, but its `$` is only the end of the text and its classes are
ASCII too. `translate_regex` parses the pattern with Python's own parser and writes it again
for the target: case-insensitivity as explicit classes of the case variants Python's `re`
accepts, `.` as "not a newline" unless `|s`, `$` as "end, or a newline that ends the value", and
for RE2 `\s` and `\d` as the code point ranges Python's `re` matches.
What has no faithful form raises UnsupportedShape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag

from converter.convert.backends.refusals import UnsupportedShape

try:  # Python's own regex parser: the Sigma reference evaluates `|re` with Python's `re`
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]


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
            raise UnsupportedShape(f"the target reads {self.class_reason}")
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
        special = _RE2_CLASS_SPECIAL if in_class else RE2_SPECIAL
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
            elif op is _OP.CATEGORY and self.dialect == RE2 and str(arg) in _UNICODE_CATEGORIES:
                members.extend(_re2_ranges(str(arg)))
            else:
                raise UnsupportedShape(f"the target reads {self.class_reason}")
        return "[" + ("^" if negated else "") + "".join(dict.fromkeys(members)) + "]"

    @property
    def class_reason(self) -> str:
        return RE2_CLASS_REASON if self.dialect == RE2 else CLASS_REASON


CLASS_REASON = (
    "\\d, \\w, \\s and \\b as ASCII classes, Sigma's reference (Python re) as Unicode "
    "classes; spell the class out, e.g. [0-9]"
)
RE2_CLASS_REASON = (
    "\\w and \\b as ASCII classes, Sigma's reference (Python re) as Unicode classes; spell "
    "the class out, e.g. [A-Za-z0-9_]"
)
# Python's re (str patterns) reads \s and \d as Unicode classes (str.isspace(), category Nd:
# docs.python.org/3/library/re.html); RE2 reads them as ASCII classes
# (github.com/google/re2/wiki/Syntax), so they are written out as the code point ranges Python's
# re itself matches.
_UNICODE_CATEGORIES = {
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
}
# surrogates never occur in UTF-8 text, and RE2 refuses them in a class
_CODE_POINTS = (range(0, 0xD800), range(0xE000, 0x110000))


@cache
def unicode_class_ranges(category: str) -> tuple[tuple[int, int], ...]:
    """The code point ranges Python's re matches with the class escape `category`."""
    runs = re.compile(_UNICODE_CATEGORIES[category] + "+")
    ranges = []
    for points in _CODE_POINTS:
        text = "".join(map(chr, points))
        for match in runs.finditer(text):
            ranges.append((points.start + match.start(), points.start + match.end() - 1))
    return tuple(ranges)


def _re2_ranges(category: str) -> list[str]:
    return [
        f"\\x{{{low:x}}}" if low == high else f"\\x{{{low:x}}}-\\x{{{high:x}}}"
        for low, high in unicode_class_ranges(category)
    ]


_CONSTRUCTS = {
    "ASSERT": "a lookaround",
    "ASSERT_NOT": "a negative lookaround",
    "GROUPREF": "a backreference",
    "GROUPREF_EXISTS": "a conditional group",
    "ATOMIC_GROUP": "an atomic group",
    "POSSESSIVE_REPEAT": "a possessive repeat",
}
_RE2_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v"}
RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")
_RE2_CLASS_SPECIAL = frozenset("\\[]^-")


def regex_literals(pattern: str, in_ranges: frozenset[str]) -> set[str]:
    """The characters a pattern names literally (alone or negated), and those of `in_ranges`
    that a range covers."""
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
            found.update(c for c in in_ranges if low <= ord(c) <= high)
        elif isinstance(node, (list, tuple, sre_parse.SubPattern)):
            for child in node:
                walk(child)

    walk(list(parsed))
    return found


def has_class_escape(pattern: str) -> bool:
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
