"""Execute Elasticsearch EQL event queries on ECS documents, with Elasticsearch's semantics.

No Elasticsearch runs offline, and the `eql` package's PythonEngine evaluates Endgame EQL, not
Elasticsearch EQL (one global case switch, no multi-valued fields, no `?` wildcard, PCRE-style
prefix-anchored regex). This module keeps `eql`'s parser, the syntax check Elastic's
detection-rules repository relies on, and compiles the parsed query into Python closures that
follow Elastic's documentation:

- "EQL syntax reference" (elasticsearch `docs/reference/query-languages/eql/eql-syntax.md`):
  operators, lookups, wildcards, optional fields, strings, case-insensitive functions;
- "EQL function reference": `startsWith`, `endsWith`, `stringContains`, `cidrMatch`;
- "Regular expression syntax" (`query-dsl/regexp-syntax.md`, Lucene `RegExp`) for `regex`.

Where the documentation is silent, Elasticsearch's source decides. The EQL planner
(`x-pack/plugin/eql/.../planner/QueryTranslator.java`, `ql/.../ExpressionTranslators.java`)
turns every predicate on a field into a Lucene query, so:
- a multi-valued field matches when ANY of its values matches;
- `!=`, `not in` and `not` are `bool.must_not`: true for a document that lacks the field, false
  when any value matches (elastic/elasticsearch#35233 reports the same for SQL, same translator);
- case-insensitive matching (`:`, `in~`, `like~`, `regex~`, `...~` functions) folds ASCII letters
  only (`AutomatonQueries.toCaseInsensitiveChar`, `RegExp.ASCII_CASE_INSENSITIVE`), and `regex~`
  leaves character ranges such as `[a-c]` case-sensitive (documented Lucene limitation);
- `:` and `like` take `*` and `?` and nothing else: a backslash is a literal character
  (`eql/util/StringUtils.toLikePattern`).

`endsWith` and `stringContains` follow the function reference (a plain substring). The planner
source read for this module (`QueryTranslator.CaseInsensitiveScalarFunctions`) builds an unescaped
Lucene wildcard query from their argument, which would make `*`, `?` and `\\` in it wildcard
syntax; that contradicts the documentation and is not reproduced.

What `eql`'s AST loses, and how it is recovered: `eql.parse_query` turns `:`, `like` and `like~`
into the same `wildcard()` call, `regex`/`regex~` into `match()`, `in~` into `in`, drops the `~`
of functions, and its optimizer merges predicates. `_Walker` subclasses the parser's own
tree walker (`eql.parser.LarkToEQL`) and re-reads the tokens it drops from the Lark parse tree:
the operator token of string predicates, the `IN` token, the function-name token. It also
unescapes strings itself: eql 1.0.1 reads `"\\u{41}\\u{42}"` with a greedy pattern and fails.

Documents carry no index mapping, so a value's JSON type stands for its mapped type (string ->
keyword, number -> long/double, true/false -> boolean), as in Elasticsearch's dynamic mapping.
Comparing across those families is a verification error in Elasticsearch; here it is false.
Non-optional fields cannot be checked against a mapping: a field missing from a document is null
whether or not the query marks it `?`.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import eql
from eql import ast
from eql.errors import EqlError, EqlSyntaxError
from eql.parser import LarkToEQL, elasticsearch_syntax, ignore_missing_functions, lark_parser
from lark.exceptions import LarkError

from converter.core.documents import EcsDocument
from converter.execute.engines.base import QueryError

Predicate = Callable[[EcsDocument], bool]
# A document -> None (no value), one value, or a list of two or more values.
Getter = Callable[[Any], Any]

_MISSING = object()
_REGEX_FLAGS = re.DOTALL
# ASCII-only case folding, as Lucene's case-insensitive automata do.
_CI_FLAGS = re.DOTALL | re.IGNORECASE | re.ASCII


# ---------------------------------------------------------------------------------------------
# Parsing


class _InsensitiveInSet(ast.InSet):
    """`in~`: eql's parser builds a plain InSet for both `in` and `in~`."""

    __slots__ = ()


_STRING_ESCAPE = re.compile(r"\\(?:u\{([0-9A-Za-z]{2,8})\}|(.))")
_SIMPLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}


