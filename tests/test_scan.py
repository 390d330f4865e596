from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from converter.core.events import WindowsEvent, parse_windows_event
from converter.core.project import Project
from converter.core.zeek import ZeekRecord
from converter.execute.ingest import defender, ecs, splunk
from converter.formats.base import FILTERED, BadRecord, Item
from converter.formats.readers import read_items
from converter.scan.scanner import EVALUATORS, Scanner, ScanSummary, TargetEvaluator

from .conftest import FILES, REPO

FORMATS = FILES / "formats"
CERTUTIL = "17976649-cec8-47e5-9118-f95515f1123a"
ROOT_INSTALL = "5cb5e4cc-fa7c-4698-9340-150c26095225"  # certutil -addstore root is also high
SELF_SIGNED = "6ba12456-297e-46da-8b4b-8622eea28558"  # zeek_x509_self_signed_host_certificate
CHANNELS = [
    "Microsoft-Windows-Sysmon/Operational",
    "Linux-Sysmon/Operational",
    "Security",
    "Microsoft-Windows-PowerShell/Operational",
    "System",
    "",
]
CASE_EVENTS = [
    parse_windows_event(record)
    for path in sorted((REPO / "cases").rglob("*.json"))
    if "Event" in (record := json.loads(path.read_text())["event"])
]
INGEST = [
    (ecs.to_ecs, ecs.stores),
    (splunk.to_splunk, splunk.stores),
    (defender.to_defender, defender.stores),
]


def _event(channel: str, event_id: int, data: dict[str, str]) -> WindowsEvent:
    return WindowsEvent("P", event_id, channel, "host", "2026-11-20T10:15:02Z", 1, data)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CHANNELS),
    st.integers(min_value=0, max_value=5000) | st.sampled_from([1, 11, 12, 13, 14, 4104, 4688]),
    st.dictionaries(
        st.sampled_from(["Image", "TargetObject", "EventType", "CommandLine", "TargetFilename"]),
        st.sampled_from(["CreateKey", "DeleteValue", "x", "HKLM\\A\\B", ""]),
    ),
)
def test_stores_is_true_whenever_an_ingest_model_makes_a_document(
    channel: str, event_id: int, data: dict[str, str]
) -> None:
    # what lets the scanner skip events unparsed: no model stores an event its `stores` refuses
    event = _event(channel, event_id, data)
    for to_document, stores in INGEST:
        if to_document(event) is not None:
            assert stores(channel, event_id)


def test_stores_holds_for_every_case_event() -> None:
    for event in CASE_EVENTS:
        for to_document, stores in INGEST:
            assert to_document(event) is None or stores(event.channel, event.event_id)


def test_wants_exactly_what_some_evaluator_reads(repo_project: Project) -> None:
    scanner = Scanner.for_project(repo_project)
    assert scanner.wants("Microsoft-Windows-Sysmon/Operational", 1)
    assert scanner.wants("Microsoft-Windows-Sysmon/Operational", 13)  # ECS, SPL, KQL store it
    assert scanner.wants("Microsoft-Windows-PowerShell/Operational", 4104)
    assert not scanner.wants("Microsoft-Windows-Sysmon/Operational", 25)  # no model stores it
    assert not scanner.wants("Security", 4624)
    sigma_only = Scanner.for_project(repo_project, ["sigma"])
    assert sigma_only.wants("Microsoft-Windows-Sysmon/Operational", 13)  # the registry rule
    assert not sigma_only.wants("Microsoft-Windows-Sysmon/Operational", 14)  # no rule reads it
    assert not sigma_only.wants("Microsoft-Windows-Sysmon/Operational", 3)


def _scan(scanner: Scanner, *paths: Path, **options: object) -> tuple[list, ScanSummary]:
    summary = ScanSummary()
    records = [r for path in paths for r in read_items(path, scanner.wants)]
    return list(scanner.scan(records, summary, **options)), summary  # type: ignore[arg-type]


