"""One ANTLR parse per KQL query text, however many duckdb-kql entry points read it.

duckdb-kql (pinned, 1.1.2) parses a query's text afresh in each entry point: `parse`, and `lower`
(query parameters, then the tree), which `to_sql` calls too. Its ANTLR parser, in pure Python, is
most of a KQL compile, and compiling dist/kql is most of `certdetect scan`'s startup with every
evaluator. A `ParseResult` depends on the text alone, and duckdb-kql only reads a tree after
parsing it (`duckdb_kql.lower` walks it into the IR), so the module-level `parse` that `lower`
calls is replaced with a memo of the texts parsed last. A text that does not parse is not
remembered: its `KqlSyntaxError` is raised each time, as before.

`duckdb_kql.to_sql` also lowers the text again, which the engine has just done to check the
query's shape: `lower_query` and `translate` split its query path (`_to_sql` in 1.1.2: `lower`
with the default clusters, entity groups and functions, `qualify`, `translate.to_sql`) so the
engine lowers once. They are for a plain query with no parameters, which is all a filter is;
`tests/test_engines_kql_parsing.py` checks that they give `to_sql`'s SQL for every dist/kql query.
"""

from __future__ import annotations

import threading

import duckdb_kql
import duckdb_kql.lower
from duckdb_kql import ParseResult, ir
from duckdb_kql.clusters import effective_clusters
from duckdb_kql.entity_groups import effective_entity_groups
from duckdb_kql.stored_functions import effective_functions
from duckdb_kql.translate import TranslationResult
from duckdb_kql.translate import to_sql as _emit

# texts remembered: dist/kql holds a few dozen queries; a long `certdetect verify` run moves on
MEMO_SIZE = 256

_unmemoized = duckdb_kql.parse
_memo: dict[str, ParseResult] = {}
_lock = threading.Lock()


def parse(kql: str) -> ParseResult:
    """`duckdb_kql.parse`, once per text (the `MEMO_SIZE` texts parsed last)."""
    with _lock:
        found = _memo.get(kql)
    if found is not None:
        return found
    found = _unmemoized(kql)  # raises on a syntax error: nothing remembered
    with _lock:
        if len(_memo) >= MEMO_SIZE:
            del _memo[next(iter(_memo))]  # the oldest
        _memo[kql] = found
    return found


def install() -> None:
    """Make `duckdb_kql.lower` (and so `duckdb_kql.to_sql`) parse through `parse`."""
    duckdb_kql.lower.parse = parse  # type: ignore[attr-defined]


def lower_query(kql: str) -> ir.Query:
    """The IR `duckdb_kql.to_sql` lowers `kql` to (raises as `duckdb_kql.lower` does)."""
    return duckdb_kql.lower.lower(
        kql,
        effective_entity_groups(None),
        effective_functions(None),
        None,
        effective_clusters(None),
    )


def translate(tree: ir.Query, schema: dict[str, list[str]]) -> TranslationResult:
    """What `duckdb_kql.to_sql(kql, schema)` returns, from `lower_query(kql)`, for a query with no
    parameters and no control command."""
    if tree.parameters:
        raise ValueError("a query with parameters is translated by duckdb_kql.to_sql")
    return _emit(duckdb_kql.lower.qualify(tree, None, effective_clusters(None)), schema)
