from __future__ import annotations

from typing import Any

import duckdb_kql
import duckdb_kql.lower
import pytest
from duckdb_kql import ParseResult

from converter.core.documents import DefenderRow
from converter.execute.engines import kql_parsing, kql_string_columns
from converter.execute.engines.kql import KqlEngine

from .conftest import REPO

QUERY = (
    'DeviceProcessEvents | where FileName =~ "certutil.exe" and ProcessCommandLine has "-importpfx"'
)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts duckdb-kql's own parser is given, with an empty memo."""
    parsed: list[str] = []
    original = kql_parsing._unmemoized

    def counting(kql: str) -> ParseResult:
        parsed.append(kql)
        return original(kql)

    monkeypatch.setattr(kql_parsing, "_unmemoized", counting)
    monkeypatch.setattr(kql_parsing, "_memo", {})
    return parsed


def _row(**columns: Any) -> DefenderRow:
    return DefenderRow("DeviceProcessEvents", columns)


def test_compiling_a_query_parses_its_text_once_and_still_selects_the_right_rows(
    counted: list[str],
) -> None:
    engine = KqlEngine()
    compiled = engine.compile(QUERY)
    assert counted == [QUERY]  # not once per duckdb-kql entry point (three times before)
    rows = [
        _row(FileName="CertUtil.exe", ProcessCommandLine="certutil -importPFX a.pfx"),
        _row(FileName="certutil.exe", ProcessCommandLine="certutil -dump a.pfx"),
    ]
    assert compiled.select(rows) == [0]
    assert duckdb_kql.lower.parse is kql_parsing.parse


def test_the_translation_is_the_one_duckdb_kql_gives_without_the_memo(
    counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    memoized = duckdb_kql.to_sql(QUERY)
    memoized_again = duckdb_kql.to_sql(QUERY)  # from the remembered tree
    assert counted == [QUERY]
    monkeypatch.setattr(duckdb_kql.lower, "parse", duckdb_kql.parse)
    plain = duckdb_kql.to_sql(QUERY)
    assert (str(memoized), dict(memoized.parameters)) == (str(plain), dict(plain.parameters))
    assert (str(memoized_again), dict(memoized_again.parameters)) == (
        str(plain),
        dict(plain.parameters),
    )


def test_a_text_that_does_not_parse_is_refused_every_time(counted: list[str]) -> None:
    for _ in range(2):
        with pytest.raises(duckdb_kql.KqlSyntaxError):
            kql_parsing.parse("DeviceProcessEvents | where (")
    assert len(counted) == 2 and kql_parsing._memo == {}


def test_the_memo_keeps_only_the_texts_parsed_last(
    counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kql_parsing, "MEMO_SIZE", 2)
    texts = [f"DeviceProcessEvents | where ProcessId == {n}" for n in range(3)]
    for text in texts:
        kql_parsing.parse(text)
    assert list(kql_parsing._memo) == texts[1:]
    kql_parsing.parse(texts[0])  # forgotten: parsed again
    assert counted == [*texts, texts[0]]


def test_the_engine_translates_each_dist_query_as_to_sql_does_from_one_lowering(
    counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lowered: list[str] = []
    original = duckdb_kql.lower.lower

    def counting(kql: str, *args: Any) -> Any:
        lowered.append(kql)
        return original(kql, *args)

    monkeypatch.setattr(duckdb_kql.lower, "lower", counting)
    engine = KqlEngine()
    queries = [path.read_text() for path in sorted((REPO / "dist" / "kql").glob("*.kql"))]
    assert queries
    for query in queries:
        compiled = engine.compile(query)
        schema = {compiled.table.name: list(compiled.table.columns)}
        table = compiled.table
        strings = frozenset(name for name, kind in table.columns.items() if kind == "string")
        with kql_string_columns.string_columns_known(strings):  # as the engine translates
            expected = duckdb_kql.to_sql(query, schema=schema)
        assert (compiled.sql, compiled.params) == (str(expected), dict(expected.parameters))
    # one lowering per query in the engine, one more in each `to_sql` above
    assert lowered == [q for query in queries for q in (query, query)]
