"""Splunk model: the search-time event Splunk holds for one Windows event.

An SPL query is only verified if it runs against the fields Splunk really extracts, so this
module builds them the way the add-ons do, not the way a Sigma pipeline assumes. It follows the
Splunk Add-on for Sysmon 5.0.1 (Splunk_TA_microsoft_sysmon, Splunkbase 5709) and the Splunk
Add-on for Microsoft Windows 10.0.1 (Splunk_TA_windows, 4688 and 4104), as Splunk documents
what they yield in its security_content data sources (`data_sources/sysmon_eventid_1.yml`,
`_3`, `_7`, `_10`, `_11`, `_12`, `_13`, `_17`, `_22`, and for `_2`, `_5`, `_6`, `_8`, `_9`,
`_15`, `_23` the extracted fields only (their CIM mappings are not modelled),
`windows_event_log_security_4688.yml`,
`powershell_script_block_logging_4104.yml`, `sysmon_for_linux_eventid_1.yml`: `source`,
`sourcetype`, the extracted `fields`, and the CIM `field_mappings`):

- The raw text is the event rendered as Windows XML (`renderXml = true`), one `<Event ...>`
  element; `source` is `XmlWinEventLog:<Channel>` and `sourcetype` `XmlWinEventLog` (the
  Sysmon add-on renames its sourcetype to it and keys its knowledge objects on the source).
  Sysmon for Linux arrives through syslog: `source` `Syslog:Linux-Sysmon/Operational`,
  sourcetype `sysmon:linux` (Splunk Add-on for Sysmon for Linux 1.0.0), XML with double quotes
  and no namespace.
- Every `<Data Name='X'>` becomes a field `X`, and the System elements give `EventCode`,
  `EventID`, `Channel`, `Computer`, `EventRecordID`, `Name` (provider) and `SystemTime`. The
  extraction is a regular expression over the raw XML, so values keep their XML escapes
  (`&amp;`, `&lt;`, `&gt;`) and empty elements yield no field.
- CIM fields are limited to those the data-source pages list, with the values their
  `field_mappings` give (e.g. `process` = CommandLine, `process_path` = Image, `process_name`
  = the name part of Image, `file_path` = TargetFilename, `registry_path` = TargetObject,
  `registry_key_name` = the key part of TargetObject, `registry_value_name` = its last part,
  `registry_value_data` = Details). Where a page lists a field without a mapping (`action`,
  `user`, `status`, `RegistryValueData`), the value follows the add-on's props/transforms as
  reproduced from the shipped 5.0.1 files; `user` is the part of `User` after the backslash.

Each field written here is declared, with how the add-on extracts it, in
`converter.core.splunk_fields`.

The Windows service channels (Sigma services `security`, `taskscheduler`, `sysmon`,
`windefend`) are stored as the Splunk pipeline searches them, `source="XmlWinEventLog:<channel>"`
(pySigma's splunk `windows_logsource_mapping`), with the same `<Data Name>` extraction and no CIM
mapping beyond the Sysmon add-on's for the Sysmon channel: Security 4648 and 4698-4702, Task
Scheduler 141/142, the Sysmon service events 4/16/255 and Defender Antivirus 1116/1117/1119.
Defender's names hold spaces ("Threat Name"); the extraction's key names are cleaned
(transforms.conf `CLEAN_KEYS = true`, the default: characters other than letters, digits and
underscores become underscores), so Splunk holds `Threat_Name`. WMI-Activity 5858 carries its
values in `UserData`, which this model's rendering (EventData only) does not reproduce, so it is
not stored here.

Not modelled: System elements a `WindowsEvent` does not carry (Version, Level, Task, Opcode,
Keywords, Execution, Security UserID, so no `user_id`), lookups (`EventDescription`,
`signature`), `date_*`, `punct`, `eventtype`/`tag`, and `registry_hive`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from converter.core.documents import SplunkEvent
from converter.core.events import WindowsEvent
from converter.core.logsources import (
    LINUX_SYSMON_CHANNEL,
    POWERSHELL_CHANNEL,
    SECURITY_CHANNEL,
    SYSMON_CHANNEL,
    TASK_SCHEDULER_CHANNEL,
    WINDOWS_DEFENDER_CHANNEL,
)

Builder = Callable[[WindowsEvent], SplunkEvent]
EVENT_NAMESPACE = "http://schemas.microsoft.com/win/2004/08/events/event"
XML_SOURCETYPE = "XmlWinEventLog"
LINUX_SOURCE = f"Syslog:{LINUX_SYSMON_CHANNEL}"
LINUX_SOURCETYPE = "sysmon:linux"

_SYSMON_IDS = frozenset(
    {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 22, 23, 255}
)
# CLEAN_KEYS: an extracted key keeps letters, digits and underscores; the rest become "_".
_UNCLEAN_KEY = re.compile(r"[^A-Za-z0-9_]")
# transforms.conf splits a typed Details such as "DWORD (0x00000001)" into type and data.
_TYPED_DETAILS = re.compile(r"(\w+)\s\((.+)\)", re.ASCII | re.DOTALL)


def to_splunk(event: WindowsEvent) -> SplunkEvent | None:
    """The event Splunk searches for `event`, or None if the event is not supported."""
    builder = BUILDERS.get((event.channel, event.event_id))
    return builder(event) if builder is not None else None


def _stored(
    event: WindowsEvent,
    fields: dict[str, list[str]],
    source: str | None = None,
    sourcetype: str = XML_SOURCETYPE,
) -> SplunkEvent:
    return SplunkEvent(
        fields=fields,
        render=partial(render_xml, event),  # rendered if a query reads _raw
        source=source or f"XmlWinEventLog:{event.channel}",
        sourcetype=sourcetype,
        host=event.computer,
    )


def _sysmon(event: WindowsEvent) -> SplunkEvent:
    fields = _extracted(event)
    _sysmon_cim(event.event_id, fields)
    return _stored(event, fields)


def _linux_sysmon(event: WindowsEvent) -> SplunkEvent:
    fields = _extracted(event)
    _process_cim(fields, "/")
    return _stored(event, fields, LINUX_SOURCE, LINUX_SOURCETYPE)


def _security_4688(event: WindowsEvent) -> SplunkEvent:
    fields = _extracted(event)
    _security_4688_cim(fields)
    return _stored(event, fields)


def _powershell_4104(event: WindowsEvent) -> SplunkEvent:
    return _stored(event, _extracted(event))


def _event_data_only(event: WindowsEvent) -> SplunkEvent:
    # A service channel: the extracted System and EventData fields, no CIM mapping.
    return _stored(event, _extracted(event))


def render_xml(event: WindowsEvent) -> str:
    """The raw `<Event>` text: Windows' XML rendering, as the forwarder sends it."""
    if event.channel == LINUX_SYSMON_CHANNEL:
        # Sysmon for Linux writes its own XML: double quotes, no namespace.
        quote, head = '"', "<Event>"
    else:
        quote, head = "'", f"<Event xmlns='{EVENT_NAMESPACE}'>"
    parts = [head, "<System>"]
    parts.append(f"<Provider Name={quote}{_attribute(event.provider, quote)}{quote}/>")
    parts.append(f"<EventID>{event.event_id}</EventID>")
    if event.time_created:
        time = _attribute(event.time_created, quote)
        parts.append(f"<TimeCreated SystemTime={quote}{time}{quote}/>")
    if event.record_id is not None:
        parts.append(f"<EventRecordID>{event.record_id}</EventRecordID>")
    parts.append(f"<Channel>{_text(event.channel)}</Channel>")
    parts.append(f"<Computer>{_text(event.computer)}</Computer>")
    parts.append("</System><EventData>")
    for name, value in event.data.items():
        parts.append(f"<Data Name={quote}{_attribute(name, quote)}{quote}>{_text(value)}</Data>")
    parts.append("</EventData></Event>")
    return "".join(parts)


