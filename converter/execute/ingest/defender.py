"""Defender XDR model: the advanced-hunting row Defender for Endpoint records for an activity.

Defender does not ingest Windows events; its own sensor records the same activity. To verify a
KQL query we need the row that sensor would write for what a recorded event shows, in the
documented tables and columns (Microsoft Learn, "DeviceProcessEvents", "DeviceFileEvents",
"DeviceImageLoadEvents", "DeviceNetworkEvents" and "DeviceRegistryEvents" table pages; the
column names and types stay inside those schemas):

- `DeviceProcessEvents`, ActionType "ProcessCreated": from Sysmon 1 (Windows and Linux) and
  Security 4688. The created process fills `FileName`, `FolderPath`, `ProcessCommandLine`,
  `ProcessId`, `ProcessVersionInfo*` and the account columns; its parent fills
  `InitiatingProcess*`.
- `DeviceFileEvents`, ActionType "FileCreated": from Sysmon 11; `Image` is the initiating
  process. ActionType "FileDeleted": from Sysmon 23, with the deleted file's hashes.
- `DeviceImageLoadEvents`, ActionType "ImageLoaded" (the table's only action): from Sysmon 7.
  The loaded module fills `FileName`, `FolderPath` and its `SHA1`/`MD5`/`SHA256`; `Image` is
  the initiating process. The table has no column for the module's version info or signature
  (Sysmon's `Description`, `Signed`, `SignatureStatus`), only the initiating process's.
- `DeviceNetworkEvents`: from Sysmon 3. An initiated connection is ActionType
  "ConnectionSuccess", an accepted one "InboundConnectionAccepted" (Sysmon writes the event for
  an established connection; Defender's attempts, failures and listeners have no Sysmon 3).
  The destination fills `RemoteIP`, `RemotePort`, `RemoteUrl` (Sysmon's DestinationHostname),
  the source `LocalIP`, `LocalPort`; `Protocol` is "Tcp" or "Udp", as the table's rows spell
  it; `Image` is the initiating process.
- `DeviceRegistryEvents`: from Sysmon 12 (CreateKey, DeleteKey, DeleteValue -> RegistryKeyCreated,
  RegistryKeyDeleted, RegistryValueDeleted), 13 (RegistryValueSet) and 14 (RegistryKeyRenamed,
  `PreviousRegistryKey` = the old key). `RegistryKey` never holds the value name: Sysmon's
  `TargetObject` of a value event is split into `RegistryKey` and `RegistryValueName`, and the
  Sysmon hive prefixes are spelled out (`HKLM\\` -> `HKEY_LOCAL_MACHINE\\`; `HKU\\<SID>\\` ->
  `HKEY_CURRENT_USER\\<SID>\\`, the form Defender rows show for user hives). The default value
  "(Default)" has the empty name. `DWORD (0x...)`/`QWORD (0x...-0x...)` become decimal text with
  `RegistryValueType` "Dword"/"Qword"; Sysmon's "Binary Data" placeholder carries no data, so
  only the type "Binary" is set.

Conventions followed where the schema pages say less than the data shows:

- `FolderPath` holds the full path including the file name, although the schema calls it the
  containing folder. Microsoft's own hunting queries rely on that (e.g.
  microsoft/Microsoft-365-Defender-Hunting-Queries, "Execution/Masquerading system
  executable.txt": `FolderPath startswith @"C:\\Windows\\system32\\"` for files in system32).
- `DeviceName`, `AccountName` and `AccountDomain` are lower case, as Defender rows show them.
- Hashes are lower-case hex. Times are timezone-aware UTC datetimes; `Timestamp` is the time
  the event was recorded.

PowerShell 4104 has no Defender table (script block text is not in advanced hunting), so it
returns None, like every other unsupported event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from converter.core.documents import DefenderRow
from converter.core.events import WindowsEvent
from converter.core.logsources import LINUX_SYSMON_CHANNEL, SECURITY_CHANNEL, SYSMON_CHANNEL

Builder = Callable[[WindowsEvent], "DefenderRow | None"]

PROCESS_TABLE = "DeviceProcessEvents"
FILE_TABLE = "DeviceFileEvents"
IMAGE_LOAD_TABLE = "DeviceImageLoadEvents"
REGISTRY_TABLE = "DeviceRegistryEvents"
NETWORK_TABLE = "DeviceNetworkEvents"

_HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKU": "HKEY_CURRENT_USER",
    "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKCC": "HKEY_CURRENT_CONFIG",
}
_REGISTRY_12_ACTIONS = {
    "CreateKey": "RegistryKeyCreated",
    "DeleteKey": "RegistryKeyDeleted",
    "DeleteValue": "RegistryValueDeleted",
}
_NO_VALUE = frozenset({"", "-"})
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")
_DWORD = re.compile(r"DWORD \(0x([0-9A-Fa-f]+)\)")
_QWORD = re.compile(r"QWORD \(0x([0-9A-Fa-f]+)-0x([0-9A-Fa-f]+)\)")


def to_defender(event: WindowsEvent) -> DefenderRow | None:
    """The advanced-hunting row for the activity `event` records, or None if unsupported."""
    builder = BUILDERS.get((event.channel, event.event_id))
    return builder(event) if builder is not None else None


def registry_key(sysmon_path: str) -> str:
    """A Sysmon registry path (`HKLM\\...`, `HKU\\...`) in Defender's spelled-out form."""
    hive, sep, rest = sysmon_path.partition("\\")
    full = _HIVES.get(hive.upper())
    if full is None:
        return sysmon_path
    return f"{full}{sep}{rest}"


