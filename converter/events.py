"""Raw recorded events: the Windows event layout that EVTX parsers produce.

A recorded case holds one event as the `evtx` package's `records_json` prints it:
`{"Event": {"System": {...}, "EventData": {...}}}`. Every ingest model (ECS, Splunk,
Defender) and the Sigma reference start from the `WindowsEvent` parsed here, so that no
model depends on another model's field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
