"""The ECS model of Zeek x509.log and ssl.log rows (converter.execute.ingest.ecs_zeek).

Each test pins one step of the Zeek integration's ingest pipelines (elastic/integrations
`packages/zeek/data_stream/{x509,ssl}/elasticsearch/ingest_pipeline/default.yml`); values marked
"expected.json" are what the data streams' `_dev/test/pipeline/test-*.log-expected.json` show for
the same input values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sigma.backends.elasticsearch import EqlBackend
from sigma.collection import SigmaCollection
from sigma.plugins import InstalledSigmaPlugins
from sigma.rule import SigmaRule

from converter.core.zeek import ZeekRecord
from converter.execute.engines.eql import EqlEngine
from converter.execute.ingest.ecs_zeek import json_line, to_ecs

FILES = Path(__file__).resolve().parent / "files" / "zeek"
MS_IT5 = (
    "CN=Microsoft IT TLS CA 5,OU=Microsoft IT,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US"
)


def x509(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ts": 1543867200.143484,
        "fingerprint": "b3c1f0e2d4a59687",
        "certificate.version": 3,
        "certificate.serial": "6E1A4C2B",
        "certificate.subject": "CN=www.example.net",
        "certificate.issuer": MS_IT5,
        "certificate.not_valid_before": 1500572828.0,
        "certificate.not_valid_after": 1562780828.0,
        "certificate.key_alg": "rsaEncryption",
        "certificate.sig_alg": "sha256WithRSAEncryption",
        "certificate.key_type": "rsa",
        "certificate.key_length": 2048,
        "certificate.exponent": "65537",
        "san.dns": ["www.example.net", "example.net"],
        "basic_constraints.ca": False,
        "host_cert": True,
        "client_cert": False,
    }
    row.update({key.replace("__", "."): value for key, value in fields.items()})
    document = to_ecs(ZeekRecord("x509", {k: v for k, v in row.items() if v is not None}))
    assert document is not None
    return document


def ssl_row(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ts": 1602179457.352156,
        "uid": "CK17Dl2SB8bZOVonSl",
        "id.orig_h": "10.0.0.1",
        "id.orig_p": 49228,
        "id.resp_h": "192.168.50.1",
        "id.resp_p": 443,
        "version": "TLSv12",
        "cipher": "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "resumed": False,
        "established": True,
        "cert_chain_fps": ["a1b2c3"],
        "client_cert_chain_fps": [],
        "validation_status": "self signed certificate",
    }
    row.update({key.replace("__", "."): value for key, value in fields.items()})
    return {k: v for k, v in row.items() if v is not None}


def ssl(**fields: Any) -> dict[str, Any]:
    document = to_ecs(ZeekRecord("ssl", ssl_row(**fields)))
    assert document is not None
    return document


# --- x509 -----------------------------------------------------------------------------------


def test_x509_names_are_split_and_the_strings_removed() -> None:
    certificate = x509()["zeek"]["x509"]["certificate"]
    # expected.json (x509): the issuer's parts under their long names, no string left
    assert certificate["issuer"] == {
        "common_name": "Microsoft IT TLS CA 5",
        "country": "US",
        "locality": "Redmond",
        "organization": "Microsoft Corporation",
        "organizational_unit": "Microsoft IT",
        "state": "Washington",
    }
    assert certificate["subject"] == {"common_name": "www.example.net"}
    assert "sub" not in certificate and "iss" not in certificate


def test_x509_ecs_fields() -> None:
    file_x509 = x509()["file"]["x509"]
    # expected.json (x509) for the same certificate values
    assert file_x509["signature_algorithm"] == "SHA256-RSA"
    assert file_x509["not_before"] == "2017-07-20T17:47:08.000Z"
    assert file_x509["not_after"] == "2019-07-10T17:47:08.000Z"
    assert file_x509["public_key_exponent"] == 65537
    assert file_x509["public_key_size"] == 2048
    assert file_x509["version_number"] == "3"
    assert file_x509["alternative_names"] == ["www.example.net", "example.net"]
    # the 8.x pipeline writes one-element lists (sample_event.json)
    assert file_x509["issuer"]["common_name"] == ["Microsoft IT TLS CA 5"]
    assert file_x509["subject"] == {"common_name": ["www.example.net"]}


def test_x509_timestamp_and_dataset() -> None:
    document = x509()
    assert document["@timestamp"] == "2018-12-03T20:00:00.143Z"  # expected.json: millis cut
    assert document["event"] == {"dataset": "zeek.x509", "kind": "event", "type": ["info"]}
    assert document["data_stream"]["dataset"] == "zeek.x509"
    assert document["ecs"] == {"version": "8.9.0"}
    assert "ts" not in document["zeek"]["x509"]  # and event.original is removed


def test_x509_escaped_commas_are_deleted_and_repeated_keys_listed() -> None:
    document = x509(certificate__subject="CN=a,OU=Dev,OU=Ops,O=Example\\, Inc.,C=US")
    subject = document["zeek"]["x509"]["certificate"]["subject"]
    assert subject["organization"] == "Example Inc."
    assert subject["organizational_unit"] == ["Dev", "Ops"]
    # only single strings reach file.x509
    assert "organizational_unit" not in document["file"]["x509"]["subject"]


def test_x509_rdn_without_comma_stays_one_part() -> None:
    subject = x509(certificate__subject="L=TURNBKL+CN=SERVR")["zeek"]["x509"]["certificate"]
    assert subject["subject"] == {"locality": "TURNBKL+CN=SERVR"}


def test_x509_kv_failure_is_a_pipeline_error() -> None:
    document = x509(certificate__subject="")
    assert document["event"]["kind"] == "pipeline_error"
    assert document["error"]["message"] == [
        "field [zeek.x509.certificate.sub] does not contain value_split [=]"
    ]
    # processors after the failure did not run: the subject string is still there
    assert document["zeek"]["x509"]["certificate"]["sub"] == ""


def test_x509_keys_the_pipeline_leaves_alone() -> None:
    row = x509(basic_constraints__path_len=0, certificate__curve="prime256v1")["zeek"]["x509"]
    assert row["basic_constraints.ca"] is False  # the dot_expander names the wrong path
    assert row["basic_constraints"] == {"path_length": 0}
    assert row["certificate.curve"] == "prime256v1"
    assert row["host_cert"] is True


def test_x509_without_ts_is_dropped() -> None:
    assert to_ecs(ZeekRecord("x509", {"certificate.subject": "CN=x"})) is None
    assert to_ecs(ZeekRecord("conn", {"ts": 1.0})) is None


# --- ssl ------------------------------------------------------------------------------------


def test_ssl_fields() -> None:
    document = ssl()
    zeek = document["zeek"]["ssl"]
    assert zeek["validation"] == {"status": "self signed certificate"}
    assert zeek["established"] is True and document["tls"]["established"] is True
    assert (document["tls"]["version"], document["tls"]["version_protocol"]) == ("1.2", "tls")
    assert document["source"] == {"address": "10.0.0.1", "ip": "10.0.0.1", "port": 49228}
    assert document["destination"]["port"] == 443
    assert document["event"]["id"] == document["zeek"]["session_id"] == "CK17Dl2SB8bZOVonSl"
    assert document["event"]["category"] == ["network"]
    assert document["event"]["type"] == ["connection", "protocol"]
    assert document["network"]["transport"] == "tcp"
    assert zeek["cert_chain_fps"] == ["a1b2c3"]  # Zeek 6 names, not renamed
    assert "id" not in zeek and "ts" not in zeek
    # this pipeline version keeps event.original (the x509 one removes it)
    assert document["event"]["original"] == json_line(ssl_row())


@pytest.mark.parametrize(
    ("version", "tls"),
    [("TLSv12", "1.2"), ("TLSv13", "1.3"), ("SSLv3", "3.0"), ("DTLSv10", "1.0")],
)
def test_ssl_version_script(version: str, tls: str) -> None:
    assert ssl(version=version)["tls"]["version"] == tls


def test_ssl_keeps_names_without_escaped_commas() -> None:
    # expected.json (ssl): O=Elasticsearch\, Inc. is stored as "Elasticsearch Inc."
    document = ssl(subject="CN=*.example.com,O=Example\\, Inc.,C=US", issuer="CN=CA,O=Example CA")
    assert document["tls"]["server"]["subject"] == "CN=*.example.com,O=Example Inc.,C=US"
    assert document["tls"]["server"]["issuer"] == "CN=CA,O=Example CA"
    assert document["zeek"]["ssl"]["server"]["subject"]["organization"] == "Example Inc."
    assert document["tls"]["server"]["x509"]["issuer"]["common_name"] == ["CA"]


def test_ssl_client_issuer_keeps_short_ou() -> None:
    # the pipeline renames zeek.ssl.issuer.subject.OU, not the client issuer's OU
    client = ssl(client_issuer="CN=Client CA,OU=PKI")["zeek"]["ssl"]["client"]["issuer"]
    assert client == {"common_name": "Client CA", "OU": "PKI"}


def test_ssl_empty_client_chain_removed() -> None:
    document = ssl(client_cert_chain_fuids=[], cert_chain_fuids=["F1"])
    assert "client" not in document["zeek"]["ssl"]
    assert document["zeek"]["ssl"]["server"]["cert_chain_fuids"] == ["F1"]


# --- the stock pipelines this project does not use --------------------------------------------

STOCK_BROKEN = {
    "certificate.subject": "zeek.x509.certificate.sub  # why did Elastic beats do this",
    "certificate.issuer": "zeek.x509.certificate.iss # why did Elastic beats do this",
    "ssl_subject": "zeek.ssl.subject  ",
    "validation_status": "zeek.ssl.validation_status",
    "san.uri": "zeek.x509.san.url",
}


@pytest.mark.parametrize("name", ["ecs_zeek_beats", "ecs_zeek_corelight"])
def test_stock_ecs_zeek_pipelines_still_map_to_broken_names(name: str) -> None:
    # pysigma-backend-elasticsearch 2.1.1: when this fails, the stock defect is fixed and
    # docs/converter-defects.md ("Zeek field names") can say so.
    resolver = InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()
    pipeline = resolver.resolve([name])
    mapping = next(
        item.transformation.mapping
        for item in pipeline.items
        if item.identifier == "zeek_ecs_field_mapping"
    )
    assert {field: mapping[field] for field in STOCK_BROKEN} == STOCK_BROKEN


def test_stock_query_never_matches_an_elastic_zeek_document() -> None:
    text = (FILES / "stock_ecs_zeek_certificate_subject.yml").read_text(encoding="utf-8")
    resolver = InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()
    stock = EqlBackend(resolver.resolve(["ecs_zeek_beats"])).convert(
        SigmaCollection.from_yaml(text)
    )
    assert stock == [
        'any where event.dataset:"zeek.x509" and '
        "`zeek.x509.certificate.sub  # why did Elastic beats do this`:"
        '"*O=Internet Widgits Pty Ltd*"'
    ]
    default_subject = x509(certificate__subject="O=Internet Widgits Pty Ltd,ST=Some-State,C=AU")
    assert EqlEngine().compile(stock[0]).select([default_subject]) == []
    # The subject's organization is there, under the name the integration gives it
    assert (
        default_subject["zeek"]["x509"]["certificate"]["subject"]["organization"]
        == "Internet Widgits Pty Ltd"
    )
    assert SigmaRule.from_yaml(text).logsource.service == "x509"


def test_ssl_kv_failure_keeps_the_original_event() -> None:
    # the ssl pipeline's on_failure sets one message and tags the event to keep event.original
    document = ssl(issuer="")
    assert document["event"]["kind"] == "pipeline_error"
    assert (
        document["error"]["message"] == "field [zeek.ssl.issuer] does not contain value_split [=]"
    )
    assert document["tags"] == ["preserve_original_event"]
    assert "established" not in document.get("tls", {})  # processors after kv did not run
