from __future__ import annotations

from converter.core.auditd import AuditdEvent, AuditdRecord, parse_line
from converter.formats import auditd
from converter.formats.base import BadRecord, Item
from converter.formats.readers import read_items

from .conftest import FILES

LOG = FILES / "formats/audit.log"


def test_records_of_one_event_are_grouped_and_decoded() -> None:
    records = list(read_items(LOG))
    first = records[0]
    assert isinstance(first, Item) and first.source == f"{LOG}:1"
    event = first.payload
    assert isinstance(event, AuditdEvent)
    assert (event.timestamp, event.serial, event.node) == (1763712131.53, 24117, None)
    assert [r.type for r in event.records] == ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"]
    assert event.argv == (
        "openssl", "req", "-x509", "-new", "-key", "rootCA.key", "-subj",
        "/C=US/O=Dis /CN=www.example.com", "-out", "rootCA.crt",
    )  # fmt: skip
    assert event.command_line == (
        "openssl req -x509 -new -key rootCA.key -subj /C=US/O=Dis /CN=www.example.com "
        "-out rootCA.crt"
    )
    assert event.proctitle == "openssl req -x509"
    assert event.cwd == "/root"
    assert (event.syscall["syscall"], event.syscall["exe"], event.syscall["key"]) == (
        "59",
        "/usr/bin/openssl",
        "certgen",
    )


def test_events_without_execve_bad_lines_and_split_arguments() -> None:
    records = list(read_items(LOG))
    assert records[1] == BadRecord(
        f"{LOG}:8", "not an audit record (expected type=... msg=audit(time:serial): ...)"
    )
    user_cmd = records[2].payload  # type: ignore[union-attr]
    assert (user_cmd.command_line, user_cmd.proctitle, user_cmd.cwd) == (None, None, None)
    # the nested msg='...' of a user-space record is one value
    assert user_cmd.records[0].fields["msg"].startswith('cwd="/home/alice" cmd=6F70')
    split = records[3].payload  # type: ignore[union-attr]
    assert (records[3].source, split.argv) == (f"{LOG}:9", ("openssl", "genrsa"))


def test_node_prefix_and_enriched_fields() -> None:
    line = 'node=web-01 type=EXECVE msg=audit(1.5:7): argc=1 a0="id"\x1dARCH=x86_64 SYSCALL=execve'
    assert parse_line(line) == (
        1.5,
        7,
        "web-01",
        AuditdRecord(
            "EXECVE",
            {"argc": "1", "a0": "id", "ARCH": "x86_64", "SYSCALL": "execve"},
            frozenset({"a0"}),
        ),
    )


def test_open_events_are_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(auditd, "OPEN_EVENTS", 2)
    lines = [f'type=EXECVE msg=audit(1.0:{serial}): argc=1 a0="x{serial}"' for serial in range(5)]
    events = list(auditd.read(enumerate(lines, start=1), "a"))
    # the oldest is closed when a third is opened, so at most three are held
    assert [e.source for e in events] == ["a:1", "a:2", "a:3", "a:4", "a:5"]
    assert [e.payload.argv for e in events] == [(f"x{n}",) for n in range(5)]  # type: ignore
