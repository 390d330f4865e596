"""Execute the SPL that pySigma's Splunk backend emits, with Splunk's search-time semantics.

No SPL evaluator exists outside Splunk, so this module is a strict hand-written parser and
compiler for exactly the subset the backend emits. Anything outside it raises `QueryError`:
a query this engine does not understand is never evaluated by guesswork.

Subset (pipeline commands separated by `|`, outside double quotes):
- a first `search` command (the keyword itself is optional), then any of `search`, `regex`,
  `rex field=F "..."`, `eval C=if(isnotnull(G), "a", "b")` and `where 'F'='G'` (the backend's
  form of a Sigma `|fieldref`);
- search expressions: terms joined by implicit AND, `AND`, `OR`, `NOT`, parentheses;
  `field=value`, `field!=value`, `field<value` (`<=`, `>`, `>=`), `field IN (v, ...)`,
  bare and quoted terms.

Semantics, each from Splunk's documentation (Splunk Enterprise 9.x):
- Order of evaluation in `search` is parentheses, NOT, OR, AND, so `A OR B C` is
  `(A OR B) AND C`; operators are uppercase only, `or` is a term; XOR is not supported by
  `search` (Search Manual, "Boolean expressions with logical operators").
- Field names are case-sensitive (Splexicon, "Field"); values and terms are not (Search Manual,
  "Use CASE() and TERM() to match phrases": "By default, searches are case-insensitive").
  `*` matches any run of characters; `?` is not a wildcard (Search Manual, "Wildcards").
  A value matches a field when it matches any of the field's values (multivalue fields).
- `field!=v` needs the field to exist; `NOT field=v` also matches events without it (Search
  Manual, "Difference between != and NOT"). On a multivalue field `!=` holds when some value
  differs (assumed; the page only covers single values).
- `source`, `sourcetype`, `host` and `index` are the event's default fields ("Use default
  fields"); the values in `SplunkEvent.fields` under those names are searched as well. `index`
  only when the engine is built with `model_index` (an environment overlay that names the index
  its events are in, and ANDs every query with it); otherwise a query naming `index` is a
  `QueryError`, so that no rule value can choose which indexes a search reads.
- Search macros (`` `name` ``) are replaced by their definition text before the search is parsed,
  outside double-quoted strings only ("Use search macros in searches": "Macros inside of quoted
  values are not expanded"); the text is not parenthesised ("Use macros with event types and
  tags" shows a definition's implicit AND changing the meaning of the search around it). Macros
  inside definitions are expanded too. A macro the engine was not given, a macro with arguments
  and a `` ``` `` comment are `QueryError`s.
- `field=a.b.c.d/n` (IPv4 or IPv6) is a CIDR match against values that are IP addresses (Search
  Reference, `search`: "supports IPv4 and IPv6 addresses and subnets that use CIDR notation").
- Numeric comparisons compare numerically; a value that is not a number never satisfies one,
  and a non-numeric literal is a `QueryError` (string ordering is not modelled).
- Quoted strings: `\\\\` is a backslash and `\\"` a quote (Search Manual, "Backslashes"). The
  backslash cannot escape `*` ("Backslashes"; "SPL and regular expressions"), so `\\*` in a
  search value, whose effect is undocumented, is a `QueryError`; so is any other escape.
- Bare and quoted terms search `_raw`, as the index segments it (Search Manual, "Event
  segmentation and searching"; `segmenters.conf.spec`: default major breakers
  ``[ ] < > ( ) { } | ! ; , ' " * \\n \\r \\s \\t & ? +`` and ``%21 %26 %2526 %3B %7C %20
  %2B %3D -- %2520 %5D %5B %3A %0A %2C %28 %29``, minor breakers ``/ : = @ . - $ # % \\ _``;
  indexed tokens are each major segment, each span from its start to a minor breaker and each
  piece between breakers). Implemented, case-insensitively: a term without wildcards matches
  when every piece of it between breakers is a token of the event and the whole term occurs in
  the raw text; that is how "Use CASE() and TERM()" describes a term with minor breakers ("the
  conjunction of the subterms ... and post-filters the results"), the post-filter being taken
  as a substring test. So `cert` does not match `certutil.exe`; `certutil`, `exe` and
  `"certutil.exe -addstore"` do. Wildcards only at a term's ends, matched against the tokens:
  `x*` a token starts with `x`, `*x` one ends with `x`, `*x*` a major segment contains `x`
  (`x` without major breakers); a lone `*` matches every event. A wildcard inside a term (it
  "might cause inconsistent results", "Wildcards") and a CIDR term are `QueryError`s.
  Not modelled: Splunk's index pre-filter (lispy) for `field=value`, which can drop events
  whose raw text renders a value differently (for example XML entities), and
  `MAJOR_LEN`/`LOOKAHEAD` truncation of long events.
- `regex F="re"` keeps events where a value of F matches, `F!="re"` those where none does
  (including events without F); `rex field=F` matches the first value of F that matches and
  sets the named groups as fields; `eval C=if(isnotnull(G), a, b)`. Regular expressions are
  unanchored PCRE (Search Reference, `regex`, `rex`); in their quoted argument `\\\\` is one
  backslash and other escapes stay for the regex ("SPL and regular expressions").
  `converter.execute.engines.pcre.translate_pcre` accepts only PCRE that Python's `re` (ASCII mode)
  matches identically and raises `QueryError` on the rest.
- `where 'F'='G'` keeps events whose F equals G. `where` evaluates an eval expression, and
  "The <eval-expression> is case-sensitive" (Search Reference, `where`): the values are
  compared as they are. A comparison with a null field is null, and `where` keeps only the
  results for which the expression is true (same page), so an event without F or G is
  dropped. eval compares numbers numerically and has its own rules for multivalue fields;
  neither is modelled: a number or a multivalue field in the comparison is a `QueryError`
  when the event is evaluated. Only this one form is parsed (no NOT, AND, functions).
- Empty values (`field=""`), internal fields other than `_raw`, time modifiers and every
  other command are `QueryError`s: the documents do not carry what they would need.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

from converter.core.documents import SplunkEvent
from converter.execute.engines.base import QueryError
from converter.execute.engines.pcre import compile_pcre

# --- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A bare or quoted search term; `text` is unescaped (`*` is a wildcard)."""

    text: str


