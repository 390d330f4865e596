from __future__ import annotations

from pathlib import Path

import pytest

from converter.core.events import WindowsEvent
from converter.formats import windows_text
from converter.formats.base import BadRecord, Item
from converter.formats.readers import read_items
from converter.formats.windows_classic import parse_block

from .conftest import FILES

FORMATS = FILES / "formats"
CLASSIC_ERROR = (
    "classic WinEventLog text of System 7036 is not supported (its EventData is only in the "
    "rendered message); export it as XmlWinEventLog"
)
SCRIPT = (
    '$cert = New-SelfSignedCertificate -DnsName "update.example.com" -CertStoreLocation '
    "Cert:\\CurrentUser\\My\n\nExport-PfxCertificate -Cert $cert -FilePath "
    "C:\\Users\\Public\\update.pfx -Password $pwd"
)


def _read(name: str) -> list[Item | BadRecord]:
    return list(read_items(FORMATS / name))


def test_splunk_xmlwineventlog_one_event_a_line() -> None:
    records = _read("xmlwineventlog.xml")
    assert [(r.source.rsplit(":", 1)[1], r.payload.event_id) for r in records] == [  # type: ignore
        ("1", 1),
        ("2", 1),
        ("3", 11),
    ]


def test_wevtutil_output_with_root_several_events_a_line_and_pretty_printed() -> None:
    records = _read("wevtutil_events.xml")
    assert [r.source.rsplit(":", 1)[1] for r in records] == ["2", "2", "3"]
    one_a_line = [r.payload for r in _read("xmlwineventlog.xml")]  # type: ignore[union-attr]
    assert [r.payload for r in records] == one_a_line  # type: ignore[union-attr]


def test_sysmon_for_linux_behind_a_syslog_prefix() -> None:
    records = _read("sysmon_linux_syslog.log")
    events = [r.payload for r in records]  # type: ignore[union-attr]
    assert [(e.channel, e.computer, e.get("Image")) for e in events] == [
        ("Linux-Sysmon/Operational", "web-01", "/usr/bin/openssl"),
        ("Linux-Sysmon/Operational", "web-01", "/usr/local/bin/openssl"),
    ]
    assert events[1].get("CommandLine") == "openssl version -a"


def test_classic_4104_block_recovers_the_script_block_event_data() -> None:
    first, unsupported = _read("wineventlog_classic.txt")
    assert isinstance(first, Item) and first.source.endswith("wineventlog_classic.txt:1")
    assert first.payload == WindowsEvent(
        provider="Microsoft-Windows-PowerShell",
        event_id=4104,
        channel="Microsoft-Windows-PowerShell/Operational",
        computer="WKS-0142.corp.example.com",
        time_created="2026-11-20T10:15:07",
        record_id=88121,
        data={
            "MessageNumber": "1",
            "MessageTotal": "1",
            "ScriptBlockText": SCRIPT,
            "ScriptBlockId": "0c5a1d6e-3f1b-4e7a-9d42-7b1f0a6c2e11",
            "Path": "C:\\Users\\alice\\mkcert.ps1",
        },
    )
    assert unsupported == BadRecord(f"{FORMATS / 'wineventlog_classic.txt'}:23", CLASSIC_ERROR)


def test_classic_blocks_nobody_evaluates_are_counted_not_reported() -> None:
    [_, refused] = read_items(
        FORMATS / "wineventlog_classic.txt", lambda channel, event_id: channel != "System"
    )
    assert isinstance(refused, Item)


def test_splunk_raw_mixes_xml_lines_and_classic_blocks() -> None:
    records = _read("splunk_mixed.raw")
    assert [(r.source.rsplit(":", 1)[1], type(r).__name__) for r in records] == [
        ("1", "Item"),
        ("2", "Item"),
        ("24", "BadRecord"),
    ]
    assert records[1].payload.get("ScriptBlockText") == SCRIPT  # type: ignore[union-attr]


def test_text_outside_events_and_unclosed_events_are_reported() -> None:
    lines = ["<?xml version='1.0'?>", "garbage", "<Event><System><EventID>1</EventID>"]
    records = list(windows_text.read(enumerate(lines, start=1), "f"))
    assert records == [
        BadRecord("f:2", "not a Windows event (expected <Event> XML or a WinEventLog text block)"),
        BadRecord("f:3", "<Event> not closed before end of file"),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["01/01/2026 01:00:00 AM", "LogName=Security", "oops"], "not a Key=Value header line"),
        (["01/01/2026 01:00:00 AM", "LogName=Security"], "block has no numeric EventCode"),
        (
            [
                "01/01/2026 01:00:00 AM",
                "LogName=Microsoft-Windows-PowerShell/Operational",
                "EventCode=4104",
                "Message=Something else",
            ],
            "EventCode=4104 message is not a script block text message",
        ),
    ],
)
def test_malformed_classic_blocks(lines: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_block(lines)


def test_a_date_line_inside_a_message_does_not_start_a_block(tmp_path: Path) -> None:
    text = (FORMATS / "wineventlog_classic.txt").read_text().splitlines()[:21]
    text[16:16] = ["01/02/2026 03:04:05 PM"]  # in the script text, not followed by LogName=
    [record] = windows_text.read(enumerate(text, start=1), "f")
    script = record.payload.get("ScriptBlockText")  # type: ignore[union-attr]
    assert script.splitlines()[1] == "01/02/2026 03:04:05 PM"


def test_classic_4688_block_recovers_the_process_event_data() -> None:
    [record] = _read("wineventlog_classic_4688.txt")
    assert isinstance(record, Item)
    assert record.payload == WindowsEvent(
        provider="Microsoft Windows security auditing.",
        event_id=4688,
        channel="Security",
        computer="WKS-0142.corp.example.com",
        time_created="2026-11-20T10:15:02",
        record_id=771204,
        data={
            "SubjectUserSid": "S-1-5-21-1004336348-1177238915-682003330-1104",
            "SubjectUserName": "alice",
            "SubjectDomainName": "CORP",
            "SubjectLogonId": "0x3E4B21",
            "TargetUserSid": "S-1-0-0",
            "TargetUserName": "-",
            "TargetDomainName": "-",
            "TargetLogonId": "0x0",
            "NewProcessId": "0x1a9c",
            "NewProcessName": "C:\\Windows\\System32\\certutil.exe",
            "MandatoryLabel": "S-1-16-12288",
            "ProcessId": "0x1590",
            "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": (
                "certutil.exe -addstore root C:\\Users\\alice\\AppData\\Local\\Temp\\"
                "df00tech-root.cer"
            ),
        },
    )


def test_classic_4688_without_process_information_is_refused() -> None:
    lines = ["01/01/2026 01:00:00 AM", "LogName=Security", "EventCode=4688", "Message=Hello"]
    with pytest.raises(ValueError, match="has no Process Information: New Process Name"):
        parse_block(lines)
