"""The documents each SIEM stores for one event: what the query engines execute on.

The ingest models (`converter.execute.ingest`) build them from a raw event
(`converter.core.events`); the engines (`converter.execute.engines`) read them. ECS documents are
plain nested dicts, as Elasticsearch returns `_source`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EcsDocument = dict[str, Any]


@dataclass(frozen=True)
class SplunkEvent:
    """A Splunk event at search time: extracted fields (multivalue) and the raw text."""

    fields: dict[str, list[str]]
    raw: str
    # index-time defaults, also searchable as fields
    source: str = ""
    sourcetype: str = ""
    host: str = ""
    # Splunk stores events without an index setting in `main` (indexes.conf `defaultDatabase`)
    index: str = "main"


@dataclass(frozen=True)
class DefenderRow:
    """One row of a Defender XDR advanced-hunting table."""

    table: str
    columns: dict[str, Any] = field(default_factory=dict)


class DocumentGroup(tuple[Any, ...]):
    """The documents one raw event becomes when the SIEM stores it as several: an audit event's
    records are indexed one by one (SYSCALL, EXECVE, PROCTITLE...). A query matches the raw event
    when it matches any of them, as an alert on any record is an alert on the event."""
