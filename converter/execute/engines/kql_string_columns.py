"""duckdb-kql's translation, told which columns are strings.

Why: duckdb-kql (pinned, 1.1.2) knows a table's column names, not their types, so for every
column a string operator reads it emits both readings, `CASE WHEN typeof(col) = 'JSON' THEN
<the operator on the unwrapped JSON text> ELSE <the operator on col> END` (its
`_in_string_context`), and DuckDB picks one per row. For a column the Defender schema declares
`string` (VARCHAR here, whatever the row), `typeof` is never 'JSON', so the ELSE branch is the
value: `string_columns_known` emits just that branch, as duckdb-kql itself does for an operand it
knows is not dynamic. Nothing else changes (a `dynamic` column keeps its guard).

It matters for speed, not for results: DuckDB sets up every branch of a filter each time it
runs it, and the guarded form of a Defender query is about five times as costly to run on a
batch of rows, whatever the batch's size (a `certdetect scan` runs each query once per batch).
`tests/test_engines_kql_string_columns.py` runs both translations of every dist/kql query and
every case on the same rows and compares the rows kept.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import duckdb_kql.translate as duckdb_kql_translate
from duckdb_kql import ir

# the string columns of the table being translated; None: duckdb-kql's own translation
_string_columns: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "certdetect_kql_string_columns", default=None
)
_original = duckdb_kql_translate._in_string_context


def _in_string_context(
    operands: Sequence[tuple[ir.Expr, str]],
    build: Callable[[Sequence[str]], str],
    index: int = 0,
) -> str:
    """duckdb-kql's `_in_string_context`, with no `typeof` guard for a string column: what it
    does for an operand that cannot be dynamic (it goes on with the next operand)."""
    known = _string_columns.get()
    if known:
        while index < len(operands):
            node = operands[index][0]
            if not (type(node) is ir.ColumnRef and node.name in known):
                break
            index += 1
    return _original(operands, build, index)


def install() -> None:
    """Route duckdb-kql's string-context rendering through `_in_string_context` (which does what
    duckdb-kql does unless `string_columns_known` is in effect)."""
    duckdb_kql_translate._in_string_context = _in_string_context  # type: ignore[attr-defined]


@contextmanager
def string_columns_known(columns: frozenset[str]) -> Iterator[None]:
    """Within this block, translations treat `columns` as strings."""
    token = _string_columns.set(columns)
    try:
        yield
    finally:
        _string_columns.reset(token)