class _Walker(LarkToEQL):
    """eql's Lark-to-AST walker, keeping the tokens that carry Elasticsearch semantics."""

    def string_predicate(self, node: Any) -> Any:
        info = super().string_predicate(node)
        # Name the call after its operator (`:`, `like~`, `regex`...): no function has such a name.
        info.node.name = str(node["STRING_PREDICATE"])
        return info

    def in_set(self, node: Any) -> Any:
        info = super().in_set(node)
        if node.get("IN") == "in~":
            info.node = _InsensitiveInSet(info.node.expression, info.node.container)
        return info

    def function_call(self, node: Any, prev_node: Any = None, prev_arg: Any = None) -> Any:
        info = super().function_call(node, prev_node, prev_arg)
        insensitive = node.data == "function_call" and str(node.children[0]).endswith("~")
        if insensitive and isinstance(info.node, ast.FunctionCall):
            info.node.name += "~"
        return info

    def string(self, node: Any) -> Any:
        text = str(node.children[0])
        if not text.startswith('"') or text.startswith('"""'):
            return super().string(node)  # raw strings, and the errors for ?"..." and '...'

        def unescape(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return _SIMPLE_ESCAPES[match.group(2)]
            try:
                return chr(int(match.group(1), 16))
            except ValueError:
                raise self._error(
                    node, "Invalid unicode escape: {text}", cls=EqlSyntaxError, text=match.group(0)
                ) from None

        return _STRING_ESCAPE.sub(unescape, text[1:-1])


def parse_event_query(query: str) -> ast.EventQuery:
    """Parse with eql's Elasticsearch syntax; only `<category> where <condition>` is accepted."""
    if not query.strip():
        raise QueryError("empty query")
    text = query if query.endswith("\n") else query + "\n"
    with elasticsearch_syntax, ignore_missing_functions:
        walker = _Walker(text)
        try:
            tree = lark_parser.parse(text, start="piped_query")
        except LarkError as exc:
            raise QueryError(_syntax_message(query, exc)) from None
        try:
            parsed = walker.visit(tree)
        except EqlError as exc:
            raise QueryError(str(exc)) from None
        except Exception as exc:  # a defect of the parser itself: still not a runnable query
            raise QueryError(f"eql parser failed: {type(exc).__name__}: {exc}") from None
    parsed = getattr(parsed, "node", parsed)
    if not isinstance(parsed, ast.PipedQuery) or not isinstance(parsed.first, ast.EventQuery):
        kind = type(getattr(parsed, "first", parsed)).__name__
        raise QueryError(f"only event queries are supported (one filter), not {kind}")
    if parsed.pipes:
        raise QueryError("pipes are not supported: an artifact must be one filter")
    return parsed.first


def _syntax_message(query: str, exc: LarkError) -> str:
    # eql.parse_query words and positions Lark's errors the way Elastic's tooling shows them.
    try:
        with elasticsearch_syntax, ignore_missing_functions:
            eql.parse_query(query)
    except EqlError as eql_exc:
        return str(eql_exc)
    except Exception:  # any other failure: fall back to Lark's own message
        pass
    return f"Invalid syntax: {exc}"


# ---------------------------------------------------------------------------------------------
# Field values


def _field_getter(keys: tuple[str, ...]) -> Getter:
    """Values of a dotted field in nested objects, dotted keys and arrays of objects."""
    n = len(keys)
    # joins[i]: the keys a field can hide under at depth i, e.g. "process", "process.name"
    joins = tuple(tuple((j, ".".join(keys[i:j])) for j in range(i + 1, n + 1)) for i in range(n))

    def resolve(doc: Any) -> Any:
        found: list[Any] = []
        _collect(doc, joins, 0, n, found)
        if not found:
            return None
        return found[0] if len(found) == 1 else found

    # steps[i]: the key at depth i, and the dotted keys that would start there
    steps = tuple((keys[i], tuple(key for end, key in joins[i] if end > i + 1)) for i in range(n))

    def miss(doc: Any) -> Any:
        # The nested path is broken. A value can still hide under a dotted key or in an array of
        # objects: look for those first, and run the general walk only if there is one.
        node = doc
        for key, dotted in steps:
            if type(node) is not dict:
                return resolve(doc) if type(node) is list else None
            for alternative in dotted:
                if alternative in node:
                    return resolve(doc)
            node = node.get(key, _MISSING)
            if node is _MISSING:
                return None
        return resolve(doc)

    # Fast path: plain nested objects. This is the hot path of a scan, so the common depths are
    # spelled out (a loop costs twice as much, an exception more). A broken path goes to `miss`.
    # A field present both nested and as a dotted key in one document yields only the nested
    # value here.
    if n == 2:
        k0, k1 = keys

        def get(doc: Any) -> Any:
            node = doc.get(k0, _MISSING)
            if type(node) is dict:
                node = node.get(k1, _MISSING)
                kind = type(node)
                if kind is str or kind is int or kind is float or kind is bool:
                    return node
                if node is not _MISSING:
                    return _flattened(node)
            return miss(doc)

    elif n == 3:
        k0, k1, k2 = keys

        def get(doc: Any) -> Any:
            node = doc.get(k0, _MISSING)
            if type(node) is dict:
                node = node.get(k1, _MISSING)
                if type(node) is dict:
                    node = node.get(k2, _MISSING)
                    kind = type(node)
                    if kind is str or kind is int or kind is float or kind is bool:
                        return node
                    if node is not _MISSING:
                        return _flattened(node)
            return miss(doc)

    else:

        def get(doc: Any) -> Any:
            node = doc
            for key in keys:
                if type(node) is not dict:
                    return miss(doc)
                node = node.get(key, _MISSING)
            kind = type(node)
            if kind is str or kind is int or kind is float or kind is bool:
                return node
            if node is _MISSING:
                return miss(doc)
            return _flattened(node)

    return get


def _flattened(node: Any) -> Any:
    found: list[Any] = []
    _add_values(node, found)
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def _collect(node: Any, joins: tuple, depth: int, n: int, found: list[Any]) -> None:
    if type(node) is list:
        for item in node:
            _collect(item, joins, depth, n, found)
        return
    if type(node) is not dict:
        return
    for end, key in joins[depth]:
        value = node.get(key, _MISSING)
        if value is _MISSING:
            continue
        if end == n:
            _add_values(value, found)
        else:
            _collect(value, joins, end, n, found)


def _add_values(value: Any, found: list[Any]) -> None:
    # Arrays flatten and nulls vanish, as in an Elasticsearch index; an object is not a value.
    if type(value) is list:
        for item in value:
            _add_values(item, found)
    elif value is not None and type(value) is not dict:
        found.append(value)


def _lower(text: str) -> str:
    """Lucene's lowercase normalizer: Character.toLowerCase, one code point at a time."""
    if text.isascii():
        return text.lower()
    # str.lower() differs per code point only for U+0130 (two code points) and final sigma.
    return "".join("i" if c == "\u0130" else c.lower() for c in text)


def _caseless_getter(base: Getter) -> Getter:
    def get(doc: Any) -> Any:
        value = base(doc)
        if type(value) is str:
            return _lower(value)
        if type(value) is list:
            return [_lower(v) if type(v) is str else v for v in value]
        return value

    return get


@dataclass(frozen=True)
class _Operand:
    """The left side of a predicate: a field, or a literal eql left there."""

    get: Getter
    # Elastic Endpoint's `.caseless` multi-fields carry a lowercase normalizer, which
    # Elasticsearch also applies to the terms of term-level queries on them (not to regexes).
    caseless: bool = False
    constant: Any = _MISSING


def _operand(node: Any) -> _Operand:
    if isinstance(node, ast.Field):
        if any(not isinstance(part, str) for part in node.path):
            raise QueryError(f"array indexes are not supported: {node}")
        keys = tuple(".".join([node.base, *node.path]).split("."))
        if len(keys) > 1 and keys[-1] == "caseless":
            return _Operand(_caseless_getter(_field_getter(keys[:-1])), caseless=True)
        return _Operand(_field_getter(keys))
    if isinstance(node, ast.Literal):
        value = node.value
        return _Operand(lambda doc: value, constant=value)
    raise QueryError(f"only a field or a literal can be compared here, not {node}")


@dataclass(frozen=True)
class _Test:
    """A test of one field value (never None, never a list).

    With `strings_only`, `test` is only called with str values: anything else fails unasked.
    """

    test: Callable[[Any], bool]
    strings_only: bool = False


def _values(operand: _Operand, test: _Test) -> Predicate:
    """True when any value of the operand passes (a Lucene query on a multi-valued field)."""
    check, strings_only = test.test, test.strings_only
    if operand.constant is not _MISSING:
        value = operand.constant
        return _const(
            value is not None and (type(value) is str or not strings_only) and check(value)
        )
    get = operand.get
    if strings_only:

        def predicate(doc: EcsDocument) -> bool:
            value = get(doc)
            if type(value) is str:
                return check(value)
            if type(value) is list:
                for item in value:
                    if type(item) is str and check(item):
                        return True
            return False

        return predicate

    def predicate(doc: EcsDocument) -> bool:
        value = get(doc)
        if value is None:
            return False
        if type(value) is list:
            for item in value:
                if check(item):
                    return True
            return False
        return check(value)

    return predicate


# ---------------------------------------------------------------------------------------------
# Value tests (module-level, so that tests can swap one and watch the semantics table fail)


def _family(value: Any) -> type | None:
    kind = type(value)
    if kind is str or kind is bool:
        return kind
    if kind is int or kind is float:
        return float
    return None


def _equals_matcher(literal: Any) -> _Test:
    """`==`: case-sensitive, no wildcards (a term query)."""
    family = _family(literal)
    if family is str:
        return _Test(lambda v: v == literal, strings_only=True)
    if family is float:
        return _Test(lambda v: (type(v) is int or type(v) is float) and v == literal)
    return _Test(lambda v: v is literal)  # true / false


def _member_matcher(literals: Sequence[Any], insensitive: bool) -> _Test:
    """`in` (a terms query) and `in~` (ASCII case-insensitive term queries)."""
    strings = [v for v in literals if type(v) is str]
    numbers = frozenset(v for v in literals if _family(v) is float)
    booleans = frozenset(v for v in literals if type(v) is bool)
    string_test = _exact_insensitive(strings) if insensitive else frozenset(strings).__contains__
    if not numbers and not booleans:
        return _Test(string_test, strings_only=True)

    def test(v: Any) -> bool:
        kind = type(v)
        if kind is str:
            return string_test(v)
        if kind is bool:
            return v in booleans
        return (kind is int or kind is float) and v in numbers

    return _Test(test)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _order_matcher(op: str, literal: Any) -> _Test:
    """`<`, `<=`, `>`, `>=`: numbers numerically, strings by code point (case-sensitive)."""
    compare = _ORDER[op]
    family = _family(literal)
    if family is str:
        return _Test(lambda v: compare(v, literal), strings_only=True)
    if family is float:
        return _Test(lambda v: (type(v) is int or type(v) is float) and compare(v, literal))
    raise QueryError(f"{op} needs a number or a string, not {literal!r}")


# Case-insensitive string tests fold ASCII letters only, as Lucene does. For an ASCII value,
# str.lower() is exactly that folding; a value with other characters goes to a regex compiled
# with re.IGNORECASE | re.ASCII.


def _exact_insensitive(strings: Sequence[str]) -> Callable[[str], bool]:
    """Equal to one of `strings`, ASCII case-insensitively."""
    # An ASCII value can only equal an ASCII literal, and a non-ASCII value a non-ASCII one.
    ascii_lowered = frozenset(s.lower() for s in strings if s.isascii())
    others = [s for s in strings if not s.isascii()]
    regex = re.compile("|".join(re.escape(s) for s in others), _CI_FLAGS) if others else None

    def test(v: str) -> bool:
        if v.isascii():
            return v.lower() in ascii_lowered
        return regex is not None and regex.fullmatch(v) is not None

    return test


def _wildcard_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    translated = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(translated, _CI_FLAGS if insensitive else _REGEX_FLAGS)


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


def _wildcard_matcher(patterns: Sequence[str], insensitive: bool) -> _Test:
    """`:` / `like~` (insensitive) and `like`: `*` and `?` only, against the whole value."""
    exact = [p for p in patterns if "*" not in p and "?" not in p]
    tests = [_one_wildcard(p, insensitive) for p in patterns if p not in exact]
    if exact:  # one set lookup for all the plain values
        tests.insert(0, _exact_insensitive(exact) if insensitive else frozenset(exact).__contains__)
    return _Test(_any_test(tests), strings_only=True)


def _regex_matcher(patterns: Sequence[str], insensitive: bool) -> _Test:
    """`regex` / `regex~`: Lucene regular expressions matched against the whole value."""
    return _Test(_any_test([lucene_regex(p, insensitive) for p in patterns]), strings_only=True)


def _prefix_matcher(prefix: str, insensitive: bool) -> _Test:
    """`startsWith`: a prefix query, no wildcard syntax."""
    if not insensitive:
        return _Test(lambda v: v.startswith(prefix), strings_only=True)
    match = re.compile(re.escape(prefix), _CI_FLAGS).match
    return _Test(lambda v: match(v) is not None, strings_only=True)


def _suffix_matcher(suffix: str, insensitive: bool) -> _Test:
    """`endsWith`: documented as a plain substring test, no wildcard syntax."""
    if not insensitive:
        return _Test(lambda v: v.endswith(suffix), strings_only=True)
    fullmatch = re.compile(".*" + re.escape(suffix), _CI_FLAGS).fullmatch
    return _Test(lambda v: fullmatch(v) is not None, strings_only=True)


def _substring_matcher(needle: str, insensitive: bool) -> _Test:
    """`stringContains`: documented as a plain substring test, no wildcard syntax.

    The function reference documents an empty substring as never contained.
    """
    if not needle:
        return _Test(lambda v: False, strings_only=True)
    if not insensitive:
        return _Test(lambda v: needle in v, strings_only=True)
    search = re.compile(re.escape(needle), _CI_FLAGS).search
    return _Test(lambda v: search(v) is not None, strings_only=True)


def _cidr_matcher(blocks: Sequence[str]) -> _Test:
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

    return _Test(test, strings_only=True)


def _ip_int(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    if address.version == 4:
        return 0xFFFF_0000_0000 | int(address)
    return int(address)


# ---------------------------------------------------------------------------------------------
# Lucene regular expressions (org.apache.lucene.util.automaton.RegExp, syntax flags ALL)
#
# Parsed with the grammar and quirks of Lucene 9's RegExp (the Elasticsearch 8 line): `.` is any
# character (newlines too), `\d \D \s \S \w \W` are the ASCII classes [0-9], [ \t\n\r] and
# [a-zA-Z_0-9], a backslash before another letter is an error, `^` and `$` are plain characters,
# `"..."` is a literal string, `#` the empty language, `@` any string, `<n-m>` a decimal
# interval, `&` intersection and `~` complement. A repeat applies to the whole preceding
# expression (`a+?` is `(a+)?`, never lazy). Python's `re` has no intersection or complement:
# they are evaluated as boolean tests when they sit at the top (under `|`, `&`, `~` only) and
# rejected anywhere else.


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
        regex = re.compile(_render(node, insensitive), _CI_FLAGS if insensitive else _REGEX_FLAGS)
    except re.error as exc:  # pragma: no cover - the renderer only emits valid syntax
        raise QueryError(f"regex {pattern!r}: {exc}") from None
    fullmatch = regex.fullmatch
    return lambda s: fullmatch(s) is not None


# ---------------------------------------------------------------------------------------------
# Compiling the AST


def _const(value: bool) -> Predicate:
    return (lambda doc: True) if value else (lambda doc: False)


def _not(predicate: Predicate) -> Predicate:
    return lambda doc: not predicate(doc)


def _all(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda doc: first(doc) and second(doc)

    def predicate(doc: EcsDocument) -> bool:
        for p in predicates:
            if not p(doc):
                return False
        return True

    return predicate


def _any(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda doc: first(doc) or second(doc)

    def predicate(doc: EcsDocument) -> bool:
        for p in predicates:
            if p(doc):
                return True
        return False

    return predicate


def _compile(node: Any) -> Predicate:
    if isinstance(node, (ast.And, ast.Or)):
        # a and (b and c) is one loop over a, b, c: fewer calls per document
        kind = type(node)
        terms: list[Any] = []
        pending = list(node.terms)
        while pending:
            term = pending.pop(0)
            if type(term) is kind:
                pending[:0] = term.terms
            else:
                terms.append(term)
        predicates = [_compile(term) for term in terms]
        return _all(predicates) if kind is ast.And else _any(predicates)
    if isinstance(node, ast.Not):
        return _not(_compile(node.term))
    if isinstance(node, ast.Boolean):
        return _const(node.value)
    if isinstance(node, ast.Null):
        return _const(False)
    if isinstance(node, ast.Field):  # a bare field: `field == true`
        return _values(_operand(node), _Test(lambda v: v is True))
    if isinstance(node, (ast.IsNull, ast.IsNotNull)):
        get = _operand(node.expr).get  # `?f == null`: no value at all (an exists query)
        if isinstance(node, ast.IsNull):
            return lambda doc: get(doc) is None
        return lambda doc: get(doc) is not None
    if isinstance(node, ast.Comparison):
        return _comparison(node)
    if isinstance(node, ast.InSet):
        return _in_set(node)
    if isinstance(node, ast.FunctionCall):
        return _function(node)
    raise QueryError(f"unsupported expression: {node}")


def _literal(node: Any, what: str) -> Any:
    if not isinstance(node, ast.Literal):
        raise QueryError(f"{what} must be a literal, not {node}")
    return node.value


def _normalized(operand: _Operand, value: Any) -> Any:
    return _lower(value) if operand.caseless and type(value) is str else value


def _comparison(node: ast.Comparison) -> Predicate:
    left, op, right = node.left, node.comparator, node.right
    if not isinstance(right, ast.Literal) and isinstance(left, ast.Literal):
        left, op, right = right, _FLIP[op], left  # Elasticsearch's LiteralsOnTheRight
    literal = _literal(right, "the right side of a comparison")
    if isinstance(left, ast.FunctionCall) and type(literal) is bool and op in ("==", "!="):
        # BooleanFunctionEqualsElimination: `f(...) == true` is `f(...)`
        predicate = _function(left)
        return predicate if literal == (op == "==") else _not(predicate)
    operand = _operand(left)
    literal = _normalized(operand, literal)
    if op == "==":
        return _values(operand, _equals_matcher(literal))
    if op == "!=":
        return _not(_values(operand, _equals_matcher(literal)))
    return _values(operand, _order_matcher(op, literal))


def _in_set(node: ast.InSet) -> Predicate:
    operand = _operand(node.expression)
    literals = [
        _normalized(operand, _literal(item, "an `in` list item")) for item in node.container
    ]
    insensitive = isinstance(node, _InsensitiveInSet)
    return _values(operand, _member_matcher(literals, insensitive))


def _function(node: ast.FunctionCall) -> Predicate:
    if node.as_method:
        raise QueryError(f"method syntax is not Elasticsearch EQL: {node}")
    name, args = node.name, node.arguments
    insensitive = name.endswith("~") or name == ":"
    base = name.rstrip("~")
    if base not in _FUNCTIONS:
        raise QueryError(f"unsupported function or operator: {name}")
    if base == "cidrMatch" and insensitive:
        raise QueryError("cidrMatch has no case-insensitive form")
    operand = _operand(args[0])
    patterns = [_literal(arg, f"an argument of {name}") for arg in args[1:]]
    if any(type(p) is not str for p in patterns):
        raise QueryError(f"{name} takes strings, not {patterns!r}")
    if base != "regex" and base != "cidrMatch":
        patterns = [_normalized(operand, p) for p in patterns]
    return _values(operand, _FUNCTIONS[base](patterns, insensitive))


# Operators and functions, by name without `~`; each builds a matcher from its literal arguments.
_FUNCTIONS: dict[str, Callable[[list[str], bool], _Test]] = {
    ":": lambda patterns, insensitive: _wildcard_matcher(patterns, True),
    "like": lambda patterns, insensitive: _wildcard_matcher(patterns, insensitive),
    "regex": lambda patterns, insensitive: _regex_matcher(patterns, insensitive),
    "startsWith": lambda patterns, insensitive: _prefix_matcher(patterns[0], insensitive),
    "endsWith": lambda patterns, insensitive: _suffix_matcher(patterns[0], insensitive),
    "stringContains": lambda patterns, insensitive: _substring_matcher(patterns[0], insensitive),
    "cidrMatch": lambda patterns, insensitive: _cidr_matcher(patterns),
}


# ---------------------------------------------------------------------------------------------
# Engine

CATEGORY_FIELD = ("event", "category")


@dataclass(frozen=True)
class CompiledEql:
    query: str
    category: str
    predicate: Predicate

    def matches(self, document: EcsDocument) -> bool:
        return self.predicate(document)

    def select(self, documents: Sequence[EcsDocument]) -> list[int]:
        predicate = self.predicate
        return [i for i, document in enumerate(documents) if predicate(document)]


class EqlEngine:
    """Elasticsearch EQL event queries (`<category> where <condition>`) over ECS documents."""

    language = "eql"

    def compile(self, query: str) -> CompiledEql:
        event_query = parse_event_query(query)
        condition = _compile(event_query.query)
        category = event_query.event_type
        if category != "any":
            # a term query on event.category (an array in ECS): any element, case-sensitive
            in_category = _values(
                _Operand(_field_getter(CATEGORY_FIELD)), _equals_matcher(category)
            )
            condition = _all([in_category, condition])
        return CompiledEql(query=query, category=category, predicate=condition)