def test_each_item_kind_goes_to_its_evaluators(repo_project: Project) -> None:
    scanner = Scanner.for_project(repo_project)
    results, summary = _scan(
        scanner,
        FORMATS / "nxlog_sysmon.jsonl",
        FORMATS / "ecs_export.ndjson",
        FORMATS / "defender_hunting_api.json",
        FORMATS / "x509.log",
    )
    everyone = {name: [ROOT_INSTALL, CERTUTIL] for name in EVALUATORS}
    nobody = {name: [] for name in EVALUATORS}
    assert [result.matches for result in results] == [
        everyone,  # NXLog Sysmon 1 certutil -addstore root
        nobody,  # Sysmon 10: no rule of the project reads process_access
        nobody,  # Sysmon 13
        nobody,  # Sysmon 12
        everyone,  # Winlogbeat 6 Sysmon 1 certutil -f -addstore Root
        {"eql": [ROOT_INSTALL, CERTUTIL]},  # ECS document of the addstore case
        {"eql": []},  # ECS document of the urlcache case, from a search hit
        {"kql": [CERTUTIL]},  # renamed certutil /importpfx
        {"kql": []},
        # Zeek rows: the reference, eql and spl (Defender XDR has no Zeek table); the first
        # certificate is self-signed, and eql has no query for x509 subjects and issuers
        {"sigma": [SELF_SIGNED], "eql": [], "spl": [SELF_SIGNED]},
        {"sigma": [], "eql": [], "spl": []},
    ]
    assert [r.index for r in results] == list(range(11))
    assert summary.kinds == {"windows": 5, "ecs": 2, "defender": 2, "zeek": 2}
    assert (summary.events, summary.bad) == (11, 1)
    assert {name: stats.events for name, stats in summary.evaluators.items()} == {
        "sigma": 7,
        "eql": 9,
        "spl": 7,
        "kql": 7,
    }
    assert summary.matches == {
        "sigma": {CERTUTIL: 2, ROOT_INSTALL: 2, SELF_SIGNED: 1},
        "eql": {CERTUTIL: 3, ROOT_INSTALL: 3},
        "spl": {CERTUTIL: 2, ROOT_INSTALL: 2, SELF_SIGNED: 1},
        "kql": {CERTUTIL: 3, ROOT_INSTALL: 2},
    }


def test_only_matches_and_callbacks(repo_project: Project, monkeypatch) -> None:  # type: ignore
    import converter.scan.scanner as scan_module

    monkeypatch.setattr(scan_module, "BATCH_ITEMS", 2)  # several batches
    monkeypatch.setattr(scan_module, "PROGRESS_EVERY", 3)
    scanner = Scanner.for_project(repo_project, ["sigma", "kql"])
    bad: list[BadRecord] = []
    batches: list[int] = []
    progress: list[int] = []
    results, summary = _scan(
        scanner,
        FORMATS / "nxlog_sysmon.jsonl",
        FORMATS / "defender_export.csv",
        only_matches=True,
        on_bad=bad.append,
        on_batch=lambda s: batches.append(s.events),
        on_progress=progress.append,
    )
    assert [(r.index, r.source.rsplit("/", 1)[1]) for r in results] == [
        (0, "nxlog_sysmon.jsonl:1"),
        (4, "nxlog_sysmon.jsonl:5"),
        (5, "defender_export.csv:2"),
        (7, "defender_export.csv:4"),  # FileCreated in Users\\Public
    ]
    assert results[2].matches == {"kql": [ROOT_INSTALL, CERTUTIL]}
    assert results[3].matches == {"kql": ["6d8d8c80-8145-40d8-b7e3-abfbe978c54f"]}
    assert [b.source.rsplit("/", 1)[1] for b in bad] == ["defender_export.csv:5"]
    assert batches == [2, 4, 6, 8]
    # records read, the bad one included: every 3 records, and before each evaluator of a batch
    assert progress == sorted(progress) and {3, 6, 9} <= set(progress)
    assert progress.count(2) == 2  # the first batch, before sigma and before kql


def test_filtered_events_count_for_every_windows_evaluator(repo_project: Project) -> None:
    scanner = Scanner.for_project(repo_project)
    summary = ScanSummary()
    items = [Item("a:1", FILTERED), Item("a:2", FILTERED), Item("b:1", ZeekRecord("x509", {}))]
    results = list(scanner.scan(items, summary))
    assert [r.matches for r in results] == [{n: [] for n in EVALUATORS}] * 2 + [
        {"sigma": [], "eql": [], "spl": []}
    ]
    assert {n: s.events for n, s in summary.evaluators.items()} == {
        "sigma": 3,
        "eql": 3,
        "spl": 3,
        "kql": 2,
    }


