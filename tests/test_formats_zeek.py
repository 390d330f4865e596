from __future__ import annotations

import json
from pathlib import Path

from converter.core.zeek import ZeekRecord
from converter.formats.base import BadRecord, Item
from converter.formats.readers import read_items
from converter.formats.zeek import from_json, read_tsv

from .conftest import FILES

LOG = FILES / "formats/x509.log"


def test_tsv_rows_are_typed_by_their_header() -> None:
    first, second, broken = read_items(LOG)
    assert first == Item(
        f"{LOG}:9",
        ZeekRecord(
            "x509",
            {
                "ts": 1763712131.53,
                "fingerprint": "3f1a0c",
                "certificate.version": 3,
                "certificate.serial": "01",
                "certificate.subject": "CN=www.example.com,O=Dis,L=Springfield,ST=Denial,C=US",
                "certificate.issuer": "CN=www.example.com,O=Dis,L=Springfield,ST=Denial,C=US",
                "certificate.not_valid_before": 1763712131.0,
                "certificate.key_length": 2048,
                "san.dns": ["www.example.com", "example.com"],
                "basic_constraints.ca": True,
                "host_cert": True,
            },
        ),
    )
    fields = second.payload.fields  # type: ignore[union-attr]
    assert fields["certificate.subject"] == "CN=update\tservice"  # \x09 escape
    assert (fields["certificate.key_length"], fields["san.dns"]) == (None, [])
    assert broken == BadRecord(f"{LOG}:11", "3 values for 11 #fields")


def test_tsv_without_header_and_with_bad_values() -> None:
    lines = ["#separator \\x09", "1.0\tx", "#fields\tts\tn", "#types\ttime\tcount", "1.0\tmany"]
    assert list(read_tsv(enumerate(lines, start=1), "ssl.log")) == [
        BadRecord("ssl.log:2", "row before any #fields header"),
        BadRecord("ssl.log:5", "n: 'many' is not a count"),
    ]


def test_json_rows_keep_their_values_and_guess_their_log() -> None:
    row = {"ts": 1.5, "uid": "C1", "cipher": "TLS_AES_128_GCM_SHA256", "_write_ts": 2.0}
    assert from_json(row, "conn.log") == ZeekRecord(
        "ssl", {k: v for k, v in row.items() if k != "_write_ts"}
    )
    assert from_json({"ts": 1.0, "uid": "C2", "_path": "conn"}, "x").log == "conn"
    assert from_json({"ts": 1.0, "uid": "C3"}, "/logs/dns.04:00:00.log").log == "dns"


def test_real_zeek_rows(shared_dir: Path) -> None:
    path = shared_dir / "real-logs/zeek/x509_ssl_selfsigned_host_certs.jsonl"
    records = list(read_items(path))
    logs = [json.loads(line)["_source"]["log"] for line in path.read_text().splitlines()]
    assert [r.payload.log for r in records] == logs  # type: ignore[union-attr]
    self_signed = [
        r.payload.fields["certificate.subject"]  # type: ignore[union-attr]
        for r in records
        if r.payload.log == "x509"  # type: ignore[union-attr]
        and r.payload.fields["certificate.subject"] == r.payload.fields["certificate.issuer"]  # type: ignore[union-attr]
    ]
    assert "CN=bro" in self_signed
