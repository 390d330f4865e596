"""Every KQL query of the build, and so every Sentinel rule's query, passes Microsoft's
Kusto.Language (`converter.verify.kusto_validator`) over the Defender XDR schema; an error fails
the artifact, a missing node or npm package is one plain line.

Tests that run Kusto.Language skip when node or the package is absent, except in CI (`CI=true`),
where they fail: `.ci/run` installs the package (`scripts/install-test-tools`).
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import converter.verify.build as build_module
from converter.cli import main
from converter.convert.backends.kql import CertdetectKustoBackend
from converter.convert.conversion import Converted, TargetBackends
from converter.core.defender_schema import DEFENDER_TABLES
from converter.core.errors import VerificationFailed
from converter.core.rules import RuleFile
from converter.core.status import Status
from converter.environment import KqlOverlay, load_environment
from converter.execute.compile_cache import CompileCache
from converter.execute.runtimes import TargetRuntime
from converter.verify import kusto_validator
from converter.verify.build import Outcome, run_build
from converter.verify.kusto_validator import kusto_tables, position, validate
from converter.verify.vendor_check import Finding, PendingCheck, VendorCheck, require_validators

from .conftest import REPO
from .verdict_support import probe_project

ACME = REPO / "examples" / "environments" / "acme.yml"
PACKAGE_JSON = kusto_validator.SCRIPT.parent / "node_modules" / kusto_validator.PACKAGE


@pytest.fixture
def kusto() -> None:
    """Kusto.Language can run here; outside CI, skip with the reason when it cannot."""
    missing = None
    if shutil.which("node") is None:
        missing = "node is not on PATH"
    elif not (PACKAGE_JSON / "package.json").is_file():
        missing = f"{kusto_validator.PACKAGE} is not installed (scripts/install-test-tools)"
    if missing is not None:
        if require_validators():
            pytest.fail(f"CI=true needs Kusto.Language: {missing}")
        pytest.skip(missing)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    kusto_validator._cache.clear()


def errors_of(query: str) -> tuple[str, ...]:
    check = validate({"query": query})
    assert check.skipped is None
    return check.errors("query")


def committed_kql() -> dict[str, str]:
    """Every KQL text of dist/: the artifacts and the Sentinel rules' queries."""
    queries = {
        f"kql/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted((REPO / "dist" / "kql").glob("*.kql"))
    }
    for path in sorted((REPO / "dist" / "sentinel").glob("*.yaml")):
        queries[f"sentinel/{path.name}"] = yaml.safe_load(path.read_text(encoding="utf-8"))["query"]
    return queries


@pytest.mark.usefixtures("kusto")
def test_a_valid_defender_query_has_no_diagnostic() -> None:
    query = 'DeviceProcessEvents\n| where FolderPath endswith "\\\\certutil.exe"'
    assert validate({"query": query}).findings == {}


@pytest.mark.usefixtures("kusto")
def test_an_unknown_column_is_an_error_naming_it_and_its_place() -> None:
    query = 'DeviceProcessEvents\n| where ProcessCommandLin contains "-addstore"'
    assert errors_of(query) == (
        "KS142 The name 'ProcessCommandLin' does not refer to any known column, table, variable "
        "or function. (line 2, column 9)",
    )


@pytest.mark.usefixtures("kusto")
def test_an_unknown_table_is_an_error() -> None:
    (error,) = errors_of('DeviceProcessEvent | where FolderPath == "x"')
    assert error.startswith("KS204 The name 'DeviceProcessEvent' does not refer to any known table")


@pytest.mark.usefixtures("kusto")
def test_a_syntax_error_is_an_error() -> None:
    errors = errors_of('DeviceProcessEvents\n| where (FolderPath == "x"')
    assert errors == ("KS005 Expected: ) (line 2, column 27)",)


@pytest.mark.usefixtures("kusto")
def test_an_operator_on_the_wrong_column_type_is_an_error() -> None:
    # Timestamp is a datetime column in the Defender schema: `contains` takes strings only
    (error,) = errors_of('DeviceProcessEvents | where Timestamp contains "2026"')
    assert error.startswith("KS106 The operator 'contains' is not defined for the operand types")


@pytest.mark.usefixtures("kusto")
def test_the_column_types_come_from_the_defender_schema() -> None:
    # the same query is valid once the schema says the column is a string
    tables = kusto_tables()
    assert tables["DeviceProcessEvents"]["Timestamp"] == "datetime"
    assert tables == {name: dict(t.columns) for name, t in DEFENDER_TABLES.items()}