@dataclass(frozen=True)
class Compare:
    """`field<op>value` with op one of = != < <= > >=."""

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Term | Compare | In | Not | And | Or


@dataclass(frozen=True)
class SearchCommand:
    expression: Node


@dataclass(frozen=True)
class RegexCommand:
    field: str
    negate: bool
    pattern: str  # PCRE, after SPL unescaping


@dataclass(frozen=True)
class RexCommand:
    field: str
    pattern: str


@dataclass(frozen=True)
class EvalIfNotNull:
    target: str
    source: str
    then: str
    otherwise: str


@dataclass(frozen=True)
class WhereFieldEquals:
    """`where 'F'='G'`: pySigma's Splunk backend defers a field reference to this command."""

    left: str
    right: str


Command = SearchCommand | RegexCommand | RexCommand | EvalIfNotNull | WhereFieldEquals

# --- lexical rules -------------------------------------------------------------------------

FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# Fields the documents do not carry: filtering on them could only be guessed.
UNMODELLED_FIELDS = frozenset(
    {"splunk_server", "eventtype", "tag", "earliest", "latest", "savedsearch",
     "savedsplunk", "linecount", "punct", "timestartpos", "timeendpos"}
)  # fmt: skip
DEFAULT_FIELDS = ("source", "sourcetype", "host", "index")
KEYWORDS = frozenset({"AND", "OR", "NOT"})
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_OP_CHARS = frozenset("=!<>")
# unquoted words may not carry characters whose meaning in SPL this subset does not cover
_BAD_UNQUOTED = frozenset("\\'`[]{}|;")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CIDR_RE = re.compile(r"[0-9A-Fa-f:.]+/\d{1,3}")

