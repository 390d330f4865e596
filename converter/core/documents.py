"""The documents each SIEM stores for one event: what the query engines execute on.

The ingest models (`converter.execute.ingest`) build them from a raw event
(`converter.core.events`); the engines (`converter.execute.engines`) read them. ECS documents are
plain nested dicts, as Elasticsearch returns `_source`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EcsDocument = dict[str, Any]


class SplunkEvent:
    """A Splunk event at search time: extracted fields (multivalue) and the raw text.

    The raw text may be given as a function that renders it (`render`), called the first time a
    query reads `raw`: most queries read fields only, and rendering an event's XML is a good
    part of the Splunk model's time. Equal events have equal fields, raw text and defaults."""

    __slots__ = ("fields", "source", "sourcetype", "host", "index", "_raw", "_render")

    def __init__(
        self,
        fields: dict[str, list[str]],
        raw: str | None = None,
        # index-time defaults, also searchable as fields
        source: str = "",
        sourcetype: str = "",
        host: str = "",
        # Splunk stores events without an index setting in `main` (indexes.conf
        # `defaultDatabase`)
        index: str = "main",
        *,
        render: Callable[[], str] | None = None,
    ) -> None:
        if (raw is None) == (render is None):
            raise TypeError("a SplunkEvent takes its raw text or a function that renders it")
        self.fields = fields
        self.source = source
        self.sourcetype = sourcetype
        self.host = host
        self.index = index
        self._raw = raw
        self._render = render

    @property
    def raw(self) -> str:
        raw = self._raw
        if raw is None:
            raw = self._raw = self._render()  # type: ignore[misc]
            self._render = None
        return raw

    def replace(self, **changes: Any) -> SplunkEvent:
        """This event with some of its fields, raw text or defaults changed."""
        values = {name: getattr(self, name) for name in _SPLUNK_EVENT_PARTS if name != "raw"}
        values.update(changes)
        if "raw" in changes or self._raw is not None:
            values.setdefault("raw", self._raw)
            return SplunkEvent(**values)
        return SplunkEvent(**values, render=self._render)  # still not rendered

    def _parts(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _SPLUNK_EVENT_PARTS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not SplunkEvent:
            return NotImplemented
        return self._parts() == other._parts()

    __hash__ = None  # type: ignore[assignment]  # its fields are a dict

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in _SPLUNK_EVENT_PARTS)
        return f"SplunkEvent({parts})"


_SPLUNK_EVENT_PARTS = ("fields", "raw", "source", "sourcetype", "host", "index")


@dataclass(frozen=True)
class DefenderRow:
    """One row of a Defender XDR advanced-hunting table."""

    table: str
    columns: dict[str, Any] = field(default_factory=dict)


class DocumentGroup(tuple[Any, ...]):
    """The documents one raw event becomes when the SIEM stores it as several: an audit event's
    records are indexed one by one (SYSCALL, EXECVE, PROCTITLE...). A query matches the raw event
    when it matches any of them, as an alert on any record is an alert on the event."""
