"""Linux audit logs as auditd writes them (`/var/log/audit/audit.log`): one record per line,
`type=EXECVE msg=audit(1700000000.123:4242): argc=3 a0="openssl" a1=72657120 ...`.

The records of one event share the `msg=audit(<time>:<serial>)` stamp; they are grouped into one
`AuditdEvent` (SYSCALL, EXECVE, CWD, PATH, PROCTITLE, ...), which ends at its EOE record, at the
end of the file, or when more than 64 events are open (the oldest is closed: auditd writes an
event's records together), so that memory stays flat whatever the log's size.

EXECVE arguments are quoted text, or hex when they hold a space, a quote or a control character
(the kernel's `audit_log_untrustedstring`); long ones come in pieces (`a1_len=`, `a1[0]=`,
`a1[1]=`...). They are decoded and joined with spaces into `command_line`; PROCTITLE is hex with
NUL separators and becomes `proctitle`. The "enriched" log format appends interpreted fields
after a 0x1d character; they are kept with their upper-case names.

No rule reads auditd events yet: they are read, checked and counted, and a later evaluator
(a Sigma reference for Linux auditd log sources) can take `AuditdEvent`s as they are.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from converter.formats.base import BadRecord, Item, Records

_STAMP = re.compile(r"msg=audit\((\d+(?:\.\d+)?):(\d+)\):\s?")
_FIELD = re.compile(r"""([A-Za-z_][\w\[\]-]*)=("[^"]*"|'[^']*'|\S*)""")
_TYPE = re.compile(r"(?:node=(\S+) )?type=(\w+) ")
_ARG = re.compile(r"a(\d+)(?:\[(\d+)\])?")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
OPEN_EVENTS = 64


def sniff(lines: list[str]) -> bool:
    first = next((line for line in lines if line.strip()), "")
    return _TYPE.match(first) is not None and _STAMP.search(first) is not None


@dataclass(frozen=True)
class AuditdRecord:
    type: str
    fields: Mapping[str, str] = field(default_factory=dict)  # values as logged (unquoted)
    quoted: frozenset[str] = frozenset()  # fields whose value was quoted text, not hex


@dataclass(frozen=True)
class AuditdEvent:
    timestamp: float  # seconds since the epoch
    serial: int
    node: str | None
    records: tuple[AuditdRecord, ...]

    def record(self, record_type: str) -> AuditdRecord | None:
        return next((r for r in self.records if r.type == record_type), None)

    @property
    def syscall(self) -> Mapping[str, str]:
        found = self.record("SYSCALL")
        return found.fields if found is not None else {}

    @property
    def argv(self) -> tuple[str, ...]:
        found = self.record("EXECVE")
        return execve_arguments(found) if found is not None else ()

    @property
    def command_line(self) -> str | None:
        return " ".join(self.argv) if self.record("EXECVE") is not None else None

    @property
    def proctitle(self) -> str | None:
        found = self.record("PROCTITLE")
        if found is None or "proctitle" not in found.fields:
            return None
        return decode_value(found, "proctitle").replace("\0", " ")

    @property
    def cwd(self) -> str | None:
        found = self.record("CWD")
        return decode_value(found, "cwd") if found is not None and "cwd" in found.fields else None


def decode_value(record: AuditdRecord, name: str) -> str:
    """A field's text: quoted text as it is, hex decoded (undecodable bytes escaped)."""
    value = record.fields[name]
    if name in record.quoted or not _HEX.fullmatch(value):
        return value
    return bytes.fromhex(value).decode("utf-8", "backslashreplace")


def execve_arguments(record: AuditdRecord) -> tuple[str, ...]:
    pieces: dict[int, dict[int, str]] = {}
    for name in record.fields:
        match = _ARG.fullmatch(name)
        if match is not None:
            index, piece = int(match.group(1)), int(match.group(2) or 0)
            pieces.setdefault(index, {})[piece] = decode_value(record, name)
    if not pieces:
        return ()
    return tuple("".join(parts[i] for i in sorted(parts)) for _, parts in sorted(pieces.items()))


def parse_line(text: str) -> tuple[float, int, str | None, AuditdRecord]:
    """(time, serial, node, record) of one log line; ValueError if it is not one."""
    head = _TYPE.match(text)
    stamp = _STAMP.search(text)
    if head is None or stamp is None:
        raise ValueError("not an audit record (expected type=... msg=audit(time:serial): ...)")
    body = text[stamp.end() :].replace("\x1d", " ")
    values: dict[str, str] = {}
    quoted: set[str] = set()
    for name, value in _FIELD.findall(body):
        if value[:1] in ('"', "'") and len(value) >= 2:
            value = value[1:-1]
            quoted.add(name)
        values[name] = value
    record = AuditdRecord(head.group(2), values, frozenset(quoted))
    return float(stamp.group(1)), int(stamp.group(2)), head.group(1), record


def read(lines: Iterable[tuple[int, str]], name: str) -> Records:
    # serial -> (first line, time, node, records); an OrderedDict evicts the oldest first.
    open_events: OrderedDict[tuple[str | None, int], tuple[int, float, list[AuditdRecord]]]
    open_events = OrderedDict()

    def close(key: tuple[str | None, int]) -> Item:
        line, timestamp, records = open_events.pop(key)
        event = AuditdEvent(timestamp, key[1], key[0], tuple(records))
        return Item(f"{name}:{line}", event)

    for number, text in lines:
        if not text.strip():
            continue
        try:
            timestamp, serial, node, record = parse_line(text)
        except ValueError as error:
            yield BadRecord(f"{name}:{number}", str(error))
            continue
        key = (node, serial)
        if key not in open_events:
            open_events[key] = (number, timestamp, [])
            if len(open_events) > OPEN_EVENTS:
                yield close(next(iter(open_events)))
        if record.type == "EOE":
            yield close(key)
        else:
            open_events[key][2].append(record)
    while open_events:
        yield close(next(iter(open_events)))
