"""Bad input never crashes the build or touches dist/ (issue 7, item 3).

Each kind of bad file goes into a copy of the project, then `certdetect build` must print exactly
one line naming the file (and line) and what to do, exit with code 2, print no traceback, and
leave dist/ byte for byte as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.textfiles import MAX_FILE_BYTES

from .conftest import FILES, REPO

RULE_AT = "sigma/windows/process_creation/proc_creation_win_bad.yml"
CASE_AT = "cases/proc_creation_win_certutil_certificate_import/bad.json"


def snapshot(dist: Path) -> dict[str, bytes]:
    return {p.relative_to(dist).as_posix(): p.read_bytes() for p in dist.rglob("*") if p.is_file()}


def build(project: Project, *options: str) -> tuple[int, list[str], object]:
    result = CliRunner().invoke(main, [*options, "build", "--project", str(project.root)])
    return result.exit_code, [line for line in result.output.splitlines() if line], result


def assert_refused(project: Project, expected: str) -> None:
    before = snapshot(project.dist_dir)
    code, lines, result = build(project)
    assert (code, lines) == (2, [f"certdetect: error: {expected}"])
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    assert snapshot(project.dist_dir) == before


@pytest.fixture
def project(project_copy: Project) -> Project:
    shutil.copy(REPO / "validation.yml", project_copy.root / "validation.yml")
    return project_copy


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "rules/malformed_yaml.yml",
            f"{RULE_AT}:9: invalid YAML: expected <block end>, but found '<block mapping start>'"
            " (while parsing a block mapping started on line 7)",
        ),
        (
            # the file has 7 lines: the open quote's line, not the end of the file
            "bad_input/unterminated_quote.yml",
            f"{RULE_AT}:5: invalid YAML: found unexpected end of stream (while scanning a quoted"
            " scalar started on line 5)",
        ),
        (
            "bad_input/duplicate_selection.yml",
            f"{RULE_AT}:10: repeated key 'selection' (first on line 8); YAML keeps only one of"
            " them: merge or rename them",
        ),
        (
            "bad_input/duplicate_field.yml",
            f"{RULE_AT}:10: repeated key 'Image|endswith' (first on line 9); YAML keeps only one"
            " of them: merge or rename them",
        ),
        (
            "bad_input/duplicate_status.yml",
            f"{RULE_AT}:7: repeated key 'status' (first on line 3); YAML keeps only one of them:"
            " merge or rename them",
        ),
        (
            "rules/alias_bomb.yml",
            f"{RULE_AT}:8: YAML aliases (*name) are not allowed in rules; write the values out",
        ),
        ("rules/not_utf8.yml", f"{RULE_AT}:1: not valid UTF-8 text; save the file as UTF-8"),
        (
            "rules/unknown_modifier.yml",
            f"{RULE_AT}:10: Unknown modifier 'contians'; use a modifier of the Sigma specification"
            " (contains, startswith, endswith, all, windash, re, cidr, ...)",
        ),
        (
            "bad_input/deep_nesting.yml",
            f"{RULE_AT}:10: YAML nested more than 32 levels deep; flatten it",
        ),
        (
            "bad_input/deep_condition.yml",
            f"{RULE_AT}:11: condition nested 102 levels deep, over the limit of 32; simplify it",
        ),
        (
            "bad_input/hostile_field.yml",
            f"{RULE_AT}:10: field name 'Image\") or (true' is not allowed; use letters, digits,"
            " _ . - @ only",
        ),
        (
            "bad_input/condition_number.yml",
            f"{RULE_AT}:11: invalid condition (TypeError: argument of type 'int' is not"
            " iterable); write it as text",
        ),
        (
            "bad_input/unknown_condition.yml",
            f"{RULE_AT}:11: invalid condition: Detection 'filter' not defined in detections",
        ),
    ],
)
def test_bad_rule_file(project: Project, fixture: str, expected: str) -> None:
    shutil.copy(FILES / fixture, project.root / RULE_AT)
    assert_refused(project, expected)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("invalid_json.json", f"{CASE_AT}:3: invalid JSON: Expecting ',' delimiter"),
        ("not_utf8.json", f"{CASE_AT}:1: not valid UTF-8 text; save the file as UTF-8"),
        ("deep.json", f"{CASE_AT}: JSON nested more than 32 levels deep"),
        (
            "duplicate_key.json",
            f"{CASE_AT}:6: repeated key 'CommandLine' in one object; JSON keeps only one of them",
        ),
        ("not_object.json", f"{CASE_AT}:1: a case must be a JSON object"),
        (
            "unknown_rule.json",
            f"{CASE_AT}:4: expects unknown rule id 00000000-0000-4000-8000-000000000000; use the"
            " id of a rule in sigma/",
        ),
    ],
)
def test_bad_case_file(project: Project, fixture: str, expected: str) -> None:
    shutil.copy(FILES / "bad_input" / fixture, project.root / CASE_AT)
    assert_refused(project, expected)


def test_oversized_rule(project: Project) -> None:
    text = REPO / "sigma/windows/process_creation/proc_creation_win_certutil_certificate_import.yml"
    (project.root / RULE_AT).write_bytes(text.read_bytes() + b"#" * MAX_FILE_BYTES)
    size = (project.root / RULE_AT).stat().st_size
    assert_refused(project, f"{RULE_AT}: file is {size} bytes, over the 1048576-byte limit")


def test_oversized_case(project: Project) -> None:
    (project.root / CASE_AT).write_bytes(b" " * (MAX_FILE_BYTES + 1))
    assert_refused(project, f"{CASE_AT}: file is 1048577 bytes, over the 1048576-byte limit")


def test_duplicate_rule_ids(project: Project) -> None:
    source = project.root / "sigma/windows/process_creation"
    shutil.copy(
        source / "proc_creation_win_certutil_certificate_import.yml", project.root / RULE_AT
    )
    assert_refused(
        project,
        "sigma/windows/process_creation/proc_creation_win_certutil_certificate_import.yml:2:"
        " duplicate rule id 17976649-cec8-47e5-9118-f95515f1123a (also in"
        f" {RULE_AT}); give it a new UUID",
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_rule_that_is_a_pipe_is_not_read(project: Project) -> None:
    os.mkfifo(project.root / RULE_AT)  # reading it would block forever
    assert_refused(
        project, f"{RULE_AT}: not a regular file; commit the file itself, not a link to one"
    )


def test_rule_linked_to_a_device_is_not_read(project: Project) -> None:
    (project.root / RULE_AT).symlink_to("/dev/zero")  # reading it would never end
    assert_refused(
        project, f"{RULE_AT}: a link to a file outside the project; commit the file itself"
    )


def test_case_linked_outside_the_project_is_not_read(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.json"
    outside.write_text('{"token": "s3cr3t"}')
    (project.root / CASE_AT).symlink_to(outside)
    assert_refused(
        project, f"{CASE_AT}: a link to a file outside the project; commit the file itself"
    )


def test_missing_rules_folder(project: Project) -> None:
    shutil.rmtree(project.rules_dir)
    before = snapshot(project.dist_dir)
    code, lines, _ = build(project)
    assert code == 2
    assert lines == [
        f"certdetect: error: {project.rules_dir}: no rules folder; run certdetect from the project"
        " root or pass --project DIR"
    ]
    assert snapshot(project.dist_dir) == before


def test_empty_rules_folder(project: Project) -> None:
    for path in project.rules_dir.rglob("*.yml"):
        path.unlink()
    assert_refused(project, "sigma: no Sigma rules (*.yml) found; add one with `certdetect new`")


def test_debug_shows_the_exception_instead(project: Project) -> None:
    shutil.copy(FILES / "rules/alias_bomb.yml", project.root / RULE_AT)
    before = snapshot(project.dist_dir)
    code, _, result = build(project, "--debug")
    assert code == 1
    assert isinstance(result.exception, InputError)  # type: ignore[attr-defined]
    assert result.exception.line == 8  # type: ignore[attr-defined]
    assert snapshot(project.dist_dir) == before


def test_unknown_field_for_a_target_pipeline(project: Project) -> None:
    shutil.copy(FILES / "bad_input/unknown_field.yml", project.root / RULE_AT)
    assert_refused(
        project,
        f"{RULE_AT}:18: eql: field(s) 'winlog.event_data.CommandLines' after the Elastic EQL"
        " pipelines are not in its documents; use a field of the log source, or map it in"
        " pipelines/",
    )


def test_a_value_a_pipeline_cannot_handle_is_not_a_traceback(project: Project) -> None:
    shutil.copy(FILES / "bad_input/user_number.yml", project.root / RULE_AT)
    before = snapshot(project.dist_dir)
    code, _, result = build(project)
    assert result.exception is None or isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    # The Defender pipeline cannot take the number and EQL refuses a bare User value (Elastic
    # stores its domain and name apart): unsupported for both, with a reason, and SPL still
    # verifies the rule (no case expects it, and it matches none).
    assert code == 0
    output = result.output  # type: ignore[attr-defined]
    line = next(row for row in output.splitlines() if row.startswith("proc_creation_win_bad "))
    assert line.split()[2:] == ["verified", "unsupported", "verified", "unsupported"]
    assert snapshot(project.dist_dir) != before


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["build"],
        ["convert", "--target", "spl"],
        ["list"],
        ["scan", "cases/proc_creation_win_certutil_certificate_import/addstore_root.json"],
        ["bundle", "--out", "OUT"],
    ],
    ids=lambda command: command[0],
)
def test_every_command_refuses_a_repeated_yaml_key_in_one_line(
    project: Project, command: list[str], tmp_path: Path
) -> None:
    shutil.copy(FILES / "bad_input/duplicate_selection.yml", project.root / RULE_AT)
    before = snapshot(project.dist_dir)
    args = [str(tmp_path / "out") if part == "OUT" else part for part in command]
    args = [str(project.root / a) if a.startswith("cases/") else a for a in args]
    result = CliRunner().invoke(main, [args[0], "--project", str(project.root), *args[1:]])
    lines = [line for line in result.output.splitlines() if line]
    message = (
        f"{RULE_AT}:10: repeated key 'selection' (first on line 8); YAML keeps only one of them:"
        " merge or rename them"
    )
    assert result.exit_code == 2
    # check lists it among its findings; every other command stops on it
    shown = [f"{message} [input]"] if command == ["check"] else [f"certdetect: error: {message}"]
    assert [line for line in lines if RULE_AT in line] == shown
    assert "Traceback" not in result.output
    assert snapshot(project.dist_dir) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("where", ["under_a_file", "is_a_file_child", "proc"])
@pytest.mark.parametrize(
    "command",
    [["bundle", "--out"], ["build", "--env", "examples/environments/acme.yml", "--out"]],
    ids=["bundle", "build-env"],
)
def test_an_output_folder_that_cannot_be_written_is_one_line(
    project: Project, command: list[str], where: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = {
        "under_a_file": blocker / "out",
        "is_a_file_child": blocker / "deeper" / "out",
        # even root cannot create a folder in /proc
        "proc": Path("/proc/certdetect-test-out"),
    }[where]
    shutil.copytree(REPO / "examples", project.root / "examples", dirs_exist_ok=True)
    args = [str(project.root / a) if a.startswith("examples/") else a for a in command]
    # bundle only reads the project: the repository itself has everything it packs
    root = REPO if command[0] == "bundle" else project.root
    result = CliRunner().invoke(main, [args[0], "--project", str(root), *args[1:], str(out)])
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("certdetect:")]
    assert len(error) == 1 and error[0].startswith(f"certdetect: error: {out}")
    assert "Traceback" not in result.output
    assert blocker.read_text() == "not a folder"
    assert not out.exists()
