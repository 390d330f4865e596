"""`certdetect check`: output formats and exit codes."""

from __future__ import annotations

import json
import shutil

import click
import pytest
from click.testing import CliRunner, Result

from converter.checks.validators import NETWORK_VALIDATORS
from converter.cli import CertdetectGroup
from converter.cli.check import check
from converter.core.project import Project

from .conftest import FILES, REPO

PROCESS = "sigma/windows/process_creation"


@click.group(cls=CertdetectGroup)
@click.option("--debug", is_flag=True)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """`certdetect` with only `check`, as the main group runs it."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


cli.add_command(check)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["check", *args])


@pytest.fixture
def project(project_copy: Project) -> Project:
    shutil.copy(REPO / "validation.yml", project_copy.root / "validation.yml")
    return project_copy


def test_a_clean_project_exits_0_and_says_what_was_skipped() -> None:
    result = run("--project", str(REPO))
    assert result.exit_code == 0
    assert result.stdout == ""
    (summary,) = result.stderr.splitlines()
    rules = len(list((REPO / "sigma").rglob("*.yml")))
    assert summary.startswith(f"checked {rules} rules and ")
    assert summary.endswith(
        ": 0 finding(s); skipped (need the network): " + ", ".join(NETWORK_VALIDATORS)
    )


def test_findings_are_file_line_message_and_exit_1(project: Project) -> None:
    rule = project.root / PROCESS / "proc_creation_win_certutil_certificate_import.yml"
    rule.write_text(rule.read_text().replace("level: medium", "level: informational"))
    result = run("--project", str(project.root))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{PROCESS}/proc_creation_win_certutil_certificate_import.yml:92: level must be one of"
        " low, medium, high, critical [convention]"
    ]


def test_json_for_ci(project: Project) -> None:
    rule = project.root / PROCESS / "proc_creation_win_certutil_certificate_import.yml"
    rule.write_text(rule.read_text().replace("level: medium", "level: informational"))
    result = run("--project", str(project.root), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["rules"] == len(list((project.root / "sigma").rglob("*.yml")))
    assert report["findings"] == [
        {
            "path": f"{PROCESS}/proc_creation_win_certutil_certificate_import.yml",
            "line": 92,
            "check": "convention",
            "message": "level must be one of low, medium, high, critical",
            "error": False,
        }
    ]
    assert [v["name"] for v in report["skipped_validators"]] == list(NETWORK_VALIDATORS)
    assert report["skipped_validators"][0] == {
        "name": "attacktag",
        "needs": "network (MITRE ATT&CK)",
    }


def test_paths_limit_what_is_reported(project: Project) -> None:
    for name in (
        "proc_creation_win_certutil_certificate_import",
        "file_event_win_certificate_file_staging",
    ):
        rule = next(project.rules_dir.rglob(f"{name}.yml"))
        rule.write_text(rule.read_text().replace("status: experimental", "status: finished"))
    both = run("--project", str(project.root))
    assert both.exit_code == 2  # status is checked by pySigma: the files cannot be loaded
    assert len(both.stdout.splitlines()) == 2
    one = run(
        "--project", str(project.root), str(project.root / "sigma" / "windows" / "file_event")
    )
    assert one.exit_code == 2
    assert one.stdout.splitlines() == [
        "sigma/windows/file_event/file_event_win_certificate_file_staging.yml:3: 'finished' is"
        " not a valid Sigma rule status [input]"
    ]


def test_an_unreadable_file_exits_2_without_a_traceback(project: Project) -> None:
    shutil.copy(
        FILES / "rules/malformed_yaml.yml", project.root / PROCESS / "proc_creation_win_x.yml"
    )
    result = run("--project", str(project.root))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{PROCESS}/proc_creation_win_x.yml:9: invalid YAML: expected <block end>, but found"
        " '<block mapping start>' (while parsing a block mapping started on line 7)"
        " [input]"
    ]
    assert "Traceback" not in result.output


def test_missing_rules_folder_is_a_one_line_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run("--project", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"certdetect: error: {tmp_path}/sigma: no rules folder; run certdetect from the project"
        " root or pass --project DIR"
    ]


def test_a_path_outside_the_project_is_a_usage_error(project: Project, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = run("--project", str(project.root), str(elsewhere))
    assert result.exit_code == 2
    assert f"{elsewhere} is not inside the project" in result.stderr


def test_a_bad_validation_config_exits_2(project: Project) -> None:
    shutil.copy(FILES / "check/validation_unknown.yml", project.root / "validation.yml")
    result = run("--project", str(project.root))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "certdetect: error: validation.yml:4: unknown validator 'sigmahq_no_such_validator'"
    ]
