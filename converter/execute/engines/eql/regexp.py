r"""Lucene regular expressions (org.apache.lucene.util.automaton.RegExp, syntax flags ALL).

EQL's `regex` and `regex~` take Lucene's syntax ("Regular expression syntax",
`query-dsl/regexp-syntax.md`), matched against the whole value.

Parsed with the grammar and quirks of Lucene 9's RegExp (the Elasticsearch 8 line): `.` is any
character (newlines too), `\d \D \s \S \w \W` are the ASCII classes [0-9], [ \t\n\r] and
[a-zA-Z_0-9], a backslash before another letter is an error, `^` and `$` are plain characters,
`"..."` is a literal string, `#` the empty language, `@` any string, `<n-m>` a decimal
interval, `&` intersection and `~` complement. A repeat applies to the whole preceding
expression (`a+?` is `(a+)?`, never lazy). Python's `re` has no intersection or complement:
they are evaluated as boolean tests when they sit at the top (under `|`, `&`, `~` only) and
rejected anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from converter.execute.engines.base import QueryError

REGEX_FLAGS = re.DOTALL
# ASCII-only case folding, as Lucene's case-insensitive automata do.
CASE_INSENSITIVE_FLAGS = re.DOTALL | re.IGNORECASE | re.ASCII


class _LuceneSyntaxError(ValueError):
    pass


class _LuceneParser:
    """A port of RegExp's recursive-descent parser, to tuple nodes.

    ("char", c), ("str", s), ("any",), ("anystr",), ("empty",), ("range", a, b), ("pre", letter),
    ("class", negated, items), ("cat", items), ("union", items), ("inter", items), ("compl", x),
    ("opt", x), ("star", x), ("rep", x, min, max | None), ("interval", low, high, digits),
    ("named", name).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple:
        if not self.text:
            return ("str", "")
        node = self.union()
        if self.more():
            raise _LuceneSyntaxError(f"end-of-string expected at position {self.pos}")
        return node

    def more(self) -> bool:
        return self.pos < len(self.text)

    def peek(self, chars: str) -> bool:
        return self.more() and self.text[self.pos] in chars

    def match(self, char: str) -> bool:
        if self.more() and self.text[self.pos] == char:
            self.pos += 1
            return True
        return False

    def next(self) -> str:
        if not self.more():
            raise _LuceneSyntaxError("unexpected end-of-string")
        self.pos += 1
        return self.text[self.pos - 1]

    def union(self) -> tuple:
        items = [self.intersection()]
        while self.match("|"):
            items.append(self.intersection())
        return items[0] if len(items) == 1 else ("union", items)

    def intersection(self) -> tuple:
        items = [self.concatenation()]
        while self.match("&"):
            items.append(self.concatenation())
        return items[0] if len(items) == 1 else ("inter", items)

    def concatenation(self) -> tuple:
        items = [self.repeat()]
        while self.more() and not self.peek(")|&"):
            items.append(self.repeat())
        return items[0] if len(items) == 1 else ("cat", items)

    def repeat(self) -> tuple:
        node = self.complement()
        while self.peek("?*+{"):
            if self.match("?"):
                node = ("opt", node)
            elif self.match("*"):
                node = ("star", node)
            elif self.match("+"):
                node = ("rep", node, 1, None)
            else:
                self.match("{")
                low = self.integer()
                high: int | None = low
                if self.match(","):
                    high = self.integer() if self.peek("0123456789") else None
                if not self.match("}"):
                    raise _LuceneSyntaxError(f"expected '}}' at position {self.pos}")
                node = ("rep", node, low, high)
        return node

    def integer(self) -> int:
        start = self.pos
        while self.peek("0123456789"):
            self.pos += 1
        if start == self.pos:
            raise _LuceneSyntaxError(f"integer expected at position {self.pos}")
        value = int(self.text[start : self.pos])
        if value > 2**31 - 1:
            raise _LuceneSyntaxError(f"number too large at position {start}")
        return value

    def complement(self) -> tuple:
        if self.match("~"):
            return ("compl", self.complement())
        if self.match("["):
            negated = self.match("^")
            items = [self.class_item()]
            while self.more() and not self.peek("]"):
                items.append(self.class_item())
            if not self.match("]"):
                raise _LuceneSyntaxError(f"expected ']' at position {self.pos}")
            return ("class", negated, items)
        return self.simple()

    def class_item(self) -> tuple:
        predefined = self.predefined()
        if predefined is not None:
            return predefined
        low = self.char()
        if self.match("-"):
            high = self.char()
            if low > high:
                raise _LuceneSyntaxError(
                    f"invalid range: from ({ord(low)}) cannot be > to ({ord(high)})"
                )
            return ("range", low, high)
        return ("char", low)

    def predefined(self) -> tuple | None:
        # Like Lucene, a backslash stays consumed when no class follows it.
        if self.match("\\"):
            if self.peek("dDwWsS"):
                return ("pre", self.next())
            if self.peek("\\"):
                return ("char", self.next())
            if self.more() and self.text[self.pos].isascii() and self.text[self.pos].isalpha():
                raise _LuceneSyntaxError(f"invalid character class \\{self.next()}")
        return None

    def char(self) -> str:
        self.match("\\")
        return self.next()

    def simple(self) -> tuple:
        if self.match("."):
            return ("any",)
        if self.match("#"):
            return ("empty",)
        if self.match("@"):
            return ("anystr",)
        if self.match('"'):
            start = self.pos
            while self.more() and not self.peek('"'):
                self.pos += 1
            if not self.match('"'):
                raise _LuceneSyntaxError(f"expected '\"' at position {self.pos}")
            return ("str", self.text[start : self.pos - 1])
        if self.match("("):
            if self.match(")"):
                return ("str", "")
            node = self.union()
            if not self.match(")"):
                raise _LuceneSyntaxError(f"expected ')' at position {self.pos}")
            return node
        if self.match("<"):
            return self.angle()
        predefined = self.predefined()
        if predefined is not None:
            return predefined
        return ("char", self.char())

    def angle(self) -> tuple:
        start = self.pos
        while self.more() and not self.peek(">"):
            self.pos += 1
        if not self.match(">"):
            raise _LuceneSyntaxError(f"expected '>' at position {self.pos}")
        body = self.text[start : self.pos - 1]
        if "-" not in body:
            return ("named", body)
        low, _, high = body.partition("-")
        if not (low.isdigit() and high.isdigit() and low.isascii() and high.isascii()):
            raise _LuceneSyntaxError(f"interval syntax error at position {self.pos - 1}")
        digits = len(low) if len(low) == len(high) else 0
        a, b = sorted((int(low), int(high)))
        if b > 2**31 - 1:  # Integer.parseInt fails
            raise _LuceneSyntaxError(f"interval syntax error at position {self.pos - 1}")
        return ("interval", a, b, digits)


