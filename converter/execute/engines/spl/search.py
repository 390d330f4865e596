"""Parse the expression of one `search` command.

Terms joined by implicit AND, `AND`, `OR`, `NOT`, parentheses; `field=value`, `field!=value`,
`field<value` (`<=`, `>`, `>=`), `field IN (v, ...)`, bare and quoted terms.

Order of evaluation in `search` is parentheses, NOT, OR, AND, so `A OR B C` is
`(A OR B) AND C`; operators are uppercase only, `or` is a term; XOR is not supported by
`search` (Search Manual, "Boolean expressions with logical operators").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from converter.execute.engines.base import QueryError
from converter.execute.engines.spl.quoting import read_quoted
from converter.execute.engines.spl.syntax import And, Compare, In, Node, Not, Or, Term

FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
KEYWORDS = frozenset({"AND", "OR", "NOT"})
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_OP_CHARS = frozenset("=!<>")
# unquoted words may not carry characters whose meaning in SPL this subset does not cover
_BAD_UNQUOTED = frozenset("\\'`[]{}|;")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(" ")" "," "word" "string" "cmp"
    text: str
    pos: int
    field: str = ""
    op: str = ""


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            toks.append(_Tok(c, c, i))
            i += 1
        elif c == '"':
            value, end = read_quoted(text, i)
            if end < n and text[end] in _OP_CHARS:
                raise QueryError(f"quoted field names are not supported (at {i})")
            toks.append(_Tok("string", value, i))
            i = end
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '(),"':
                j += 1
            word = text[i:j]
            k = next((p for p, ch in enumerate(word) if ch in _OP_CHARS), -1)
            if k < 0:
                toks.append(_Tok("word", word, i))
                i = j
                continue
            op = next((o for o in _OPERATORS if word.startswith(o, k)), "")
            name, rest = word[:k], word[k + len(op) :]
            if not op or not FIELD_RE.fullmatch(name):
                raise QueryError(f"cannot parse {word!r} as field<op>value (at {i})")
            if rest:
                if any(ch in _OP_CHARS or ch in _BAD_UNQUOTED for ch in rest):
                    raise QueryError(f"unsupported characters in unquoted value {rest!r}")
                if j < n and text[j] == '"':
                    raise QueryError(f"quote inside unquoted value {word!r} (at {i})")
                value = rest
            elif j < n and text[j] == '"':
                value, j = read_quoted(text, j)
            else:
                raise QueryError(f"missing value after {word!r} (at {i})")
            toks.append(_Tok("cmp", value, i, field=name, op=op))
            i = j
    return toks


class _SearchParser:
    """Recursive descent over one `search` command's expression.

    `and_binds_tighter` exists only so tests can show that the documented OR-before-AND order
    decides real queries; the engine never sets it.
    """

    def __init__(self, text: str, and_binds_tighter: bool = False) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.and_binds_tighter = and_binds_tighter

    def parse(self) -> Node:
        if not self.toks:
            raise QueryError("empty search expression")
        node = self._low()
        if self.i < len(self.toks):
            tok = self.toks[self.i]
            raise QueryError(f"unexpected {tok.text!r} at {tok.pos}")
        return node

    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _is_word(self, tok: _Tok | None, word: str) -> bool:
        return tok is not None and tok.kind == "word" and tok.text == word

    # precedence levels: the search command evaluates OR before AND (binds tighter)
    def _low(self) -> Node:
        return self._or(self._and_of_not) if self.and_binds_tighter else self._and(self._or_of_not)

    def _or_of_not(self) -> Node:
        return self._or(self._not)

    def _and_of_not(self) -> Node:
        return self._and(self._not)

    def _and(self, operand: Callable[[], Node]) -> Node:
        items = [operand()]
        while True:
            tok = self._peek()
            if tok is None or tok.kind == ")":
                break
            if self.and_binds_tighter and self._is_word(tok, "OR"):
                break
            if self._is_word(tok, "AND"):
                self.i += 1
            items.append(operand())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _or(self, operand: Callable[[], Node]) -> Node:
        items = [operand()]
        while self._is_word(self._peek(), "OR"):
            self.i += 1
            items.append(operand())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _not(self) -> Node:
        if self._is_word(self._peek(), "NOT"):
            self.i += 1
            return Not(self._not())
        return self._primary()

    def _primary(self) -> Node:
        tok = self._peek()
        if tok is None:
            raise QueryError("expression ends where a term is expected")
        self.i += 1
        if tok.kind == "(":
            close = self._peek()
            if close is not None and close.kind == ")":
                raise QueryError(f"empty parentheses at {tok.pos}")
            node = self._low()
            close = self._peek()
            if close is None or close.kind != ")":
                raise QueryError(f"unbalanced parenthesis at {tok.pos}")
            self.i += 1
            return node
        if tok.kind == "cmp":
            return Compare(tok.field, tok.op, tok.text)
        if tok.kind == "string":
            return Term(tok.text)
        if tok.kind == "word":
            return self._word(tok)
        raise QueryError(f"unexpected {tok.text!r} at {tok.pos}")

    def _word(self, tok: _Tok) -> Node:
        word = tok.text
        if word in KEYWORDS:
            raise QueryError(f"{word} at {tok.pos} has no operand before it")
        if word == "XOR":
            raise QueryError("XOR is not supported by the search command")
        nxt = self._peek()
        if nxt is not None and nxt.kind == "word" and nxt.text.upper() == "IN":
            after = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
            if after is not None and after.kind == "(":
                if nxt.text != "IN" or not FIELD_RE.fullmatch(word):
                    raise QueryError(f"{word} {nxt.text} (...) is not an IN expression")
                self.i += 2
                return In(word, self._in_values(tok))
        if nxt is not None and nxt.kind == "(" and nxt.pos == tok.pos + len(word):
            raise QueryError(f"function-like {word}( at {tok.pos} (TERM, CASE, ...) not supported")
        if word.upper() == "IN" and nxt is not None and nxt.kind == "(":
            raise QueryError(f"IN at {tok.pos} does not follow a field name")
        if any(ch in _BAD_UNQUOTED for ch in word):
            raise QueryError(f"unsupported characters in term {word!r}")
        return Term(word)

    def _in_values(self, field_tok: _Tok) -> tuple[str, ...]:
        values: list[str] = []
        while True:
            tok = self._peek()
            if tok is None or tok.kind not in ("string", "word"):
                raise QueryError(f"malformed IN list after {field_tok.text} ({field_tok.pos})")
            if tok.kind == "word" and any(ch in _BAD_UNQUOTED for ch in tok.text):
                raise QueryError(f"unsupported characters in IN value {tok.text!r}")
            values.append(tok.text)
            self.i += 1
            sep = self._peek()
            if sep is not None and sep.kind == ",":
                self.i += 1
                continue
            if sep is not None and sep.kind == ")":
                self.i += 1
                return tuple(values)
            raise QueryError(f"malformed IN list after {field_tok.text} ({field_tok.pos})")


def parse_search(text: str) -> Node:
    """The syntax tree of one `search` command's expression (without the `search` keyword)."""
    return _SearchParser(text).parse()
