"""Parse Elasticsearch EQL with Elastic's `eql` package, keeping what its AST drops.

`eql`'s parser is the syntax check Elastic's detection-rules repository relies on; its
PythonEngine evaluates Endgame EQL, not Elasticsearch EQL, and is not used (`compiler` evaluates).

What `eql`'s AST loses, and how it is recovered: `eql.parse_query` turns `:`, `like` and `like~`
into the same `wildcard()` call, `regex`/`regex~` into `match()`, `in~` into `in`, drops the `~`
of functions and the `?` of optional fields, and its optimizer merges predicates. `_Walker`
subclasses the parser's own tree walker (`eql.parser.LarkToEQL`) and re-reads the tokens it
drops from the Lark parse tree: the operator token of string predicates, the `IN` token, the
function-name token, the `?`. It also unescapes strings itself: eql 1.0.1 reads
`"\\u{41}\\u{42}"` with a greedy pattern and fails.
"""

from __future__ import annotations

import re
from typing import Any

import eql
from eql import ast
from eql.errors import EqlError, EqlSyntaxError
from eql.parser import LarkToEQL, elasticsearch_syntax, ignore_missing_functions, lark_parser
from lark.exceptions import LarkError

from converter.execute.engines.base import QueryError


class InsensitiveInSet(ast.InSet):
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


class OptionalField(ast.Field):
    """`?field`: Elasticsearch accepts it even when no index maps the field (it is null)."""

    __slots__ = ()


class _Walker(LarkToEQL):
    """eql's Lark-to-AST walker, keeping the tokens that carry Elasticsearch semantics."""

    def field(self, node: Any) -> Any:
        info = super().field(node)
        if str(node.children[-1]).startswith("?") and type(info.node) is ast.Field:
            info.node = OptionalField(info.node.base, info.node.path)
        return info

    def string_predicate(self, node: Any) -> Any:
        info = super().string_predicate(node)
        # Name the call after its operator (`:`, `like~`, `regex`...): no function has such a name.
        info.node.name = str(node["STRING_PREDICATE"])
        return info

    def in_set(self, node: Any) -> Any:
        info = super().in_set(node)
        if node.get("IN") == "in~":
            info.node = InsensitiveInSet(info.node.expression, info.node.container)
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