def _text(value: str) -> str:
    # Most values need no escaping; the membership tests are far cheaper than translate().
    if "&" not in value and "<" not in value and ">" not in value:
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str, quote: str) -> str:
    escaped = _text(value)
    return escaped.replace(quote, "&apos;" if quote == "'" else "&quot;")


def _extracted(event: WindowsEvent) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    code = str(event.event_id)
    system = (
        ("EventCode", code),
        ("EventID", code),
        ("Channel", event.channel),
        ("Computer", event.computer),
        ("Name", event.provider),
        ("SystemTime", event.time_created),
        ("EventRecordID", str(event.record_id) if event.record_id is not None else None),
    )
    for name, value in system:
        if value:
            fields[name] = [_text(value)]
    clean = _CLEAN_KEYS
    for name, value in event.data.items():
        if value:  # an empty element: no field
            key = clean.get(name)
            if key is None:
                key = _clean_key(name)
            fields[key] = [_text(value)]
    return fields


# Extracted key names, cleaned (CLEAN_KEYS): a few dozen distinct names, millions of events
_CLEAN_KEYS: dict[str, str] = {}


def _clean_key(name: str) -> str:
    key = _UNCLEAN_KEY.sub("_", name)
    if len(_CLEAN_KEYS) < 4096:
        _CLEAN_KEYS[name] = key
    return key


