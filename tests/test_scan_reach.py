from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from converter.core.events import WindowsEvent
from converter.core.project import Project
from converter.formats.base import Item
from converter.formats.readers import read_items
from converter.scan import reach as reach_module
from converter.scan.reach import (
    DEFENDER_FIELDS,
    ECS_FIELDS,
    EVERY,
    NONE,
    SPLUNK_FIELDS,
    AllOf,
    AnyOf,
    Condition,
    Reach,
    probe_document,
    selector,
    stored_values,
)
from converter.scan.scanner import Scanner, ScanSummary, TargetEvaluator

from .conftest import REPO
from .test_scan import CASE_EVENTS

SYSMON = "Microsoft-Windows-Sysmon/Operational"
FIELDS = (*ECS_FIELDS, *SPLUNK_FIELDS, *DEFENDER_FIELDS)
FILE_STAGING = "6d8d8c80-8145-40d8-b7e3-abfbe978c54f"  # file_event_win_certificate_file_staging


@pytest.fixture(scope="module")
def targets() -> dict[str, TargetEvaluator]:
    scanner = Scanner.for_project(Project.at(REPO))
    return {e.name: e for e in scanner.evaluators if isinstance(e, TargetEvaluator)}


def _compiled(targets: dict[str, TargetEvaluator], name: str, query: str) -> object:
    return targets[name].runtime.compile(query)


def _assert_fields_follow_the_kind(
    targets: dict[str, TargetEvaluator], event: WindowsEvent
) -> None:
    # what the shortcut rests on: the fields it reads are the probe's for every stored event of
    # that kind, unless the event's data holds a value of the field's name (then it is a guard)
    for evaluator in targets.values():
        document = evaluator.runtime.ingest(event)
        if document is None:
            continue
        probe = probe_document(event.channel, event.event_id, evaluator.runtime.ingest)
        for name in FIELDS:
            if name not in event.data:
                assert stored_values(document, name) == stored_values(probe, name), (
                    evaluator.name,
                    event.channel,
                    event.event_id,
                    name,
                )


def test_the_fields_read_are_those_of_the_probe_for_every_case_event(
    targets: dict[str, TargetEvaluator],
) -> None:
    for event in CASE_EVENTS:
        _assert_fields_follow_the_kind(targets, event)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([SYSMON, "Security", "Microsoft-Windows-PowerShell/Operational"]),
    st.sampled_from([1, 7, 10, 11, 12, 13, 14, 17, 18, 4104, 4688]),
    st.dictionaries(
        st.sampled_from(
            ["Image", "TargetObject", "EventType", "CommandLine", "TargetFilename", "Details"]
        ),
        st.sampled_from(["CreateKey", "SetValue", "DeleteValue", "x", "HKLM\\A\\B", "", "-"]),
    ),
)
def test_the_fields_read_follow_the_kind_whatever_the_other_data(
    targets: dict[str, TargetEvaluator], channel: str, event_id: int, data: dict[str, str]
) -> None:
    event = WindowsEvent("P", event_id, channel, "host", "2026-11-20T10:15:02Z", 1, data)
    _assert_fields_follow_the_kind(targets, event)


def test_selectors_are_read_from_each_language(targets: dict[str, TargetEvaluator]) -> None:
    assert selector(_compiled(targets, "kql", "DeviceFileEvents | where FileName =~ 'a'")) == (
        Condition("table", frozenset({"devicefileevents"}))
    )
    assert selector(
        _compiled(targets, "eql", 'process where event.type:"start" and process.name:"a.exe"')
    ) == AllOf(
        (
            Condition("event.category", frozenset({"process"})),
            Condition("event.type", frozenset({"start"})),
        )
    )
    spl = '(source="A" EventCode=1) OR (source="B" EventCode IN (4688, 4689) Image="*x")'
    assert selector(_compiled(targets, "spl", spl)) == AnyOf(
        (
            AllOf(
                (Condition("source", frozenset({"a"})), Condition("EventCode", frozenset({"1"})))
            ),
            AllOf(
                (
                    Condition("source", frozenset({"b"})),
                    Condition("EventCode", frozenset({"4688", "4689"})),
                )
            ),
        )
    )


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("spl", 'source="*Sysmon*" Image="*x"'),  # a wildcard
        ("spl", 'EventCode=1 OR Image="*x"'),  # an alternative that reads nothing
        ("spl", 'NOT EventCode=1 Image="*x"'),  # under NOT
        ("eql", 'any where event.code:"1*"'),  # a wildcard
        ("eql", 'any where process.name:"a.exe" or event.code:"1"'),
        ("eql", 'any where not event.code:"1"'),
    ],
)
def test_a_query_whose_selector_cannot_be_read_reaches_every_event(
    targets: dict[str, TargetEvaluator], name: str, query: str
) -> None:
    compiled = _compiled(targets, name, query)
    assert selector(compiled) is None
    assert reach_module.reach(SYSMON, 10, [selector(compiled)], targets[name].runtime.ingest) == (
        EVERY
    )


