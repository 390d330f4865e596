"""Execute Defender XDR advanced-hunting KQL filters with duckdb-kql over DuckDB.

No Kusto engine runs offline; duckdb-kql (pinned, 1.1.2) translates KQL to DuckDB SQL with Kusto's
string semantics (`has` as a term match, `=~`, `in~`, `matches regex`, ...). A query must be one
filter over one Defender table, checked and translated once
(`converter.execute.engines.kql_filter`); this module has DuckDB bind it and runs it over
`DefenderRow`s loaded into a DuckDB table with the table's full schema
(`converter.core.defender_schema`), so a wrong table or column is a `QueryError`, never an empty
result. Strings are never null in Kusto ("Null values"): a string column a row lacks holds "".

duckdb-kql's known deviations from the documentation are strict xfails in
`tests/test_engines_kql.py`.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from converter.core import defender_schema
from converter.core.defender_schema import (
    DEFENDER_TABLES,
    DefenderTable,
    quote_identifier,
)
from converter.core.documents import DefenderRow
from converter.execute.compile_cache import CompileCache, fingerprint
from converter.execute.engines import deep_stack
from converter.execute.engines.base import QueryError
from converter.execute.engines.deep_stack import call_with_deep_stack

# Original index of each loaded row. KQL reserves names that start with "__" ("Entity names"),
# and queries are bound against the exact schema, which lacks it, before they run.
ROW_COLUMN = "__certdetect_row"
# Predicates nested deeper than this are translated and run on a deep stack, with DuckDB's
# `max_expression_depth` (default 1,000) raised for them (a 5,000-value `or` chain is 5,000 deep).
SHALLOW_NESTING = 200
DEEP_EXPRESSION_DEPTH = 50_000
# Rows per JSON line: keeps each JSON object far below DuckDB's object size limit.
CHUNK_ROWS = 10_000


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        # naive means UTC; an aware value keeps its offset, which the TIMESTAMPTZ cast applies
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False, default=_json_default).encode


def _connect() -> duckdb.DuckDBPyConnection:
    """What `duckdb_kql.connect()` makes (its documented equivalent: `duckdb.connect()` and
    `SET TimeZone='UTC'`, Kusto datetimes being UTC), without importing duckdb-kql's parser."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    return con


def _load_sql(table: DefenderTable, columns: Sequence[str], path: str) -> str:
    """INSERT the rows of the JSON file `path` (one object of column arrays per line)."""
    select = [f"unnest({quote_identifier(ROW_COLUMN)})"]
    read_types = {ROW_COLUMN: "BIGINT[]"}
    for column in columns:
        kusto_type, value = table.columns[column], f"unnest({quote_identifier(column)})"
        if kusto_type == "datetime":
            # read as text: DuckDB's JSON reader drops a UTC offset, TIMESTAMPTZ applies it
            value = f"CAST(CAST({value} AS TIMESTAMPTZ) AS TIMESTAMP)"
            read_types[column] = "VARCHAR[]"
        else:
            if kusto_type == "string":
                value = f"coalesce({value}, '')"
            read_types[column] = table.duckdb_type(column) + "[]"
        select.append(value)
    names = ", ".join(quote_identifier(c) for c in read_types)
    spec = ", ".join(f"{_sql_string(c)}: '{t}'" for c, t in read_types.items())
    return (
        f"INSERT INTO temp.main.{quote_identifier(table.name)} ({names}) "
        f"SELECT {', '.join(select)} FROM read_json({_sql_string(path)}, "
        f"format='newline_delimited', columns={{{spec}}}, maximum_object_size=1073741824)"
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_columns(
    path: str, indices: list[int], rows: list[Mapping[str, Any]], columns: list[str]
) -> None:
    # Column arrays rather than one object per row: encoding lists is about twice as fast, and
    # read_json needs neither pandas nor pyarrow (neither is a dependency).
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, len(indices), CHUNK_ROWS):
            chunk = rows[start : start + CHUNK_ROWS]
            f.write("{" + _encode(ROW_COLUMN) + ":" + _encode(indices[start : start + CHUNK_ROWS]))
            for column in columns:
                f.write("," + _encode(column) + ":" + _encode([r.get(column) for r in chunk]))
            f.write("}\n")


