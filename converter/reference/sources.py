"""Log source selection: which raw events a rule reads, and how it names their fields.

The log sources and the events that carry them are `converter.core.logsources`; this module gives
each carrier its reading: a Windows event is one unit with EventData and System fields, an audit
event is read one record at a time, a Zeek row by its JSON column names. Where the Sigma taxonomy
names a field differently from the raw event, `TAXONOMY_FIELDS` maps it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigma.rule import SigmaRule

from converter.core import logsources
from converter.core.auditd import AuditdEvent, AuditdRecord
from converter.core.events import RawEvent, WindowsEvent
from converter.core.logsources import (
    SECURITY_CHANNEL,
    WINDOWS_DEFENDER_CHANNEL,
    AuditdRecords,
    Carrier,
    WindowsEvents,
)
from converter.core.zeek import ZeekRecord

from .errors import UnsupportedRuleError

Getter = Callable[[Any], "str | list[str] | None"]

# System header fields, named Tag_Attribute as the specification's "Field Usage" 3.i says.
_SYSTEM_FIELDS: dict[str, Getter] = {
    "EventID": lambda event: str(event.event_id),
    "Channel": lambda event: event.channel,
    "Provider_Name": lambda event: event.provider,
    "Computer": lambda event: event.computer,
}


def _absent(event: WindowsEvent) -> None:
    return None


def _spaceless_get(data: Mapping[str, str], name: str) -> str | None:
    if name in data:
        return data[name]
    return next((v for k, v in data.items() if k.replace(" ", "") == name), None)


@dataclass(frozen=True)
class EventSource:
    """The raw events of one provider that carry a Sigma log source, and their Sigma field names."""

    name: str
    channels: frozenset[str]
    event_ids: frozenset[int]
    # Sigma name -> EventData name; names not listed are EventData names already.
    field_map: Mapping[str, str] = field(default_factory=dict)
    # EventData names a rule of this log source cannot address under their raw name.
    hidden: frozenset[str] = frozenset()
    # EventData name -> accepted values, for log sources narrower than an event ID.
    required: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # A Sigma service reads every event ID of its channels (`WindowsEvents.whole_channel`).
    whole_channel: bool = False
    # Sigma names are the EventData names without their spaces (`ThreatName` for "Threat Name").
    spaceless: bool = False
    # One Windows event is one unit: the predicate reads the event itself.
    grouped = False

    def reads(self, channel: str, event_id: int) -> bool:
        """Whether events of this channel and ID belong to the source (before `required`)."""
        return channel in self.channels and (self.whole_channel or event_id in self.event_ids)

    def accepts(self, event: RawEvent) -> bool:
        if type(event) is not WindowsEvent:
            return False
        if not self.reads(event.channel, event.event_id):
            return False
        if not self.required:
            return True
        return all(event.data.get(name) in allowed for name, allowed in self.required.items())

    def getter(self, name: str) -> Getter:
        system = _SYSTEM_FIELDS.get(name)
        if system is not None:
            return system
        if name in self.field_map:
            raw_name = self.field_map[name]
        elif name in self.hidden:
            return _absent
        else:
            raw_name = name
        if self.spaceless:
            return lambda event: _spaceless_get(event.data, raw_name)
        return lambda event: event.data.get(raw_name)

    def units(self, event: RawEvent) -> tuple[Any, ...]:
        return (event,)

    def values(self, event: WindowsEvent) -> list[str]:
        # Keywords search "across an entire event": every EventData value and the System fields,
        # under raw names (a keyword has no field, so the Sigma field mapping plays no part).
        return [
            *event.data.values(),
            str(event.event_id),
            event.channel,
            event.provider,
            event.computer,
        ]


@dataclass(frozen=True)
class AuditRecordSource:
    """Linux audit records (`type=EXECVE msg=audit(...): argc=3 a0="openssl" ...`); Sigma field
    names are the record's own keys, and `type` is the record type (SigmaHQ's auditd rules)."""

    name: str = "auditd"
    channels: frozenset[str] = frozenset()
    event_ids: frozenset[int] = frozenset()
    grouped = True

    def reads(self, channel: str, event_id: int) -> bool:
        return False  # no Windows channel

    def accepts(self, event: RawEvent) -> bool:
        return type(event) is AuditdEvent

    def units(self, event: AuditdEvent) -> tuple[AuditdRecord, ...]:
        return event.records

    def getter(self, name: str) -> Getter:
        if name == "type":
            return lambda record: record.type
        return lambda record: record.fields.get(name)

    def values(self, record: AuditdRecord) -> list[str]:
        return [record.type, *record.fields.values()]


def _zeek_text(value: Any) -> str | list[str] | None:
    if value is None or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [text for item in value if isinstance(text := _zeek_text(item), str)]
    return str(value)


@dataclass(frozen=True)
class ZeekLogSource:
    """Rows of one Zeek log; Sigma field names are Zeek's column names (`certificate.subject`)."""

    log: str
    channels: frozenset[str] = frozenset()
    event_ids: frozenset[int] = frozenset()
    grouped = False

    @property
    def name(self) -> str:
        return f"Zeek {self.log}.log"

    def reads(self, channel: str, event_id: int) -> bool:
        return False  # no Windows channel

    def accepts(self, event: RawEvent) -> bool:
        return type(event) is ZeekRecord and event.log == self.log

    def units(self, event: ZeekRecord) -> tuple[ZeekRecord, ...]:
        return (event,)

    def getter(self, name: str) -> Getter:
        return lambda record: _zeek_text(record.fields.get(name))

    def values(self, record: ZeekRecord) -> list[str]:
        out: list[str] = []
        for value in record.fields.values():
            text = _zeek_text(value)
            if isinstance(text, list):
                out.extend(text)
            elif text is not None:
                out.append(text)
        return out