def test_the_project_queries_reach_no_sysmon_10_event_without_a_guard_name(
    targets: dict[str, TargetEvaluator],
) -> None:
    # no rule in sigma/ selects process access; the ECS and Splunk models store it
    assert targets["eql"].reach(SYSMON, 10) == NONE
    assert targets["kql"].reach(SYSMON, 10) == NONE  # Defender has no such row
    assert targets["spl"].reach(SYSMON, 10) == Reach(
        any_event=False, guards=frozenset({"source", "sourcetype", "EventCode"})
    )
    assert targets["eql"].reach(SYSMON, 1) == EVERY
    assert targets["spl"].reach(SYSMON, 11) == EVERY


def _staging_event(event_id: int, data: dict[str, str]) -> WindowsEvent:
    base = {"Image": "C:\\x.exe", "TargetFilename": "C:\\Users\\Public\\a.pfx"}
    return WindowsEvent("P", event_id, SYSMON, "host", "2026-11-20T10:15:02Z", 1, base | data)


def _spl_matches(shortcut: bool, events: list[WindowsEvent]) -> list[list[str]]:
    scanner = Scanner.for_project(Project.at(REPO), only=["spl"])
    for evaluator in scanner.evaluators:
        assert isinstance(evaluator, TargetEvaluator)
        evaluator.shortcut = shortcut
    records = [Item(f"e{n}", e) for n, e in enumerate(events)]
    return [r.matches["spl"] for r in scanner.scan(records, ScanSummary())]


def test_an_event_whose_data_names_a_selector_field_is_evaluated_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Splunk extracts a Data element named EventCode as the field: this Sysmon 10 event then
    # holds EventCode 11 and the file-staging search finds it
    events = [
        _staging_event(10, {"EventCode": "11"}),
        _staging_event(10, {}),
        _staging_event(11, {}),
    ]
    expected = [[FILE_STAGING], [], [FILE_STAGING]]
    assert _spl_matches(False, events) == expected
    assert _spl_matches(True, events) == expected
    # a shortcut that ignored the guard would lose the first match
    monkeypatch.setattr(Reach, "admits", lambda self, data: self.any_event)
    assert _spl_matches(True, events) == [[], [], [FILE_STAGING]]


def test_flat_json_events_skipped_unparsed_for_want_of_a_guard_name_change_no_result(
    tmp_path: Path,
) -> None:
    lines = [
        {"EventID": event_id, "Channel": SYSMON, **_staging_event(event_id, data).data}
        for event_id, data in ((10, {"EventCode": "11"}), (10, {}), (11, {}))
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    scanner = Scanner.for_project(Project.at(REPO), only=["spl"])
    assert scanner.wants(SYSMON, 10) == frozenset({"source", "sourcetype", "EventCode"})
    records = list(read_items(path, scanner.wants))
    assert [type(r.payload) is WindowsEvent for r in records] == [True, False, True]
    results = [r.matches["spl"] for r in scanner.scan(records, ScanSummary())]
    assert results == [[FILE_STAGING], [], [FILE_STAGING]]


def test_the_fields_each_eql_query_reads(targets: dict[str, TargetEvaluator]) -> None:
    compiled = _compiled(
        targets,
        "eql",
        'process where process.name : "certutil.exe" and ?process.args == "-addstore" '
        'and startsWith(process.parent.command_line, "x")',
    )
    assert compiled.fields() == {  # type: ignore[attr-defined]
        "event.category",
        "process.name",
        "process.args",
        "process.parent.command_line",
    }


def test_the_scan_derives_only_what_some_query_reads(
    targets: dict[str, TargetEvaluator],
) -> None:
    from converter.execute.ingest.ecs import ARGS_FIELDS, to_ecs_without_args
    from converter.scan.scanner import fields_read

    eql = targets["eql"]
    read = fields_read(compiled for _, compiled in eql.queries)
    assert read is not None and "process.command_line" in read and not read & ARGS_FIELDS
    event = _staging_event(1, {"Image": "C:\\x\\certutil.exe", "CommandLine": "certutil -f"})
    assert eql.lean is not None and eql.lean(event) == to_ecs_without_args(event)
    reading = _compiled(targets, "eql", 'process where process.args : "-addstore"')
    assert "process.args" in (fields_read([*(q for _, q in eql.queries), reading]) or ())
    # an engine whose compiled queries do not say what they read: the whole models
    assert fields_read(q for _, q in targets["kql"].queries) is None
    assert targets["kql"].lean is None and targets["spl"].lean is None
