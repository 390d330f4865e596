"""Environment overlays: loading, the pySigma layer, the environment's documents, and
`certdetect build --env`.

The overlay's queries are verified on the cases stored the environment's way; the tests that
break that storage (monkeypatched document transforms, a macro keeping the wrong index) prove the
verification can fail.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sigma.processing.pipeline import ProcessingPipeline

from converter.cli import main
from converter.convert.conversion import (
    ConversionError,
    convert,
    make_backend,
    resolve_pipeline,
    target_pipeline,
)
from converter.core.documents import DefenderRow, DocumentGroup, SplunkEvent
from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.core.status import Status
from converter.core.targets import TARGETS, target_by_name
from converter.environment import (
    PRIORITY,
    Environment,
    EqlOverlay,
    KqlOverlay,
    SplOverlay,
    load_environment,
)
from converter.publish.manifest import parse_manifest
from converter.verify.build import BuildResult, run_build
from converter.verify.environment_notes import environment_errors, environment_warnings

from .conftest import FILES, REPO

ACME = REPO / "examples" / "environments" / "acme.yml"
BAD = FILES / "environments"


def _eql(environment: Environment) -> EqlOverlay:
    overlay = environment.overlay("eql", EqlOverlay)
    assert overlay is not None
    return overlay


def _spl(environment: Environment) -> SplOverlay:
    overlay = environment.overlay("spl", SplOverlay)
    assert overlay is not None
    return overlay


def _kql(environment: Environment) -> KqlOverlay:
    overlay = environment.overlay("kql", KqlOverlay)
    assert overlay is not None
    return overlay


def _snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def acme() -> Environment:
    return load_environment(ACME, "acme.yml")


@pytest.fixture(scope="module")
def stock_build() -> BuildResult:
    return run_build(Project.at(REPO))


@pytest.fixture(scope="module")
def acme_build(acme: Environment) -> BuildResult:
    return run_build(Project.at(REPO), environment=acme)


def _queries(build: BuildResult, target: str) -> dict[str, str]:
    return {
        result.rule.stem: outcome.query
        for result in build.rules
        if (outcome := result.targets[target]).status == Status.VERIFIED and outcome.query
    }


# --- loading -------------------------------------------------------------------------------------


def test_example_environment_loads(acme: Environment) -> None:
    assert acme.name == "acme-prod"
    eql, spl, kql = _eql(acme), _spl(acme), _kql(acme)
    assert eql.index["linux"] == ("logs-sysmon_linux.log-acme-*",)
    assert spl.index == "acme_endpoint"
    assert spl.macro is not None and spl.macro.name == "acme_endpoint_data"
    assert kql.tables["DeviceProcessEvents"] == "AcmeProcessEvents_CL"
    assert kql.fields["ProcessCommandLine"] == "CmdLine"


def test_minimal_environment_changes_nothing(stock_build: BuildResult) -> None:
    minimal = load_environment(BAD / "minimal.yml")
    build = run_build(Project.at(REPO), environment=minimal)
    assert build.ok
    for target in TARGETS:
        assert _queries(build, target.name) == _queries(stock_build, target.name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "unknown_key.yml",
            "unknown_key.yml:4: spl.sourcetypes: unknown key; expected one of fields, index, "
            "macro, sources",
        ),
        (
            "bad_name.yml",
            "bad_name.yml:2: name: 'ACME Prod' must be lowercase letters, digits and '-' "
            "(at most 64)",
        ),
        ("not_mapping.yml", "not_mapping.yml:1: an environment file must be a YAML mapping"),
        (
            "unknown_table.yml",
            "unknown_table.yml:5: kql.tables.DeviceProcessEvent: DeviceProcessEvent is not a "
            "Defender XDR advanced-hunting table",
        ),
        (
            "macro_with_pipe.yml",
            "macro_with_pipe.yml:5: spl.macro.definition: must be a search expression the SPL "
            "engine runs: it holds a '|'",
        ),
        (
            "macro_index_without_index.yml",
            "macro_index_without_index.yml:5: spl.macro.definition: names index: set spl.index",
        ),
        ("fixed_column.yml", "fixed_column.yml:4: kql.fields.RegistryKey: RegistryKey cannot"),
        ("column_collision.yml", "column_collision.yml:4: kql.fields.ProcessCommandLine: two"),
        ("bad_index.yml", "bad_index.yml:3: spl.index: 'acme_*' is not a Splunk index name"),
        ("wrong_type.yml", "wrong_type.yml:4: eql.fields.process.command_line: must be a"),
        ("missing.yml", "missing.yml: cannot read file"),
    ],
)
def test_bad_environment_files_are_one_line_errors(name: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_environment(BAD / name, name)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_huge_and_aliased_files_are_refused(tmp_path: Path) -> None:
    aliased = tmp_path / "aliased.yml"
    aliased.write_text("name: &n acme\ndescription: *n\n")
    with pytest.raises(InputError, match="aliases"):
        load_environment(aliased)
    huge = tmp_path / "huge.yml"
    huge.write_text("name: acme\ndescription: " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(InputError, match="limit"):
        load_environment(huge)


# --- the pySigma layer ---------------------------------------------------------------------------


def test_overlay_is_a_stock_pipeline_at_priority_100(acme: Environment) -> None:
    for target in ("eql", "spl", "kql"):
        loaded = ProcessingPipeline.from_yaml(acme.pipeline_yaml(target))
        assert loaded.priority == PRIORITY
        assert [item.identifier for item in loaded.items] == [
            item["id"] for item in acme.pipeline_dict(target)["transformations"]
        ]


@pytest.mark.parametrize("target_name", ["eql", "spl", "kql"])
def test_sigma_cli_reproduces_the_overlay(
    acme: Environment, acme_build: BuildResult, tmp_path: Path, target_name: str
) -> None:
    # The same queries from the pipeline files, resolved by priority as sigma-cli does:
    # `sigma convert -t <backend> -p <target pipelines> -p environment/<target>.yml`
    target = target_by_name(target_name)
    layer = tmp_path / f"{target_name}.yml"
    layer.write_text(acme.pipeline_yaml(target_name))
    with_file = replace(target, pipelines=(*target.pipelines, str(layer)))
    ours = make_backend(target, target_pipeline(target, REPO, acme))
    theirs = make_backend(target, resolve_pipeline(with_file, REPO))
    compared = set()
    for rule in load_rules(Project.at(REPO)):
        try:
            expected = convert(ours, rule).query
        except ConversionError as refusal:  # refused from the pipeline files too, for one reason
            with pytest.raises(ConversionError) as caught:
                convert(theirs, rule)
            assert str(caught.value) == str(refusal), rule.stem
            continue
        assert convert(theirs, rule).query == expected, rule.stem
        compared.add(rule.stem)
    # every rule the environment's build verifies was compared, not only the refusals
    verified = set(_queries(acme_build, target_name))
    assert verified and compared >= verified


# --- the environment's queries, verified ---------------------------------------------------------


def test_environment_queries_verify_like_the_stock_ones(
    acme_build: BuildResult, stock_build: BuildResult
) -> None:
    assert acme_build.ok, acme_build.failures
    for ours, stock in zip(acme_build.rules, stock_build.rules, strict=True):
        assert {t: o.status for t, o in ours.targets.items()} == {
            t: o.status for t, o in stock.targets.items()
        }
        for name, outcome in ours.targets.items():
            assert outcome.matched == stock.targets[name].matched


def test_eql_queries_use_the_environment_fields(acme_build: BuildResult) -> None:
    queries = _queries(acme_build, "eql")
    assert "acme.process.cmdline like~" in queries["proc_creation_win_certutil_certificate_import"]
    assert "acme.process.original_name:" in queries["proc_creation_win_certutil_certificate_import"]
    assert all("process.command_line" not in query for query in queries.values())


def test_spl_queries_use_the_environment_index_source_macro_and_fields(
    acme_build: BuildResult, stock_build: BuildResult
) -> None:
    queries = _queries(acme_build, "spl")
    assert set(queries) == set(_queries(stock_build, "spl"))
    # the macro names the indexes: it is the index selection, no index="..." is ANDed beside it
    prefix = "`acme_endpoint_data` "
    assert all('index="acme_endpoint"' not in query for query in queries.values())
    for query in queries.values():
        # process_creation reads Sysmon 1 OR Security 4688: each branch is a whole search
        assert query.startswith(prefix) or (
            query.startswith(f"({prefix}") and f") OR ({prefix}" in query
        )
    windows = queries["proc_creation_win_certutil_certificate_import"]
    assert 'source="WinEventLog:Sysmon"' in windows and "cmd_line=" in windows
    assert "XmlWinEventLog:Microsoft-Windows-Sysmon" not in windows
    assert 'sourcetype="acme:sysmon:linux"' in queries["proc_creation_lnx_openssl_execution"]
    # a source the environment does not map stays as it is
    assert (
        "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational"
        in (queries["posh_ps_self_signed_certificate_creation"])
    )


def test_kql_queries_use_the_environment_tables_and_columns(acme_build: BuildResult) -> None:
    queries = _queries(acme_build, "kql")
    process = queries["proc_creation_win_certutil_certificate_import"]
    assert process.startswith("AcmeProcessEvents_CL\n| where ")
    assert "CmdLine contains" in process and "ProcessCommandLine" not in process
    assert queries["file_event_win_certificate_file_staging"].startswith("AcmeFileEvents_CL\n")
    assert "Path endswith" in queries["file_event_win_certificate_file_staging"]
    # a table the environment does not rename stays the Defender one
    assert queries["registry_set_win_root_certificate_install"].startswith("DeviceRegistryEvents")


@pytest.mark.parametrize(
    ("target", "overlay"), [("eql", EqlOverlay), ("spl", SplOverlay), ("kql", KqlOverlay)]
)
def test_documents_not_stored_the_environments_way_fail_verification(
    acme: Environment, monkeypatch: pytest.MonkeyPatch, target: str, overlay: type
) -> None:
    # The queries are the environment's, the documents the stock ones: nothing may verify.
    monkeypatch.setattr(overlay, "document", lambda self, document, *_: document)
    build = run_build(Project.at(REPO), targets=(target_by_name(target),), environment=acme)
    assert not build.ok
    failed = [r.rule.stem for r in build.rules if r.targets[target].status == Status.FAILED]
    assert "proc_creation_win_certutil_certificate_import" in failed


def test_a_macro_keeping_another_index_fails_verification(stock_build: BuildResult) -> None:
    environment = load_environment(BAD / "excluding_macro.yml")
    build = run_build(Project.at(REPO), targets=(target_by_name("spl"),), environment=environment)
    assert not build.ok
    for ours, stock in zip(build.rules, stock_build.rules, strict=True):
        if stock.targets["spl"].matched:  # every query that matched a case now matches none
            assert ours.targets["spl"].status == Status.FAILED
            assert ours.targets["spl"].matched == ()
    assert (
        "proc_creation_win_certutil_certificate_import [spl] case "
        "proc_creation_win_certutil_certificate_import/addstore_root: expected match, got no match"
    ) in build.failures


def test_a_macro_selecting_indexes_is_the_only_index_selection(acme: Environment) -> None:
    # Splunk ANDs a search's terms: index="acme_endpoint" beside the macro would never read the
    # archive index. The engine, given the macro, finds events stored in either index.
    from converter.core.documents import SplunkEvent
    from converter.environment.spl import SplOverlay, engine

    spl = acme.sections["spl"]
    assert isinstance(spl, SplOverlay) and spl.macro_selects_index
    runtime_engine = engine(spl)
    query = runtime_engine.compile('`acme_endpoint_data` CommandLine="*certutil*"')
    stored = [
        SplunkEvent(fields={"CommandLine": ["certutil -addstore"]}, raw="", index=index)
        for index in ("acme_endpoint", "acme_endpoint_archive", "other")
    ]
    assert set(query.select(stored)) == {0, 1}


def test_a_rename_no_query_uses_is_an_error_with_its_line(
    acme: Environment, acme_build: BuildResult, tmp_path: Path
) -> None:
    assert environment_errors(acme, acme_build) == []
    typo = ACME.read_text().replace("        CommandLine: cmd_line", "        CommandLne: cmd_line")
    assert typo != ACME.read_text()
    (tmp_path / "typo.yml").write_text(typo)
    line = typo.splitlines().index("        CommandLne: cmd_line") + 1
    environment = load_environment(tmp_path / "typo.yml", "typo.yml")
    build = run_build(Project.at(REPO), targets=(target_by_name("spl"),), environment=environment)
    (error,) = environment_errors(environment, build)
    assert (error.path, error.line) == ("typo.yml", line)
    assert error.message.startswith(
        "spl.fields.CommandLne: no spl query names 'CommandLne' after its pipelines, so the "
        "rename to 'cmd_line' changes nothing"
    )
    result = CliRunner().invoke(
        main,
        [
            "build",
            "--project",
            str(REPO),
            "--env",
            str(tmp_path / "typo.yml"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2
    assert f"typo.yml:{line}: spl.fields.CommandLne: no spl query names" in result.output
    assert not (tmp_path / "out").exists()


def test_other_unused_names_are_warned(acme: Environment, acme_build: BuildResult) -> None:
    assert environment_warnings(acme, acme_build) == []
    macos = Environment(
        "macos", "macos.yml", sections={"eql": EqlOverlay(index={"macos": ("logs-mac-*",)})}
    )
    assert environment_warnings(macos, acme_build) == [
        "macos.yml: eql.index: no rule has log source macos"
    ]
    tables = Environment(
        "t", "t.yml", sections={"kql": KqlOverlay(tables={"DeviceImageLoadEvents": "Img_CL"})}
    )
    assert environment_warnings(tables, acme_build) == [
        "t.yml: kql.tables: no kql query reads the table Img_CL"
    ]


# --- documents ---------------------------------------------------------------------------------


def test_ecs_fields_move_and_empty_objects_go(acme: Environment) -> None:
    document = {
        "process": {"command_line": "certutil -addstore", "pe": {"original_file_name": "x"}},
        "event": {"code": "1"},
    }
    moved = acme.document("eql", document)
    assert moved == {
        "event": {"code": "1"},
        "acme": {"process": {"cmdline": "certutil -addstore", "original_name": "x"}},
    }
    assert document["process"]["command_line"] == "certutil -addstore"  # not changed in place


def test_ecs_renames_are_simultaneous() -> None:
    swap = Environment(
        name="swap", path="swap.yml", sections={"eql": EqlOverlay(fields={"a.b": "c", "c": "a.b"})}
    )
    assert swap.document("eql", {"a": {"b": 1}, "c": 2}) == {"a": {"b": 2}, "c": 1}


def test_splunk_event_gets_fields_source_and_index(acme: Environment) -> None:
    event = SplunkEvent(
        {"CommandLine": ["certutil -addstore"], "Image": ["C:\\certutil.exe"]},
        "<Event/>",
        source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
        sourcetype="XmlWinEventLog",
        host="wks",
    )
    stored = acme.document("spl", event)
    assert stored.fields == {"cmd_line": ["certutil -addstore"], "Image": ["C:\\certutil.exe"]}
    assert (stored.source, stored.sourcetype, stored.index) == (
        "WinEventLog:Sysmon",
        "XmlWinEventLog",
        "acme_endpoint",
    )
    assert stored.raw == "<Event/>" and stored.host == "wks"


def test_defender_row_gets_table_and_columns(acme: Environment) -> None:
    row = DefenderRow("DeviceProcessEvents", {"ProcessCommandLine": "x", "FolderPath": "C:\\a"})
    assert acme.document("kql", row) == DefenderRow(
        "AcmeProcessEvents_CL", {"CmdLine": "x", "Path": "C:\\a"}
    )
    registry = DefenderRow("DeviceRegistryEvents", {"RegistryKey": "HKEY"})
    assert acme.document("kql", registry) == registry


def test_document_groups_and_unstored_events(acme: Environment) -> None:
    group = DocumentGroup([DefenderRow("DeviceFileEvents", {"FolderPath": "a"})])
    stored = acme.document("kql", group)
    assert type(stored) is DocumentGroup
    assert list(stored) == [DefenderRow("AcmeFileEvents_CL", {"Path": "a"})]
    assert acme.document("spl", None) is None


def test_kql_tables_are_renamed_with_their_columns(acme: Environment) -> None:
    tables = _kql(acme).defender_tables()
    assert "DeviceProcessEvents" not in tables
    process = tables["AcmeProcessEvents_CL"]
    assert "CmdLine" in process.columns and "ProcessCommandLine" not in process.columns
    assert process.columns["CmdLine"] == "string"
    # a column is renamed in every table that has it, renamed or not
    assert "Path" in tables["DeviceEvents"].columns
    assert "FolderPath" not in tables["DeviceEvents"].columns


# --- deployable files --------------------------------------------------------------------------


def test_deployables_carry_the_environment(acme_build: BuildResult) -> None:
    from converter.publish.artifacts import render

    files = render(acme_build)
    rules = [
        json.loads(line) for line in files["elastic/certdetect-rules.ndjson"].decode().splitlines()
    ]
    products = {r.rule.id: r.rule.rule.logsource.product for r in acme_build.rules}
    categories = {r.rule.id: r.rule.rule.logsource.category for r in acme_build.rules}
    expected = {
        "windows": ["logs-windows.sysmon_operational-acme-*"],
        "linux": ["logs-sysmon_linux.log-acme-*"],
    }
    assert {products[rule["rule_id"]] for rule in rules} >= {"windows", "linux"}
    # script blocks are analysed text in Elastic: no EQL rule reads them (the log source's own
    # index entry is checked by `index_patterns` below)
    assert "ps_script" not in {categories[rule["rule_id"]] for rule in rules}
    for rule in rules:
        product = products[rule["rule_id"]]
        if product in expected:
            assert rule["index"] == expected[product]
        else:  # a product the environment does not name keeps the stock data streams
            assert not any("acme" in index for index in rule["index"])
    conf = files["splunk/certdetect/default/savedsearches.conf"].decode()
    assert "search = `acme_endpoint_data` (" in conf
    macros = files["splunk/certdetect/default/macros.conf"].decode().splitlines()
    assert macros[-2:] == [
        "[acme_endpoint_data]",
        "definition = (index=acme_endpoint OR index=acme_endpoint_archive)",
    ]
    sentinel = yaml.safe_load(files["sentinel/proc_creation_win_certutil_certificate_import.yaml"])
    assert sentinel["requiredDataConnectors"][0]["dataTypes"] == ["AcmeProcessEvents_CL"]
    columns = [m["fieldMappings"][0]["columnName"] for m in sentinel["entityMappings"]]
    assert columns == ["DeviceName", "AccountName", "CmdLine"]
    environment = parse_manifest(files["manifest.json"].decode()).environment
    assert environment is not None and environment.name == "acme-prod"
    assert set(environment.pipelines.values()) <= set(files)


# --- certdetect build --env ----------------------------------------------------------------------


def test_build_env_writes_its_own_tree_and_never_dist(project_copy: Project) -> None:
    dist = _snapshot(project_copy.dist_dir)
    args = ["build", "--project", str(project_copy.root), "--env", str(ACME)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = project_copy.root / "build" / "env" / "acme-prod"
    assert "wrote build/env/acme-prod/" in result.output
    written = _snapshot(out)
    assert "kql/proc_creation_win_certutil_certificate_import.kql" in written
    assert written["spl/proc_creation_lnx_openssl_execution.spl"].startswith(
        b"`acme_endpoint_data`"
    )
    assert _snapshot(project_copy.dist_dir) == dist
    # --check compares the environment's tree, and finds it stale once changed
    check = CliRunner().invoke(main, [*args, "--check"])
    assert check.exit_code == 0 and "build/env/acme-prod/ is up to date" in check.output
    (out / "kql" / "stray.kql").write_text("x\n")
    stale = CliRunner().invoke(main, [*args, "--check"])
    assert stale.exit_code == 1
    assert "stale build/env/acme-prod/kql/stray.kql (not generated by the build)" in stale.output
    assert _snapshot(project_copy.dist_dir) == dist


@pytest.mark.parametrize(
    "name", ["unknown_key.yml", "bad_name.yml", "not_mapping.yml", "missing.yml"]
)
def test_build_env_bad_file_is_exit_2_and_leaves_output(
    project_copy: Project, tmp_path: Path, name: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}\n")
    dist = _snapshot(project_copy.dist_dir)
    args = ["build", "--project", str(project_copy.root), "--env", str(BAD / name)]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith(f"certdetect: error: {BAD / name}")
    assert "Traceback" not in result.output
    assert _snapshot(out) == {"manifest.json": b"{}\n"}
    assert _snapshot(project_copy.dist_dir) == dist


def test_build_env_failing_verification_leaves_output(project_copy: Project) -> None:
    args = ["build", "--project", str(project_copy.root), "--env", str(BAD / "excluding_macro.yml")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "build/env/acme-archive-only/ left unchanged" in result.output
    assert not (project_copy.root / "build").exists()


@pytest.mark.parametrize("where", ["dist", "root", "inside-dist", "foreign"])
def test_build_env_refuses_outputs_it_would_destroy(project_copy: Project, where: str) -> None:
    root = project_copy.root
    out = {
        "dist": project_copy.dist_dir,
        "root": root,
        "inside-dist": project_copy.dist_dir / "env",
        "foreign": root / "sigma",
    }[where]
    before = _snapshot(root)
    args = ["build", "--project", str(root), "--env", str(ACME), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("certdetect: error: ")
    assert _snapshot(root) == before


def test_out_needs_env(project_copy: Project, tmp_path: Path) -> None:
    args = ["build", "--project", str(project_copy.root), "--out", str(tmp_path / "x")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "--out needs --env" in result.output


def test_kibana_index_patterns_go_from_the_log_source_to_the_product(
    acme: Environment, acme_build: BuildResult
) -> None:
    eql = _eql(acme)
    assert eql.index_patterns("windows", "ps_script") == (
        "logs-windows.powershell_operational-acme-*",
    )
    assert eql.index_patterns("windows", "process_creation") == (
        "logs-windows.sysmon_operational-acme-*",
    )
    assert eql.index_patterns("zeek", "ssl") is None  # not set: the stock data stream
    stale = Environment(
        "stale",
        "stale.yml",
        sections={"eql": EqlOverlay(index={"windows/dns_query": ("logs-dns-*",)})},
    )
    assert environment_warnings(stale, acme_build) == [
        "stale.yml: eql.index: no rule has log source windows/dns_query"
    ]
