"""`certdetect scan` on the real recordings in ../shared/real-logs (see its PROVENANCE.md)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sigma.rule import SigmaRule

from converter.convert.conversion import convert_for_target, target_backends
from converter.core.events import WindowsEvent
from converter.core.project import Project
from converter.core.rules import RuleFile, load_rules
from converter.core.targets import target_by_name
from converter.environment.runtimes import target_runtimes
from converter.execute.runtimes import select
from converter.formats.base import FILTERED, BadRecord, Item
from converter.formats.readers import read_items
from converter.publish.manifest import read_manifest
from converter.reference import compile_reference
from converter.scan.scanner import EventResult, Scanner, ScanSummary, TargetEvaluator

from .conftest import REPO

# The rules of this project when these expectations were written; a rule added later is checked
# by the agreement and level tests below, not by the exact expectations.
RULES_AT_WRITING = {
    "proc_creation_lnx_openssl_execution": "894b786a-3589-4850-aa07-18d9b8e3cdcb",
    "proc_creation_lnx_openssl_key_generation": "4646396a-e3e1-4545-9068-1d4b8ce3e33c",
    "file_event_win_certificate_file_staging": "6d8d8c80-8145-40d8-b7e3-abfbe978c54f",
    "proc_creation_win_certificate_tool_execution": "3ed5c32e-df66-4d07-983f-44b5b042a7c6",
    "proc_creation_win_certificate_tool_key_generation": "48f964c9-3f07-4678-a102-50884e1efaf3",
    "proc_creation_win_certutil_certificate_import": "17976649-cec8-47e5-9118-f95515f1123a",
    "proc_creation_win_powershell_certificate_api": "14977b40-2d31-4078-955b-bbaf301fa5db",
}
MEDIUM_OR_ABOVE = {"medium", "high", "critical"}


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner.for_project(Project.at(Path(__file__).resolve().parents[1]))


def _scan(scanner: Scanner, paths: list[Path]) -> tuple[list[EventResult], ScanSummary, list]:
    summary = ScanSummary()
    bad: list[BadRecord] = []
    records = (r for path in paths for r in read_items(path, scanner.wants))
    results = list(scanner.scan(records, summary, on_bad=bad.append))
    return results, summary, bad


def _artifacts() -> dict[str, set[str]]:
    """Rule id -> the evaluators that have a query for it (the reference has every rule)."""
    manifest = read_manifest(REPO / "dist" / "manifest.json")
    return {
        entry.id: {"sigma"} | {name for name, t in entry.targets.items() if t.path}
        for entry in manifest.rules
    }


def _assert_evaluators_agree(results: list[EventResult]) -> None:
    # every evaluator that reads the item and has a query for a rule agrees with the others
    artifacts = _artifacts()
    for result in results:
        for rule_id, have in artifacts.items():
            readers = have & set(result.matches)
            matched = {name for name in readers if rule_id in result.matches[name]}
            assert matched in (set(), readers), (result.source, rule_id, result.matches)


def test_every_real_file_is_read_without_a_bad_record(shared_dir: Path, scanner: Scanner) -> None:
    logs = shared_dir / "real-logs"
    paths = sorted(p for p in logs.rglob("*") if p.suffix in (".jsonl", ".raw", ".tgz"))
    results, summary, bad = _scan(scanner, paths)
    assert bad == []
    per_file = Counter(r.source.rsplit(":", 1)[0].replace(str(logs) + "/", "") for r in results)
    assert per_file == {
        "mdecrevoisier/capi2_70_private_key_access_mimikatz.jsonl": 3,
        "mdecrevoisier/security4656_root_store_key_handle_benign.jsonl": 6,
        "otrf/sysmon11_pfx_file_created_mimikatz_backupkeys.jsonl": 1,
        "otrf/sysmon12_13_authroot_certificate_blob_svchost_benign.jsonl": 2,
        "splunk-attack-data/baseline_T1027.tgz/attack_data.txt": 7959,
        "splunk-attack-data/baseline_T1047.tgz/attack_data.txt": 8220,
        "splunk-attack-data/baseline_T1053.005.tgz/attack_data.txt": 9005,
        "splunk-attack-data/certutil_exe_certificate_extraction.raw": 59,
        "zeek/x509_ssl_selfsigned_host_certs.jsonl": 10,
    }
    assert summary.kinds == {"windows": 25255, "zeek": 10}
    _assert_evaluators_agree(results)


def test_certutil_pfx_and_export_pfxcertificate_events_as_the_rules_intend(
    shared_dir: Path, scanner: Scanner
) -> None:
    raw = shared_dir / "real-logs/splunk-attack-data/certutil_exe_certificate_extraction.raw"
    events = [r.payload for r in read_items(raw) if isinstance(r, Item)]
    assert Counter((e.channel, e.event_id) for e in events) == {
        ("Microsoft-Windows-Sysmon/Operational", 1): 20,
        ("Security", 4688): 20,
        ("Microsoft-Windows-PowerShell/Operational", 4104): 19,
    }
    scripts = [e.get("ScriptBlockText") or "" for e in events if e.event_id == 4104]
    assert sum(s.startswith("Export-PfxCertificate -cert $path") for s in scripts) == 10
    # certutil -exportPFX / -dump / -p <password> <file>.pfx read or export a PFX: none imports
    # into a store, which is all the certutil rule is about; it reads these 40 process events
    rules = {rule.id: rule for rule in load_rules(Project.at(Path(__file__).parents[1]))}
    certutil_rule = RULES_AT_WRITING["proc_creation_win_certutil_certificate_import"]
    certutil = compile_reference(rules[certutil_rule].parse())
    assert sum(certutil.applies_to(e) for e in events if isinstance(e, WindowsEvent)) == 40
    command_lines = [e.get("CommandLine") or "" for e in events if e.event_id in (1, 4688)]
    assert sum("-exportpfx" in c.lower() for c in command_lines) == 22

    # The SPL artifact reads Sysmon 1 OR Security 4688: the certutil rule with -exportPFX for its
    # verbs matches the same real events of both sources in the reference and in SPL.
    text = rules[certutil_rule].text.replace("'-addstore'", "'-exportPFX'")
    exporting = RuleFile(rules[certutil_rule].path, text, SigmaRule.from_yaml(text))
    spl = target_runtimes()["spl"]
    query = convert_for_target(target_backends(target_by_name("spl"), REPO), exporting).query
    processes = [e for e in events if e.event_id in (1, 4688)]
    by_spl = select(spl.compile(query), spl.documents(processes))
    reference = compile_reference(exporting.parse())
    by_reference = {i for i, e in enumerate(processes) if reference.matches(e)}
    assert by_spl == by_reference
    assert Counter(processes[i].event_id for i in by_spl) == {1: 11, 4688: 11}

    # the mimikatz PFX is written to System32, not a staging folder; the AuthRoot blob is
    # Windows' own root update; the 4656 handle requests and CAPI2 70 have no rule
    others = [
        shared_dir / "real-logs/otrf/sysmon11_pfx_file_created_mimikatz_backupkeys.jsonl",
        shared_dir / "real-logs/otrf/sysmon12_13_authroot_certificate_blob_svchost_benign.jsonl",
        *sorted((shared_dir / "real-logs/mdecrevoisier").glob("*.jsonl")),
    ]
    results, summary, bad = _scan(scanner, [raw, *others])
    assert (summary.events, bad) == (71, [])
    at_writing = set(RULES_AT_WRITING.values())
    found = {
        (result.source, rule_id)
        for result in results
        for ids in result.matches.values()
        for rule_id in ids
        if rule_id in at_writing
    }
    assert found == set()
    _assert_evaluators_agree(results)


def test_real_baseline_raises_nothing_at_medium_or_above(
    shared_dir: Path, scanner: Scanner
) -> None:
    archives = sorted((shared_dir / "real-logs/splunk-attack-data").glob("baseline_*.tgz"))
    results, summary, bad = _scan(scanner, archives)
    assert (summary.events, bad, summary.errors) == (25184, [], [])
    for name, stats in summary.evaluators.items():
        assert stats.events == 25184, name
        serious = {
            r: n for r, n in stats.matches.items() if scanner.rules[r].level in MEDIUM_OR_ABOVE
        }
        assert serious == {}, name
    _assert_evaluators_agree(results)


def test_benchmark_script_runs_on_a_small_input(shared_dir: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "benchmarks/scan_benchmark.py"
    done = subprocess.run(
        [sys.executable, str(script), "--events", "300", "--eql-documents", "20", "--skip-cli",
         "--shared", str(shared_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "input: 300 events, 1 MiB (baseline.jsonl)"
    assert "| measurement | events/s | evaluation events/s | ratio to decode |" in lines
    rows = [line.split(" | ")[0].lstrip("| ") for line in lines if line.startswith("| ")]
    assert rows[2:] == [
        "decode only (orjson)",
        "sigma alone: end to end / evaluation",
        "eql alone: end to end / evaluation",
        "spl alone: end to end / evaluation",
        "kql alone: end to end / evaluation",
        "all evaluators (certdetect scan)",
    ]
    # the first 300 baseline events hold 264 that the ECS model stores (most are Sysmon 7 and 10);
    # --eql-documents keeps 20
    assert "EQL on 20 ECS documents, all dist/eql queries:" in lines


def test_skipping_events_no_query_can_select_changes_no_result_on_the_real_baselines(
    shared_dir: Path,
) -> None:
    archives = sorted((shared_dir / "real-logs/splunk-attack-data").glob("baseline_*.tgz"))
    project = Project.at(REPO)
    shortcut = Scanner.for_project(project)
    every = Scanner.for_project(project)
    for evaluator in every.evaluators:
        if isinstance(evaluator, TargetEvaluator):  # its ingest model runs on every event
            evaluator.shortcut = False
    with_shortcut = _scan(shortcut, archives)
    summary = ScanSummary()
    records = (r for path in archives for r in read_items(path))  # nothing skipped unparsed
    without = list(every.scan(records, summary))
    skipped = sum(
        type(r) is Item and r.payload is FILTERED
        for path in archives
        for r in read_items(path, shortcut.wants)
    )
    # logons and other events no rule reads and no model stores (1,941 of 25,184): Sysmon 7 and
    # 10 are stored since the image_load and process_access log sources exist
    assert skipped > 1_500
    assert [(r.source, r.matches) for r in with_shortcut[0]] == [
        (r.source, r.matches) for r in without
    ]
    assert with_shortcut[1].matches == summary.matches
