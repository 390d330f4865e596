from __future__ import annotations

import json

import pytest

from converter.core.events import WindowsEvent
from converter.formats.base import FILTERED, RecordError
from converter.formats.flat_windows import convert

from .conftest import FILES

LINES = [
    json.loads(line) for line in (FILES / "formats/nxlog_sysmon.jsonl").read_text().splitlines()
]
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def test_nxlog_process_creation_keeps_event_data_only() -> None:
    event = convert(LINES[0])
    assert isinstance(event, WindowsEvent)
    assert (event.provider, event.event_id, event.channel, event.computer) == (
        "Microsoft-Windows-Sysmon",
        1,
        SYSMON,
        "WKS-0142.corp.example.com",
    )
    assert (event.time_created, event.record_id) == ("2026-11-20 10:15:02", 5020)
    assert list(event.data) == [
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion", "Description",
        "Product", "Company", "OriginalFileName", "CommandLine", "CurrentDirectory", "User",
        "LogonGuid", "LogonId", "TerminalSessionId", "IntegrityLevel", "Hashes",
        "ParentProcessGuid", "ParentProcessId", "ParentImage", "ParentCommandLine",
    ]  # fmt: skip
    # NXLog's ProcessID (the logging process) is not Sysmon's ProcessId
    assert event.get("ProcessId") == "6812"


def test_nxlog_severity_event_type_is_metadata_a_restored_sysmon_one_is_data() -> None:
    registry_set = convert(LINES[2])
    assert isinstance(registry_set, WindowsEvent) and "EventType" not in registry_set.data
    otrf = convert(LINES[3])
    assert isinstance(otrf, WindowsEvent)
    assert otrf.data == {
        "UtcTime": "2026-11-20 10:15:02.300",
        "ProcessGuid": "{A837DB8D-01B5-5F25-0000-0010EDC30000}",
        "Image": "C:\\Windows\\system32\\svchost.exe",
        "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\AuthRoot\\Certificates\\"
        "0563B8630D62D75ABBC8AB1E4BDFB5A899B24D43\\Blob",
        "EventType": "CreateKey",
        "ProcessId": "2464",
    }


def test_winlogbeat_6_raw_layout() -> None:
    event = convert(LINES[4])
    assert event == WindowsEvent(
        provider="Microsoft-Windows-Sysmon",
        event_id=1,
        channel=SYSMON,
        computer="WKS-0142.corp.example.com",
        time_created="2026-11-20T10:15:05.000Z",
        record_id=5024,
        data={
            "Image": "C:\\Windows\\System32\\certutil.exe",
            "OriginalFileName": "CertUtil.exe",
            "CommandLine": "certutil -f -addstore Root evil.cer",
            "User": "CORP\\alice",
            "ProcessId": "7001",
        },
    )


def test_values_become_text_and_bad_ids_are_errors() -> None:
    event = convert(
        {"EventID": "4688", "Channel": "Security", "Flag": True, "N": 5, "L": ["a", "b"]}
    )
    assert isinstance(event, WindowsEvent)
    assert (event.event_id, dict(event.data)) == (4688, {"Flag": "true", "N": "5", "L": "a\nb"})
    with pytest.raises(RecordError, match="EventID is not a number: 'four'"):
        convert({"EventID": "four", "Channel": "Security"})


def test_the_key_filter_sees_channel_and_id() -> None:
    seen: list[tuple[str, int]] = []

    def refuse(channel: str, event_id: int) -> bool:
        seen.append((channel, event_id))
        return False

    assert [convert(line, refuse) for line in LINES] == [FILTERED] * 5
    assert seen == [(SYSMON, 1), (SYSMON, 10), (SYSMON, 13), (SYSMON, 12), (SYSMON, 1)]


def test_a_key_filter_naming_data_fields_skips_an_event_holding_none_of_them() -> None:
    def only_with(channel: str, event_id: int) -> frozenset[str]:
        return frozenset({"EventCode"})

    record = {"EventID": 10, "Channel": SYSMON, "SourceImage": "C:\\a.exe"}
    assert convert(record, only_with) is FILTERED
    event = convert({**record, "EventCode": "11"}, only_with)  # the data names one: parsed
    assert isinstance(event, WindowsEvent) and event.data["EventCode"] == "11"
    # Winlogbeat's nested EventData may hold one: parsed, the scanner decides
    nested = {"event_id": 10, "log_name": SYSMON, "event_data": {"EventCode": "11"}}
    assert isinstance(convert(nested, only_with), WindowsEvent)


def test_other_exporters_names_for_provider_and_computer() -> None:
    event = convert(
        {"EventID": 1, "Channel": SYSMON, "ProviderName": "Microsoft-Windows-Sysmon",
         "Computer": "wks-7", "Image": "C:\\x.exe"}
    )  # fmt: skip
    assert isinstance(event, WindowsEvent)
    assert (event.provider, event.computer, dict(event.data)) == (
        "Microsoft-Windows-Sysmon",
        "wks-7",
        {"Image": "C:\\x.exe"},
    )
