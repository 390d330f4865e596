"""The Splunk model of Zeek x509.log and ssl.log rows (converter.execute.ingest.splunk_zeek), after
the Splunk Add-on for Zeek aka Bro 4.0.0: `bro:<log>:json` sourcetypes, KV_MODE = JSON fields."""

from __future__ import annotations

import json

from converter.core.zeek import ZeekRecord
from converter.execute.engines.spl import SplEngine
from converter.execute.ingest.splunk_zeek import to_splunk

X509 = {
    "ts": 1795511526.734121,
    "fingerprint": "3f1c7a0d",
    "certificate.version": 3,
    "certificate.subject": "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU",
    "certificate.issuer": "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU",
    "certificate.not_valid_before": 1540845370.0,
    "certificate.key_length": 2048,
    "san.dns": ["a.example", "b.example"],
    "san.uri": [],
    "certificate.curve": "",
    "basic_constraints.ca": True,
    "host_cert": True,
    "client_cert": False,
}
SSL = {
    "ts": 1795511526.731802,
    "uid": "CHhAvVGS1DHFjwGM9",
    "id.orig_h": "127.0.0.1",
    "id.orig_p": 59272,
    "id.resp_h": "127.0.0.1",
    "id.resp_p": 3306,
    "established": True,
    "cert_chain_fuids": ["F1", "F2"],
    "client_cert_chain_fuids": [],
    "validation_status": "self signed certificate",
}


def test_sourcetype_from_the_log_file_name() -> None:
    event = to_splunk(ZeekRecord("x509", X509))
    assert event is not None
    assert (event.sourcetype, event.source) == ("bro:x509:json", "/opt/zeek/logs/current/x509.log")
    ssl = to_splunk(ZeekRecord("ssl", SSL))
    assert ssl is not None and ssl.sourcetype == "bro:ssl:json"
    assert to_splunk(ZeekRecord("conn", {"ts": 1.0})) is None


def test_raw_is_the_json_line() -> None:
    event = to_splunk(ZeekRecord("x509", X509))
    assert event is not None
    assert json.loads(event.raw) == X509
    assert '"certificate.key_length":2048' in event.raw


def test_fields_as_kv_mode_json_extracts_them() -> None:
    event = to_splunk(ZeekRecord("x509", X509))
    assert event is not None
    fields = event.fields
    # top-level keys keep their dots; JSON arrays are multivalue `<key>{}` fields
    assert fields["certificate.subject"] == ["O=Internet Widgits Pty Ltd,ST=Some-State,C=AU"]
    assert fields["san.dns{}"] == ["a.example", "b.example"]
    assert "san.dns" not in fields and "san.uri{}" not in fields  # an empty array: no field
    assert "certificate.curve" not in fields  # empty string: no field (assumed)
    # booleans and numbers as their JSON text
    assert fields["host_cert"] == ["true"] and fields["client_cert"] == ["false"]
    assert fields["certificate.key_length"] == ["2048"]
    assert fields["certificate.not_valid_before"] == ["1540845370.0"]


def test_add_on_aliases() -> None:
    event = to_splunk(ZeekRecord("ssl", SSL))
    assert event is not None
    fields = event.fields
    assert fields["dest"] == fields["dest_ip"] == ["127.0.0.1"]
    assert fields["src"] == fields["src_ip"] == ["127.0.0.1"]
    assert fields["src_port"] == ["59272"] and fields["dest_port"] == ["3306"]
    assert fields["cert_chain_fuids"] == fields["cert_chain_fuids{}"] == ["F1", "F2"]
    assert "client_cert_chain_fuids" not in fields


def test_the_queries_the_pipeline_writes_run_on_these_fields() -> None:
    engine = SplEngine()
    x509 = to_splunk(ZeekRecord("x509", X509))
    other = to_splunk(ZeekRecord("x509", {**X509, "certificate.issuer": "CN=CA"}))
    self_signed = engine.compile(
        'sourcetype="bro:x509:json" (host_cert=true) '
        "| where 'certificate.issuer'='certificate.subject'"
    )
    assert self_signed.select([x509, other]) == [0]  # type: ignore[list-item]
    ssl = to_splunk(ZeekRecord("ssl", SSL))
    established = engine.compile(
        'sourcetype="bro:ssl:json" validation_status="self signed certificate" established=true'
    )
    assert established.select([ssl, x509]) == [0]  # type: ignore[list-item]
