"""The KQL engine's translation without `typeof` guards on string columns keeps exactly the rows
duckdb-kql's own translation keeps (`converter.execute.engines.kql_string_columns`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import duckdb_kql
import pytest

from converter.core.cases import load_cases
from converter.core.defender_schema import DEFENDER_TABLES
from converter.core.documents import DefenderRow, DocumentGroup
from converter.core.events import WindowsEvent
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.environment.runtimes import target_runtimes
from converter.execute.engines import kql_string_columns
from converter.execute.engines.kql import CompiledKql, KqlEngine
from converter.formats.readers import read_items

REPO = Path(__file__).resolve().parents[1]
# JSON-looking text in a string column: the reading the removed guard chose against
TRICKY = ['["root"]', '"root"', '{"a": "-addstore"}', "", " root ", "null", "[]"]


def _queries() -> list[str]:
    return [path.read_text() for path in sorted((REPO / "dist" / "kql").glob("*.kql"))]


def _rows(events: Iterator[object]) -> list[DefenderRow]:
    ingest = target_runtimes()["kql"].ingest
    rows: list[DefenderRow] = []
    for event in events:
        document = ingest(event)  # type: ignore[arg-type]
        if type(document) is DocumentGroup:
            rows.extend(document)
        elif document is not None:
            rows.append(document)
    return rows


def _case_rows() -> list[DefenderRow]:
    project = Project.at(REPO)
    cases = load_cases(project, [rule.id for rule in load_rules(project)])
    return _rows(case.event for case in cases)


def _with_tricky_strings(rows: list[DefenderRow]) -> list[DefenderRow]:
    """Each row again with each string column it holds set to each `TRICKY` text."""
    varied: list[DefenderRow] = []
    for row in rows:
        table = DEFENDER_TABLES[row.table]
        for column, value in row.columns.items():
            if table.columns[column] != "string" or not isinstance(value, str):
                continue
            for text in TRICKY:
                varied.append(DefenderRow(row.table, {**row.columns, column: text}))
    return varied


def _unguarded_and_guarded(engine: KqlEngine, query: str) -> tuple[CompiledKql, CompiledKql]:
    compiled = engine.compile(query)
    schema = {compiled.table.name: list(compiled.table.columns)}
    original = duckdb_kql.to_sql(query, schema=schema)  # no string columns known: duckdb-kql's
    guarded = CompiledKql(query, compiled.table, str(original), dict(original.parameters), engine)
    return compiled, guarded


def test_string_columns_lose_their_guard_and_nothing_else_changes() -> None:
    engine = KqlEngine()
    for query in _queries():
        compiled, guarded = _unguarded_and_guarded(engine, query)
        assert "typeof(" in guarded.sql, query  # the test compares two different translations
        assert len(compiled.sql) < len(guarded.sql)
        strings = [c for c, kind in compiled.table.columns.items() if kind == "string"]
        for column in strings:
            assert f'typeof("{column}")' not in compiled.sql


def test_a_dynamic_column_keeps_its_guard() -> None:
    table = next(t for t in DEFENDER_TABLES.values() if "dynamic" in t.columns.values())
    column = next(c for c, kind in table.columns.items() if kind == "dynamic")
    compiled = KqlEngine().compile(f'{table.name} | where {column} contains "x"')
    assert f'typeof("{column}")' in compiled.sql


def test_outside_the_engine_duckdb_kql_translates_as_it_always_did() -> None:
    query = 'DeviceProcessEvents | where ProcessCommandLine contains "root"'
    schema = {"DeviceProcessEvents": list(DEFENDER_TABLES["DeviceProcessEvents"].columns)}
    kql_string_columns.install()
    assert "typeof(" in str(duckdb_kql.to_sql(query, schema=schema))
    with kql_string_columns.string_columns_known(frozenset({"ProcessCommandLine"})):
        assert "typeof(" not in str(duckdb_kql.to_sql(query, schema=schema))
    assert "typeof(" in str(duckdb_kql.to_sql(query, schema=schema))


def _same_rows(rows: list[DefenderRow]) -> int:
    engine = KqlEngine()
    kept = 0
    for query in _queries():
        compiled, guarded = _unguarded_and_guarded(engine, query)
        found = engine.run(compiled, rows)
        assert found == engine.run(guarded, rows), query
        kept += len(found)
    return kept


def test_both_translations_keep_the_same_rows_of_every_case() -> None:
    rows = _case_rows()
    assert len(rows) > 100
    assert _same_rows(rows) > 20  # rows kept: the comparison is not of empty results
    assert _same_rows(_with_tricky_strings(rows)) > 20


def _baseline_events(shared: Path, limit: int) -> Iterator[WindowsEvent]:
    archives = sorted((shared / "real-logs" / "splunk-attack-data").glob("baseline_*.tgz"))
    if not archives:
        pytest.skip("no baseline_*.tgz under ../shared/real-logs/splunk-attack-data")
    for archive in archives:
        for item in itertools.islice(read_items(archive), limit):
            payload = getattr(item, "payload", None)
            if type(payload) is WindowsEvent:
                yield payload


def test_both_translations_keep_the_same_rows_of_the_real_baselines(shared_dir: Path) -> None:
    rows = _rows(_baseline_events(shared_dir, 20_000))
    assert len(rows) > 1_000
    _same_rows(rows)
