"""Flat Windows event JSON: one object per event with the System values and the EventData
values side by side at the top level, as NXLog's `im_msvistalog` writes them (the layout of the
OTRF Security-Datasets and Splunk attack_data `attack_data.txt` files), and Winlogbeat's raw
6.x layout (`event_id`, `log_name`, ... with an `event_data` object).

The layout does not say which top-level keys are EventData. These are not (NXLog's own fields,
the Logstash fields the OTRF data sets add, Winlogbeat 6.x's fields); every other key is:

- NXLog: EventTime, EventReceivedTime, Hostname, SourceName, ProviderGuid, EventID, Channel,
  Version, Task, Opcode, OpcodeValue, Keywords, Severity, SeverityValue, EventType,
  RecordNumber, ProcessID, ThreadID, ActivityID, RelatedActivityID, Category, Domain,
  AccountName, UserID, AccountType, Message, SourceModuleName, SourceModuleType,
  ERROR_EVT_UNRESOLVED;
- Logstash / OTRF: keys starting with "@" or "_", host, port, tags, ExecutionProcessID,
  EventTypeOrignal (OTRF keeps NXLog's EventType under this name);
- other flat exporters' names for the provider and the computer: ProviderName, Computer;
- Winlogbeat 6.x: beat, computer_name, event_id, keywords, level, log_name, message, opcode,
  process_id, provider_guid, record_number, source_name, task, thread_id, type, user,
  version, event_data and user_data (whose members are EventData), activity_id.

Collisions, as NXLog resolves them (its field names are case-insensitive, and its own field
wins): `ProcessID` (an integer) is the logging process, `ProcessId` (text) is EventData - only
one of the two survives in NXLog output, and it is NXLog's. `EventType` is NXLog's severity
word (INFO, AUDIT_SUCCESS, ...) unless its value is something else, which happens when a
pipeline restored Sysmon's own EventType (CreateKey, SetValue, ...), as OTRF's does; in plain
NXLog output the Sysmon EventType of registry events is lost.

The event's time is EventTime as NXLog wrote it (the collector's local time, no zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.core.events import WindowsEvent
from converter.formats.base import FILTERED, Filtered, KeyFilter, RecordError, text_value

NXLOG_FIELDS = frozenset(
    {
        "EventTime", "EventReceivedTime", "Hostname", "SourceName", "ProviderGuid", "EventID",
        "Channel", "Version", "Task", "Opcode", "OpcodeValue", "Keywords", "Severity",
        "SeverityValue", "EventType", "RecordNumber", "ProcessID", "ThreadID", "ActivityID",
        "RelatedActivityID", "Category", "Domain", "AccountName", "UserID", "AccountType",
        "Message", "SourceModuleName", "SourceModuleType", "ERROR_EVT_UNRESOLVED",
    }
)  # fmt: skip
LOGSTASH_FIELDS = frozenset({"host", "port", "tags", "ExecutionProcessID", "EventTypeOrignal"})
OTHER_HEADER_FIELDS = frozenset({"ProviderName", "Computer"})
WINLOGBEAT_FIELDS = frozenset(
    {
        "beat", "computer_name", "event_id", "keywords", "level", "log_name", "message",
        "opcode", "process_id", "provider_guid", "record_number", "source_name", "task",
        "thread_id", "type", "user", "version", "event_data", "user_data", "activity_id",
    }
)  # fmt: skip
NOT_EVENT_DATA = NXLOG_FIELDS | LOGSTASH_FIELDS | OTHER_HEADER_FIELDS | WINLOGBEAT_FIELDS
# NXLog's EventType values (its severity word); any other EventType value is EventData.
NXLOG_EVENT_TYPES = frozenset(
    {"INFO", "AUDIT_SUCCESS", "AUDIT_FAILURE", "WARNING", "ERROR", "CRITICAL", "VERBOSE", "DEBUG"}
)


def is_flat(record: Mapping[str, Any]) -> bool:
    return "EventID" in record or ("event_id" in record and "log_name" in record)


def _first(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = record.get(name)
        if value is not None:
            return value
    return None


def convert(record: Mapping[str, Any], wanted: KeyFilter | None = None) -> WindowsEvent | Filtered:
    raw_id = record.get("EventID")
    if raw_id is None:
        raw_id = record.get("event_id")
    if type(raw_id) is int:
        event_id = raw_id
    else:
        try:
            event_id = int(str(raw_id))
        except ValueError:
            raise RecordError(f"EventID is not a number: {raw_id!r}") from None
    channel = record.get("Channel")
    if type(channel) is not str:
        channel = text_value(channel if channel is not None else record.get("log_name"))
    if wanted is not None:
        use = wanted(channel, event_id)
        if not use:
            return FILTERED
        # of use only with one of these EventData names: none is a key here (nor a nested
        # EventData object that could hold one), so it is skipped unparsed
        if (
            type(use) is frozenset
            and use.isdisjoint(record)
            and "event_data" not in record
            and "user_data" not in record
        ):
            return FILTERED
    data: dict[str, str] = {}
    for name, value in record.items():
        if name in NOT_EVENT_DATA or name[:1] in ("@", "_"):
            if name == "EventType" and value not in NXLOG_EVENT_TYPES:
                data[name] = text_value(value)
            elif name in ("event_data", "user_data") and isinstance(value, Mapping):
                for inner, inner_value in value.items():
                    data[inner] = text_value(inner_value)
            continue
        data[name] = text_value(value)
    record_id = _first(record, "RecordNumber", "record_number")
    try:
        record_number = int(record_id) if record_id is not None else None
    except (TypeError, ValueError):
        record_number = None
    return WindowsEvent(
        provider=text_value(_first(record, "SourceName", "ProviderName", "source_name")),
        event_id=event_id,
        channel=channel,
        computer=text_value(_first(record, "Hostname", "Computer", "computer_name")),
        time_created=text_value(_first(record, "EventTime", "@timestamp")),
        record_id=record_number,
        data=data,
    )
