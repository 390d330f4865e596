"""The Zeek rules on the real Zeek rows in ../shared (skipped when it is absent).

`real-logs/zeek/x509_ssl_selfsigned_host_certs.jsonl` holds rows of Zeek's own test baselines
(zeek/zeek @ a13de64fbbdb, testing/btest/Baseline/*/{x509,ssl}.log, BSD-3-Clause): the values of
Zeek's TSV writer ("-" unset, "T"/"F", "(empty)"), timestamps scrubbed by the test harness. They are
turned into the rows Zeek's JSON writer writes by reading them as a TSV log with x509.log's and
ssl.log's `#types` (`converter.formats.zeek`, what `certdetect scan` does with a TSV log) and
leaving the unset fields out, as the JSON writer does; the scrubbed `ts` becomes a fixed time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from converter.core.project import Project
from converter.core.rules import RuleFile, load_rules
from converter.core.status import Status
from converter.core.zeek import ZeekRecord
from converter.execute.engines.eql import EqlEngine
from converter.execute.engines.spl import SplEngine
from converter.execute.ingest.ecs_zeek import to_ecs
from converter.execute.ingest.splunk_zeek import to_splunk
from converter.execute.runtimes import select
from converter.formats.base import Item
from converter.formats.readers import read_items
from converter.formats.zeek import read_tsv
from converter.publish.manifest import read_manifest
from converter.reference import compile_reference
from converter.scan.scanner import Scanner, ScanSummary

REAL = "real-logs/zeek/x509_ssl_selfsigned_host_certs.jsonl"
SCRUBBED_TS = "XXXXXXXXXX.XXXXXX"
FIXED_TS = "1700000000.000000"
# Column types of X509::Info (base/files/x509/main.zeek) and SSL::Info (base/protocols/ssl).
TYPES = {
    "x509": {
        "ts": "time", "fingerprint": "string", "certificate.version": "count",
        "certificate.serial": "string", "certificate.subject": "string",
        "certificate.issuer": "string", "certificate.not_valid_before": "time",
        "certificate.not_valid_after": "time", "certificate.key_alg": "string",
        "certificate.sig_alg": "string", "certificate.key_type": "string",
        "certificate.key_length": "count", "certificate.exponent": "string",
        "certificate.curve": "string", "san.dns": "vector[string]", "san.uri": "vector[string]",
        "san.email": "vector[string]", "san.ip": "vector[addr]", "basic_constraints.ca": "bool",
        "basic_constraints.path_len": "count", "host_cert": "bool", "client_cert": "bool",
    },
    "ssl": {
        "ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port",
        "id.resp_h": "addr", "id.resp_p": "port", "version": "string", "cipher": "string",
        "curve": "string", "server_name": "string", "resumed": "bool", "last_alert": "string",
        "next_protocol": "string", "established": "bool", "ssl_history": "string",
        "cert_chain_fps": "vector[string]", "client_cert_chain_fps": "vector[string]",
        "sni_matches_cert": "bool",
    },
}  # fmt: skip

SELF_SIGNED = "zeek_x509_self_signed_host_certificate"
DEFAULT_SUBJECT = "zeek_x509_default_or_localhost_certificate_subject"
MICROSOFT = "zeek_x509_spoofed_microsoft_ca_certificate"
SSL_SELF_SIGNED = "zeek_ssl_self_signed_certificate_established"


def json_writer_row(log: str, values: dict[str, str]) -> ZeekRecord:
    """One baseline row, read as Zeek's TSV writer wrote it, in the JSON writer's layout."""
    names = list(values)
    cells = [
        FIXED_TS if name == "ts" and values[name] == SCRUBBED_TS else values[name] for name in names
    ]
    lines = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        f"#path\t{log}",
        "#fields\t" + "\t".join(names),
        "#types\t" + "\t".join(TYPES[log][name] for name in names),
        "\t".join(cells),
    ]
    (item,) = read_tsv(enumerate(lines, start=1), f"{log}.log")
    assert isinstance(item, Item), item
    record = item.payload
    return ZeekRecord(log, {k: v for k, v in record.fields.items() if v is not None})


@pytest.fixture
def real_rows(shared_dir: Path) -> list[ZeekRecord]:
    rows = []
    for line in (shared_dir / REAL).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        values = {k: v for k, v in row.items() if not k.startswith("_")}
        rows.append(json_writer_row(row["_source"]["log"], values))
    return rows


@pytest.fixture
def zeek_rules(repo_project: Project) -> dict[str, RuleFile]:
    rules = {rule.stem: rule for rule in load_rules(repo_project)}
    return {
        stem: rules[stem] for stem in (SELF_SIGNED, DEFAULT_SUBJECT, MICROSOFT, SSL_SELF_SIGNED)
    }


def _matched(rule: RuleFile, rows: list[ZeekRecord]) -> list[int]:
    reference = compile_reference(rule.parse())
    return [index for index, row in enumerate(rows) if reference.matches(row)]


def test_rows_in_the_json_writers_layout(real_rows: list[ZeekRecord]) -> None:
    assert [row.log for row in real_rows] == ["x509", "ssl"] * 2 + ["x509"] * 3 + [
        "ssl",
        "x509",
        "ssl",
    ]
    mysql = real_rows[0].fields
    assert mysql["host_cert"] is True and mysql["client_cert"] is False  # "T" / "F"
    assert mysql["certificate.key_length"] == 2048 and mysql["ts"] == 1700000000.0
    assert "san.dns" not in mysql and "certificate.curve" not in mysql  # "-": left out
    assert real_rows[1].fields["client_cert_chain_fps"] == []  # "(empty)"
    assert real_rows[1].fields["id.resp_p"] == 3306


def _self_signed(row: ZeekRecord) -> bool:
    fields = row.fields
    return row.log == "x509" and fields["certificate.issuer"] == fields["certificate.subject"]


def test_reference_detects_every_real_self_signed_certificate(
    real_rows: list[ZeekRecord], zeek_rules: dict[str, RuleFile]
) -> None:
    self_signed = [i for i, row in enumerate(real_rows) if _self_signed(row)]
    assert len(self_signed) == 5  # mysql, dtls, rdp, irc, ml-dsa; the rdp chain's leaf is not
    assert _matched(zeek_rules[SELF_SIGNED], real_rows) == self_signed
    # openssl's default subject (O=Internet Widgits Pty Ltd,ST=Some-State,C=AU) on mysql's cert
    assert _matched(zeek_rules[DEFAULT_SUBJECT], real_rows) == [0]
    assert _matched(zeek_rules[MICROSOFT], real_rows) == []


def test_ssl_rows_carry_no_validation_status(
    real_rows: list[ZeekRecord], zeek_rules: dict[str, RuleFile]
) -> None:
    # Zeek's btests do not load policy/protocols/ssl/validate-certs: no validation_status column,
    # so the ssl.log rule has nothing to match in these rows.
    ssl_rows = [row for row in real_rows if row.log == "ssl"]
    assert ssl_rows and all("validation_status" not in row.fields for row in ssl_rows)
    assert _matched(zeek_rules[SSL_SELF_SIGNED], real_rows) == []


def test_built_artifacts_agree_on_the_real_rows(
    real_rows: list[ZeekRecord], zeek_rules: dict[str, RuleFile], repo_project: Project
) -> None:
    manifest = read_manifest(repo_project.dist_dir / "manifest.json")
    entries = {Path(entry.source).stem: entry for entry in manifest.rules}
    documents: list[Any] = [to_splunk(row) for row in real_rows]
    ecs_documents: list[Any] = [to_ecs(row) for row in real_rows]
    for stem, rule in zeek_rules.items():
        targets = entries[stem].targets
        # Elastic's integration keeps no whole distinguished name: x509 rules are refused, with
        # the reason; Defender XDR has no Zeek table.
        if stem.startswith("zeek_x509_"):
            assert targets["eql"].status == Status.UNSUPPORTED and targets["eql"].reason
        else:
            assert targets["eql"].status == Status.VERIFIED
            eql_path = targets["eql"].path
            assert eql_path is not None
            query = (repo_project.dist_dir / eql_path).read_text(encoding="utf-8")
            assert sorted(select(EqlEngine().compile(query), ecs_documents)) == _matched(
                rule, real_rows
            ), stem
        assert targets["kql"].status == Status.UNSUPPORTED and "Zeek" in (
            targets["kql"].reason or ""
        )
        assert targets["spl"].status == Status.VERIFIED and targets["spl"].path is not None
        query = (repo_project.dist_dir / targets["spl"].path).read_text(encoding="utf-8")
        assert SplEngine().compile(query).select(documents) == _matched(rule, real_rows), stem


def test_scan_finds_the_self_signed_rows(
    real_rows: list[ZeekRecord], repo_project: Project, tmp_path: Path
) -> None:
    log = tmp_path / "zeek.jsonl"
    lines = [json.dumps({"_path": row.log, **row.fields}) for row in real_rows]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scanner = Scanner.for_project(repo_project)
    summary = ScanSummary()
    results = list(scanner.scan(list(read_items(log, scanner.wants)), summary))
    assert summary.events == len(real_rows) == 10
    ids = {rule.stem: rule.id for rule in load_rules(repo_project)}
    for evaluator in ("sigma", "spl"):
        found = [r.index for r in results if ids[SELF_SIGNED] in r.matches.get(evaluator, [])]
        assert found == [i for i, row in enumerate(real_rows) if _self_signed(row)], evaluator
    assert all(not r.matches.get("eql") and not r.matches.get("kql") for r in results)