@pytest.mark.usefixtures("kusto")
def test_every_committed_kql_artifact_and_sentinel_query_passes_with_no_finding() -> None:
    queries = committed_kql()
    assert len([name for name in queries if name.startswith("sentinel/")]) >= 10
    check = validate(queries)
    assert check.skipped is None
    assert check.findings == {}


def test_the_sentinel_rules_carry_the_kql_artifacts_text() -> None:
    # so the check of the KQL queries is the check of the Sentinel rules
    queries = committed_kql()
    sentinel = {name for name in queries if name.startswith("sentinel/")}
    assert sentinel
    for name in sentinel:
        artifact = "kql/" + name.removeprefix("sentinel/").removesuffix(".yaml") + ".kql"
        assert queries[name] == queries[artifact]


@pytest.mark.usefixtures("kusto")
def test_an_environment_is_checked_against_its_renamed_tables_and_columns() -> None:
    overlay = load_environment(ACME, "acme.yml").overlay("kql", KqlOverlay)
    assert overlay is not None
    renamed = 'AcmeProcessEvents_CL | where CmdLine contains "-addstore"'
    stock = 'DeviceProcessEvents | where ProcessCommandLine contains "-addstore"'
    check = validate({"renamed": renamed, "stock": stock}, overlay)
    assert "renamed" not in check.findings
    assert check.errors("stock")[0].startswith("KS204 The name 'DeviceProcessEvents'")
    assert validate({"renamed": renamed}).errors("renamed")


def test_positions_count_utf16_units_as_kusto_language_does() -> None:
    # "—" is one UTF-16 unit, "𝒳" two: the offset after them lands on the same character
    assert position('T\n| where A has "—𝒳" and B', 26) == (2, 24)
    assert position("T", 0) == (1, 1)


def kql_column_misspelled(monkeypatch: pytest.MonkeyPatch, text: str, wrong: str) -> None:
    """A Defender conversion gone wrong: `text` of each KQL query replaced with `wrong`."""
    original = build_module.convert_for_target

    def convert(backends: TargetBackends, rule: RuleFile) -> Converted:
        converted = original(backends, rule)
        if isinstance(backends.main, CertdetectKustoBackend):
            return replace(converted, query=converted.query.replace(text, wrong))
        return converted

    monkeypatch.setattr(build_module, "convert_for_target", convert)


@pytest.mark.usefixtures("kusto")
def test_the_build_fails_when_a_kql_query_names_an_unknown_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = probe_project(tmp_path)
    kql_column_misspelled(monkeypatch, "ProcessCommandLine", "ProcessCommandLin")
    build = run_build(probe.project)
    (result,) = build.rules
    assert result.targets["kql"].status == Status.FAILED
    failure = next(line for line in build.failures if "Kusto.Language" in line)
    assert failure.startswith(
        f"{probe.stem}: [kql] query rejected: unknown column 'ProcessCommandLin'"
    )
    assert failure.endswith(
        "; [kql] Kusto.Language: KS142 The name 'ProcessCommandLin' does not refer to any known "
        "column, table, variable or function. (line 2, column 94)"
    )
    result_cli = CliRunner().invoke(main, ["build", "--project", str(probe.project.root)])
    assert result_cli.exit_code == 1
    assert f"FAIL {probe.stem}: [kql] query rejected: " in result_cli.stderr
    assert not probe.project.dist_dir.exists()