class KqlEngine:
    """Compiles `Table | where ...` filters and runs them on one DuckDB connection.

    `tables` are the tables a query may read (default: the Defender XDR tables); an environment
    that stores them under other names, or with renamed columns, gives its own.
    """

    language = "kql"

    def __init__(self, tables: Mapping[str, DefenderTable] | None = None) -> None:
        self.tables: Mapping[str, DefenderTable] = DEFENDER_TABLES if tables is None else tables
        self._con = _connect()
        self._lock = threading.Lock()  # one connection, one statement sequence at a time
        self._checker: ThreadPoolExecutor | None = None  # runs `_check` (`compile_later`)
        # Rows are loaded and queries run on a cursor of their own (`_runs`): its TEMP tables,
        # kept from batch to batch, and the queries prepared on them are invisible to the bind
        # check above.
        self._runner: duckdb.DuckDBPyConnection | None = None
        self._loaded: set[str] = set()  # tables with a TEMP table on the runner
        self._prepared: dict[str, str] = {}  # SQL -> the name it is prepared under
        # what earlier runs decided (`converter.execute.compile_cache`); set by the caller
        self.cache: CompileCache | None = None
        self._fingerprint: str | None = None
        # Empty tables with the exact schema: compile binds each query against them. Rows go to a
        # same-named TEMP table with the row column, which DuckDB resolves first.
        for table in self.tables.values():
            self._con.execute(table.ddl(table.name))

    def compile(self, query: str) -> CompiledKql:
        return self.compile_later(query)()

    def compile_later(self, query: str) -> Callable[[], CompiledKql]:
        """`compile` in two steps: the query is parsed, checked and translated now (a QueryError
        at once), and DuckDB's check that its SQL binds runs on a worker thread while the caller
        goes on (DuckDB releases the GIL, so it overlaps the next queries' parsing on another
        core); the function returned waits for that check and returns the compiled query or
        raises its QueryError. With a `cache` that holds the query's translation from an
        earlier run of the same code, libraries and schema, neither step runs again."""
        known = self._cached(query)
        if known is not None:
            return lambda: known
        from converter.execute.engines import kql_filter  # duckdb-kql's parser: loaded on use

        table, tree = kql_filter.filter_tree(query, self.tables)
        patterns = kql_filter.regex_literals(tree.operators[0].predicate)
        if kql_filter.nesting(tree.operators[0].predicate) > SHALLOW_NESTING:
            # a long `or` chain: duckdb-kql and DuckDB recurse once per operand (`deep_stack`),
            # so both steps run here, on a deep stack
            try:
                compiled = call_with_deep_stack(lambda: self._translated(query, table, tree, True))
                call_with_deep_stack(lambda: self._check(compiled, patterns))
            except RecursionError:
                raise QueryError("the query nests too deeply for duckdb-kql to translate") from None
            self._remember(compiled)
            return lambda: compiled
        compiled = self._translated(query, table, tree, deep=False)
        with self._lock:
            if self._checker is None:
                self._checker = ThreadPoolExecutor(1, thread_name_prefix="kql-bind-check")
            checked = self._checker.submit(self._check, compiled, patterns)

        def done() -> CompiledKql:
            checked.result()  # the check's QueryError, if any
            self._remember(compiled)
            return compiled

        return done

    def _cache_key(self) -> str:
        if self._fingerprint is None:
            schema = repr(sorted(self.tables.items()))
            versions = [duckdb.__version__, importlib.metadata.version("duckdb-kql"), schema]
            here = Path(__file__).parent
            sources = [
                here / name
                for name in ("kql.py", "kql_filter.py", "kql_parsing.py", "kql_string_columns.py")
            ]
            sources += [Path(deep_stack.__file__), Path(defender_schema.__file__)]
            self._fingerprint = fingerprint(versions, sources)
        return self._fingerprint

    def _cached(self, query: str) -> CompiledKql | None:
        if self.cache is None:
            return None
        entry = self.cache.get("kql", self._cache_key(), query)
        if not isinstance(entry, dict):
            return None
        table = self.tables.get(entry.get("table", ""))
        sql, deep = entry.get("sql"), entry.get("deep")
        if table is None or not isinstance(sql, str) or not isinstance(deep, bool):
            return None
        return CompiledKql(query, table, sql, {}, self, deep)

    def _remember(self, compiled: CompiledKql) -> None:
        if self.cache is not None and not compiled.params:
            entry = {"table": compiled.table.name, "sql": compiled.sql, "deep": compiled.deep}
            self.cache.put("kql", self._cache_key(), compiled.query, entry)

    def _translated(self, query: str, table: DefenderTable, tree: Any, deep: bool) -> CompiledKql:
        from converter.execute.engines import kql_filter

        sql, params = kql_filter.translate(tree, table)
        return CompiledKql(query, table, sql, params, self, deep)

    def _check(self, compiled: CompiledKql, patterns: list[str]) -> None:
        table, sql, params = compiled.table, compiled.sql, compiled.params
        with self._lock, self._depth(compiled.deep):
            try:
                # catches what the IR check cannot, e.g. an operator on the wrong column type
                self._con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params or None).fetchall()
            except duckdb.Error as e:
                raise QueryError(f"KQL does not bind on {table.name}: {e}") from e
            for pattern in patterns:
                # DuckDB compiles a pattern when it first meets a row; Kusto refuses the query
                try:
                    self._con.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
                except duckdb.Error as e:
                    raise QueryError(f"invalid regex {pattern!r}: {e}") from e

    @contextmanager
    def _depth(self, deep: bool, con: duckdb.DuckDBPyConnection | None = None) -> Iterator[None]:
        """DuckDB's expression depth limit, raised for a deep query (on a deep stack) only."""
        con = self._con if con is None else con
        if not deep:
            yield
            return
        con.execute(f"SET max_expression_depth TO {DEEP_EXPRESSION_DEPTH}")
        try:
            yield
        finally:
            con.execute("RESET max_expression_depth")

    def _runs(self) -> duckdb.DuckDBPyConnection:
        if self._runner is None:
            self._runner = self._con.cursor()
            self._runner.execute("SET TimeZone='UTC'")  # per connection, as in `_connect`
            # a batch is thousands of rows: DuckDB's worker threads only add their coordination
            # (about 7% of a batch's time), and a sharded scan already keeps every core busy
            self._runner.execute("SET threads TO 1")
        return self._runner

    def run(self, compiled: CompiledKql, rows: Sequence[DefenderRow]) -> list[int]:
        """Indices of the rows of `compiled.table` that the filter keeps."""
        return self.run_many([compiled], rows)[0]

    def run_many(
        self,
        queries: Sequence[CompiledKql],
        rows: Sequence[DefenderRow],
        between: Callable[[], None] | None = None,
    ) -> list[list[int]]:
        """`run` for each query: the rows of a table are written and loaded into DuckDB once for
        all the queries on it (loading is most of a query's time on a batch of rows). `between`
        is called before each query (an interrupt check)."""
        results: list[list[int]] = [[] for _ in queries]
        groups: dict[str, list[int]] = {}
        for position, compiled in enumerate(queries):
            groups.setdefault(compiled.table.name, []).append(position)
        for positions in groups.values():
            table = queries[positions[0]].table
            indices = [i for i, row in enumerate(rows) if row.table == table.name]
            if not indices:
                continue
            values = [rows[i].columns for i in indices]
            present: set[str] = set()
            for columns in values:
                present.update(columns)
            unknown = present.difference(table.columns)
            if unknown:
                raise ValueError(
                    f"{table.name} rows have columns not in its schema: {sorted(unknown)}"
                )
            used = [c for c in table.columns if c in present]
            group = [queries[position] for position in positions]
            fd, path = tempfile.mkstemp(prefix="certdetect-kql-", suffix=".json")
            try:  # removed whatever stops the run, an interrupt included
                os.close(fd)
                _write_columns(path, indices, values, used)
                load_sql = _load_sql(table, used, path)

                def run_loaded(group: list[CompiledKql] = group, load_sql: str = load_sql) -> Any:
                    with self._lock:
                        return self._run_loaded(group, load_sql, between)

                deep = any(compiled.deep for compiled in group)
                found = call_with_deep_stack(run_loaded) if deep else run_loaded()
            finally:
                os.unlink(path)
            for position, selected in zip(positions, found, strict=True):
                results[position] = selected
        return results

    def _run_loaded(
        self, queries: list[CompiledKql], load_sql: str, between: Callable[[], None] | None
    ) -> list[list[int]]:
        """Load a batch's rows of one table and run its queries on them. The TEMP table stays
        from batch to batch (emptied), so that each plain query is prepared once: binding and
        planning a translated filter (often 10-40 KB of SQL) costs more than running it on a
        batch, and a prepared statement stays planned while its table's schema is unchanged."""
        table = queries[0].table
        con = self._runs()
        target = f"temp.main.{quote_identifier(table.name)}"
        if table.name in self._loaded:
            con.execute(f"DELETE FROM {target}")
        else:
            con.execute(table.ddl(table.name, {ROW_COLUMN: "BIGINT"}, temp=True))
            self._loaded.add(table.name)
        found: list[list[int]] = []
        try:
            try:
                con.execute(load_sql)
            except duckdb.Error as e:
                raise ValueError(f"{table.name} rows do not fit the column types: {e}") from e
            row = quote_identifier(ROW_COLUMN)
            for compiled in queries:
                if between is not None:
                    between()
                select = f"SELECT list({row} ORDER BY {row}) FROM ({compiled.sql})"
                with self._depth(compiled.deep, con):
                    try:
                        if compiled.params or compiled.deep:
                            result = con.execute(select, compiled.params or None).fetchone()
                        else:
                            name = self._prepared.get(compiled.sql)
                            if name is None:
                                name = f"certdetect_query_{len(self._prepared)}"
                                con.execute(f"PREPARE {name} AS {select}")
                                self._prepared[compiled.sql] = name
                            result = con.execute(f"EXECUTE {name}").fetchone()
                    except duckdb.Error as e:
                        # e.g. an invalid regex: Kusto would refuse the query, not skip the row
                        raise QueryError(f"KQL failed on {table.name} rows: {e}") from e
                selected = result[0] if result is not None else None
                found.append(list(selected) if selected is not None else [])
        finally:
            con.execute(f"DELETE FROM {target}")
        return found


@dataclass(frozen=True)
class CompiledKql:
    """One translated filter over one Defender table."""

    query: str
    table: DefenderTable
    sql: str
    params: dict[str, Any]
    engine: KqlEngine
    deep: bool = False  # parsed on a deep stack (`deep_stack`): run there too

    def select(self, documents: Sequence[DefenderRow]) -> list[int]:
        return self.engine.run(self, documents)
