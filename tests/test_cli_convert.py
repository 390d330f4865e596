"""`certdetect convert`: one target's verified queries on stdout, for the stock targets or an
environment overlay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from converter.cli import main
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.core.status import Status
from converter.publish.manifest import read_manifest

from .conftest import FILES, REPO

ACME = REPO / "examples" / "environments" / "acme.yml"
CERTUTIL = "sigma/windows/process_creation/proc_creation_win_certutil_certificate_import.yml"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["convert", "--project", str(REPO), *args])


def blocks(stdout: str) -> dict[str, str]:
    """`# <rule file>` header -> the query after it."""
    found: dict[str, str] = {}
    for block in stdout.strip("\n").split("\n\n"):
        header, _, query = block.partition("\n")
        assert header.startswith("# "), block
        found[header[2:]] = query
    return found


@pytest.mark.parametrize("target", ["eql", "spl", "kql"])
def test_stock_queries_are_the_dist_artifacts(target: str) -> None:
    result = run("--target", target)
    assert result.exit_code == 0, result.output
    printed = blocks(result.stdout)
    manifest = read_manifest(REPO / "dist" / "manifest.json")
    expected = {
        rule.source: (REPO / "dist" / str(rule.targets[target].path)).read_text().rstrip("\n")
        for rule in manifest.rules
        if rule.targets[target].status == Status.VERIFIED
    }
    assert printed == expected


def test_environment_queries_for_chosen_rules() -> None:
    result = run("--target", "kql", "--env", str(ACME), str(REPO / CERTUTIL))
    assert result.exit_code == 0, result.output
    assert list(blocks(result.stdout)) == [CERTUTIL]
    query = blocks(result.stdout)[CERTUTIL]
    assert query.startswith("AcmeProcessEvents_CL\n| where ")
    assert "CmdLine contains" in query


def test_folder_selects_its_rules_and_unsupported_go_to_stderr() -> None:
    result = run("--target", "kql", str(REPO / "sigma" / "windows" / "ps_script"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 4  # the four script-block rules
    reason = ": unsupported for kql: Defender XDR advanced hunting has no table"
    assert all(reason in line for line in lines)


def test_jsonl_gives_every_rule() -> None:
    result = run("--target", "spl", "--env", str(ACME), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["rule"] for r in records] == [r.path for r in load_rules(Project.at(REPO))]
    # a regex cannot be ORed with the Security 4688 search: those rules are refused, not shipped
    unsupported = {Path(r["rule"]).stem for r in records if r["status"] != "verified"}
    assert unsupported == {
        "proc_creation_win_certutil_store_verb_split_by_quotes",
        "proc_creation_win_certutil_trusted_root_verb_split_by_quotes",
    }
    assert {r["status"] for r in records} == {"verified", "unsupported"}
    assert {r["environment"] for r in records} == {"acme-prod"}
    # a Sysmon-or-4688 query is `(<sysmon search>) OR (<4688 search>)`, each with the macro
    verified = [r for r in records if r["status"] == "verified"]
    assert all(r["query"].lstrip("(").startswith("`acme_endpoint_data` ") for r in verified)


def test_verification_failure_exits_1(project_copy: Project) -> None:
    rule = next(project_copy.rules_dir.rglob("proc_creation_win_certutil_certificate_import.yml"))
    rule.write_text(rule.read_text().replace("'-addstore'", "'-addstorex'"))
    args = ["convert", "--project", str(project_copy.root), "--target", "spl", str(rule)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert (
        "FAIL proc_creation_win_certutil_certificate_import [spl] case "
        "proc_creation_win_certutil_certificate_import/addstore_root: expected match, got no match"
    ) in result.stderr


def test_failing_environment_exits_1() -> None:
    env = FILES / "environments" / "excluding_macro.yml"
    result = run("--target", "spl", "--env", str(env), str(REPO / CERTUTIL))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "FAIL proc_creation_win_certutil_certificate_import [spl]" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--target", "spl", str(FILES / "environments" / "minimal.yml")],
            "not a rule in the project's sigma/ folder",
        ),
        (["--target", "spl", "nowhere.yml"], "nowhere.yml: no such file"),
        (
            ["--target", "spl", "--env", str(FILES / "environments" / "unknown_key.yml")],
            "unknown_key.yml:4: spl.sourcetypes: unknown key",
        ),
        (["--target", "spl", "--env", "missing.yml"], "missing.yml: cannot read file"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("certdetect: error: ")
    assert message in lines[0]


def test_target_is_required() -> None:
    result = run()
    assert result.exit_code == 2
    assert "--target" in result.output
