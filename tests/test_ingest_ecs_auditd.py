"""The Elastic model for auditd records, and the EQL pipeline that reads its documents.

Expected values follow elastic/integrations `packages/auditd/data_stream/log/elasticsearch/
ingest_pipeline/default.yml` and the pipeline's own tests in `packages/auditd/data_stream/log/
_dev/test/pipeline/`: `test-auditd-raw.log-expected.json` (@ 6f9aff77, the version that keeps
`auditd.log.record_type`), `test-truncated-execve.log-expected.json` (@ 3010f134) and
`test-oversized-execve.log-expected.json` (@ 62f87861). The one-line inputs marked "pipeline
test" are records of those tests with the documents they expect, minus what the pipeline test
harness adds (`event.original`, `tags`) and `ecs.version`; the model adds `event.dataset`, which
the agent sets and the pipeline test does not run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from converter.convert.conversion import ConversionError, convert, make_backend, resolve_pipeline
from converter.core.auditd import AuditdEvent
from converter.core.documents import DocumentGroup
from converter.core.events import parse_audit_event
from converter.core.targets import target_by_name
from converter.execute.engines.eql import EqlEngine
from converter.execute.ingest.ecs_auditd import decode_hex, field_value, to_ecs
from converter.formats import auditd

from .conftest import FILES, REPO

FIXTURE = FILES / "auditd" / "openssl_req_hex.log"
HEX_OPENSSL = "2F6F70742F706B6920746F6F6C732F62696E2F6F70656E73736C"  # /opt/pki tools/bin/openssl


def documents(*lines: str) -> list[dict[str, Any]]:
    group = to_ecs(parse_audit_event(list(lines)))
    assert type(group) is DocumentGroup
    return [_as_pipeline_test(document) for document in group]


def _as_pipeline_test(document: dict[str, Any]) -> dict[str, Any]:
    document = dict(document)
    document.pop("ecs")
    document["event"] = {k: v for k, v in document["event"].items() if k != "dataset"}
    return document


def fixture_event() -> AuditdEvent:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    (item,) = list(auditd.read(enumerate(lines, start=1), str(FIXTURE)))
    return item.payload  # type: ignore[union-attr,return-value]


def test_execve_record_as_the_pipeline_test_expects() -> None:
    # pipeline test (test-auditd-raw.log): the argument list, argc as a long, args[0].
    (doc,) = documents("type=EXECVE msg=audit(1581371984.206:579393): argc=1 a0=top")
    assert doc == {
        "@timestamp": "2020-02-10T21:59:44.206Z",
        "auditd": {"log": {"record_type": "EXECVE", "sequence": 579393}},
        "event": {"action": "execve", "kind": "event"},
        "process": {"args": ["top"], "args_count": 1, "executable": "top"},
    }


def test_syscall_record_as_the_pipeline_test_expects() -> None:
    # pipeline test (test-auditd-raw.log): hex exe decoded, key=(null) dropped, success a
    # boolean, arch copied and removed, ids to user.*, the '*' syscall entry, egress (44).
    (doc,) = documents(
        "type=SYSCALL msg=audit(1485893834.891:18877199): arch=c000003e syscall=44 success=yes "
        "exit=184 a0=9 items=0 ppid=1240 pid=1281 auid=4294967295 uid=0 gid=0 euid=0 suid=0 "
        'fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="charon" '
        "exe=2F7573722F6C6962657865632F7374726F6E677377616E2F636861726F6E202864656C6574656429 "
        "key=(null)"
    )
    ids = {"group": {"id": "0"}, "id": "0"}
    assert doc == {
        "@timestamp": "2017-01-31T20:17:14.891Z",
        "auditd": {
            "log": {
                "a0": "9",
                "items": "0",
                "record_type": "SYSCALL",
                "sequence": 18877199,
                "ses": "4294967295",
                "success": True,
                "syscall": "44",
                "tty": "(none)",
            }
        },
        "event": {"action": "syscall", "category": ["process"], "kind": "event", "type": ["info"]},
        "host": {"architecture": "x86_64"},
        "network": {"direction": "egress"},
        "process": {
            "executable": "/usr/libexec/strongswan/charon (deleted)",
            "exit_code": 184,
            "name": "charon",
            "parent": {"pid": 1240},
            "pid": 1281,
        },
        "user": {
            "audit": {"id": "4294967295"},
            "effective": ids,
            "filesystem": ids,
            "group": {"id": "0"},
            "id": "0",
            "saved": ids,
        },
    }


def test_cwd_path_and_proctitle_records_as_the_pipeline_test_expects() -> None:
    # pipeline test (test-auditd-raw.log): cwd to process.working_directory, ouid/ogid to
    # user.owner, a PATH keeps its other keys, a hex proctitle is decoded.
    cwd, path = documents(
        'type=CWD msg=audit(1481077231.371:479):  cwd="/home/some_user"',
        'type=PATH msg=audit(1481077231.371:479): item=0 name="/sbin/auditctl" inode=17367907 '
        "dev=08:01 mode=0100750 ouid=0 ogid=0 rdev=00:00 "
        "obj=system_u:object_r:auditctl_exec_t:s0 objtype=NORMAL",
    )
    assert cwd["process"] == {"working_directory": "/home/some_user"}
    assert cwd["event"] == {"action": "cwd", "kind": "event"}
    assert path["auditd"]["log"] == {
        "dev": "08:01",
        "inode": "17367907",
        "item": "0",
        "mode": "0100750",
        "name": "/sbin/auditctl",
        "obj": "system_u:object_r:auditctl_exec_t:s0",
        "objtype": "NORMAL",
        "rdev": "00:00",
        "record_type": "PATH",
        "sequence": 479,
    }
    assert path["user"] == {"owner": {"group": {"id": "0"}, "id": "0"}}
    (title,) = documents(
        "type=PROCTITLE msg=audit(1451781471.394:194440): "
        "proctitle=737368643A206275726E205B707269765D"
    )
    assert title["auditd"]["log"]["proctitle"] == "sshd: burn [priv]"
    assert title["event"]["action"] == "proctitle"


def test_a_record_that_starts_past_a0_as_the_pipeline_tests_expect() -> None:
    # pipeline tests (test-truncated-execve.log, test-oversized-execve.log): pieces are their
    # own entries, aN_len is dropped, no process.executable, a marker for the missing ones.
    (doc,) = documents(
        "type=EXECVE msg=audit(1643025668.518:5009988): a8_len=1 a8[0]=8 a9=9 a10=10 a11[1]=11"
    )
    assert doc["process"] == {"args": ["[... 8 truncated arguments ...]", "8", "9", "10", "11"]}
    assert doc["auditd"]["log"] == {"record_type": "EXECVE", "sequence": 5009988}
    first, second = documents(
        'type=EXECVE msg=audit(1756700000.000:100000000): argc=3 a0="awk" a1="-v" '
        "a2_len=8 a2[0]=6E61",
        "type=EXECVE msg=audit(1756700000.000:100000000): a2[1]=6D653D78",
    )
    assert first["process"] == {
        "args": ["awk", "-v", "6E61"],
        "args_count": 3,
        "executable": "awk",
    }
    assert second["process"] == {"args": ["[... 2 truncated arguments ...]", "6D653D78"]}


def test_execve_arguments_stay_as_logged_and_only_hex_keys_are_decoded() -> None:
    syscall, execve, cwd, path, _, proctitle = to_ecs(fixture_event())
    # a0..aN are not hex keys: the hex of a path with a space stays hex, in args and executable
    assert execve["process"]["executable"] == HEX_OPENSSL
    assert execve["process"]["args"][6] == "2F434E3D6D7920686F7374"  # /CN=my host
    assert execve["process"]["args"][1:3] == ["req", "-new"]
    assert "a0" not in execve["auditd"]["log"]
    # exe, cwd, name and proctitle are: decoded, NUL separators written ^@
    assert syscall["process"]["executable"] == "/opt/pki tools/bin/openssl"
    assert syscall["auditd"]["log"]["a0"] == "55d1e2f3a4b0"  # the syscall's own a0
    assert cwd["process"]["working_directory"] == "/home/alice/my certs"
    assert path["auditd"]["log"]["name"] == "/opt/pki tools/bin/openssl"
    assert proctitle["auditd"]["log"]["proctitle"] == (
        "/opt/pki tools/bin/openssl^@req^@-new^@-key^@web.key^@-subj^@/CN=my host^@-out^@web.csr"
    )
    assert [doc["event"]["action"] for doc in to_ecs(fixture_event())] == [
        "syscall", "execve", "cwd", "path", "path", "proctitle",
    ]  # fmt: skip
    assert execve["@timestamp"] == "2026-11-25T09:46:40.120Z"
    assert execve["event"]["dataset"] == "auditd.log"


def test_hex_is_decoded_only_when_a_byte_needed_encoding() -> None:
    # convertHexToString: bytes below 0x21, '"' and DEL mark the value as encoded; control
    # characters are written ^X; bytes above 0x7e are one character each and mark nothing.
    assert decode_hex("2F7573722F62696E") == "2F7573722F62696E"  # /usr/bin: kept as hex
    assert decode_hex("6C73002D6C61") == "ls^@-la"
    assert decode_hex("61096222") == 'a^Ib"'
    assert decode_hex("2F746D702F636166C3A92E6B6579") == "2F746D702F636166C3A92E6B6579"
    assert decode_hex("636166C3A920") == "caf\u00c3\u00a9 "


def test_field_values_drop_trim_and_convert_as_the_script_does() -> None:
    assert field_value("comm", "cafe", quoted=True) == "cafe"  # quoted: never hex-decoded
    assert field_value("comm", "20", quoted=False) == " "
    assert field_value("a1", "20", quoted=False) == "20"  # not a hex key
    assert field_value("key", "(null)", quoted=False) is None
    assert field_value("hostname", "?", quoted=False) is None
    assert field_value("mac", "", quoted=False) is None
    assert field_value("a1", "", quoted=True) == ""  # "" is not empty before the trim
    assert field_value("success", "no", quoted=False) is False
    assert field_value("arch", "c000003e", quoted=False) == "x86_64"


def test_every_record_of_an_event_is_a_document() -> None:
    event = fixture_event()
    group = to_ecs(event)
    assert len(group) == len(event.records) == 6
    assert {doc["auditd"]["log"]["sequence"] for doc in group} == {3301}
    assert documents('node=web-01 type=CWD msg=audit(1.5:7): cwd="/"')[0]["auditd"]["log"] == {
        "node": "web-01",
        "record_type": "CWD",
        "sequence": 7,
    }


# --- the EQL pipeline (pipelines/ecs_linux_auditd.yml) over these documents ---------------------

RULE = """
title: auditd test rule
id: 0b7f2a5e-1c6d-4e8f-9a0b-3c4d5e6f7a81
status: test
logsource:
    product: linux
    service: auditd
