"""Linux audit logs as auditd writes them (`/var/log/audit/audit.log`): one record per line,
`type=EXECVE msg=audit(1700000000.123:4242): argc=3 a0="openssl" a1=72657120 ...`; the line
syntax and the event types are in `converter.core.auditd`.

The records of one event share the `msg=audit(<time>:<serial>)` stamp; they are grouped into one
`AuditdEvent` (SYSCALL, EXECVE, CWD, PATH, PROCTITLE, ...), which ends at its EOE record, at the
end of the file, or when more than 64 events are open (the oldest is closed: auditd writes an
event's records together), so that memory stays flat whatever the log's size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from converter.core.auditd import AuditdEvent, AuditdRecord, is_audit_line, parse_line
from converter.formats.base import BadRecord, Item, Records

OPEN_EVENTS = 64


def sniff(lines: list[str]) -> bool:
    first = next((line for line in lines if line.strip()), "")
    return is_audit_line(first)


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