def test_batches_are_bounded_by_event_text(repo_project: Project, monkeypatch) -> None:  # type: ignore
    import converter.scan.scanner as scan_module

    monkeypatch.setattr(scan_module, "BATCH_TEXT", 1000)
    scanner = Scanner.for_project(repo_project, ["sigma"])
    big = _event("Microsoft-Windows-Sysmon/Operational", 1, {"CommandLine": "x" * 600})
    items = [Item(f"a:{n}", big) for n in range(1, 6)]
    batches: list[int] = []
    list(scanner.scan(items, ScanSummary(), on_batch=lambda s: batches.append(s.events)))
    assert batches == [2, 4, 5]  # 1200 characters close a batch


def test_classic_wineventlog_4688_is_evaluated_by_everyone(repo_project: Project) -> None:
    scanner = Scanner.for_project(repo_project)
    results, summary = _scan(scanner, FORMATS / "wineventlog_classic_4688.txt")
    # dist/spl searches Sysmon 1 OR Security 4688 (README, "Taking the queries")
    assert [r.matches for r in results] == [
        {name: [ROOT_INSTALL, CERTUTIL] for name in ("sigma", "eql", "spl", "kql")}
    ]


def _every_input() -> list[Path]:
    cases = sorted((REPO / "cases").rglob("*.json"))
    return [*cases, *sorted(p for p in FORMATS.iterdir() if p.is_file())]


def test_where_batches_end_changes_no_result(repo_project: Project, monkeypatch) -> None:  # type: ignore
    import converter.scan.scanner as scan_module

    scanner = Scanner.for_project(repo_project)
    whole, whole_summary = _scan(scanner, *_every_input())
    monkeypatch.setattr(scan_module, "FIRST_BATCH", 1)
    monkeypatch.setattr(scan_module, "BATCH_EVALUATED", 3)
    small, small_summary = _scan(scanner, *_every_input(), ramp=True)
    assert [(r.source, r.matches, r.facts) for r in small] == [
        (r.source, r.matches, r.facts) for r in whole
    ]
    assert small_summary.matches == whole_summary.matches
    assert any(any(ids for ids in r.matches.values()) for r in whole)


def test_ctrl_c_stops_the_scan_and_the_cut_batch_counts_nowhere(
    repo_project: Project, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import converter.scan.scanner as scan_module
    from converter.core import interrupts

    monkeypatch.setattr(scan_module, "FIRST_BATCH", 2)
    monkeypatch.setattr(scan_module, "PROGRESS_EVERY", 1)
    scanner = Scanner.for_project(repo_project, ["sigma", "kql"])
    events = _event("Microsoft-Windows-Sysmon/Operational", 1, {"Image": "C:\\x.exe"})
    items = [Item(f"a:{n}", events) for n in range(1, 50)]
    summary = ScanSummary()
    # Ctrl-C as the first batch is done: the second batch (being read) is dropped
    on_batch = lambda s: interrupts.request()  # noqa: E731
    try:
        results = list(scanner.scan(items, summary, on_batch=on_batch, ramp=True))
    finally:
        interrupts.reset()
    assert summary.interrupted
    assert len(results) == summary.events == 2
    assert {name: stats.events for name, stats in summary.evaluators.items()} == {
        "sigma": 2,
        "kql": 2,
    }
    assert summary.kinds == {"windows": 2}


def _without_shortcut(scanner: Scanner) -> Scanner:
    # every target's ingest model runs on every Windows event, whatever `stores` and the
    # queries' selectors say
    for evaluator in scanner.evaluators:
        if isinstance(evaluator, TargetEvaluator):
            evaluator.shortcut = False
    return scanner


def test_skipping_events_no_query_can_select_changes_no_result_on_any_case(
    repo_project: Project,
) -> None:
    shortcut = Scanner.for_project(repo_project)
    # as the readers do: an event no evaluator wants is not parsed (FILTERED)
    skipped = [e if shortcut.wants(e.channel, e.event_id) else FILTERED for e in CASE_EVENTS]
    results = {}
    for name, scanner, events in (
        ("shortcut", shortcut, skipped),
        ("every event", _without_shortcut(Scanner.for_project(repo_project)), CASE_EVENTS),
    ):
        records = [Item(f"case:{n}", event) for n, event in enumerate(events)]
        summary = ScanSummary()
        results[name] = [(r.source, r.matches) for r in scanner.scan(records, summary)]
    assert results["shortcut"] == results["every event"]
    assert any(any(m.values()) for _, m in results["shortcut"])  # the cases do match
