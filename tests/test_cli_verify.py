"""`certdetect verify`: rules certdetect did not write, on event files or SigmaHQ's regression
layout; the per-rule JSON lines, the table, and the exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main

from .conftest import FILES, REPO

VERIFY = FILES / "verify"
RULES = str(VERIFY / "rules")
PROJECT = ["--project", str(REPO)]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["verify", *PROJECT, *args])
    return result.exit_code, result.stdout, result.stderr


def test_verify_reports_one_json_object_per_rule_as_the_issue_specifies() -> None:
    code, out, _ = run("--rules", RULES, "--format", "jsonl", str(VERIFY / "events.jsonl"))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["title"] for line in lines] == [
        "Whoami All Groups",
        "AMSI Switched Off For Windows Script Host",
    ]
    assert lines[1] == {
        "rule": "7a1d3c5e-2b4f-4e6a-8c0d-1e2f3a4b5c02",
        "title": "AMSI Switched Off For Windows Script Host",
        "logsource": "windows/registry_set",
        "expected": None,
        "matches": {"sigma": 1, "eql": 1, "spl": 1, "kql": 1},
        "status": {"eql": "verified", "spl": "verified", "kql": "verified"},
        "reasons": {},
    }


def test_verify_table_shows_each_target_and_a_summary() -> None:
    code, out, _ = run("--rules", RULES, str(VERIFY / "events.jsonl"))
    assert code == 0
    assert "Whoami All Groups" in out
    assert "kql: verified 2" in out


def test_regression_layout_checks_the_reference_against_match_count() -> None:
    code, out, _ = run(
        "--rules", RULES, "--regression", str(VERIFY / "regression_data"), "--format", "jsonl"
    )
    assert code == 0
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert line["expected"] == 1 and line["matches"]["sigma"] == 1


def test_fewer_matches_than_match_count_exit_1(tmp_path: Path) -> None:
    data = tmp_path / "regression_data"
    shutil.copytree(VERIFY / "regression_data", data)
    info = data / "registry_set_amsi_off" / "info.yml"
    info.write_text(info.read_text().replace("match_count: 1", "match_count: 2"))
    code, out, err = run("--rules", RULES, "--regression", str(data))
    assert code == 1
    assert "FEWER THAN EXPECTED" in out
    assert "1 reference count(s) below match_count" in err


def test_more_matches_than_match_count_only_warn(tmp_path: Path) -> None:
    data = tmp_path / "regression_data"
    shutil.copytree(VERIFY / "regression_data", data)
    info = data / "registry_set_amsi_off" / "info.yml"
    info.write_text(info.read_text().replace("match_count: 1", "match_count: 0"))
    code, out, _ = run("--rules", RULES, "--regression", str(data))
    assert code == 0
    assert "(more)" in out


def test_a_target_that_disagrees_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # K1's old double split swapped in: the KQL query matches none of the events it should
    def double_split(value: Any, category: Any, test: Any) -> str:
        segments = [s for s in str(value).strip("*").split("\\") if s]
        return " and ".join(f'RegistryValueName =~ "{s}"' for s in segments)

    monkeypatch.setattr("converter.convert.backends.kql.target_object_test", double_split)
    code, out, err = run("--rules", RULES, str(VERIFY / "events.jsonl"))
    assert code == 1
    assert "0 DISAGREES" in out
    assert "kql disagrees: matches events [] the reference does not, misses [2]" in out
    assert "1 target verdict(s) disagree" in err


def test_a_bad_rule_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\nid: 1\nlogsource: {product: windows}\ndetection: {}\n")
    code, _, err = run("--rules", str(bad), str(VERIFY / "events.jsonl"))
    assert code == 2
    assert err.startswith(f"certdetect: error: {bad}") and len(err.strip().splitlines()) == 1


def test_a_bad_event_file_is_one_line_naming_file_and_line_and_exit_2(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    good = (VERIFY / "events.jsonl").read_text().splitlines()[0]
    events.write_text(good + "\n" + '{"Event": {"System": 3}}\n')
    code, _, err = run("--rules", RULES, str(events))
    assert code == 2
    assert err.startswith(f"certdetect: error: {events}:2: ")
    assert len(err.strip().splitlines()) == 1


def test_missing_rules_and_missing_event_files_exit_2(tmp_path: Path) -> None:
    code, _, err = run("--rules", str(tmp_path / "nowhere"), str(VERIFY / "events.jsonl"))
    assert code == 2 and "no such rule file or folder" in err
    code, _, err = run("--rules", RULES)
    assert code == 2 and "no event files" in err


def test_a_log_source_without_reference_events_is_unsupported_on_every_target(
    tmp_path: Path,
) -> None:
    rule = (VERIFY / "rules" / "windows" / "proc_creation_win_whoami_all.yml").read_text()
    (tmp_path / "rule.yml").write_text(rule.replace("process_creation", "process_tampering"))
    code, out, _ = run(
        "--rules", str(tmp_path / "rule.yml"), "--format", "jsonl", str(VERIFY / "events.jsonl")
    )
    assert code == 0
    line = json.loads(out)
    assert line["logsource"] == "windows/process_tampering"
    assert line["matches"] == {"sigma": None, "eql": None, "spl": None, "kql": None}
    assert set(line["status"].values()) == {"unsupported"}
    assert "no reference event source" in line["reasons"]["kql"]


def test_a_store_without_the_log_source_is_unsupported_with_the_reason(tmp_path: Path) -> None:
    # Defender XDR has no table of PowerShell script blocks: the scope pipeline says so
    rule = (VERIFY / "rules" / "windows" / "proc_creation_win_whoami_all.yml").read_text()
    rule = rule.replace("category: process_creation", "category: ps_script")
    rule = rule.replace("Image|endswith: '\\whoami.exe'", "ScriptBlockText|contains: whoami")
    (tmp_path / "rule.yml").write_text(rule.replace("CommandLine|contains", "Path|contains"))
    code, out, _ = run(
        "--rules", str(tmp_path / "rule.yml"), "--format", "jsonl", str(VERIFY / "events.jsonl")
    )
    assert code == 0
    line = json.loads(out)
    assert line["status"]["kql"] == "unsupported"
    assert "script block" in line["reasons"]["kql"]


def test_a_match_count_that_is_not_a_count_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "regression_data"
    shutil.copytree(VERIFY / "regression_data", data)
    info = data / "registry_set_amsi_off" / "info.yml"
    info.write_text(info.read_text().replace("match_count: 1", "match_count: one"))
    code, _, err = run("--rules", RULES, "--regression", str(data))
    assert code == 2
    assert err == f"certdetect: error: {info}: match_count 'one' is not a count of events\n"


def test_a_service_rule_matching_event_ids_a_siem_does_not_keep_is_not_stored(
    tmp_path: Path,
) -> None:
    # service: security reads the whole channel; no model stores 4624 (logon) yet
    (tmp_path / "rule.yml").write_text(
        "title: Logon of a test account\n"
        "id: 6f0f3b8e-5d7c-4c1e-9a3b-2b7e1c0d4a55\n"
        "status: test\n"
        "logsource:\n    product: windows\n    service: security\n"
        "detection:\n    selection:\n        EventID: 4624\n        TargetUserName: testuser\n"
        "    condition: selection\n"
        "level: low\n"
    )
    event = {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
                "EventID": 4624,
                "Channel": "Security",
                "Computer": "host.example.com",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-01-01T00:00:00.000Z"}},
                "EventRecordID": 7,
            },
            "EventData": {"TargetUserName": "testuser", "LogonType": "2"},
        }
    }
    (tmp_path / "events.jsonl").write_text(json.dumps(event) + "\n")
    code, out, _ = run(
        "--rules", str(tmp_path / "rule.yml"), "--format", "jsonl", str(tmp_path / "events.jsonl")
    )
    assert code == 0
    line = json.loads(out)
    assert line["logsource"] == "windows/security"
    assert line["matches"]["sigma"] == 1
    for target in ("eql", "spl"):
        assert line["status"][target] == "unsupported"
        assert "stores no Security 4624 events" in line["reasons"][target]
