from __future__ import annotations

import io
import json
import re
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from converter.cli import main
from converter.cli import scan as cli_scan
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.core.status import Status
from converter.publish.manifest import read_manifest
from converter.scan import report

from .conftest import FILES, REPO

FORMATS = FILES / "formats"

CERTUTIL = "17976649-cec8-47e5-9118-f95515f1123a"
ROOT_INSTALL = "5cb5e4cc-fa7c-4698-9340-150c26095225"  # certutil -addstore root is also high
STAGING = "6d8d8c80-8145-40d8-b7e3-abfbe978c54f"
# lnx_auditd_openssl_key_or_certificate_generation
AUDITD_OPENSSL = "469977fb-112a-487d-b174-34ca567783d4"
ZEEK_SELF_SIGNED = "6ba12456-297e-46da-8b4b-8622eea28558"  # zeek_x509_self_signed_host_certificate


def _events(project: Project, *case_ids: str) -> list[dict]:
    return [
        json.loads((project.cases_dir / f"{case_id}.json").read_text())["event"]
        for case_id in case_ids
    ]


def test_scan_jsonl_reports_every_evaluator(repo_project: Project, tmp_path: Path) -> None:
    events = _events(
        repo_project,
        "proc_creation_win_certutil_certificate_import/addstore_root",
        "proc_creation_win_certutil_certificate_import/urlcache_download",
    )
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in events) + "\n")
    result = CliRunner().invoke(
        main, ["scan", "--format", "jsonl", "--project", str(REPO), str(path)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    lines = [{key: row[key] for key in ("index", "source", "matches")} for row in rows]
    # a matching row names each rule and its level, and says when and where the event happened
    assert rows[0]["rules"][CERTUTIL] == {
        "name": "proc_creation_win_certutil_certificate_import",
        "title": "Certutil Importing Certificates Into A Certificate Store",
        "level": "medium",
    }
    assert rows[0]["rules"][ROOT_INSTALL]["level"] == "high"
    assert set(rows[0]["rules"]) == {CERTUTIL, ROOT_INSTALL}
    assert (rows[0]["time"], rows[0]["host"]) == (
        "2026-11-20T10:15:02.114Z",
        "WKS-0142.corp.example.com",
    )
    assert rows[0]["fields"]["image"].endswith("certutil.exe")
    assert "rules" not in rows[1] and rows[1]["time"]
    assert lines == [
        {
            "index": 0,
            "source": f"{path}:1",
            "matches": {
                "sigma": [ROOT_INSTALL, CERTUTIL],
                "eql": [ROOT_INSTALL, CERTUTIL],
                "spl": [ROOT_INSTALL, CERTUTIL],
                "kql": [ROOT_INSTALL, CERTUTIL],
            },
        },
        {
            "index": 1,
            "source": f"{path}:2",
            "matches": {"sigma": [], "eql": [], "spl": [], "kql": []},
        },
    ]


def test_scan_counts_across_files_and_skips_bad_records(
    repo_project: Project, tmp_path: Path
) -> None:
    first = tmp_path / "a.json"
    first.write_text(
        json.dumps(
            _events(repo_project, "proc_creation_win_certutil_certificate_import/addstore_root")
        )
    )
    second = tmp_path / "b.jsonl"
    second.write_text('{"not": "an event"}\n{broken\n')
    result = CliRunner().invoke(
        main, ["scan", "--format", "jsonl", "--project", str(REPO), str(first), str(second)]
    )
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    # the array is streamed element by element; each element is known by its line
    assert [(row["index"], row["source"]) for row in out] == [(0, f"{first}:1")]
    assert f"skipped {second}:1: unrecognised record: expected a Windows event" in result.stderr
    assert f"skipped {second}:2: invalid JSON" in result.stderr


def test_scan_table_summarises_per_evaluator(repo_project: Project) -> None:
    cases = sorted(str(p) for p in repo_project.cases_dir.rglob("*.json"))
    result = CliRunner().invoke(main, ["scan", "--project", str(REPO), *cases])
    assert result.exit_code == 0, result.output
    declared = [
        rule_id for path in cases for rule_id in json.loads(Path(path).read_text())["expect"]
    ]
    # a target matches what the cases declare for the rules verified on it (manifest)
    manifest = read_manifest(REPO / "dist" / "manifest.json")
    verified = {
        name: {
            rule.id
            for rule in manifest.rules
            if name == "sigma" or rule.targets[name].status == Status.VERIFIED
        }
        for name in ("sigma", "eql", "spl", "kql")
    }
    lines = result.output.splitlines()
    layouts = Counter(
        "auditd" if "audit" in event else "zeek" if "zeek" in event else "windows"
        for event in (json.loads(Path(path).read_text())["event"] for path in cases)
    )
    assert layouts["auditd"] and layouts["zeek"]
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(layouts.items()))
    assert f"events read: {len(cases)}, skipped: 0 ({kinds})" in lines
    for name in ("sigma", "eql", "spl", "kql"):
        [row] = [line for line in lines if line.startswith(f"{name:<6} ")]
        # Defender XDR stores no audit records or Zeek rows: kql reads the Windows events only
        read = layouts["windows"] if name == "kql" else len(cases)
        assert row.split()[1] == str(read)  # events read by the evaluator
        expected = [rule_id for rule_id in declared if rule_id in verified[name]]
        assert row.endswith(f"  {len(expected)} match(es) over {len(set(expected))} rule(s)")
    # matches by rule and level, most severe first, every evaluator agreeing with the cases
    # the rules table: the last one with a level column (the match list comes first)
    header = max(number for number, line in enumerate(lines) if line.startswith("level "))
    table = lines[header + 1 :]
    levels = [line.split()[0] for line in table]
    assert levels == sorted(levels, key=lambda level: -report.LEVELS.index(level))
    per_rule = {line.split()[1]: [int(n) for n in line.split()[2:]] for line in table}
    rules = {rule.stem: rule.id for rule in load_rules(repo_project)}
    counts = Counter(declared)
    assert per_rule == {
        stem: [
            counts[rules[stem]] if rules[stem] in verified[name] else 0
            for name in ("sigma", "eql", "spl", "kql")
        ]
        for stem in per_rule
    }
    assert set(per_rule) == {stem for stem, rule_id in rules.items() if counts[rule_id]}


def test_scan_reads_every_format_and_routes_native_documents() -> None:
    files = [
        FORMATS / "nxlog_sysmon.jsonl",
        FORMATS / "ecs_export.ndjson",
        FORMATS / "defender_export.csv",
        FORMATS / "audit.log",
        FORMATS / "x509.log",
    ]
    result = CliRunner().invoke(
        main, ["scan", "--format", "jsonl", "--project", str(REPO), *map(str, files)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    every = {name: [ROOT_INSTALL, CERTUTIL] for name in ("sigma", "eql", "spl", "kql")}
    none = {name: [] for name in ("sigma", "eql", "spl", "kql")}
    assert [row["matches"] for row in rows] == [
        every,  # NXLog Sysmon 1 certutil -addstore root
        none,
        none,
        none,
        every,  # Winlogbeat 6 Sysmon 1 certutil -f -addstore Root
        {"eql": [ROOT_INSTALL, CERTUTIL]},  # ECS documents: EQL only
        {"eql": []},
        {"kql": [ROOT_INSTALL, CERTUTIL]},  # Defender rows: KQL only
        {"kql": []},
        {"kql": [STAGING]},
        # auditd: the reference, eql and spl (Defender XDR has no auditd table). The first event
        # runs openssl req -x509 (eql has no query: EXECVE arguments lose their positions
        # there); the split a1[0]/a1[1] of the last one is not a field named a1
        {"sigma": [AUDITD_OPENSSL], "eql": [], "spl": [AUDITD_OPENSSL]},
        {"sigma": [], "eql": [], "spl": []},
        {"sigma": [], "eql": [], "spl": []},
        # Zeek likewise; the first certificate is self-signed
        {"sigma": [ZEEK_SELF_SIGNED], "eql": [], "spl": [ZEEK_SELF_SIGNED]},
        {"sigma": [], "eql": [], "spl": []},
    ]
    assert result.stderr.splitlines() == [
        f"certdetect: skipped {FORMATS / 'defender_export.csv'}:5: "
        "ProcessId: 'not-a-number' is not a long",
        f"certdetect: skipped {FORMATS / 'audit.log'}:8: not an audit record (expected type=... "
        "msg=audit(time:serial): ...)",
        f"certdetect: skipped {FORMATS / 'x509.log'}:11: 3 values for 11 #fields",
    ]


def test_scan_with_chosen_evaluators() -> None:
    path = FORMATS / "nxlog_sysmon.jsonl"
    result = CliRunner().invoke(
        main,
        ["scan", "--evaluator", "sigma", "--evaluator", "kql", "--project", str(REPO), str(path)],
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if f"  {path}:1  " in line]
    # most severe first: the root-store install (high), then the certutil import (medium)
    assert [re.split(r"\s{2,}", line)[:2] for line in rows] == [
        ["high", "proc_creation_win_certificate_trusted_root_install"],
        ["medium", "proc_creation_win_certutil_certificate_import"],
    ]
    row = rows[1]
    # level, rule, time (NXLog's), host, the evaluators that matched, source, key fields
    assert re.split(r"\s{2,}", row)[:5] == [
        "medium",
        "proc_creation_win_certutil_certificate_import",
        "2026-11-20 10:15:02",
        "WKS-0142.corp.example.com",
        "sigma,kql",
    ]
    assert row.endswith(
        "image=C:\\Windows\\System32\\certutil.exe  "
        "command=certutil.exe -addstore root "
        "C:\\Users\\alice\\AppData\\Local\\Temp\\df00tech-root.cer"
    )
    assert [
        line.split()[0]
        for line in result.output.splitlines()
        if line.startswith(("sigma ", "kql "))
    ] == ["sigma", "kql"]


def test_scan_refuses_an_unknown_file_format_before_scanning(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = CliRunner().invoke(main, ["scan", "--project", str(REPO), str(notes)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"certdetect: error: {notes}:1: unrecognised format")


def test_many_bad_records_are_reported_then_only_counted(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"EventID": 1, "Channel": "x"}\n' + "{broken\n" * 150)
    result = CliRunner().invoke(main, ["scan", "--project", str(REPO), str(path)])
    assert result.exit_code == 0
    errors = result.stderr.splitlines()
    assert len(errors) == 101
    assert errors[-1] == "certdetect: further malformed records are only counted"
    assert "events read: 1, skipped: 150 (windows 1)" in result.output


def test_progress_shows_bytes_records_and_rate(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = iter([0.0, 2.0])
    monkeypatch.setattr(cli_scan.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    bar = cli_scan.Progress(stream, total_bytes=4096, enabled=True)
    bar.done_bytes = 1024
    bar.update(5000)
    bar.draw()
    assert (
        stream.getvalue() == "\r[#####               ]  25.0% 1.0 KB/4.0 KB  5,000 read  2,500/s "
    )
    bar.close()
    assert stream.getvalue().endswith("\r" + " " * 79 + "\r")


def test_progress_is_redrawn_by_its_own_thread_while_the_scan_is_busy() -> None:
    stream = io.StringIO()
    with cli_scan.Progress(stream, total_bytes=10, enabled=True) as bar:
        bar.update(7)
        time.sleep(1.6)  # busy evaluating: no update comes, the bar is redrawn anyway
        draws = stream.getvalue().count("7 read")
    assert draws >= 3  # from 0.5 s on, every 0.25 s: at least twice a second
    assert stream.getvalue().endswith("\r" + " " * 79 + "\r")
    quiet = io.StringIO()
    with cli_scan.Progress(quiet, total_bytes=10, enabled=False):
        time.sleep(0.6)
    assert quiet.getvalue() == ""


def test_exit_codes_say_whether_anything_was_scanned_and_found(tmp_path: Path) -> None:
    # certutil -addstore root: a medium rule (the import) and a high one (the root store)
    log = str(FORMATS / "nxlog_sysmon.jsonl")
    runner = CliRunner()
    scanned = runner.invoke(main, ["scan", "--project", str(REPO), log])
    assert scanned.exit_code == 0
    found = runner.invoke(main, ["scan", "--fail-on", "high", "--project", str(REPO), log])
    assert found.exit_code == 1
    assert "proc_creation_win_certificate_trusted_root_install" in found.stdout
    above = runner.invoke(main, ["scan", "--fail-on", "critical", "--project", str(REPO), log])
    assert above.exit_code == 0
    empty = tmp_path / "empty.log"
    empty.write_text("")
    unread = tmp_path / "unrecognised.jsonl"
    unread.write_text('{"not": "an event"}\n')
    for nothing in (empty, unread):
        result = runner.invoke(main, ["scan", "--project", str(REPO), str(nothing)])
        assert result.exit_code == 2, result.output
        assert result.stderr.endswith(
            "certdetect: error: nothing readable in the input (no event was read)\n"
        )


def test_min_level_hides_the_matches_of_lower_rules() -> None:
    log = str(FORMATS / "nxlog_sysmon.jsonl")
    runner = CliRunner()
    table = runner.invoke(main, ["scan", "--min-level", "high", "--project", str(REPO), log])
    assert table.exit_code == 0
    assert "proc_creation_win_certutil_certificate_import" not in table.stdout
    assert "proc_creation_win_certificate_trusted_root_install" in table.stdout
    rows = runner.invoke(
        main, ["scan", "--format", "jsonl", "--min-level", "high", "--project", str(REPO), log]
    )
    first = json.loads(rows.stdout.splitlines()[0])
    assert first["matches"] == {name: [ROOT_INSTALL] for name in ("sigma", "eql", "spl", "kql")}
    assert set(first["rules"]) == {ROOT_INSTALL}
    critical = runner.invoke(
        main, ["scan", "--format", "jsonl", "--min-level", "critical", "--project", str(REPO), log]
    )
    first = json.loads(critical.stdout.splitlines()[0])
    assert first["matches"] == {name: [] for name in ("sigma", "eql", "spl", "kql")}
    assert "rules" not in first


def test_a_folder_and_standard_input_are_scanned_with_a_tally_per_file(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    (folder / "host1").mkdir(parents=True)
    (folder / "host1" / "sysmon.jsonl").write_bytes((FORMATS / "nxlog_sysmon.jsonl").read_bytes())
    (folder / "README").write_text("notes\n")
    result = CliRunner().invoke(
        main,
        ["scan", "--project", str(REPO), str(folder), "-"],
        input=(FORMATS / "audit.log").read_bytes(),
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("file ")))
    assert [re.split(r"\s{2,}", line.strip()) for line in lines[start : start + 4]] == [
        ["file", "read", "skipped", "unreadable"],
        [str(folder / "README"), "0", "0", "unrecognised format"],
        [str(folder / "host1" / "sysmon.jsonl"), "5", "0"],
        ["-", "3", "1"],
    ]
    assert "-:1" in result.stdout  # the auditd match, cited from standard input
