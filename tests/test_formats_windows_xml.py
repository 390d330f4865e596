from __future__ import annotations

import json
from pathlib import Path

import pytest

from converter.core.events import WindowsEvent, parse_windows_event
from converter.execute.ingest.splunk import render_xml
from converter.formats.base import FILTERED, RecordError
from converter.formats.windows_xml import parse_event_xml

from .conftest import REPO

CASES = sorted(
    path
    for path in (REPO / "cases").rglob("*.json")
    if "Event" in json.loads(path.read_text(encoding="utf-8"))["event"]
)


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_xml_rendering_of_every_case_reads_back_as_the_same_event(case: Path) -> None:
    # render_xml writes what Splunk's XmlWinEventLog holds (Windows and Sysmon for Linux forms)
    event = parse_windows_event(json.loads(case.read_text())["event"])
    assert parse_event_xml(render_xml(event)) == event


def test_system_header_event_data_and_escapes() -> None:
    text = (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625}'/>"
        "<EventID Qualifiers=''>4688</EventID><TimeCreated SystemTime='2021-01-14T23:41:39.9Z'/>"
        "<EventRecordID>309556</EventRecordID><Channel>Security</Channel>"
        "<Computer>win-dc-791937</Computer></System><EventData>"
        "<Data Name='CommandLine'>cmd /c echo a &amp;&amp; b &lt;x&gt;</Data>"
        "<Data Name='TokenElevationType'>%%1936</Data><Data Name='Empty'></Data>"
        "</EventData></Event>"
    )
    assert parse_event_xml(text) == WindowsEvent(
        provider="Microsoft-Windows-Security-Auditing",
        event_id=4688,
        channel="Security",
        computer="win-dc-791937",
        time_created="2021-01-14T23:41:39.9Z",
        record_id=309556,
        data={"CommandLine": "cmd /c echo a && b <x>", "TokenElevationType": "%%1936", "Empty": ""},
    )


def test_unnamed_data_and_user_data_as_the_json_layout_has_them() -> None:
    classic = (
        "<Event><System><Provider Name='Service Control Manager'/><EventID>7036</EventID>"
        "<Channel>System</Channel><Computer>h</Computer></System><EventData><Data>Netlogon</Data>"
        "<Data>running</Data><Binary>4E0065</Binary></EventData></Event>"
    )
    assert parse_event_xml(classic).data == {"Binary": "4E0065", "Data": "Netlogon\nrunning"}
    user_data = (
        "<Event><System><EventID>1102</EventID><Channel>Security</Channel></System><UserData>"
        "<LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'>"
        "<SubjectUserName>alice</SubjectUserName><SubjectDomainName>CORP</SubjectDomainName>"
        "</LogFileCleared></UserData></Event>"
    )
    assert parse_event_xml(user_data).data == {
        "SubjectUserName": "alice",
        "SubjectDomainName": "CORP",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<Event><System>", "invalid XML: no element found: line 1, column 15"),
        ("<Events/>", "expected an <Event> element, got <Events>"),
        ("<Event><EventData/></Event>", "<Event> has no <System> element"),
        ("<Event><System><EventID>x</EventID></System></Event>", "EventID is not a number: 'x'"),
    ],
)
def test_malformed_events_are_record_errors(text: str, message: str) -> None:
    with pytest.raises(RecordError) as error:
        parse_event_xml(text)
    assert str(error.value) == message


def test_a_refused_key_is_not_parsed_further() -> None:
    text = "<Event><System><EventID>10</EventID><Channel>S</Channel></System></Event>"
    assert parse_event_xml(text, lambda channel, event_id: (channel, event_id) != ("S", 10)) is (
        FILTERED
    )