def parse_time(text: str | None) -> datetime | None:
    """An EVTX SystemTime or a Sysmon UtcTime as an aware UTC datetime (microseconds)."""
    match = _TIME.match(text or "")
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micros = int((match.group(7) or "").ljust(6, "0")[:6])
    return datetime(year, month, day, hour, minute, second, micros, tzinfo=timezone.utc)


def _value(event: WindowsEvent, name: str) -> str | None:
    value = event.get(name)
    return None if value is None or value in _NO_VALUE else value


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None


def _name(path: str | None, separator: str) -> str | None:
    return path.rsplit(separator, 1)[-1] if path else None


def _account(user: str | None) -> tuple[str | None, str | None]:
    """(domain, name) of a `DOMAIN\\user` value, lower case."""
    if user is None:
        return None, None
    domain, _, name = user.rpartition("\\")
    return (domain.lower() or None), (name.lower() or None)


def _hashes(text: str | None) -> dict[str, str]:
    columns = {"MD5": "MD5", "SHA1": "SHA1", "SHA256": "SHA256"}
    found: dict[str, str] = {}
    for pair in (text or "").split(","):
        key, _, value = pair.partition("=")
        if key.upper() in columns and value:
            found[columns[key.upper()]] = value.lower()
    return found


def _row(table: str, event: WindowsEvent, action: str, **columns: Any) -> DefenderRow:
    base: dict[str, Any] = {
        "Timestamp": parse_time(event.time_created),
        "DeviceName": event.computer.lower() or None,
        "ActionType": action,
    }
    base.update(columns)
    return DefenderRow(table=table, columns={k: v for k, v in base.items() if v is not None})


def _initiating_from_image(event: WindowsEvent) -> dict[str, Any]:
    # File and registry events: Sysmon's acting process is the initiating process.
    image = _value(event, "Image")
    domain, name = _account(_value(event, "User"))
    return {
        "InitiatingProcessFileName": _name(image, "\\"),
        "InitiatingProcessFolderPath": image,
        "InitiatingProcessId": _int(_value(event, "ProcessId")),
        "InitiatingProcessAccountDomain": domain,
        "InitiatingProcessAccountName": name,
    }