Source = EventSource | AuditRecordSource | ZeekLogSource


# Security 4688 under the Sigma process_creation taxonomy (Sysmon names). Image and ParentImage
# follow the specification's own field-mapping example ("Field Usage": Image: NewProcessName,
# ParentImage: ParentProcessName, LogonId: SubjectLogonId) and pySigma's windows-audit pipeline;
# User <- SubjectUserName follows pySigma's azure_monitor SecurityEvent mapping. The values differ
# in form from Sysmon's (SubjectUserName has no domain; it and SubjectLogonId describe the
# creator, not the new process). Raw names that feed a mapping are reachable only through it, and
# 4688's ProcessId (the creator's PID, in hex) is hidden: under that name the taxonomy means the
# new process. NewProcessId is not mapped to ProcessId for the same hex/decimal reason.
_SECURITY_4688_FIELDS = {
    "Image": "NewProcessName",
    "ParentImage": "ParentProcessName",
    "CommandLine": "CommandLine",
    "User": "SubjectUserName",
    "LogonId": "SubjectLogonId",
}
# (channel, event ID) -> (Sigma name -> EventData name, EventData names hidden from rules), for
# events whose raw names are not the taxonomy's.
TAXONOMY_FIELDS: dict[tuple[str, int], tuple[Mapping[str, str], frozenset[str]]] = {
    (SECURITY_CHANNEL, 4688): (
        _SECURITY_4688_FIELDS,
        frozenset(_SECURITY_4688_FIELDS.values()) | {"ProcessId"},
    ),
}


# Channels whose EventData names hold spaces ("Threat Name", "Process Name") that SigmaHQ's rules
# write without them (`ThreatName`, `ProcessName`, `SourceName`), as its windefend regression
# test expects of the recorded Defender Antivirus 1119 event.
SPACELESS_CHANNELS = frozenset({WINDOWS_DEFENDER_CHANNEL})


def _event_source(events: WindowsEvents) -> EventSource:
    field_map: dict[str, str] = {}
    hidden: frozenset[str] = frozenset()
    # A service rule names raw EventData fields; the taxonomy's names are for categories.
    for key in () if events.whole_channel else events.keys:
        names, hidden_names = TAXONOMY_FIELDS.get(key, ({}, frozenset()))
        field_map.update(names)
        hidden |= hidden_names
    return EventSource(
        events.name,
        events.channels,
        events.event_ids,
        field_map,
        hidden,
        events.required,
        events.whole_channel,
        bool(events.channels & SPACELESS_CHANNELS),
    )


def source_of(carrier: Carrier) -> Source:
    """The reference's reading of the raw events that carry a log source."""
    if isinstance(carrier, WindowsEvents):
        return _event_source(carrier)
    if isinstance(carrier, AuditdRecords):
        return AuditRecordSource(carrier.name)
    return ZeekLogSource(carrier.log)


def sources_of(
    product: str | None, category: str | None, service: str | None
) -> tuple[Source, ...] | None:
    """The raw event sources of a log source (a category or a service, not both); None if none."""
    log_source = logsources.find_log_source(product, category, service)
    if log_source is None:
        return None
    return tuple(source_of(carrier) for carrier in log_source.carriers)


def event_sources(rule: SigmaRule) -> tuple[Source, ...]:
    """The raw event sources of the rule's log source; UnsupportedRuleError if there are none."""
    logsource = rule.logsource
    sources = sources_of(logsource.product, logsource.category, logsource.service)
    if sources is None:
        described = ", ".join(f"{k}: {v}" for k, v in logsource.to_dict().items())
        raise UnsupportedRuleError(f"no reference event source for log source {{{described}}}")
    return sources