_PREDEFINED = {
    "d": "0-9",
    "s": " \\t\\n\\r",
    "w": "a-zA-Z_0-9",
}


def _class_char(c: str) -> str:
    return f"\\U{ord(c):08x}"


def _render(node: tuple, insensitive: bool) -> str:
    """Python `re` source for a node without intersection or complement."""
    kind = node[0]
    if kind == "char" or kind == "str":
        return re.escape(node[1])  # ASCII letters fold through re.IGNORECASE | re.ASCII
    if kind == "any":
        return "."
    if kind == "anystr":
        return "(?:.*)"
    if kind == "empty":
        return "(?!)"
    if kind == "range":
        rendered = f"[{_class_char(node[1])}-{_class_char(node[2])}]"
        return f"(?-i:{rendered})" if insensitive else rendered
    if kind == "pre":
        letter = node[1]
        negation = "^" if letter.isupper() else ""
        return f"[{negation}{_PREDEFINED[letter.lower()]}]"
    if kind == "class":
        return _render_class(node[1], node[2], insensitive)
    if kind == "cat":
        return "".join(_render(item, insensitive) for item in node[1])
    if kind == "union":
        return "(?:" + "|".join(_render(item, insensitive) for item in node[1]) + ")"
    if kind == "opt":
        return f"(?:{_render(node[1], insensitive)})?"
    if kind == "star":
        return f"(?:{_render(node[1], insensitive)})*"
    if kind == "rep":
        inner, low, high = _render(node[1], insensitive), node[2], node[3]
        if high is None:
            return f"(?:{inner}){{{low},}}"
        if low > high:
            return "(?!)"  # Operations.repeat(a, min, max) with min > max: the empty language
        return f"(?:{inner}){{{low},{high}}}"
    if kind == "interval":
        return f"(?:{_interval(node[1], node[2], node[3])})"
    if kind == "named":
        raise QueryError(f"regex: named automaton <{node[1]}> not found")
    raise QueryError("regex: intersection (&) and complement (~) are only supported at the top")


