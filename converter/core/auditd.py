"""Linux audit records as auditd writes them (`/var/log/audit/audit.log`), one per line:
`type=EXECVE msg=audit(1700000000.123:4242): argc=3 a0="openssl" a1=72657120 ...`.

The records of one event share the `msg=audit(<time>:<serial>)` stamp and make one `AuditdEvent`
(SYSCALL, EXECVE, CWD, PATH, PROCTITLE, ...). Here are the event types and the syntax of one line,
which a case's `{"audit": [lines]}` event (`converter.core.events`) and the auditd log reader
(`converter.formats.auditd`) share.

EXECVE arguments are quoted text, or hex when they hold a space, a quote or a control character
(the kernel's `audit_log_untrustedstring`); long ones come in pieces (`a1_len=`, `a1[0]=`,
`a1[1]=`...). They are decoded and joined with spaces into `command_line`; PROCTITLE is hex with
NUL separators and becomes `proctitle`. The "enriched" log format appends interpreted fields
after a 0x1d character; they are kept with their upper-case names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_STAMP = re.compile(r"msg=audit\((\d+(?:\.\d+)?):(\d+)\):\s?")
_FIELD = re.compile(r"""([A-Za-z_][\w\[\]-]*)=("[^"]*"|'[^']*'|\S*)""")
_TYPE = re.compile(r"(?:node=(\S+) )?type=(\w+) ")
_ARG = re.compile(r"a(\d+)(?:\[(\d+)\])?")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def is_audit_line(text: str) -> bool:
    """Whether `text` starts like an audit record (`type=... msg=audit(time:serial): ...`)."""
    return _TYPE.match(text) is not None and _STAMP.search(text) is not None


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