def _value(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def _alias(fields: dict[str, list[str]], source: str, target: str) -> None:
    value = _value(fields, source)
    if value is not None:
        fields[target] = [value]


def _set(fields: dict[str, list[str]], name: str, value: str | None) -> None:
    if value:
        fields[name] = [value]


def _name_part(path: str | None, separator: str) -> str | None:
    return path.rsplit(separator, 1)[-1] if path else None


def _process_cim(fields: dict[str, list[str]], separator: str) -> None:
    # sysmon_eventid_1.yml / sysmon_for_linux_eventid_1.yml, Endpoint.Processes mapping.
    for source, target in (
        ("ProcessGuid", "process_guid"),
        ("ProcessId", "process_id"),
        ("Image", "process_path"),
        ("CommandLine", "process"),
        ("CurrentDirectory", "process_current_directory"),
        ("IntegrityLevel", "process_integrity_level"),
        ("ParentProcessGuid", "parent_process_guid"),
        ("ParentProcessId", "parent_process_id"),
        ("ParentImage", "parent_process_path"),
        ("ParentCommandLine", "parent_process"),
        ("Computer", "dest"),
    ):
        _alias(fields, source, target)
    for source, target in (("OriginalFileName", "original_file_name"), ("Hashes", "process_hash")):
        if _value(fields, source) not in (None, "-"):
            _alias(fields, source, target)
    image, parent = _value(fields, "Image"), _value(fields, "ParentImage")
    for name in ("process_name", "process_exec"):
        _set(fields, name, _name_part(image, separator))
    for name in ("parent_process_name", "parent_process_exec"):
        _set(fields, name, _name_part(parent, separator))
    user = _value(fields, "User")
    _set(fields, "user", user.rsplit("\\", 1)[-1] if separator == "\\" and user else user)
    fields["action"] = ["allowed"]


def _sysmon_cim(code: int, fields: dict[str, list[str]]) -> None:
    if code == 1:
        _process_cim(fields, "\\")
    else:
        # The acting process, as the image-load, file and registry pages list it.
        for source, target in (
            ("ProcessGuid", "process_guid"),
            ("ProcessId", "process_id"),
            ("Image", "process_path"),
            ("Computer", "dest"),
        ):
            _alias(fields, source, target)
        image = _value(fields, "Image")
        for name in ("process_name", "process_exec"):
            _set(fields, name, _name_part(image, "\\"))
        user = _value(fields, "User")
        _set(fields, "user", user.rsplit("\\", 1)[-1] if user else None)
    fields["vendor_product"] = ["Microsoft Sysmon"]
    fields["signature_id"] = list(fields["EventCode"])
    if code == 3:
        _network_cim(fields)
    elif code == 22:
        # sysmon_eventid_22.yml, DNS mapping: QueryName -> query, QueryResults -> answer,
        # Computer -> src (dest stays the Computer alias, as the page lists no dest).
        for source, target in (("QueryName", "query"), ("QueryResults", "answer")):
            _alias(fields, source, target)
        _alias(fields, "Computer", "src")
    elif code == 11:
        _file_cim(fields)
    elif code in (12, 13, 14):
        _registry_cim(code, fields)


def _file_cim(fields: dict[str, list[str]]) -> None:
    # sysmon_eventid_11.yml, Endpoint.Filesystem mapping.
    _alias(fields, "TargetFilename", "file_path")
    _set(fields, "file_name", _name_part(_value(fields, "TargetFilename"), "\\"))
    _alias(fields, "CreationUtcTime", "file_create_time")
    fields["object_category"] = ["file"]
    created = _value(fields, "UtcTime") == _value(fields, "CreationUtcTime")
    fields["action"] = ["created" if created else "modified"]


def _network_cim(fields: dict[str, list[str]]) -> None:
    # sysmon_eventid_3.yml lists the Network_Traffic fields without their mapping; only the
    # one-to-one renames are modelled (`dest`, `src`, `direction`, `app` are not).
    fields.pop("dest", None)  # the Computer alias above is the image-load and file pages' dest
    for source, target in (
        ("SourceIp", "src_ip"),
        ("SourcePort", "src_port"),
        ("DestinationIp", "dest_ip"),
        ("DestinationPort", "dest_port"),
        ("Protocol", "transport"),
    ):
        _alias(fields, source, target)


def _registry_cim(code: int, fields: dict[str, list[str]]) -> None:
    # sysmon_eventid_12.yml / _13.yml, Endpoint.Registry mapping.
    target = _value(fields, "TargetObject")
    fields["object_category"] = ["registry"]
    if code in (12, 13):
        fields["status"] = ["success"]
    event_type = _value(fields, "EventType")
    if code == 12:
        action = {"CreateKey": "created", "DeleteKey": "deleted", "DeleteValue": "deleted"}
        _set(fields, "action", action.get(event_type or ""))
    else:
        fields["action"] = ["modified"]
    if target is None:
        return
    fields["registry_path"] = [target]
    fields["object_path"] = [target if code != 14 else _value(fields, "NewName") or target]
    if code == 13:
        key, _, value = target.rpartition("\\")
        _set(fields, "registry_key_name", key)
        _set(fields, "registry_value_name", value)
        details = _value(fields, "Details")
        if details:
            # transforms.conf: "<type> (<data>)" splits into RegistryValueType/-Data.
            typed = _TYPED_DETAILS.fullmatch(details)
            if typed is not None:
                fields["RegistryValueType"] = [typed.group(1)]
                fields["RegistryValueData"] = [typed.group(2)]
                fields["registry_value_type"] = [typed.group(1)]
            _set(fields, "registry_value_data", _value(fields, "RegistryValueData") or details)
    else:
        fields["registry_key_name"] = [target]


def _security_4688_cim(fields: dict[str, list[str]]) -> None:
    # windows_event_log_security_4688.yml, Endpoint.Processes mapping.
    for source, target in (
        ("CommandLine", "Process_Command_Line"),
        ("CommandLine", "process"),
        ("NewProcessId", "process_id"),
        ("NewProcessName", "process_path"),
        ("ProcessId", "parent_process_id"),
        ("ParentProcessName", "parent_process_path"),
        ("Computer", "dest"),
    ):
        _alias(fields, source, target)
    image, parent = _value(fields, "NewProcessName"), _value(fields, "ParentProcessName")
    for name in ("process_name", "process_exec"):
        _set(fields, name, _name_part(image, "\\"))
    _set(fields, "parent_process_name", _name_part(parent, "\\"))


# (channel, event ID) -> the add-on's extraction, as a builder. PowerShell: the channel modelled
# is the source the Splunk pipeline sets for ps_script, XmlWinEventLog:Microsoft-Windows-
# PowerShell/Operational. Splunk's security_content `powershell` macro also reads
# XmlWinEventLog:PowerShellCore/Operational where a site collects it; that is not modelled, so a
# PowerShell 7 script block is not stored here (and the generated SPL would not search it).
BUILDERS: dict[tuple[str, int], Builder] = {
    **{(SYSMON_CHANNEL, event_id): _sysmon for event_id in _SYSMON_IDS},
    (LINUX_SYSMON_CHANNEL, 1): _linux_sysmon,
    (SECURITY_CHANNEL, 4688): _security_4688,
    (POWERSHELL_CHANNEL, 4104): _powershell_4104,
    **{(SECURITY_CHANNEL, event_id): _event_data_only for event_id in (4648, *range(4698, 4703))},
    **{(TASK_SCHEDULER_CHANNEL, event_id): _event_data_only for event_id in (141, 142)},
    **{(WINDOWS_DEFENDER_CHANNEL, event_id): _event_data_only for event_id in (1116, 1117, 1119)},
}


def stores(channel: str, event_id: int) -> bool:
    """Whether `to_splunk` can return an event for events of this channel and ID; when False it
    returns None for all of them (`certdetect scan` skips such events before parsing them)."""
    return (channel, event_id) in BUILDERS