def _render_class(negated: bool, items: list[tuple], insensitive: bool) -> str:
    # A native class unless it holds \D, \S or \W, or a range that must stay case-sensitive
    # while the rest folds.
    native = all(
        item[0] == "char"
        or (item[0] == "pre" and item[1].islower())
        or (item[0] == "range" and not insensitive)
        for item in items
    )
    if native:
        members = []
        for item in items:
            if item[0] == "char":
                members.append(_class_char(item[1]))
            elif item[0] == "range":
                members.append(f"{_class_char(item[1])}-{_class_char(item[2])}")
            else:
                members.append(_PREDEFINED[item[1]])
        return "[" + ("^" if negated else "") + "".join(members) + "]"
    # A union of single-character expressions; negated: any character that matches none.
    alternatives = "|".join(_render(item, insensitive) for item in items)
    return f"(?:(?!{alternatives}).)" if negated else f"(?:{alternatives})"


def _interval(low: int, high: int, digits: int) -> str:
    """Automata.makeDecimalInterval: fixed width when digits > 0, else any leading zeros."""
    if digits > 0:
        return _fixed_width(str(low).zfill(digits), str(high).zfill(digits))
    parts = []
    for width in range(len(str(low)), len(str(high)) + 1):
        a = max(low, 10 ** (width - 1) if width > 1 else 0)
        b = min(high, 10**width - 1)
        if a <= b:
            parts.append(_fixed_width(str(a), str(b)))
    return "0*(?:" + "|".join(parts) + ")"


def _fixed_width(a: str, b: str) -> str:
    """Digit strings of len(a) == len(b) between a and b inclusive."""
    if a == b:
        return a
    if len(a) == 1:
        return f"[{a}-{b}]"
    if a[0] == b[0]:
        return a[0] + _fixed_width(a[1:], b[1:])
    rest = len(a) - 1
    parts = [a[0] + _fixed_width(a[1:], "9" * rest)]
    if int(b[0]) - int(a[0]) > 1:
        parts.append(f"[{int(a[0]) + 1}-{int(b[0]) - 1}]" + "[0-9]" * rest)
    parts.append(b[0] + _fixed_width("0" * rest, b[1:]))
    return "(?:" + "|".join(parts) + ")"


def _has_boolean(node: tuple) -> bool:
    kind = node[0]
    if kind in ("inter", "compl"):
        return True
    if kind in ("cat", "union"):
        return any(_has_boolean(item) for item in node[1])
    if kind in ("opt", "star", "rep"):
        return _has_boolean(node[1])
    return False


def lucene_regex(pattern: str, insensitive: bool = False) -> Callable[[str], bool]:
    """A test for "the whole string matches this Lucene regular expression"."""
    try:
        tree = _LuceneParser(pattern).parse()
    except _LuceneSyntaxError as exc:
        raise QueryError(f"regex {pattern!r}: {exc}") from None
    return _regex_test(tree, insensitive, pattern)


def _regex_test(node: tuple, insensitive: bool, pattern: str) -> Callable[[str], bool]:
    kind = node[0]
    if _has_boolean(node):
        if kind == "compl":
            inner = _regex_test(node[1], insensitive, pattern)
            return lambda s: not inner(s)
        if kind in ("inter", "union"):
            tests = [_regex_test(item, insensitive, pattern) for item in node[1]]
            if kind == "inter":
                return lambda s: all(t(s) for t in tests)
            return lambda s: any(t(s) for t in tests)
        raise QueryError(
            f"regex {pattern!r}: intersection (&) or complement (~) inside a concatenation or a "
            "repeat cannot be run faithfully here"
        )
    try:
        regex = re.compile(
            _render(node, insensitive), CASE_INSENSITIVE_FLAGS if insensitive else REGEX_FLAGS
        )
    except re.error as exc:  # pragma: no cover - the renderer only emits valid syntax
        raise QueryError(f"regex {pattern!r}: {exc}") from None
    fullmatch = regex.fullmatch
    return lambda s: fullmatch(s) is not None
