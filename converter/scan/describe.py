"""What a person reads about a matching event: its time, its host and its key fields (image and
command line, target file, registry path, script block excerpt, certificate subject), from
whatever the input held. The field names are each source's own: Sysmon and Security EventData
(Microsoft's event schemas), auditd records, Zeek's x509.log, ECS and Defender XDR tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from converter.core.auditd import AuditdEvent
from converter.core.documents import DefenderRow
from converter.core.events import WindowsEvent
from converter.core.zeek import ZeekRecord
from converter.formats.ecs import EcsRecord

EXCERPT = 120  # characters of a long value (a script block) shown

# (label, the names it has in each source), in the order shown
WINDOWS_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("image", ("Image", "NewProcessName")),
    ("command", ("CommandLine",)),
    ("file", ("TargetFilename",)),
    ("registry", ("TargetObject",)),
    ("details", ("Details",)),
    ("script", ("ScriptBlockText",)),
    ("subject", ("Subject", "SubjectName")),
)
AUDITD_FIELDS = (("exe", ("exe",)), ("command", ("proctitle",)), ("file", ("name",)))
ZEEK_FIELDS = (
    ("subject", ("certificate.subject",)),
    ("issuer", ("certificate.issuer",)),
    ("server", ("server_name", "id.resp_h")),
)
ECS_FIELDS = (
    ("image", ("process.executable",)),
    ("command", ("process.command_line",)),
    ("file", ("file.path",)),
    ("registry", ("registry.path",)),
    ("script", ("powershell.file.script_block_text",)),
    ("subject", ("x509.subject.distinguished_name", "tls.server.x509.subject.distinguished_name")),
)
DEFENDER_FIELDS = (
    ("image", ("FolderPath",)),
    ("command", ("ProcessCommandLine",)),
    ("registry", ("RegistryKey",)),
    ("value", ("RegistryValueName",)),
)


@dataclass(frozen=True)
class EventFacts:
    time: str
    host: str
    fields: tuple[tuple[str, str], ...]  # (label, value), the value shortened to EXCERPT

    def text(self) -> str:
        return "  ".join(f"{label}={value}" for label, value in self.fields)


def excerpt(value: str) -> str:
    flat = " ".join(value.split())  # a script block's lines on one line
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 3] + "..."


def _pick(
    values: Mapping[str, Any], wanted: Sequence[tuple[str, tuple[str, ...]]]
) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for label, names in wanted:
        value = next((values[name] for name in names if values.get(name) not in (None, "")), None)
        if value is not None:
            found.append((label, excerpt(str(value))))
    return tuple(found)


def _dotted(document: Mapping[str, Any], path: str) -> Any:
    """An ECS field, written flat ("process.executable") or nested."""
    if path in document:
        return document[path]
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(seconds: Any) -> str:
    try:
        return _iso(datetime.fromtimestamp(float(seconds), timezone.utc))
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def facts(payload: Any) -> EventFacts:
    """The time, host and key fields of an item's payload ("" where the input has none)."""
    kind = type(payload)
    if kind is WindowsEvent:
        return EventFacts(
            payload.time_created, payload.computer, _pick(payload.data, WINDOWS_FIELDS)
        )
    if kind is AuditdEvent:
        values: dict[str, str] = {}
        for record in payload.records:
            for name, value in record.fields.items():
                values.setdefault(name, value)
        values["proctitle"] = (
            payload.command_line or payload.proctitle or ""
        )  # logged as hex when it has spaces
        return EventFacts(
            _epoch(payload.timestamp), payload.node or "", _pick(values, AUDITD_FIELDS)
        )
    if kind is ZeekRecord:
        fields = payload.fields
        return EventFacts(_epoch(fields.get("ts")), "", _pick(fields, ZEEK_FIELDS))
    if kind is EcsRecord:
        document = payload.document
        flat = {name: _dotted(document, name) for _, names in ECS_FIELDS for name in names}
        return EventFacts(
            str(_dotted(document, "@timestamp") or ""),
            str(_dotted(document, "host.name") or ""),
            _pick(flat, ECS_FIELDS),
        )
    if kind is DefenderRow:
        columns = payload.columns
        stamp = columns.get("Timestamp")
        return EventFacts(
            _iso(stamp) if isinstance(stamp, datetime) else str(stamp or ""),
            str(columns.get("DeviceName") or ""),
            _pick(columns, DEFENDER_FIELDS),
        )
    return EventFacts("", "", ())