MAJOR_BREAKERS = frozenset("[]<>(){}|!;,'\"*\n\r \t&?+")
MINOR_BREAKERS = frozenset("/:=@.-$#%\\_")
_BREAKERS = MAJOR_BREAKERS | MINOR_BREAKERS
# multi-character major breakers; matched on lower-cased text ('--' ends in a minor breaker)
_MULTI_MAJOR = ("%21", "%26", "%2526", "%3b", "%7c", "%20", "%2b", "%3d", "%2520", "%5d",
                "%5b", "%3a", "%0a", "%2c", "%28", "%29")  # fmt: skip
_SEGMENT_SPLIT_RE = re.compile(
    "|".join(re.escape(m) for m in sorted(_MULTI_MAJOR, key=len, reverse=True))
    + "|["
    + re.escape("".join(sorted(_BREAKERS)))
    + "]"
)


def read_quoted(text: str, start: int, *, regex: bool = False) -> tuple[str, int]:
    """Unescape the double-quoted string at `text[start]`; returns (value, index after it).

    Search values allow only `\\\\` and `\\"`; in a regular expression other escapes are kept
    for the regex engine (Search Manual, "Backslashes", "SPL and regular expressions").
    """
    assert text[start] == '"'
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt in '\\"':
                out.append(nxt)
            elif regex:
                out.append(c + nxt)
            elif nxt == "*":
                raise QueryError(
                    "'\\*' in a search string: the backslash cannot escape the asterisk in SPL "
                    "(Search Manual, Backslashes), so this value has no documented meaning"
                )
            else:
                raise QueryError(f"unsupported escape '\\{nxt}' in a search string")
            i += 2
            continue
        out.append(c)
        i += 1
    raise QueryError("unbalanced double quote")