def _sysmon_process(event: WindowsEvent, separator: str) -> DefenderRow:
    image = _value(event, "Image")
    parent = _value(event, "ParentImage")
    linux = separator == "/"
    if linux:
        domain, name = None, (_value(event, "User") or "").lower() or None
        parent_domain, parent_name = None, (_value(event, "ParentUser") or "").lower() or None
        integrity = None
    else:
        domain, name = _account(_value(event, "User"))
        parent_domain, parent_name = _account(_value(event, "ParentUser"))
        integrity = _value(event, "IntegrityLevel")
    return _row(
        PROCESS_TABLE,
        event,
        "ProcessCreated",
        FileName=_name(image, separator),
        FolderPath=image,
        ProcessCommandLine=_value(event, "CommandLine"),
        ProcessId=_int(_value(event, "ProcessId")),
        ProcessCreationTime=parse_time(_value(event, "UtcTime")),
        ProcessIntegrityLevel=integrity,
        ProcessVersionInfoOriginalFileName=_value(event, "OriginalFileName"),
        ProcessVersionInfoCompanyName=_value(event, "Company"),
        ProcessVersionInfoProductName=_value(event, "Product"),
        ProcessVersionInfoFileDescription=_value(event, "Description"),
        AccountDomain=domain,
        AccountName=name,
        LogonId=_int(_value(event, "LogonId")),
        InitiatingProcessFileName=_name(parent, separator),
        InitiatingProcessFolderPath=parent,
        InitiatingProcessCommandLine=_value(event, "ParentCommandLine"),
        InitiatingProcessId=_int(_value(event, "ParentProcessId")),
        InitiatingProcessAccountDomain=parent_domain,
        InitiatingProcessAccountName=parent_name,
        **_hashes(_value(event, "Hashes")),
    )


def _security_process(event: WindowsEvent) -> DefenderRow:
    image = _value(event, "NewProcessName")
    parent = _value(event, "ParentProcessName")
    domain = (_value(event, "SubjectDomainName") or "").lower() or None
    name = (_value(event, "SubjectUserName") or "").lower() or None
    sid = _value(event, "SubjectUserSid")
    return _row(
        PROCESS_TABLE,
        event,
        "ProcessCreated",
        FileName=_name(image, "\\"),
        FolderPath=image,
        ProcessCommandLine=_value(event, "CommandLine"),
        ProcessId=_int(_value(event, "NewProcessId")),
        ProcessCreationTime=parse_time(event.time_created),
        AccountDomain=domain,
        AccountName=name,
        AccountSid=sid,
        LogonId=_int(_value(event, "SubjectLogonId")),
        InitiatingProcessFileName=_name(parent, "\\"),
        InitiatingProcessFolderPath=parent,
        InitiatingProcessId=_int(_value(event, "ProcessId")),
        InitiatingProcessAccountDomain=domain,
        InitiatingProcessAccountName=name,
        InitiatingProcessAccountSid=sid,
    )


def _sysmon_file(event: WindowsEvent) -> DefenderRow:
    target = _value(event, "TargetFilename")
    return _row(
        FILE_TABLE,
        event,
        "FileCreated",
        FileName=_name(target, "\\"),
        FolderPath=target,
        **_initiating_from_image(event),
    )


def _sysmon_file_delete(event: WindowsEvent) -> DefenderRow:
    target = _value(event, "TargetFilename")
    return _row(
        FILE_TABLE,
        event,
        "FileDeleted",
        FileName=_name(target, "\\"),
        FolderPath=target,
        **_hashes(_value(event, "Hashes")),
        **_initiating_from_image(event),
    )


def _sysmon_image_load(event: WindowsEvent) -> DefenderRow:
    loaded = _value(event, "ImageLoaded")
    return _row(
        IMAGE_LOAD_TABLE,
        event,
        "ImageLoaded",
        FileName=_name(loaded, "\\"),
        FolderPath=loaded,
        **_hashes(_value(event, "Hashes")),
        **_initiating_from_image(event),
    )


