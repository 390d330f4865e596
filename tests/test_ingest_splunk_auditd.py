"""The Splunk model for auditd records, and the SPL pipeline that searches its events.

The Splunk Add-on for Unix and Linux parses /var/log/audit/audit.log under its `[auditd]`
props.conf stanza (one event per line, no KV_MODE, REPORT or EXTRACT: automatic key-value
extraction); Splunk's security_content searches it as `sourcetype="auditd"` (macro
`linux_auditd`, data source `linux_auditd_execve.yml`).
"""

from __future__ import annotations

from converter.convert.conversion import convert, make_backend, resolve_pipeline
from converter.core.auditd import AuditdEvent
from converter.core.documents import DocumentGroup
from converter.core.events import parse_audit_event
from converter.core.targets import target_by_name
from converter.execute.engines.spl import SplEngine
from converter.execute.ingest.splunk_auditd import SOURCE, SOURCETYPE, render_line, to_splunk
from converter.formats import auditd

from .conftest import FILES, REPO

FIXTURE = FILES / "auditd" / "openssl_req_hex.log"
HEX_OPENSSL = "2F6F70742F706B6920746F6F6C732F62696E2F6F70656E73736C"


def fixture_lines() -> list[str]:
    return FIXTURE.read_text(encoding="utf-8").splitlines()


def fixture_event() -> AuditdEvent:
    (item,) = list(auditd.read(enumerate(fixture_lines(), start=1), str(FIXTURE)))
    return item.payload  # type: ignore[union-attr,return-value]


def test_each_record_is_one_event_whose_raw_text_is_its_line() -> None:
    event = fixture_event()
    group = to_splunk(event)
    assert type(group) is DocumentGroup
    assert [doc.raw for doc in group] == fixture_lines()[:-1]  # EOE ends the event, no record
    assert {(doc.source, doc.sourcetype) for doc in group} == {(SOURCE, SOURCETYPE)}
    assert (SOURCE, SOURCETYPE) == ("/var/log/audit/audit.log", "auditd")


def test_automatic_extraction_unquotes_and_keeps_hex() -> None:
    syscall, execve, cwd, *_ = to_splunk(fixture_event())
    assert execve.fields["type"] == ["EXECVE"]
    assert execve.fields["msg"] == ["audit(1795600000.120:3301):"]
    assert execve.fields["a0"] == [HEX_OPENSSL]  # not decoded
    assert execve.fields["a1"] == ["req"]  # quotes removed
    assert execve.fields["a6"] == ["2F434E3D6D7920686F7374"]
    assert syscall.fields["exe"] == [HEX_OPENSSL]
    assert syscall.fields["comm"] == ["openssl"]
    assert syscall.fields["key"] == ["(null)"]
    assert cwd.fields["cwd"] == ["2F686F6D652F616C6963652F6D79206365727473"]


def test_node_split_pieces_and_user_space_payloads() -> None:
    event = parse_audit_event(
        [
            'node=web-01 type=EXECVE msg=audit(1795600100.500:3310): argc=3 a0="awk" a1="-f" '
            'a2_len=12 a2[0]="/opt/ex"',
        ]
    )
    (doc,) = to_splunk(event)
    assert doc.host == "web-01" and doc.fields["node"] == ["web-01"]
    assert doc.raw.startswith("node=web-01 type=EXECVE msg=audit(1795600100.500:3310): argc=3")
    # keys that are not words (a2[0]) are not modelled: no field for them or for a2
    assert set(doc.fields) == {"type", "msg", "node", "argc", "a0", "a1", "a2_len"}
    (user_cmd,) = to_splunk(
        parse_audit_event(
            [
                "type=USER_CMD msg=audit(1795600200.002:3320): pid=3320 uid=1000 auid=1000 "
                'ses=3 msg=\'cwd="/home/alice" cmd=6F70656E73736C2076657273696F6E '
                "terminal=pts/0 res=success'"
            ]
        )
    )
    assert user_cmd.fields["msg"] == ["audit(1795600200.002:3320):"]
    assert user_cmd.raw.endswith("msg='cwd=\"/home/alice\" cmd=6F70656E73736C2076657273696F6E "
                                 "terminal=pts/0 res=success'")  # fmt: skip


def test_render_line_round_trips_auditd_lines() -> None:
    event = fixture_event()
    assert [render_line(event, record) for record in event.records] == fixture_lines()[:-1]


# --- the SPL pipeline (pipelines/splunk_linux_audit.yml) over these events ---------------------


class _Rule:
    text = """
title: auditd test rule
id: 0b7f2a5e-1c6d-4e8f-9a0b-3c4d5e6f7a81
status: test
logsource:
    product: linux
    service: auditd
detection:
    sel:
        type: EXECVE
        a0|endswith: '2F6F70656E73736C'
        a1: req
    condition: sel
level: low
"""


def test_sourcetype_is_added_and_field_names_kept() -> None:
    target = target_by_name("spl")
    query = convert(make_backend(target, resolve_pipeline(target, REPO)), _Rule()).query  # type: ignore[arg-type]
    assert query == 'sourcetype="auditd" (type="EXECVE" a0="*2F6F70656E73736C" a1="req")'
    documents = list(to_splunk(fixture_event()))
    assert SplEngine().compile(query).select(documents) == [1]
    # the same event under another sourcetype is not searched
    other = [doc.__class__(doc.fields, doc.raw, doc.source, "linux_audit") for doc in documents]
    assert SplEngine().compile(query).select(other) == []