def _next_unquoted(query: str, char: str, start: int = 0) -> int:
    """Index of the next `char` outside double-quoted strings, from `start` (which must be
    outside one), or -1; a backslash escapes the next character inside a quoted string."""
    i, quoted = start, False
    while i < len(query):
        c = query[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            return i
        i += 1
    if quoted:
        raise QueryError("unbalanced double quote")
    return -1


def split_pipeline(query: str) -> list[str]:
    """The commands of `query`: split on `|` outside double-quoted strings."""
    parts: list[str] = []
    start = 0
    while (bar := _next_unquoted(query, "|", start)) >= 0:
        parts.append(query[start:bar])
        start = bar + 1
    parts.append(query[start:])
    return [p.strip() for p in parts]


# --- search expression parser --------------------------------------------------------------


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


# --- pipeline parser -----------------------------------------------------------------------

_QUOTED = r'"(?:[^"\\]|\\.)*"'
_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_REX_RE = re.compile(rf"rex\s+field=({_NAME})\s+({_QUOTED})", re.S)
_REGEX_RE = re.compile(rf"regex\s+(?:({_NAME})\s*(!?=)\s*)?({_QUOTED})", re.S)
_WHERE_RE = re.compile(rf"where\s+'({_NAME})'\s*=\s*'({_NAME})'")
_EVAL_RE = re.compile(
    rf"eval\s+({_NAME})\s*=\s*if\s*\(\s*isnotnull\s*\(\s*({_NAME})\s*\)\s*,\s*({_QUOTED})"
    rf"\s*,\s*({_QUOTED})\s*\)",
    re.S,
)


def _command(segment: str, first: bool) -> Command:
    name = segment.split(None, 1)[0] if segment else ""
    if first or name == "search":
        body = segment[len("search") :] if name == "search" else segment
        if not body.strip():
            raise QueryError("empty search command")
        return SearchCommand(parse_search(body))
    if name == "rex":
        m = _REX_RE.fullmatch(segment)
        if not m:
            raise QueryError(f'only `rex field=F "<regex>"` is supported: {segment!r}')
        return RexCommand(m[1], read_quoted(m[2], 0, regex=True)[0])
    if name == "regex":
        m = _REGEX_RE.fullmatch(segment)
        if not m:
            raise QueryError(f'only `regex F="<regex>"` / `F!=` is supported: {segment!r}')
        return RegexCommand(m[1] or "_raw", m[2] == "!=", read_quoted(m[3], 0, regex=True)[0])
    if name == "eval":
        m = _EVAL_RE.fullmatch(segment)
        if not m:
            shape = 'eval C=if(isnotnull(G), "a", "b")'
            raise QueryError(f"only `{shape}` is supported: {segment!r}")
        then, otherwise = read_quoted(m[3], 0)[0], read_quoted(m[4], 0)[0]
        return EvalIfNotNull(m[1], m[2], then, otherwise)
    if name == "where":
        m = _WHERE_RE.fullmatch(segment)
        if not m:
            raise QueryError(f"only `where 'F'='G'` (a field reference) is supported: {segment!r}")
        return WhereFieldEquals(m[1], m[2])
    raise QueryError(f"unsupported command {name!r}" if name else "empty command after '|'")


MACRO_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
# Splunk documents no nesting limit; a definition that keeps calling macros is a mistake.
MAX_MACRO_DEPTH = 10


def expand_macros(query: str, macros: Mapping[str, str], depth: int = 0) -> str:
    """`query` with every `` `name` `` outside double quotes replaced by its definition."""
    if "`" not in query:
        return query
    if depth >= MAX_MACRO_DEPTH:
        raise QueryError(f"search macros nested more than {MAX_MACRO_DEPTH} deep")
    out: list[str] = []
    start = 0
    while (tick := _next_unquoted(query, "`", start)) >= 0:
        end = query.find("`", tick + 1)
        if end < 0:
            raise QueryError(f"unbalanced backtick at {tick}")
        name = query[tick + 1 : end]
        if not MACRO_NAME_RE.fullmatch(name):
            raise QueryError(f"`{name}` at {tick}: macro arguments and comments are not modelled")
        if name not in macros:
            raise QueryError(f"search macro `{name}` is not defined")
        out.append(query[start:tick])
        out.append(expand_macros(macros[name], macros, depth + 1))
        start = end + 1
    out.append(query[start:])
    return "".join(out)


def parse_pipeline(query: str) -> tuple[Command, ...]:
    segments = split_pipeline(query)
    if not segments[0]:
        raise QueryError("the query must start with a search, not a generating command")
    return tuple(_command(seg, i == 0) for i, seg in enumerate(segments))


# --- compilation to closures ---------------------------------------------------------------

Extra = dict[str, list[str]]  # fields set by rex/eval earlier in the pipeline
Values = Callable[[SplunkEvent, Extra], Sequence[str]]
Pred = Callable[[SplunkEvent, Extra], bool]
StrPred = Callable[[str], bool]


def _values(field: str, produced: frozenset[str]) -> Values:
    if field in UNMODELLED_FIELDS or (field.startswith("_") and field != "_raw"):
        raise QueryError(f"field {field!r} is not modelled by SplunkEvent")
    base: Values
    if field == "_raw":

        def base(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
            return (ev.raw,)

    elif field in DEFAULT_FIELDS:

        def base(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
            attr = getattr(ev, field)
            more = ev.fields.get(field, ())
            return [attr, *more] if attr else more

    else:

        def base(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
            return ev.fields.get(field, ())

    if field not in produced:
        return base

    def with_extra(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
        return extra[field] if field in extra else base(ev, extra)

    return with_extra


def _wildcard(pattern: str) -> StrPred:
    """Case-insensitive match of a whole value against `pattern` (`*` = any run)."""
    p = pattern.lower()
    parts = p.split("*")
    if len(parts) == 1:
        return lambda v: v.lower() == p
    if len(parts) == 3 and parts[0] == "" and parts[2] == "":
        return lambda v: parts[1] in v.lower()
    if len(parts) == 2 and parts[0] == "":
        return lambda v: v.lower().endswith(parts[1])
    if len(parts) == 2 and parts[1] == "":
        return lambda v: v.lower().startswith(parts[0])
    rx = re.compile(".*".join(re.escape(part) for part in parts), re.S)
    return lambda v: rx.fullmatch(v.lower()) is not None


def _cidr(value: str) -> StrPred | None:
    if "*" in value or not _CIDR_RE.fullmatch(value):
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None

    def match(v: str) -> bool:
        try:
            return ipaddress.ip_address(v) in net
        except ValueError:
            return False

    return match


def _equals(value: str) -> StrPred:
    if value == "":
        raise QueryError('field="" (empty value) is not modelled')
    return _cidr(value) or _wildcard(value)


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _numeric(op: str, value: str) -> StrPred:
    if not _NUMBER_RE.fullmatch(value):
        raise QueryError(f"{op} with a non-numeric value {value!r} is not modelled")
    limit, cmp = float(value), _NUMERIC_OPS[op]
    return lambda v: _NUMBER_RE.fullmatch(v) is not None and cmp(float(v), limit)


def _left_boundary(raw: str, i: int, breakers: frozenset[str] = _BREAKERS) -> bool:
    return i == 0 or raw[i - 1] in breakers or raw.endswith(_MULTI_MAJOR, 0, i)


def _right_boundary(raw: str, j: int) -> bool:
    return j == len(raw) or raw[j] in _BREAKERS


def _occurs(raw: str, core: str, at: Callable[[str, int], bool]) -> bool:
    """Whether `core` occurs in `raw` at some index `i` with `at(raw, i)`."""
    i = raw.find(core)
    while i >= 0:
        if at(raw, i):
            return True
        i = raw.find(core, i + 1)
    return False


def _is_token(raw: str, piece: str) -> bool:
    """Whether `piece` (no breakers in it) is one of `raw`'s indexed segments."""
    size = len(piece)
    return _occurs(raw, piece, lambda r, i: _left_boundary(r, i) and _right_boundary(r, i + size))


def _term(text: str) -> Pred:
    """Bare or quoted term against `_raw` (see the module docstring for the rules)."""
    if text.strip("*") == "":
        if text == "*":
            return lambda ev, extra: True
        raise QueryError(f"term {text!r} is not supported")
    if _cidr(text) is not None:
        raise QueryError(f"CIDR term {text!r} without a field is not supported")
    lead, trail = text.startswith("*"), text.endswith("*")
    core = text.strip("*").lower()
    if "*" in core:
        raise QueryError(f"wildcard inside term {text!r} (documented as inconsistent)")
    if lead or trail:
        if any(ch in MAJOR_BREAKERS for ch in core) or any(m in core for m in _MULTI_MAJOR):
            raise QueryError(f"wildcard term {text!r} spans a major breaker")
        return _wildcard_term(core, lead, trail)
    # Search Manual, "Use CASE() and TERM()": a term with breakers is searched as the
    # conjunction of its subterms in the index, then post-filtered as a phrase.
    pieces = tuple(p for p in _SEGMENT_SPLIT_RE.split(core) if p)
    if not pieces:
        raise QueryError(f"term {text!r} has no searchable segment")

    def match(ev: SplunkEvent, extra: Extra) -> bool:
        raw = ev.raw.lower()
        return core in raw and all(_is_token(raw, p) for p in pieces)

    return match


def _wildcard_term(core: str, lead: bool, trail: bool) -> Pred:
    """`*x*`, `x*`, `*x` against the indexed tokens (segmenters.conf.spec, MINOR): every
    major segment, every span from its start to a minor breaker, and every piece between
    breakers."""
    size = len(core)
    if lead and trail:  # a major segment contains x
        return lambda ev, extra: core in ev.raw.lower()
    if lead:  # a token ends with x: x ends on a boundary

        def ends(ev: SplunkEvent, extra: Extra) -> bool:
            return _occurs(ev.raw.lower(), core, lambda r, i: _right_boundary(r, i + size))

        return ends
    # a token starts with x: after any breaker, or after a major one if x holds a minor one
    breakers = MAJOR_BREAKERS if any(ch in MINOR_BREAKERS for ch in core) else _BREAKERS

    def starts(ev: SplunkEvent, extra: Extra) -> bool:
        return _occurs(ev.raw.lower(), core, lambda r, i: _left_boundary(r, i, breakers))

    return starts


def _default_field_equals(field: str, match: StrPred) -> Pred:
    """`source=...`, `sourcetype=...`: the event's own value first, then extracted ones; the
    same values `_values` gives, without building a list per event (each query of a scan starts
    with one of these)."""
    own = attrgetter(field)

    def pred(ev: SplunkEvent, extra: Extra) -> bool:
        value = own(ev)
        if value and match(value):
            return True
        more = ev.fields.get(field)
        if more:
            for v in more:
                if match(v):
                    return True
        return False

    return pred


def _any_value(values: Values, match: StrPred) -> Pred:
    def pred(ev: SplunkEvent, extra: Extra) -> bool:
        for v in values(ev, extra):
            if match(v):
                return True
        return False

    return pred


def _compile_node(node: Node, produced: frozenset[str]) -> Pred:
    if isinstance(node, Term):
        return _term(node.text)
    if isinstance(node, Compare):
        values = _values(node.field, produced)
        if node.op == "=":
            if node.field in DEFAULT_FIELDS and node.field not in produced:
                return _default_field_equals(node.field, _equals(node.value))
            return _any_value(values, _equals(node.value))
        if node.op == "!=":
            match = _equals(node.value)

            def differs(ev: SplunkEvent, extra: Extra) -> bool:
                for v in values(ev, extra):
                    if not match(v):
                        return True
                return False

            return differs
        return _any_value(values, _numeric(node.op, node.value))
    if isinstance(node, In):
        matchers = [_equals(v) for v in node.values]
        return _any_value(_values(node.field, produced), lambda v: any(m(v) for m in matchers))
    if isinstance(node, Not):
        inner = _compile_node(node.item, produced)
        return lambda ev, extra: not inner(ev, extra)
    if isinstance(node, And):
        return _conjunction(tuple(_compile_node(n, produced) for n in node.items))
    if isinstance(node, Or):
        return _disjunction(tuple(_compile_node(n, produced) for n in node.items))
    raise TypeError(node)  # pragma: no cover


# AND and OR run once per event and query: plain loops and unrolled pairs, not all()/any() over
# a generator, which costs more than most of the tests it chains.
def _conjunction(preds: tuple[Pred, ...]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda ev, extra: first(ev, extra) and second(ev, extra)

    def conj(ev: SplunkEvent, extra: Extra) -> bool:
        for pred in preds:
            if not pred(ev, extra):
                return False
        return True

    return conj


def _disjunction(preds: tuple[Pred, ...]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda ev, extra: first(ev, extra) or second(ev, extra)

    def disj(ev: SplunkEvent, extra: Extra) -> bool:
        for pred in preds:
            if pred(ev, extra):
                return True
        return False

    return disj


def _compile_rex(cmd: RexCommand, produced: frozenset[str]) -> tuple[Pred, frozenset[str]]:
    rx = compile_pcre(cmd.pattern)
    if rx.search("") is not None:
        raise QueryError("rex: a regex that can match the empty string is not modelled")
    names = tuple(rx.groupindex)
    values = _values(cmd.field, produced)

    def rex(ev: SplunkEvent, extra: Extra) -> bool:
        for v in values(ev, extra):
            m = rx.search(v)
            if m is not None:
                for name in names:
                    captured = m.group(name)
                    if captured is not None:
                        extra[name] = [captured]
                break
        return True  # rex extracts; it never removes an event

    return rex, produced | set(names)


def _compile_regex(cmd: RegexCommand, produced: frozenset[str]) -> Pred:
    rx = compile_pcre(cmd.pattern)
    matches = _any_value(_values(cmd.field, produced), lambda v: rx.search(v) is not None)
    if cmd.negate:
        return lambda ev, extra: not matches(ev, extra)
    return matches


def _eval_operand(values: Sequence[str], field: str) -> str | None:
    """The one value an eval comparison reads; None when the field is null."""
    if not values:
        return None
    if len(values) > 1:
        raise QueryError(f"where: {field!r} is a multivalue field; eval on it is not modelled")
    value = values[0]
    if _NUMBER_RE.fullmatch(value.strip()):
        raise QueryError(
            f"where: {field!r} holds a number ({value!r}); numeric eval comparison is not modelled"
        )
    return value


def _compile_where(cmd: WhereFieldEquals, produced: frozenset[str]) -> Pred:
    left, right = _values(cmd.left, produced), _values(cmd.right, produced)

    def equal(ev: SplunkEvent, extra: Extra) -> bool:
        first = _eval_operand(left(ev, extra), cmd.left)
        second = _eval_operand(right(ev, extra), cmd.right)
        return first is not None and second is not None and first == second

    return equal


def _compile_eval(cmd: EvalIfNotNull, produced: frozenset[str]) -> Pred:
    source = _values(cmd.source, produced)
    target, then, otherwise = cmd.target, [cmd.then], [cmd.otherwise]

    def evaluate(ev: SplunkEvent, extra: Extra) -> bool:
        extra[target] = list(then if source(ev, extra) else otherwise)
        return True

    return evaluate


def compile_pipeline(commands: Sequence[Command]) -> list[Pred]:
    stages: list[Pred] = []
    produced: frozenset[str] = frozenset()
    for cmd in commands:
        if isinstance(cmd, SearchCommand):
            stages.append(_compile_node(cmd.expression, produced))
        elif isinstance(cmd, RegexCommand):
            stages.append(_compile_regex(cmd, produced))
        elif isinstance(cmd, RexCommand):
            stage, produced = _compile_rex(cmd, produced)
            stages.append(stage)
        elif isinstance(cmd, WhereFieldEquals):
            stages.append(_compile_where(cmd, produced))
        else:
            stages.append(_compile_eval(cmd, produced))
            produced = produced | {cmd.target}
    return stages


# --- engine --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledSpl:
    query: str
    commands: tuple[Command, ...]
    stages: tuple[Pred, ...]

    def select(self, documents: Sequence[SplunkEvent]) -> list[int]:
        if len(self.stages) == 1:  # a lone search never writes to `extra`: share one
            only, none = self.stages[0], {}
            return [i for i, ev in enumerate(documents) if only(ev, none)]
        stages = self.stages
        hits: list[int] = []
        for i, ev in enumerate(documents):
            extra: Extra = {}
            for stage in stages:
                if not stage(ev, extra):
                    break
            else:
                hits.append(i)
        return hits


def named_fields(commands: Sequence[Command]) -> Iterator[str]:
    """Every field name the commands read."""

    def walk(node: Node) -> Iterator[str]:
        if isinstance(node, (Compare, In)):
            yield node.field
        elif isinstance(node, Not):
            yield from walk(node.item)
        elif isinstance(node, (And, Or)):
            for item in node.items:
                yield from walk(item)

    for cmd in commands:
        if isinstance(cmd, SearchCommand):
            yield from walk(cmd.expression)
        elif isinstance(cmd, (RegexCommand, RexCommand)):
            yield cmd.field
        elif isinstance(cmd, WhereFieldEquals):
            yield from (cmd.left, cmd.right)
        else:
            yield cmd.source


class SplEngine:
    """`converter.execute.engines.base.Engine` for Splunk SPL over `SplunkEvent`s.

    `macros` are the search macros defined where the queries run (macros.conf: name ->
    definition); a query calling any other macro is a `QueryError`. `model_index` lets queries
    filter on `index` (see the module docstring).
    """

    language = "spl"

    def __init__(self, macros: Mapping[str, str] | None = None, model_index: bool = False) -> None:
        self.macros: Mapping[str, str] = dict(macros or {})
        self.model_index = model_index

    def compile(self, query: str) -> CompiledSpl:
        commands = parse_pipeline(expand_macros(query, self.macros))
        if not self.model_index and "index" in named_fields(commands):
            raise QueryError("field 'index' is only searched for an environment that sets one")
        return CompiledSpl(query, commands, tuple(compile_pipeline(commands)))
