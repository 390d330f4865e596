"""One ANTLR parse per KQL query text, however many duckdb-kql entry points read it.

duckdb-kql (pinned, 1.1.2) parses a query's text afresh in each entry point: `parse`, and `lower`
(query parameters, then the tree), which `to_sql` calls too. Its ANTLR parser, in pure Python, is
most of a KQL compile, and compiling dist/kql is most of `certdetect scan`'s startup with every
evaluator. A `ParseResult` depends on the text alone, and duckdb-kql only reads a tree after
parsing it (`duckdb_kql.lower` walks it into the IR), so the module-level `parse` that `lower`
calls is replaced with a memo of the texts parsed last. A text that does not parse is not
remembered: its `KqlSyntaxError` is raised each time, as before.
"""

from __future__ import annotations

import threading

import duckdb_kql
import duckdb_kql.lower
from duckdb_kql import ParseResult

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