def kql_engine_accepts_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine lenient about a mistake: every KQL query it is given comes out verified."""
    original = build_module.evaluate_artifact

    def evaluate(rule: RuleFile, query: str, runtime: TargetRuntime | None, *args: Any) -> Outcome:
        if runtime is not None and runtime.name == "kql":
            return Outcome(status=Status.VERIFIED, query=query)
        return original(rule, query, runtime, *args)

    monkeypatch.setattr(build_module, "evaluate_artifact", evaluate)
    original_many = build_module.evaluate_artifacts

    def evaluate_many(artifacts: Any, runtime: TargetRuntime, *args: Any) -> list[Outcome]:
        if runtime.name == "kql":
            return [
                Outcome(status=Status.VERIFIED, query=q) if isinstance(q, str) else q
                for _, q in artifacts
            ]
        return original_many(artifacts, runtime, *args)

    monkeypatch.setattr(build_module, "evaluate_artifacts", evaluate_many)


@pytest.mark.usefixtures("kusto")
def test_an_unknown_column_fails_the_build_even_when_the_engine_verified_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the verdict is Kusto.Language's alone: the engine said verified
    probe = probe_project(tmp_path)
    kql_column_misspelled(monkeypatch, "ProcessCommandLine", "ProcessCommandLin")
    kql_engine_accepts_anything(monkeypatch)
    build = run_build(probe.project)
    (result,) = build.rules
    kql = result.targets["kql"]
    assert kql.status == Status.FAILED and kql.status != Status.UNSUPPORTED
    assert build.failures == [
        f"{probe.stem}: [kql] Kusto.Language: KS142 The name 'ProcessCommandLin' does not refer "
        "to any known column, table, variable or function. (line 2, column 94)"
    ]
    assert {result.targets["eql"].status, result.targets["spl"].status} == {Status.VERIFIED}


def test_the_kusto_language_test_bites_without_the_validator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kusto: None
) -> None:
    monkeypatch.setattr(build_module, "apply_check", lambda *args: None)
    with pytest.raises(AssertionError):
        test_an_unknown_column_fails_the_build_even_when_the_engine_verified_it(
            tmp_path, monkeypatch
        )


def test_a_kusto_language_warning_is_reported_and_the_artifact_stays_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # none of our queries draws a warning: validate.js's answer is replaced with one that does
    def answer(tables: object, texts: list[str]) -> dict[str, Any]:
        warning = {"severity": "Warning", "code": "KS179", "message": "Not a parameter."}
        results = [
            {"id": str(i), "diagnostics": [{**warning, "start": 0, "length": 1}]}
            for i in range(len(texts))
        ]
        return {"version": "test", "results": results}

    monkeypatch.setattr(kusto_validator, "run_validator", answer)
    probe = probe_project(tmp_path)
    result = CliRunner().invoke(main, ["build", "--project", str(probe.project.root)])
    assert result.exit_code == 0, result.stderr
    assert (
        f"warning: {probe.stem} [kql] Kusto.Language: KS179 Not a parameter. (line 1, column 1)"
        in result.stderr.splitlines()
    )
    manifest = json.loads((probe.project.dist_dir / "manifest.json").read_text())
    assert manifest["rules"][0]["targets"]["kql"]["status"] == "verified"


def test_a_missing_node_is_said_once_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(kusto_validator, "NODE", "certdetect-no-such-node")
    probe = probe_project(tmp_path)
    result = CliRunner().invoke(main, ["build", "--project", str(probe.project.root)])
    assert result.exit_code == 0, result.stderr
    skipped = [line for line in result.stderr.splitlines() if "Kusto.Language" in line]
    assert skipped == [
        "warning: Kusto.Language check skipped: node (certdetect-no-such-node) is not on PATH; "
        "install Node.js to check KQL; the kql queries were executed by the engine but not "
        "checked by the vendor's validator"
    ]
    assert "Traceback" not in result.output + result.stderr


def test_a_missing_node_fails_in_ci_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(kusto_validator, "NODE", "certdetect-no-such-node")
    with pytest.raises(VerificationFailed, match="CI=true requires it: node"):
        validate({"query": "DeviceProcessEvents"})
    probe = probe_project(tmp_path)
    result = CliRunner().invoke(main, ["build", "--project", str(probe.project.root)])
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("certdetect: Kusto.Language check cannot run and CI=true requires it: node (")
    )
    assert "Traceback" not in result.stderr


def test_the_npm_package_is_pinned_to_one_version_by_the_lock_file() -> None:
    folder = kusto_validator.SCRIPT.parent
    wanted = json.loads((folder / "package.json").read_text())["dependencies"]
    locked = json.loads((folder / "package-lock.json").read_text())["packages"]
    entry = locked[f"node_modules/{kusto_validator.PACKAGE}"]
    assert wanted == {kusto_validator.PACKAGE: entry["version"]}  # exact, no range
    assert entry["integrity"].startswith("sha512-")
    assert "npm ci" in (REPO / "scripts" / "install-test-tools").read_text()


def test_a_missing_npm_package_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    monkeypatch.delenv("CI", raising=False)
    alone = tmp_path / "validate.js"  # no node_modules beside it, nor above tmp_path
    shutil.copy(kusto_validator.SCRIPT, alone)
    monkeypatch.setattr(kusto_validator, "SCRIPT", alone)
    check = validate({"query": "DeviceProcessEvents"})
    assert check.skipped == (
        "@kusto/language-service-next is not installed; run scripts/install-test-tools"
    )
    assert check.findings == {}


# --- the check overlaps the engines (converter.verify.vendor_check.PendingCheck) --------------


def test_the_kusto_check_is_running_before_the_engines_execute_the_queries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()

    def answer(tables: object, texts: list[str]) -> dict[str, Any]:
        started.set()
        return {
            "version": "test",
            "results": [{"id": str(i), "diagnostics": []} for i in range(len(texts))],
        }

    monkeypatch.setattr(kusto_validator, "run_validator", answer)
    original, seen = build_module.evaluate_artifact, []

    def evaluate(*args: Any) -> Outcome:
        if not seen:  # the first query any engine runs: the check must be under way already
            seen.append(started.wait(timeout=5))
        return original(*args)

    monkeypatch.setattr(build_module, "evaluate_artifact", evaluate)
    build = run_build(probe_project(tmp_path).project)
    assert seen == [True]
    assert build.ok, build.failures


def test_the_overlap_test_bites_when_the_check_runs_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class AtTheEnd:
        def __init__(self, validator: Any, queries: Any, section: Any, cache: Any) -> None:
            self.call = lambda: validator(queries, section, cache)

        def result(self) -> VendorCheck:
            return self.call()

    monkeypatch.setattr(build_module, "PendingCheck", AtTheEnd)
    with pytest.raises(AssertionError):
        test_the_kusto_check_is_running_before_the_engines_execute_the_queries(
            tmp_path, monkeypatch
        )


def test_a_pending_check_returns_the_validators_check_or_raises_its_error() -> None:
    check = VendorCheck(tool="T", findings={"q": (Finding(error=True, message="bad"),)})
    assert PendingCheck(lambda queries, section, cache: check, {"q": "x"}, None).result() is check

    def failing(queries: Any, section: Any, cache: Any) -> VendorCheck:
        raise VerificationFailed("Kusto.Language check failed (exit 1): boom")

    with pytest.raises(VerificationFailed, match=r"^Kusto.Language check failed \(exit 1\): boom$"):
        PendingCheck(failing, {}, None).result()


# --- verdicts kept between runs (the compiled-query cache) ---------------------------------------


def _counting_validator(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """validate.js replaced by a stand-in that finds an error in texts holding "Bad", and counts
    the texts it is given."""
    given: list[list[str]] = []

    def answer(tables: object, texts: list[str]) -> dict[str, Any]:
        given.append(list(texts))
        results = []
        for i, text in enumerate(texts):
            found = [{"severity": "Error", "code": "KS1", "message": "bad", "start": 0}]
            results.append({"id": str(i), "diagnostics": found if "Bad" in text else []})
        return {"version": kusto_validator.installed_version(), "results": results}

    monkeypatch.setattr(kusto_validator, "run_validator", answer)
    return given


def test_verdicts_are_taken_from_the_cache_in_a_later_run(
    kusto: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kusto_validator.installed_version() is not None
    given = _counting_validator(monkeypatch)
    queries = {"good": "DeviceProcessEvents | take 1", "bad": "Bad | take 1"}
    cache = CompileCache.load(tmp_path)
    first = validate(queries, None, cache)
    cache.save()
    kusto_validator._cache.clear()  # a new process
    later = validate(queries, None, CompileCache.load(tmp_path))
    assert given == [sorted(queries.values())]  # the second run started no validator
    assert first == later and later.errors("bad") == ("KS1 bad (line 1, column 1)",)
    assert later.errors("good") == ()
    # another schema (an environment's), or the package gone: asked again
    kusto_validator._cache.clear()
    renamed = KqlOverlay(tables={"DeviceProcessEvents": "ProcessEvents"})
    validate(queries, renamed, CompileCache.load(tmp_path))
    assert len(given) == 2
    kusto_validator._cache.clear()
    monkeypatch.setattr(kusto_validator, "PACKAGE_DIR", tmp_path / "missing")
    validate(queries, None, CompileCache.load(tmp_path))
    assert len(given) == 3


def test_a_damaged_cached_verdict_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _counting_validator(monkeypatch)
    cache = CompileCache.load(tmp_path)
    validate({"q": "Bad | take 1"}, None, cache)
    for key in cache.entries:
        cache.entries[key] = [["not a bool", 3]]
    kusto_validator._cache.clear()
    assert validate({"q": "Bad | take 1"}, None, cache).errors("q")
    assert len(given) == 2
