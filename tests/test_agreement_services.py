"""Every target's query must mean what its Sigma rule means on Linux auditd records and Zeek logs.

The service log sources' counterpart of tests/test_agreement.py: hypothesis writes small rules and
raw events drawn from the same value pools (so that rules match some events and miss others),
converts each rule through the build's pipelines and backends (`converter.convert.conversion`), runs
the query on each target's stored documents (`converter.execute.runtimes`) and compares the events
it matches with the Sigma reference's (`converter.reference`).

- `linux/auditd`: an EXECVE record (1-5 arguments, written as auditd writes them: an argument
  holding a space, a double quote, a control character or a non-ASCII byte in upper-case hex,
  any other in double quotes; kernel `audit_log_untrustedstring`) and a SYSCALL record; rules on
  `type`, `a0`, `a1`, `a2`. SPL must agree on every rule; EQL on rules naming `type` and `a0`
  only, and refuse the rest with the reasons `pipelines/ecs_linux_auditd.yml` gives.
- `zeek/x509`: rows with distinguished names (commas, `\\,` escapes, `CN=localhost`, Microsoft
  names), `san.dns` lists (empty too) and `host_cert`; SPL must agree, EQL must agree or refuse
  with the reason `pipelines/ecs_zeek.yml` gives for the names.
- `zeek/ssl`: rows with `server_name`, `validation_status`, `established`, `version`; SPL and EQL
  must agree.

Defender XDR has no table for either (`pipelines/defender_xdr_scope.yml`): KQL must refuse.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import currently_in_test_context, event, given
from hypothesis import strategies as st

from converter.core.events import RawEvent, parse_audit_event, parse_zeek_row
from converter.execute.engines.base import QueryError

from .test_agreement import AGREEMENT, Harness, Verdict, explicit, harness, judge

__all__ = ["harness"]  # the module-scoped fixture of tests/test_agreement.py

A1_REFUSAL = "no EQL expression can test which argument position holds a value"
A0_REFUSAL = "the rule must select type EXECVE"
X509_REFUSAL = "does not store x509.log's certificate.subject and certificate.issuer"
SPL_SET_REFUSAL = "multivalue fields named with a trailing {}"
BOOLEAN_TEXT_REFUSAL = "EQL compares a boolean only with true or false"
XDR_REFUSAL = {
    "auditd": "no table of Linux audit (auditd) records",
    "zeek": "no table of Zeek logs",
}


def rule_text(product: str, service: str, detection: dict[str, Any]) -> str:
    document = {
        "title": "Agreement Probe",
        "id": "0f3a9c2e-7b41-4d8e-9a65-2c1d7e4b8f30",
        "logsource": {"product": product, "service": service},
        "detection": detection,
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _report(verdict: Verdict, text: str, events: list[Any]) -> str:
    shown = json.dumps(events, ensure_ascii=False, default=str)
    return (
        f"\n{text}\nquery: {verdict.query}\nevents: {shown}\n"
        f"reference matched {sorted(verdict.expected)}, the target {sorted(verdict.got or ())}"
    )


def check(harness: Harness, target: str, text: str, events: list[RawEvent], shown: Any) -> Verdict:
    try:
        verdict = judge(harness, target, text, events)  # type: ignore[arg-type]
    except QueryError as error:
        pytest.fail(f"the engine rejects the query:\n{text}\n{error}")
    if verdict.got is not None:
        note(f"{target}: converted, {'some' if verdict.expected else 'no'} events expected")
        assert verdict.got == verdict.expected, _report(verdict, text, shown)
    else:
        note(f"{target}: unsupported")
        assert explicit(verdict.reason), f"refusal without a reason: {verdict.reason!r}"
    return verdict


def note(text: str) -> None:
    if currently_in_test_context():  # the plain tests below use `check` too
        event(text)


# EQL refuses a non-ASCII letter compared case-insensitively (converter/convert/backends/eql.py)
# before the pipelines run: with one in the rule, that reason may come first.
NON_ASCII_REFUSAL = "matches the non-ASCII letter"


def refused(verdict: Verdict, *messages: str) -> None:
    assert verdict.got is None, f"expected a refusal, got {verdict.query}"
    assert any(message in (verdict.reason or "") for message in messages), verdict.reason


def _kql_refusals(kind: str, text: str) -> tuple[str, ...]:
    """Defender XDR has no table for the log source; a non-ASCII value's refusal, found while
    converting, may come first."""
    return (XDR_REFUSAL[kind], *(() if text.isascii() else (NON_ASCII_REFUSAL,)))


def _eql_value_refusals(text: str) -> tuple[str, ...]:
    return (NON_ASCII_REFUSAL,) if any(ord(char) > 127 for char in text) else ()


# --- auditd ------------------------------------------------------------------------------------

EXECUTABLES = (
    "openssl",
    "/usr/bin/openssl",
    "/opt/pki tools/bin/openssl",  # a space: logged in hex
    "/usr/bin/certutil",
    "update-ca-trust",
)
ARGUMENTS = (
    "req",
    "-x509",
    "-new",
    "-out",
    "key.pem",
    "/CN=my host",  # a space
    'say "hi"',  # a double quote
    "tab\there",  # a control character
    "café",  # non-ASCII
    "-addstore",
    "REQ",
)
# SYSCALL's a0..a3 are the syscall's arguments in hex, unquoted.
POINTERS = ("55d0c1f0", "7ffd2a10", "0", "1")
TYPES = ("EXECVE", "SYSCALL", "execve", "PATH", "CWD")


def logged(argument: str) -> str:
    """An EXECVE argument as auditd writes it (kernel audit_string_contains_control)."""
    raw = argument.encode("utf-8")
    if any(byte == 0x22 or byte < 0x21 or byte > 0x7E for byte in raw):
        return raw.hex().upper()
    return f'"{argument}"'


def stored(argument: str) -> str:
    """The argument's value as the reference and the SIEMs read it: quotes removed, hex kept."""
    return logged(argument).strip('"')


