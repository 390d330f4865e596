"""One fully populated raw event per event source: what an ingest model can make of it.

A field a rule names after a target's pipelines is only useful if the target's documents carry
it. Rather than keep a second list of ECS and Splunk field names beside the ingest models, the
known fields of a log source are whatever the ingest models produce from these specimens: every
EventData field of the event, each with a value shaped like real data (paths with separators,
hashes, hive-prefixed registry paths) so that every derived field appears too.

EventData names follow the providers' manifests: Sysmon's schema (`sysmon -s`, schema 4.90) for
events 1, 11, 12, 13, 14 (Sysmon for Linux uses the event 1 names), the Security auditing
manifest for 4688 and the PowerShell manifest for 4104.
"""

from __future__ import annotations

from converter.events import RawEvent, WindowsEvent
from converter.reference import (
    LINUX_SYSMON_CHANNEL,
    POWERSHELL_CHANNELS,
    SECURITY_CHANNEL,
    SYSMON_CHANNEL,
    EventSource,
    Source,
)

_GUID = "{8c7a9f2e-3b1d-4e5f-a6b7-c8d9e0f1a2b3}"
_HASHES = (
    "SHA1=0123456789ABCDEF0123456789ABCDEF01234567,MD5=0123456789ABCDEF0123456789ABCDEF,"
    "SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF,"
    "IMPHASH=0123456789ABCDEF0123456789ABCDEF"
)
_SYSMON_COMMON = {
    "RuleName": "technique_id=T1587.003",
    "UtcTime": "2026-01-01 00:00:00.000",
    "ProcessGuid": _GUID,
    "ProcessId": "4242",
    "Image": "C:\\Windows\\System32\\example.exe",
}
_SYSMON_PROCESS = {
    **_SYSMON_COMMON,
    "FileVersion": "1.0.0",
    "Description": "Example",
    "Product": "Example",
    "Company": "Example Corporation",
    "OriginalFileName": "example.exe",
    "CommandLine": "example.exe -flag value",
    "CurrentDirectory": "C:\\Windows\\System32\\",
    "User": "EXAMPLE\\alice",
    "LogonGuid": _GUID,
    "LogonId": "0x3e7",
    "TerminalSessionId": "1",
    "IntegrityLevel": "High",
    "Hashes": _HASHES,
    "ParentProcessGuid": _GUID,
    "ParentProcessId": "4141",
    "ParentImage": "C:\\Windows\\System32\\cmd.exe",
    "ParentCommandLine": "cmd.exe /c example.exe",
    "ParentUser": "EXAMPLE\\alice",
}
_REGISTRY = {
    **_SYSMON_COMMON,
    "TargetObject": "HKLM\\SOFTWARE\\Example\\Value",
    "User": "EXAMPLE\\alice",
}
_LINUX_PROCESS = {
    **_SYSMON_PROCESS,
    "Image": "/usr/bin/example",
    "CommandLine": "example -flag value",
    "CurrentDirectory": "/root",
    "User": "root",
    "LogonId": "0",
    "ParentImage": "/usr/bin/bash",
    "ParentCommandLine": "bash",
    "ParentUser": "root",
}

# (channel, event id) -> EventData of the specimen
SPECIMENS: dict[tuple[str, int], dict[str, str]] = {
    (SYSMON_CHANNEL, 1): _SYSMON_PROCESS,
    (SYSMON_CHANNEL, 11): {
        **_SYSMON_COMMON,
        "TargetFilename": "C:\\Windows\\Temp\\example.txt",
        "CreationUtcTime": "2026-01-01 00:00:00.000",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 12): {**_REGISTRY, "EventType": "CreateKey"},
    (SYSMON_CHANNEL, 13): {**_REGISTRY, "EventType": "SetValue", "Details": "DWORD (0x00000001)"},
    (SYSMON_CHANNEL, 14): {
        **_REGISTRY,
        "EventType": "RenameKey",
        "NewName": "HKLM\\SOFTWARE\\Example\\Renamed",
    },
    (SECURITY_CHANNEL, 4688): {
        "SubjectUserSid": "S-1-5-21-1-2-3-1104",
        "SubjectUserName": "alice",
        "SubjectDomainName": "EXAMPLE",
        "SubjectLogonId": "0x3e7",
        "NewProcessId": "0x1092",
        "NewProcessName": "C:\\Windows\\System32\\example.exe",
        "TokenElevationType": "%%1936",
        "ProcessId": "0x102d",
        "CommandLine": "example.exe -flag value",
        "TargetUserSid": "S-1-5-21-1-2-3-1105",
        "TargetUserName": "bob@example.com",
        "TargetDomainName": "EXAMPLE",
        "TargetLogonId": "0x3e8",
        "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        "MandatoryLabel": "S-1-16-12288",
    },
    (LINUX_SYSMON_CHANNEL, 1): _LINUX_PROCESS,
}
for _channel in POWERSHELL_CHANNELS:
    SPECIMENS[(_channel, 4104)] = {
        "MessageNumber": "1",
        "MessageTotal": "1",
        "ScriptBlockText": "Get-Date",
        "ScriptBlockId": _GUID,
        "Path": "C:\\Windows\\Temp\\example.ps1",
    }


_PROVIDERS = {
    SYSMON_CHANNEL: "Microsoft-Windows-Sysmon",
    LINUX_SYSMON_CHANNEL: "Linux-Sysmon",
    SECURITY_CHANNEL: "Microsoft-Windows-Security-Auditing",
}


# Specimens of the sources that are not Windows events, by source name (`Source.name`).
RAW_SPECIMENS: dict[str, tuple[RawEvent, ...]] = {}


def specimen_events(source: Source) -> list[RawEvent]:
    """A specimen of every (channel, event id) of the event source that has one."""
    if not isinstance(source, EventSource):
        return list(RAW_SPECIMENS.get(source.name, ()))
    events: list[RawEvent] = []
    for channel in sorted(source.channels):
        for event_id in sorted(source.event_ids):
            data = SPECIMENS.get((channel, event_id))
            if data is None:
                continue
            provider = _PROVIDERS.get(channel, "Microsoft-Windows-PowerShell")
            data = dict(data)
            for name, allowed in source.required.items():
                data[name] = sorted(allowed)[0]  # e.g. a registry_delete EventType
            events.append(
                WindowsEvent(
                    provider=provider,
                    event_id=event_id,
                    channel=channel,
                    computer="host.example.com",
                    time_created="2026-01-01T00:00:00.000Z",
                    record_id=1,
                    data=data,
                )
            )
    return events
