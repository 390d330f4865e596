"""`certdetect new`: a scaffold that builds at once, and passes `check` once filled in."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from converter.cli import CertdetectGroup, main
from converter.cli.check import check
from converter.cli.new import LOGSOURCES, new
from converter.core.project import Project
from converter.core.status import Status
from converter.publish.manifest import RuleEntry, read_manifest

from .conftest import REPO

STEM = "proc_creation_win_keytool_generating_a_key_pair"
RULE = f"sigma/windows/process_creation/{STEM}.yml"
MATCH = f"cases/{STEM}/match_example.json"
LOOKALIKE = f"cases/{STEM}/lookalike_example.json"
OPTIONS = [
    "--title",
    "Keytool Generating A Key Pair",
    "--level",
    "medium",
    "--date",
    "2026-11-28",
    "--description",
    "Detects the JDK keytool generating a key pair and its self-signed certificate (-genkeypair)."
    " Level medium: developers also create keystores for local TLS tests.",
    "--reference",
    "https://docs.oracle.com/en/java/javase/21/docs/specs/man/keytool.html",
    "--falsepositive",
    "Java developers creating keystores for local TLS testing",
]


ONE_LINE = "must be one non-empty line of text"


@click.group(cls=CertdetectGroup)
@click.option("--debug", is_flag=True)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """`certdetect` with only `new` and `check`, as the main group runs them."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


cli.add_command(new)
cli.add_command(check)


@pytest.fixture
def project(project_copy: Project) -> Project:
    shutil.copy(REPO / "validation.yml", project_copy.root / "validation.yml")
    return project_copy


def run(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--project", str(project.root)])


def build(project: Project) -> Result:
    return CliRunner().invoke(main, ["build", "--project", str(project.root)])


def manifest_entry(project: Project, stem: str) -> RuleEntry:
    manifest = read_manifest(project.dist_dir / "manifest.json")
    (entry,) = [r for r in manifest.rules if r.source.endswith(f"/{stem}.yml")]
    return entry


def test_new_writes_the_rule_and_its_two_cases(project: Project) -> None:
    result = run(project, "new", *OPTIONS)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"wrote {RULE}", f"wrote {MATCH}", f"wrote {LOOKALIKE}"]
    rule = yaml.safe_load((project.root / RULE).read_text())
    assert uuid.UUID(rule["id"]).version == 4
    assert rule["title"] == "Keytool Generating A Key Pair"
    assert str(rule["date"]) == "2026-11-28"
    assert rule["level"] == "medium"
    assert rule["tags"] == ["attack.resource-development", "attack.t1587.003"]
    assert rule["logsource"] == {"category": "process_creation", "product": "windows"}
    assert rule["references"] == [OPTIONS[OPTIONS.index("--reference") + 1]]
    match = json.loads((project.root / MATCH).read_text())
    lookalike = json.loads((project.root / LOOKALIKE).read_text())
    assert (match["expect"], lookalike["expect"]) == ([rule["id"]], [])
    assert match["event"]["Event"]["System"]["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert match["event"]["Event"]["System"]["EventID"] == 1


def test_two_new_rules_get_different_ids(project: Project) -> None:
    run(project, "new", "--title", "First Example Tool")
    run(project, "new", "--title", "Second Example Tool")
    ids = {
        yaml.safe_load(path.read_text())["id"]
        for path in project.rules_dir.rglob("proc_creation_win_*_example_tool.yml")
    }
    assert len(ids) == 2


def test_new_refuses_to_overwrite(project: Project) -> None:
    assert run(project, "new", *OPTIONS).exit_code == 0
    before = {p: (project.root / p).read_bytes() for p in (RULE, MATCH, LOOKALIKE)}
    result = run(project, "new", *OPTIONS)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"certdetect: error: {RULE}: already exists; pick another --name or --title"
    ]
    assert {p: (project.root / p).read_bytes() for p in before} == before