@st.composite
def audit_events(draw: st.DrawFn) -> list[str]:
    serial = draw(st.integers(1000, 9999))
    stamp = f"msg=audit(1795600000.{serial % 1000:03d}:{serial}):"
    argv = [draw(st.sampled_from(EXECUTABLES))]
    argv += draw(st.lists(st.sampled_from(ARGUMENTS), max_size=4))
    args = " ".join(f"a{i}={logged(value)}" for i, value in enumerate(argv))
    pointers = [draw(st.sampled_from(POINTERS)) for _ in range(4)]
    syscall = (
        f"type=SYSCALL {stamp} arch=c000003e syscall=59 success=yes exit=0 "
        + " ".join(f"a{i}={value}" for i, value in enumerate(pointers))
        + f' items=2 ppid=1200 pid={serial} auid=1000 uid=0 comm="openssl" '
        'exe="/usr/bin/openssl" key=(null)'
    )
    return [syscall, f"type=EXECVE {stamp} argc={len(argv)} {args}"]


AUDIT_VALUES = {
    "type": TYPES,
    "a0": tuple(stored(v) for v in EXECUTABLES) + EXECUTABLES + POINTERS,
    "a1": tuple(stored(v) for v in ARGUMENTS) + ARGUMENTS + POINTERS,
    "a2": tuple(stored(v) for v in ARGUMENTS) + ARGUMENTS + POINTERS,
}
MODIFIERS = ("", "|contains", "|startswith", "|endswith")