def _sysmon_network(event: WindowsEvent) -> DefenderRow:
    initiated = _value(event, "Initiated")
    action = "ConnectionSuccess" if initiated == "true" else "InboundConnectionAccepted"
    protocol = _value(event, "Protocol")
    return _row(
        NETWORK_TABLE,
        event,
        action,
        RemoteIP=_value(event, "DestinationIp"),
        RemotePort=_int(_value(event, "DestinationPort")),
        RemoteUrl=_value(event, "DestinationHostname"),
        LocalIP=_value(event, "SourceIp"),
        LocalPort=_int(_value(event, "SourcePort")),
        Protocol=protocol.capitalize() if protocol else None,
        **_initiating_from_image(event),
    )


def registry_value(details: str | None) -> tuple[str | None, str | None]:
    """(RegistryValueType, RegistryValueData) for a Sysmon `Details` text."""
    if details is None:
        return None, None
    dword = _DWORD.fullmatch(details)
    if dword is not None:
        return "Dword", str(int(dword.group(1), 16))
    qword = _QWORD.fullmatch(details)
    if qword is not None:
        return "Qword", str((int(qword.group(1), 16) << 32) + int(qword.group(2), 16))
    if details == "Binary Data":
        return "Binary", None
    return "String", details


def _sysmon_registry(event: WindowsEvent) -> DefenderRow | None:
    target = _value(event, "TargetObject")
    if target is None:
        return None
    columns: dict[str, Any] = _initiating_from_image(event)
    if event.event_id == 12:
        action = _REGISTRY_12_ACTIONS.get(event.get("EventType") or "")
        if action is None:
            return None
        if action == "RegistryValueDeleted":
            key, _, value = target.rpartition("\\")
            columns.update(RegistryKey=registry_key(key), RegistryValueName=_value_name(value))
        else:
            columns["RegistryKey"] = registry_key(target)
    elif event.event_id == 13:
        action = "RegistryValueSet"
        key, _, value = target.rpartition("\\")
        value_type, data = registry_value(_value(event, "Details"))
        columns.update(
            RegistryKey=registry_key(key),
            RegistryValueName=_value_name(value),
            RegistryValueType=value_type,
            RegistryValueData=data,
        )
    else:
        action = "RegistryKeyRenamed"
        new_name = _value(event, "NewName")
        columns.update(
            RegistryKey=registry_key(new_name) if new_name else None,
            PreviousRegistryKey=registry_key(target),
        )
    return _row(REGISTRY_TABLE, event, action, **columns)


def _value_name(sysmon_name: str) -> str:
    return "" if sysmon_name == "(Default)" else sysmon_name


def _windows_process(event: WindowsEvent) -> DefenderRow:
    return _sysmon_process(event, "\\")


def _linux_process(event: WindowsEvent) -> DefenderRow:
    return _sysmon_process(event, "/")


# (channel, event ID) -> the row builder. No PowerShell channel: script block text has no
# advanced-hunting table.
BUILDERS: dict[tuple[str, int], Builder] = {
    (SYSMON_CHANNEL, 1): _windows_process,
    (SYSMON_CHANNEL, 3): _sysmon_network,
    (SYSMON_CHANNEL, 7): _sysmon_image_load,
    (SYSMON_CHANNEL, 11): _sysmon_file,
    (SYSMON_CHANNEL, 23): _sysmon_file_delete,
    **{(SYSMON_CHANNEL, event_id): _sysmon_registry for event_id in (12, 13, 14)},
    (LINUX_SYSMON_CHANNEL, 1): _linux_process,
    (SECURITY_CHANNEL, 4688): _security_process,
}


def stores(channel: str, event_id: int) -> bool:
    """Whether `to_defender` can return a row for events of this channel and ID; when False it
    returns None for all of them (`certdetect scan` skips such events before parsing them)."""
    return (channel, event_id) in BUILDERS