def test_the_cases_folder_alone_also_blocks(project: Project) -> None:
    (project.cases_dir / STEM).mkdir()
    result = run(project, "new", *OPTIONS)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"certdetect: error: cases/{STEM}: already exists; pick another --name or --title"
    ]
    assert not (project.root / RULE).exists()


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (["--title", "Keytool Generating A Key Pair"], RULE),
        (
            [
                "--title",
                "X",
                "--name",
                "Keytool: Key Pair!",
                "--logsource",
                "linux/process_creation",
            ],
            "sigma/linux/process_creation/proc_creation_lnx_keytool_key_pair.yml",
        ),
        (
            ["--title", "Cert Files", "--name", "file_event_win_cert_files"],
            "sigma/windows/process_creation/proc_creation_win_file_event_win_cert_files.yml",
        ),
        (
            [
                "--title",
                "Cert Files",
                "--logsource",
                "windows/file_event",
                "--name",
                "file_event_win_cert_files",
            ],
            "sigma/windows/file_event/file_event_win_cert_files.yml",
        ),
        (
            ["--title", "Root Store Key", "--logsource", "windows/registry_set"],
            "sigma/windows/registry_set/registry_set_win_root_store_key.yml",
        ),
        (
            ["--title", "Script Block", "--logsource", "windows/ps_script"],
            "sigma/windows/ps_script/posh_ps_script_block.yml",
        ),
    ],
)
def test_file_name_follows_the_sigmahq_prefix(project: Project, args: list[str], path: str) -> None:
    result = run(project, "new", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"wrote {path}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--title", "Two\nLines"], f"certdetect: error: the title {ONE_LINE}"),
        (["--title", "   "], f"certdetect: error: the title {ONE_LINE}"),
        (["--title", "!!!"], "certdetect: error: the name is empty once reduced to a-z, 0-9 and _;"
         " pass --name"),
        (["--title", "T" * 257], "certdetect: error: the title is over 256 characters; shorten it"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_errors(project: Project, args: list[str], message: str) -> None:
    files_before = sorted(project.root.rglob("*"))
    result = run(project, "new", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]
    assert sorted(project.root.rglob("*")) == files_before


def test_unknown_log_source_is_a_usage_error(project: Project) -> None:
    result = run(project, "new", "--title", "X Y", "--logsource", "windows/process_tampering")
    assert result.exit_code == 2
    assert "'windows/process_tampering' is not one of" in result.stderr


def test_every_scaffold_builds_and_is_verified_on_every_target(project: Project) -> None:
    for index, logsource in enumerate(LOGSOURCES):
        assert (
            run(project, "new", "--title", f"Example {index}", "--logsource", logsource).exit_code
            == 0
        )
    result = build(project)
    assert result.exit_code == 0, result.output
    # Defender XDR has no table for PowerShell script blocks (microsoft_xdr, finding 10), process
    # access events, named pipes, auditd records or Zeek logs; Elastic stores script blocks as
    # analysed text, and keeps no EXECVE argument positions (the example tests a1) and no whole
    # x509 subject
    unsupported = {
        "windows/ps_script": {"eql", "kql"},
        "windows/process_access": {"kql"},
        "windows/pipe_created": {"kql"},
        "windows/dns_query": {"kql"},
        "windows/create_remote_thread": {"kql"},
        "windows/driver_load": {"kql"},
        "windows/raw_access_thread": {"kql"},
        "windows/process_termination": {"kql"},
        "windows/create_stream_hash": {"kql"},
        "windows/file_change": {"kql"},
        "linux/auditd": {"eql", "kql"},
        "zeek/x509": {"eql", "kql"},
        "zeek/ssl": {"kql"},
        # Windows services: pySigma's kusto pipeline has no table for them; the windows
        # integration has no Task Scheduler or WMI-Activity stream; the Splunk model renders no
        # UserData (WMI-Activity 5858)
        "windows/security": {"kql"},
        "windows/taskscheduler": {"eql", "kql"},
        "windows/wmi": {"eql", "spl", "kql"},
        "windows/sysmon": {"kql"},
        "windows/windefend": {"kql"},
    }
    folders = {
        "windows/security": "windows/builtin/security",
        "windows/taskscheduler": "windows/builtin/taskscheduler",
        "windows/wmi": "windows/builtin/wmi",
        "windows/windefend": "windows/builtin/windefend",
        "linux/auditd": "linux/auditd",
        "zeek/x509": "network/zeek",
        "zeek/ssl": "network/zeek",
    }
    for logsource in LOGSOURCES:
        prefix = "zeek_" + logsource.split("/")[1] + "_" if logsource.startswith("zeek/") else ""
        pattern = f"{folders.get(logsource, logsource)}/{prefix}*example_*.yml"
        (path,) = project.rules_dir.glob(pattern)
        entry = manifest_entry(project, path.stem)
        statuses = {name: target.status for name, target in entry.targets.items()}
        assert statuses == {
            name: Status.UNSUPPORTED if name in unsupported.get(logsource, ()) else Status.VERIFIED
            for name in ("eql", "spl", "kql")
        }, logsource
        for name in ("eql", "spl", "kql"):
            if statuses[name] == Status.VERIFIED:
                matched = entry.targets[name].cases.matched
                assert matched == (f"{path.stem}/match_example",)


def test_an_unfilled_scaffold_fails_check_on_each_placeholder(project: Project) -> None:
    assert run(project, "new", "--title", "Keytool Generating A Key Pair").exit_code == 0
    result = run(project, "check")
    assert result.exit_code == 1
    found = [line.rsplit(" [", 1) for line in result.stdout.splitlines()]
    todo = "replace the TODO left by certdetect new"
    rule_lines = [(line, check_name) for line, check_name in found if line.startswith(RULE)]
    assert rule_lines == [
        (f"{RULE}:5: {todo}", "convention]"),
        (f"{RULE}:7: {todo}", "convention]"),
        (f"{RULE}:17: {todo}", "convention]"),
        (f"{RULE}:19: replace the example detection left by certdetect new", "convention]"),
        (f"{RULE}:23: {todo}", "convention]"),
    ]
    for case in (MATCH, LOOKALIKE):
        messages = [line.split(": ", 1)[1] for line, _ in found if line.startswith(case)]
        assert messages == [todo] * 3 + ["replace the example event left by certdetect new"] * 3
    assert len(found) == 5 + 6 + 6


def fill_rule(project: Project) -> None:
    """What a contributor writes: the detection replacing the example."""
    path = project.root / RULE
    detection = (
        "    selection:\n"
        "        Image|endswith: '\\keytool.exe'\n"
        "        CommandLine|contains: '-genkeypair'\n"
    )
    text = re.sub(
        r"    # TODO.*\n    selection:\n(        .*\n)+", lambda _: detection, path.read_text()
    )
    path.write_text(text)


def fill_case(project: Project, relative: str, title: str, command_line: str) -> None:
    """What a contributor writes: the case's title and origin, and the recorded event."""
    path = project.root / relative
    case = json.loads(path.read_text())
    case["title"] = title
    case["origin"] = {
        "kind": "written",
        "from": "keytool documentation (JDK 21), -genkeypair and -list",
        "command": command_line,
    }
    data = case["event"]["Event"]["EventData"]
    data["Image"] = "C:\\Program Files\\Java\\jdk-21\\bin\\keytool.exe"
    data["OriginalFileName"] = "keytool.exe"
    data["CommandLine"] = command_line
    path.write_text(json.dumps(case, indent=2) + "\n")


KEY_GENERATION = "48f964c9-3f07-4678-a102-50884e1efaf3"  # covers keytool -genkeypair too
KEYTOOL_CASE = "cases/proc_creation_win_certificate_tool_key_generation/keytool_genkeypair.json"


def expect_also(project: Project, relative: str, rule_id: str, beyond_seed: str = "") -> None:
    """What a contributor does when two rules rightly match one event (CONTRIBUTING)."""
    path = project.root / relative
    case = json.loads(path.read_text())
    case["expect"].append(rule_id)
    if beyond_seed:
        case["beyond_seed"] = beyond_seed
    path.write_text(json.dumps(case, indent=2) + "\n")


def share_the_keytool_cases(project: Project) -> None:
    new_id = re.search(r"^id: (\S+)$", (project.root / RULE).read_text(), re.MULTILINE)
    assert new_id is not None
    expect_also(project, KEYTOOL_CASE, new_id.group(1))


def test_new_then_filling_in_passes_check_and_build(project: Project) -> None:
    assert run(project, "new", *OPTIONS).exit_code == 0
    fill_rule(project)
    fill_case(
        project,
        MATCH,
        "keytool -genkeypair writing a self-signed certificate into a new keystore",
        'keytool -genkeypair -alias web -keyalg RSA -dname "CN=web.corp.example" -keystore web.jks',
    )
    fill_case(
        project,
        LOOKALIKE,
        "look-alike: keytool listing a keystore",
        "keytool -list -keystore web.jks",
    )
    expect_also(project, MATCH, KEY_GENERATION, "JDK keytool: not one of the seed's tools")
    share_the_keytool_cases(project)
    checked = run(project, "check")
    assert (checked.exit_code, checked.stdout) == (0, "")
    built = build(project)
    assert built.exit_code == 0, built.output
    entry = manifest_entry(project, STEM)
    for name in ("eql", "spl", "kql"):
        target = entry.targets[name]
        assert target.status == Status.VERIFIED, name
        assert set(target.cases.matched) == {
            f"{STEM}/match_example",
            "proc_creation_win_certificate_tool_key_generation/keytool_genkeypair",
        }, name


def test_a_filled_rule_with_the_example_events_left_fails_the_build(project: Project) -> None:
    assert run(project, "new", *OPTIONS).exit_code == 0
    fill_rule(project)
    share_the_keytool_cases(project)
    before = (project.dist_dir / "manifest.json").read_bytes()
    result = build(project)
    assert result.exit_code == 1
    failures = [line for line in result.output.splitlines() if line.startswith("FAIL ")]
    assert failures == [
        f"FAIL {STEM} [{evaluator}] case {STEM}/match_example: expected match, got no match"
        for evaluator in ("sigma", "eql", "spl", "kql")
    ]
    assert (project.dist_dir / "manifest.json").read_bytes() == before


def test_the_scaffold_is_yaml_the_project_style_accepts(project: Project) -> None:
    assert run(project, "new", *OPTIONS).exit_code == 0
    text = (project.root / RULE).read_text()
    assert "\t" not in text and text.endswith("\n")
    indents = {len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line.strip()}
    assert indents <= {0, 4, 8}
    assert all(len(line) <= 104 for line in text.splitlines())
    assert Path(RULE).name == f"{STEM}.yml"


def test_contributing_lists_the_log_sources_new_accepts() -> None:
    text = (REPO / "CONTRIBUTING.md").read_text()
    section = text.split("`--logsource` is one of", 1)[1].split("`--name`", 1)[0]
    assert re.findall(r"`([a-z_]+/[a-z0-9_]+)`", section) == list(LOGSOURCES)