@st.composite
def audit_rules(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(sorted(AUDIT_VALUES)))
    modifier = draw(st.sampled_from(MODIFIERS))
    value = draw(st.sampled_from(AUDIT_VALUES[field]))
    if modifier and len(value) > 2:
        # a part of the value, cut where the modifier anchors it
        cut = draw(st.integers(1, len(value) - 1))
        value = {"|contains": value[cut // 2 : cut], "|startswith": value[:cut]}.get(
            modifier, value[cut:]
        )
    value = draw(st.sampled_from((value, value, value.upper(), value.lower())))
    detection: dict[str, Any] = {"selection": {field + modifier: value}}
    negate = draw(st.booleans())
    condition = "not selection" if negate else "selection"
    # EQL reads a0 on EXECVE records only: a rule on it usually selects that type as well.
    if field != "type" and draw(st.integers(0, 2)):
        detection["execve"] = {"type": "EXECVE"}
        condition = f"execve and {condition}"
    detection["condition"] = condition
    return rule_text("linux", "auditd", detection)


def _audit_fields(text: str) -> set[str]:
    detection = yaml.safe_load(text)["detection"]
    return {
        key.split("|")[0]
        for name, selection in detection.items()
        if name != "condition"
        for key in selection
    }


@AGREEMENT
@given(data=st.data())
def test_auditd_targets_agree_with_the_sigma_reference(
    harness: Harness, data: st.DataObject
) -> None:
    text = data.draw(audit_rules(), label="rule")
    lines = data.draw(st.lists(audit_events(), min_size=1, max_size=5), label="events")
    events: list[RawEvent] = [parse_audit_event(event_lines) for event_lines in lines]
    # SPL stores every EXECVE argument: it converts every rule but one comparing a non-ASCII
    # letter case-insensitively (a target that refused everything would otherwise agree vacuously)
    spl = check(harness, "spl", text, events, lines)
    if spl.got is None:
        assert NON_ASCII_REFUSAL in (spl.reason or "") and not text.isascii(), spl.reason
    verdict = check(harness, "eql", text, events, lines)
    fields = _audit_fields(text)
    value_refusals = _eql_value_refusals(text)
    if fields & {"a1", "a2"}:
        refused(verdict, A1_REFUSAL, *value_refusals)
    elif "a0" in fields and "execve" not in yaml.safe_load(text)["detection"]:
        refused(verdict, A0_REFUSAL, *value_refusals)
    elif value_refusals and verdict.got is None:
        refused(verdict, *value_refusals)
    else:
        assert verdict.got is not None, verdict.reason
    refused(check(harness, "kql", text, events, lines), *_kql_refusals("auditd", text))


# --- Zeek ----------------------------------------------------------------------------------------

MICROSOFT = (
    "CN=Microsoft IT TLS CA 5,OU=Microsoft IT,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US"
)
NAMES = (
    "CN=localhost",
    MICROSOFT,
    "CN=Microsoft Root Certificate Authority 2011,O=Microsoft Corporation,L=Redmond,C=US",
    "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU",
    "CN=Acme\\, Inc.,O=Acme\\, Inc.,C=US",  # Zeek writes an escaped comma as `\,`
    "emailAddress=admin@localhost,CN=localhost,O=Dis",
)
DNS = ("localhost", "www.example.net", "example.net", "*.example.net", "login.microsoft.com")
SERVER_NAMES = ("example.net", "www.example.net", "localhost", "login.microsoft.com")
STATUSES = (
    "ok",
    "self signed certificate",
    "unable to get local issuer certificate",
    "certificate has expired",
)
VERSIONS = ("TLSv12", "TLSv13", "TLSv10", "SSLv3")


def _part(draw: st.DrawFn, modifier: str, value: str) -> str:
    if modifier and len(value) > 2:
        cut = draw(st.integers(1, len(value) - 1))
        value = {"|contains": value[cut // 2 : cut], "|startswith": value[:cut]}.get(
            modifier, value[cut:]
        )
    return draw(st.sampled_from((value, value, value.upper(), value.lower())))


@st.composite
def zeek_items(draw: st.DrawFn, pools: dict[str, tuple[str, ...]]) -> tuple[str, Any]:
    field = draw(st.sampled_from(sorted(pools)))
    if not pools[field]:  # a boolean column
        return field, draw(st.sampled_from((True, False, "true", "false")))
    modifier = draw(st.sampled_from(MODIFIERS))
    values = [
        _part(draw, modifier, draw(st.sampled_from(pools[field])))
        for _ in range(draw(st.integers(1, 2)))
    ]
    return field + modifier, values[0] if len(values) == 1 else values


@st.composite
def zeek_rules(draw: st.DrawFn, service: str, pools: dict[str, tuple[str, ...]]) -> str:
    selection = dict(draw(st.lists(zeek_items(pools), min_size=1, max_size=2)))
    detection: dict[str, Any] = {"selection": selection}
    detection["condition"] = "not selection" if draw(st.booleans()) else "selection"
    return rule_text("zeek", service, detection)


X509_POOLS: dict[str, tuple[str, ...]] = {
    "certificate.subject": NAMES,
    "certificate.issuer": NAMES,
    "san.dns": DNS,
    "host_cert": (),
}
SSL_POOLS: dict[str, tuple[str, ...]] = {
    "server_name": SERVER_NAMES,
    "validation_status": STATUSES,
    "version": VERSIONS,
    "established": (),
}


@st.composite
def x509_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "ts": 1543867200.143484,
        "fingerprint": draw(st.sampled_from(("b3c1f0e2d4a59687", "0a1b2c3d4e5f6071"))),
        "certificate.version": 3,
        "certificate.serial": "6E1A4C2B",
        "certificate.subject": draw(st.sampled_from(NAMES)),
        "certificate.issuer": draw(st.sampled_from(NAMES)),
        "certificate.key_alg": "rsaEncryption",
        "certificate.key_type": "rsa",
        "certificate.key_length": 2048,
        "san.dns": draw(st.lists(st.sampled_from(DNS), max_size=3, unique=True)),
        "basic_constraints.ca": False,
        "host_cert": draw(st.booleans()),
        "client_cert": False,
    }


@st.composite
def ssl_rows(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "ts": 1602179457.352156,
        "uid": "CK17Dl2SB8bZOVonSl",
        "id.orig_h": "10.0.0.1",
        "id.orig_p": 52432,
        "id.resp_h": "10.0.0.2",
        "id.resp_p": 443,
        "version": draw(st.sampled_from(VERSIONS)),
        "cipher": "TLS_AES_128_GCM_SHA256",
        "server_name": draw(st.sampled_from(SERVER_NAMES)),
        "resumed": False,
        "established": draw(st.booleans()),
        "validation_status": draw(st.sampled_from(STATUSES)),
    }


def text_on_boolean(text: str, pools: dict[str, tuple[str, ...]]) -> bool:
    """Whether the rule gives a boolean column a text value ('true' rather than true)."""
    selection = yaml.safe_load(text)["detection"]["selection"]
    return any(
        not pools[key.split("|")[0]] and type(value) is str for key, value in selection.items()
    )


@AGREEMENT
@given(data=st.data())
def test_zeek_x509_targets_agree_with_the_sigma_reference(
    harness: Harness, data: st.DataObject
) -> None:
    text = data.draw(zeek_rules("x509", X509_POOLS), label="rule")
    rows = data.draw(st.lists(x509_rows(), min_size=1, max_size=5), label="rows")
    events: list[RawEvent] = [parse_zeek_row("x509", row) for row in rows]
    spl = check(harness, "spl", text, events, rows)
    if "san.dns" in text:
        refused(spl, SPL_SET_REFUSAL)
    else:
        assert spl.got is not None, spl.reason
    verdict = check(harness, "eql", text, events, rows)
    # either reason, when both apply (the pipeline stops at the first)
    reasons = [X509_REFUSAL] if "certificate." in text else []
    reasons += [BOOLEAN_TEXT_REFUSAL] if text_on_boolean(text, X509_POOLS) else []
    if reasons:
        assert verdict.got is None, f"expected a refusal, got {verdict.query}"
        assert any(reason in (verdict.reason or "") for reason in reasons), verdict.reason
    else:
        assert verdict.got is not None, verdict.reason
    refused(check(harness, "kql", text, events, rows), *_kql_refusals("zeek", text))


@AGREEMENT
@given(data=st.data())
def test_zeek_ssl_targets_agree_with_the_sigma_reference(
    harness: Harness, data: st.DataObject
) -> None:
    text = data.draw(zeek_rules("ssl", SSL_POOLS), label="rule")
    rows = data.draw(st.lists(ssl_rows(), min_size=1, max_size=5), label="rows")
    events: list[RawEvent] = [parse_zeek_row("ssl", row) for row in rows]
    assert check(harness, "spl", text, events, rows).got is not None
    verdict = check(harness, "eql", text, events, rows)
    if text_on_boolean(text, SSL_POOLS):
        refused(verdict, BOOLEAN_TEXT_REFUSAL)
    else:
        assert verdict.got is not None, verdict.reason
    refused(check(harness, "kql", text, events, rows), *_kql_refusals("zeek", text))


# --- Minimal examples the properties found ------------------------------------------------------

HOST_CERT_ROWS = [
    {"ts": 1.0, "certificate.serial": "01", "host_cert": flag} for flag in (True, False)
]


@pytest.mark.parametrize(("value", "matched"), [("true", None), (True, {0}), (False, {1})])
def test_eql_takes_only_booleans_on_a_boolean_column(
    harness: Harness, value: Any, matched: set[int] | None
) -> None:
    # `zeek.x509.host_cert:"true"` fails Elasticsearch's verification: `:` compares strings.
    text = rule_text("zeek", "x509", {"selection": {"host_cert": value}, "condition": "selection"})
    events: list[RawEvent] = [parse_zeek_row("x509", row) for row in HOST_CERT_ROWS]
    verdict = check(harness, "eql", text, events, HOST_CERT_ROWS)
    if matched is None:
        refused(verdict, BOOLEAN_TEXT_REFUSAL)
    else:
        assert verdict.got == matched
    assert check(harness, "spl", text, events, HOST_CERT_ROWS).got == (matched or {0})


def test_spl_refuses_zeek_set_columns(harness: Harness) -> None:
    # KV_MODE = JSON extracts a JSON array as `san.dns{}`: `san.dns="localhost"` matches nothing.
    text = rule_text(
        "zeek", "x509", {"selection": {"san.dns": "localhost"}, "condition": "selection"}
    )
    rows = [{"ts": 1.0, "certificate.serial": "01", "san.dns": ["localhost"]}]
    events: list[RawEvent] = [parse_zeek_row("x509", row) for row in rows]
    refused(check(harness, "spl", text, events, rows), SPL_SET_REFUSAL)
    assert check(harness, "eql", text, events, rows).got == {0}