detection:
{detection}
level: low
"""


class _Rule:
    def __init__(self, detection: str) -> None:
        self.text = RULE.format(detection=detection)


def eql(detection: str) -> str:
    target = target_by_name("eql")
    backend = make_backend(target, resolve_pipeline(target, REPO))
    return convert(backend, _Rule(detection)).query  # type: ignore[arg-type]


def test_type_and_a0_become_record_type_and_executable() -> None:
    query = eql(
        "    sel:\n        type: EXECVE\n        a0|endswith:\n"
        "            - '/openssl'\n            - '2F6F70656E73736C'\n    condition: sel"
    )
    assert query == (
        'any where auditd.log.record_type:"EXECVE" and '
        '(process.executable like~ ("*/openssl", "*2F6F70656E73736C"))'
    )
    compiled = EqlEngine().compile(query)
    docs = list(to_ecs(fixture_event()))
    # only the EXECVE document: the SYSCALL one has the decoded path in process.executable
    assert compiled.select(docs) == [1]


@pytest.mark.parametrize(
    ("detection", "reason"),
    [
        (
            "    sel:\n        type: EXECVE\n        a1: req\n    condition: sel",
            "no EQL expression can test which argument position holds a value",
        ),
        (
            "    sel:\n        a0: openssl\n    condition: sel",
            "the rule must select type EXECVE",
        ),
        (
            "    sel:\n        type: SYSCALL\n        comm: openssl\n    condition: sel",
            "The following fields are not mapped: comm",
        ),
        (
            "    sel:\n        type: EXECVE\n        a31: req\n    condition: sel",
            "The following fields are not mapped: a31",
        ),
    ],
)
def test_rules_eql_cannot_express_are_refused_with_the_reason(detection: str, reason: str) -> None:
    with pytest.raises(ConversionError, match=reason):
        eql(detection)


def test_case_events_of_the_auditd_rules_are_stored() -> None:
    folders = sorted(Path(REPO / "cases").glob("lnx_auditd_*"))
    assert folders
    for path in (p for folder in folders for p in sorted(folder.glob("*.json"))):
        event = parse_audit_event(json.loads(path.read_text(encoding="utf-8"))["event"]["audit"])
        group = to_ecs(event)
        assert len(group) == len(event.records), path
        for doc in group:
            assert doc["auditd"]["log"]["record_type"] == doc["event"]["action"].upper(), path
