"""The compiled-query cache: a hit gives what compiling gives, and nothing else is ever a hit."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import converter.execute.engines.eql.engine as eql_engine
from converter.core.documents import DefenderRow
from converter.core.project import Project
from converter.environment.runtimes import target_runtimes
from converter.execute import compile_cache
from converter.execute.compile_cache import CompileCache, fingerprint
from converter.execute.engines import kql_parsing
from converter.execute.engines.base import QueryError
from converter.execute.engines.kql import KqlEngine
from converter.scan.scanner import Scanner
from converter.verify.build import run_build

from .conftest import REPO

DIST = REPO / "dist"


def _queries(language: str) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted((DIST / language).glob("*"))]


def _no_parse(text: str) -> None:
    raise AssertionError("parsed although the cache holds the query")


def test_a_kql_hit_is_what_compiling_gives_without_parsing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = _queries("kql")
    assert len(queries) >= 10
    first = KqlEngine()
    first.cache = CompileCache.load(tmp_path)
    fresh = [first.compile(query) for query in queries]
    first.cache.save()

    again = KqlEngine()
    again.cache = CompileCache.load(tmp_path)
    monkeypatch.setattr(kql_parsing, "_unmemoized", _no_parse)
    kql_parsing._memo.clear()
    cached = [again.compile(query) for query in queries]
    for one, other in zip(fresh, cached, strict=True):
        assert (one.query, one.table, one.sql, one.params, one.deep) == (
            other.query,
            other.table,
            other.sql,
            other.params,
            other.deep,
        )
    row = DefenderRow(
        "DeviceProcessEvents",
        {"ActionType": "ProcessCreated", "FileName": "certutil.exe"}
        | {"ProcessCommandLine": "certutil -addstore root x.cer"},
    )
    assert [c.select([row]) for c in cached] == [c.select([row]) for c in fresh]


def test_a_rejected_query_is_never_kept(tmp_path: Path) -> None:
    engine = KqlEngine()
    engine.cache = CompileCache.load(tmp_path)
    query = 'DeviceProcessEvents | where NoSuchColumn == "x"'
    for _ in range(2):
        with pytest.raises(QueryError, match="NoSuchColumn"):
            engine.compile(query)
    assert engine.cache.entries == {}


def test_another_schema_or_library_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    query = _queries("kql")[0]
    engine = KqlEngine()
    engine.cache = CompileCache.load(tmp_path)
    engine.compile(query)
    tables = {name: table for name, table in engine.tables.items() if name != "DeviceEvents"}
    other = KqlEngine(tables)
    other.cache = engine.cache
    assert other._cached(query) is None
    assert engine._cached(query) is not None
    engine._fingerprint = None
    monkeypatch.setattr(duckdb, "__version__", "0.0.0")  # another DuckDB
    assert engine._cached(query) is None


def test_the_fingerprint_reads_the_deciding_sources(tmp_path: Path) -> None:
    source = tmp_path / "deciding.py"
    source.write_text("LIMIT = 1\n")
    before = fingerprint(["1.0"], [source])
    assert fingerprint(["1.0"], [source]) == before
    source.write_text("LIMIT = 2\n")
    assert fingerprint(["1.0"], [source]) != before
    assert fingerprint(["1.1"], [source]) != fingerprint(["1.0"], [source])


def test_eql_hit_skips_elastics_check_and_a_miss_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = target_runtimes()["eql"].engine
    engine.cache = CompileCache.load(tmp_path)
    queries = _queries("eql")
    for query in queries:
        engine.compile(query)
    calls: list[str] = []
    monkeypatch.setattr(eql_engine, "eql_schema_error", lambda q, s: calls.append(q))
    for query in queries:
        engine.compile(query)
    assert calls == []
    changed = queries[0].replace("where", "where true and", 1)
    engine.compile(changed)
    assert calls == [changed]


def test_unreadable_or_foreign_files_are_ignored_and_off_means_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / compile_cache.FILE_NAME).write_text("{not json")
    assert CompileCache.load(tmp_path).entries == {}
    (tmp_path / compile_cache.FILE_NAME).write_text('{"format": 0, "entries": {"a": 1}}')
    assert CompileCache.load(tmp_path).entries == {}
    blocked = tmp_path / "file"
    blocked.write_text("")
    cache = CompileCache.load(blocked / "below")  # a folder that cannot be made
    cache.put("kql", "print", "query", {"x": 1})
    cache.save()  # no error: the cache only saves time
    monkeypatch.setenv(compile_cache.ENVIRONMENT, "")
    off = CompileCache.load()
    off.put("kql", "print", "query", {"x": 1})
    assert off.path is None and off.get("kql", "print", "query") is None


def test_scan_compiles_from_the_cache_the_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(compile_cache.ENVIRONMENT, str(tmp_path))
    project = Project.at(REPO)
    first = Scanner.for_project(project)
    assert (tmp_path / compile_cache.FILE_NAME).is_file()
    monkeypatch.setattr(kql_parsing, "_unmemoized", _no_parse)
    kql_parsing._memo.clear()
    second = Scanner.for_project(project)
    sqls = [[getattr(q, "sql", None) for _, q in e.queries] for e in first.evaluators[1:]]
    assert sqls == [[getattr(q, "sql", None) for _, q in e.queries] for e in second.evaluators[1:]]


def test_a_build_with_the_cache_gives_what_a_build_without_gives(tmp_path: Path) -> None:
    # the queries still run on every case; only what compiling them decided is taken
    project = Project.at(REPO)

    def outcomes(cache: CompileCache | None) -> list[tuple]:
        build = run_build(project, cache=cache)
        return [
            (result.rule.id, name, outcome)
            for result in build.rules
            for name, outcome in sorted(result.targets.items())
        ] + [("errors", build.errors, build.warnings)]

    plain = outcomes(None)
    cold = CompileCache.load(tmp_path)
    assert outcomes(cold) == plain
    assert cold.entries  # kept: the KQL translations and the EQL checks
    assert outcomes(CompileCache.load(tmp_path)) == plain
