"""Raw recorded events, as the logging system wrote them, in the three layouts a case can hold.

- Windows (and Sysmon for Linux): one event as the `evtx` package's `records_json` prints it,
  `{"Event": {"System": {...}, "EventData": {...}}}`, parsed into a `WindowsEvent`;
- Linux audit: the records of one audit event as `audit.log` holds them,
  `{"audit": ["type=SYSCALL msg=audit(...): ...", "type=EXECVE msg=audit(...): ...", ...]}`,
  parsed into an `AuditdEvent` (`converter.core.auditd`);
- Zeek: one row of a Zeek log as its JSON writer writes it, with the log's name,
  `{"zeek": "x509", "row": {"ts": ..., "certificate.subject": ...}}`, parsed into a `ZeekRecord`
  (`converter.core.zeek`).

Every ingest model (ECS, Splunk, Defender) and the Sigma reference start from these raw events,
so that no model depends on another model's field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from converter.core.auditd import AuditdEvent, parse_line
from converter.core.zeek import ZeekRecord


class EventFormatError(ValueError):
    """A record that is not a Windows event in the EVTX JSON layout."""


@dataclass(frozen=True)
class WindowsEvent:
    provider: str
    event_id: int
    channel: str
    computer: str
    time_created: str
    record_id: int | None
    # EventData (or the flattened UserData) as name -> value text, in recorded order.
    data: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.data.get(name)


def _attribute(node: Any, name: str) -> Any:
    if isinstance(node, Mapping):
        attributes = node.get("#attributes")
        if isinstance(attributes, Mapping):
            return attributes.get(name)
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping) and "#text" in value:
        return _text(value["#text"])
    if isinstance(value, list):
        return "\n".join(_text(item) for item in value)
    return str(value)


def _flatten_user_data(node: Any, out: dict[str, str], prefix: str = "") -> None:
    # UserData has one provider-specific element; its leaves become named values.
    if not isinstance(node, Mapping):
        if prefix:
            out[prefix] = _text(node)
        return
    for key, value in node.items():
        if key == "#attributes" and isinstance(value, Mapping):
            for attr, attr_value in value.items():
                if attr != "xmlns":
                    out[attr] = _text(attr_value)
        elif key == "#text":
            out[prefix or "text"] = _text(value)
        else:
            _flatten_user_data(value, out, key)


def parse_windows_event(record: Mapping[str, Any]) -> WindowsEvent:
    """Parse one record in the EVTX JSON layout into a `WindowsEvent`."""
    event = record.get("Event") if isinstance(record, Mapping) else None
    if not isinstance(event, Mapping):
        raise EventFormatError('expected an object with an "Event" key (EVTX JSON layout)')
    system = event.get("System")
    if not isinstance(system, Mapping):
        raise EventFormatError('"Event" has no "System" object')
    raw_id = system.get("EventID")
    if isinstance(raw_id, Mapping):
        raw_id = raw_id.get("#text")
    try:
        event_id = int(str(raw_id))
    except ValueError:
        raise EventFormatError(f"System.EventID is not a number: {raw_id!r}") from None
    provider = system.get("Provider")
    provider_name = _attribute(provider, "Name") or (provider if isinstance(provider, str) else "")
    time_created = _attribute(system.get("TimeCreated"), "SystemTime") or ""
    record_id = system.get("EventRecordID")
    data: dict[str, str] = {}
    event_data = event.get("EventData")
    if isinstance(event_data, Mapping):
        for name, value in event_data.items():
            if name == "#attributes":
                continue
            data[name] = _text(value)
    elif event.get("UserData") is not None:
        _flatten_user_data(event["UserData"], data)
    return WindowsEvent(
        provider=str(provider_name),
        event_id=event_id,
        channel=_text(system.get("Channel")),
        computer=_text(system.get("Computer")),
        time_created=str(time_created),
        record_id=int(record_id) if isinstance(record_id, int) else None,
        data=data,
    )


RawEvent: TypeAlias = "WindowsEvent | AuditdEvent | ZeekRecord"


def parse_audit_event(lines: Any) -> AuditdEvent:
    """The records of one audit event, given as its `audit.log` lines (one stamp for all)."""
    if not isinstance(lines, list) or not lines or not all(isinstance(x, str) for x in lines):
        raise EventFormatError('"audit" must be a non-empty list of audit.log lines')
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(parse_line(line))
        except ValueError as error:
            raise EventFormatError(f'"audit" line {number}: {error}') from None
    stamps = {(node, serial) for _, serial, node, _ in parsed}
    if len(stamps) != 1:
        raise EventFormatError('"audit" lines must share one msg=audit(time:serial) stamp')
    timestamp, serial, node, _ = parsed[0]
    records = tuple(record for *_, record in parsed if record.type != "EOE")
    return AuditdEvent(timestamp, serial, node, records)


def parse_zeek_row(log: Any, row: Any) -> ZeekRecord:
    """One Zeek JSON-writer row of the named log (`x509`, `ssl`, ...)."""
    if not isinstance(log, str) or not log.isidentifier():
        raise EventFormatError('"zeek" must name the log, e.g. "x509" or "ssl"')
    if not isinstance(row, Mapping) or not row:
        raise EventFormatError('"row" must be the Zeek log row as a JSON object')
    for name, value in row.items():
        if not _zeek_value(value):
            raise EventFormatError(f'"row"."{name}" is not a Zeek JSON value')
    return ZeekRecord(log, dict(row))


def _zeek_value(value: Any) -> bool:
    # Zeek's JSON writer writes strings, numbers, booleans and lists of them (sets, vectors).
    if isinstance(value, list):
        return all(_zeek_value(item) and not isinstance(item, list) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))


def parse_raw_event(record: Any) -> RawEvent:
    """Parse a case's `event` in any of the three layouts (see the module docstring)."""
    if isinstance(record, Mapping):
        if "audit" in record and set(record) == {"audit"}:
            return parse_audit_event(record["audit"])
        if "zeek" in record and set(record) == {"zeek", "row"}:
            return parse_zeek_row(record["zeek"], record["row"])
        if "zeek" in record or "audit" in record:
            raise EventFormatError(
                'an audit event is {"audit": [lines]}; a Zeek row is {"zeek": log, "row": {...}}'
            )
    return parse_windows_event(record)
