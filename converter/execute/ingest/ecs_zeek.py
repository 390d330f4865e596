"""Elastic model: the `_source` the Elastic Agent Zeek integration stores for a Zeek log row.

Replays, processor by processor, the ingest pipelines of elastic/integrations `packages/zeek`
(read in 2026; each step below names its processor):

- x509.log: `data_stream/x509/elasticsearch/ingest_pipeline/default.yml` @ 07f0a821ca8b
  (ecs.version 8.9.0), data stream `zeek.x509`;
- ssl.log: `data_stream/ssl/elasticsearch/ingest_pipeline/default.yml` @ 03803c7f67cb
  (ecs.version 8.17.0), data stream `zeek.ssl`.

The input is the line Zeek's JSON writer wrote (`message`, here the `ZeekRecord` as JSON), and
the Agent's `event.dataset` / `data_stream.*` for the data stream (`fields/base-fields.yml`:
`event.dataset` is a constant_keyword of value `zeek.<log>`).

Quirks kept on purpose, because real documents have them:

- The distinguished names are not kept. x509: `certificate.subject` and `certificate.issuer` are
  renamed to `.sub`/`.iss`, `gsub` deletes every escaped comma (`\\,`, backslash and comma
  both), a `kv` processor splits the rest on `,` and `=` into `zeek.x509.certificate.subject.*`
  (`C`, `CN`, `L`, `O`, `OU`, `ST` renamed to `country`, `common_name`, `locality`,
  `organization`, `organizational_unit`, `state`; other keys such as `emailAddress` stay as
  they are, a repeated key becomes a list) and the string is removed. `file.x509.subject.*` and
  `file.x509.issuer.*` get one-element lists, only for parts that are single strings. ssl keeps
  the string after `gsub` in `tls.server.subject` / `tls.server.issuer`, and splits it the same
  way into `zeek.ssl.server.subject.*` and `tls.server.x509.*`; the client's subject is split and
  removed. The pipelines' test expectations show the escaped comma going away
  (`_dev/test/pipeline/test-ssl.log-expected.json`: `O=Elasticsearch\\, Inc.` becomes
  `Elasticsearch Inc.`).
- A part without `=` (an empty name, for one) makes `kv` fail: the pipeline's `on_failure` sets
  `event.kind` to `pipeline_error` and `error.message`, and the document keeps what the
  processors before it did (Elasticsearch indexes it all the same).
- The x509 pipeline's `dot_expander` for `basic_constraints.ca` names the full path by
  mistake, so that key stays dotted (`zeek.x509["basic_constraints.ca"]`) and is not renamed;
  `certificate.curve` and the keys no processor names (`host_cert`, `client_cert`,
  `fingerprint`) stay as Zeek wrote them too. ssl keeps `cert_chain_fps` and
  `client_cert_chain_fps` (Zeek 6 and later) unrenamed.
- ssl sets `network.transport` to `tcp` for every row (DTLS included), keeps `event.original`
  and derives `tls.version` from `version` by a script (`TLSv12` -> `1.2`, `SSLv3` -> `3.0`).

Not modelled: `event.created` and the other Agent metadata (the read time, host, input),
`geoip` (`source.geo`, `*.as`), `network.community_id`, and the `third-party` pipeline for rows
forwarded from Splunk (`_temp_.result`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from converter.core.documents import EcsDocument
from converter.core.zeek import ZeekRecord

X509_ECS_VERSION = "8.9.0"
SSL_ECS_VERSION = "8.17.0"
_MISSING = object()
# The x509 pipeline's script: Zeek's (OpenSSL's) signature algorithm names -> ECS values.
_SIGNATURE_ALGORITHMS = {
    "md2WithRSAEncryption": "MD2-RSA",
    "md5WithRSAEncryption": "MD5-RSA",
    "sha-1WithRSAEncryption": "SHA1-RSA",
    "sha256WithRSAEncryption": "SHA256-RSA",
    "sha384WithRSAEncryption": "SHA384-RSA",
    "sha512WithRSAEncryption": "SHA512-RSA",
    "dsaWithSha1": "DSA-SHA1",
    "dsaWithSha256": "DSA-SHA256",
    "ecdsa-with-SHA1": "ECDSA-SHA1",
    "ecdsa-with-SHA256": "ECDSA-SHA256",
    "ecdsa-with-SHA384": "ECDSA-SHA384",
    "ecdsa-with-SHA512": "ECDSA-SHA512",
    "id-Ed25519": "Ed25519",
}
# kv keys the pipelines rename, and their ECS (`file.x509.*`, `tls.*.x509.*`) names.
_NAME_PARTS = (
    ("C", "country", "country"),
    ("CN", "common_name", "common_name"),
    ("L", "locality", "locality"),
    ("O", "organization", "organization"),
    ("OU", "organizational_unit", "organizational_unit"),
    ("ST", "state", "state_or_province"),
)


class PipelineFailure(Exception):
    """A processor failed: the pipeline's `on_failure` handlers run instead of the rest."""


def to_ecs(record: ZeekRecord) -> EcsDocument | None:
    """The document the Zeek integration stores for the row, or None (log not modelled, or the
    pipeline drops the row: no `ts`)."""
    pipeline = PIPELINES.get(record.log)
    return _run(record, *pipeline) if pipeline is not None else None


def _run(
    record: ZeekRecord,
    steps: Callable[[Doc], None],
    on_failure: Callable[[Doc, str], None],
) -> EcsDocument | None:
    parsed = {name: value for name, value in record.fields.items() if value is not None}
    if parsed.get("ts") is None:  # drop: "Drop if no timestamp (invalid json)"
        return None
    dataset = f"zeek.{record.log}"
    doc = Doc(
        {
            "data_stream": {"dataset": dataset, "namespace": "default", "type": "logs"},
            "event": {"dataset": dataset, "original": json_line(parsed)},
            "zeek": {record.log: copy.deepcopy(parsed)},  # json + rename _temp_
        }
    )
    try:
        steps(doc)
    except PipelineFailure as failure:
        on_failure(doc, str(failure))
    return doc.source


def _x509_on_failure(doc: Doc, message: str) -> None:
    doc.set("event.kind", "pipeline_error")
    doc.append("error.message", message)


def _ssl_on_failure(doc: Doc, message: str) -> None:
    doc.set("event.kind", "pipeline_error")
    doc.set("error.message", message)
    doc.append("tags", "preserve_original_event", allow_duplicates=False)


def json_line(fields: dict[str, Any]) -> str:
    """The row as Zeek's JSON writer writes it: one object, no spaces."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


# --- Elasticsearch ingest semantics on a nested `_source` ----------------------------------------


class Doc:
    """`IngestDocument` field access: dotted paths walk nested objects only (a key holding a
    dot is not found through a path, as in Elasticsearch)."""

    def __init__(self, source: EcsDocument) -> None:
        self.source = source

    def get(self, path: str) -> Any:
        node: Any = self.source
        for key in path.split("."):
            if type(node) is not dict or key not in node:
                return _MISSING
            node = node[key]
        return node

    def has(self, path: str) -> bool:
        return self.get(path) is not _MISSING

    def set(self, path: str, value: Any) -> None:
        keys = path.split(".")
        if "" in keys:
            raise PipelineFailure(f"path [{path}] is not valid")
        node = self.source
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if type(child) is not dict:
                raise PipelineFailure(
                    f"cannot set [{keys[-1]}] with parent object of type [{type(child).__name__}]"
                )
            node = child
        node[keys[-1]] = value

    def remove(self, path: str) -> Any:
        keys = path.split(".")
        parent = self.get(".".join(keys[:-1])) if len(keys) > 1 else self.source
        if type(parent) is not dict or keys[-1] not in parent:
            return _MISSING
        return parent.pop(keys[-1])

    def append(self, path: str, value: Any, allow_duplicates: bool = True) -> None:
        current = self.get(path)
        if current is _MISSING:
            self.set(path, [value])
            return
        values = current if type(current) is list else [current]
        if allow_duplicates or value not in values:
            values.append(value)
        self.set(path, values)

    def append_value(self, path: str, value: Any) -> None:
        """`appendFieldValue` (kv): a first value is set as it is, a second one makes a list."""
        current = self.get(path)
        if current is _MISSING:
            self.set(path, value)
        elif type(current) is list:
            current.append(value)
        else:
            self.set(path, [current, value])

    # processors ------------------------------------------------------------------------------

    def rename(self, field: str, target: str) -> None:  # every rename here has ignore_missing
        if not self.has(field):
            return
        if self.has(target):
            raise PipelineFailure(f"field [{target}] already exists")
        self.set(target, self.remove(field))

    def dot_expand(self, path: str, field: str) -> None:
        parent = self.get(path)
        if type(parent) is dict and field in parent:
            value = parent.pop(field)
            if self.has(f"{path}.{field}"):
                self.append_value(f"{path}.{field}", value)
            else:
                self.set(f"{path}.{field}", value)

    def set_template(self, target: str, field: str) -> None:
        """`set` with `value: "{{{field}}}"` and `ignore_empty_value`."""
        text = _mustache(self.get(field))
        if text:
            self.set(target, text)

    def convert(self, field: str, target: str, kind: str) -> None:  # with ignore_missing
        value = self.get(field)
        if value is _MISSING:
            return
        self.set(target, _CONVERT[kind](value))

    def date(self, field: str, target: str = "@timestamp") -> None:
        self.set(target, _unix_to_iso(self.get(field)))

    def gsub_escaped_commas(self, field: str) -> None:
        value = self.get(field)
        if value is _MISSING:
            return
        if type(value) is not str:
            raise PipelineFailure(
                f"field [{field}] of type [{type(value).__name__}] cannot be cast to [String]"
            )
        self.set(field, value.replace("\\,", ""))

    def kv(self, field: str, target: str) -> None:
        """`kv` with `field_split: ","` and `value_split: "="` (Java `String.split` for both)."""
        value = self.get(field)
        if value is _MISSING:
            return
        if type(value) is not str:
            raise PipelineFailure(
                f"field [{field}] of type [{type(value).__name__}] cannot be cast to [String]"
            )
        for part in _java_split(value, ","):
            pair = part.split("=", 1)
            if len(pair) != 2:
                raise PipelineFailure(f"field [{field}] does not contain value_split [=]")
            self.append_value(f"{target}.{pair[0]}", pair[1])


def _java_split(text: str, separator: str) -> list[str]:
    # Java's String.split(regex): no match gives the text itself; trailing empty strings go.
    if separator not in text:
        return [text]
    parts = text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _mustache(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is list:
        return "[" + ", ".join(_mustache(item) for item in value) + "]"
    return str(value)


def _to_long(value: Any) -> int:
    if type(value) is int:
        return value
    try:
        return int(str(value), 10)
    except ValueError:
        raise PipelineFailure(f"unable to convert [{value}] to long") from None


def _to_boolean(value: Any) -> bool:
    if type(value) is bool:
        return value
    if type(value) is str and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise PipelineFailure(f"[{value}] is not a boolean value, cannot convert to boolean")


_CONVERT: dict[str, Callable[[Any], Any]] = {"long": _to_long, "boolean": _to_boolean}


def _unix_to_iso(value: Any) -> str:
    """The `date` processor with format UNIX: seconds (with a fraction), truncated to
    milliseconds, written as `yyyy-MM-dd'T'HH:mm:ss.SSSZ` in UTC."""
    try:
        millis = int(float(value) * 1000) if type(value) is not bool else None
    except (TypeError, ValueError):
        millis = None
    if millis is None:
        raise PipelineFailure(f"unable to parse date [{_mustache(value)}]")
    moment = datetime.fromtimestamp(millis // 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"


def _name_parts(doc: Doc, parts: str, ecs: str) -> None:
    """The `set` (only for single strings) and `rename` pairs after each `kv`."""
    for key, long_name, ecs_name in _NAME_PARTS:
        value = doc.get(f"{parts}.{key}")
        if type(value) is str:
            doc.set(f"{ecs}.{ecs_name}", [value])
        doc.rename(f"{parts}.{key}", f"{parts}.{long_name}")


# --- x509.log ------------------------------------------------------------------------------------

_X509_EXPANDED = (
    "certificate.version certificate.serial certificate.subject certificate.issuer "
    "certificate.not_valid_before certificate.not_valid_after certificate.key_alg "
    "certificate.sig_alg certificate.key_type certificate.key_length certificate.exponent "
    "certificate.cn zeek.x509.basic_constraints.ca basic_constraints.path_len"
).split()
_X509_RENAMES = (
    ("certificate.not_valid_before", "certificate.valid.from"),
    ("certificate.not_valid_after", "certificate.valid.until"),
    ("basic_constraints.ca", "basic_constraints.certificate_authority"),
    ("basic_constraints.path_len", "basic_constraints.path_length"),
    ("certificate.cn", "certificate.common_name"),
    ("certificate.issuer", "certificate.iss"),
    ("certificate.subject", "certificate.sub"),
    ("certificate.key_alg", "certificate.key.algorithm"),
    ("certificate.key_length", "certificate.key.length"),
    ("certificate.key_type", "certificate.key.type"),
    ("certificate.sig_alg", "certificate.signature_algorithm"),
    ("logcert", "log_cert"),
)


def _x509(doc: Doc) -> None:
    doc.set("event.kind", "event")
    doc.set("ecs.version", X509_ECS_VERSION)
    doc.append("event.type", "info")
    for field in _X509_EXPANDED:
        doc.dot_expand("zeek.x509", field)
    doc.rename("zeek.x509.id", "zeek.session_id")
    if doc.get("zeek.session_id") not in (_MISSING, None):
        doc.set("event.id", doc.get("zeek.session_id"))
    for field, target in _X509_RENAMES:
        doc.rename(f"zeek.x509.{field}", f"zeek.x509.{target}")
    doc.date("zeek.x509.ts")
    doc.remove("zeek.x509.ts")
    doc.set_template("file.x509.signature_algorithm", "zeek.x509.certificate.signature_algorithm")
    algorithm = doc.get("file.x509.signature_algorithm")
    if algorithm in _SIGNATURE_ALGORITHMS:
        doc.set("file.x509.signature_algorithm", _SIGNATURE_ALGORITHMS[algorithm])
    doc.set_template("file.x509.public_key_algorithm", "zeek.x509.certificate.key.algorithm")
    doc.convert("zeek.x509.certificate.key.length", "file.x509.public_key_size", "long")
    doc.convert("zeek.x509.certificate.exponent", "file.x509.public_key_exponent", "long")
    doc.set_template("file.x509.serial_number", "zeek.x509.certificate.serial")
    doc.set_template("file.x509.version_number", "zeek.x509.certificate.version")
    for kind in ("dns", "uri", "email", "ip", "other_fields"):
        doc.dot_expand("zeek.x509", f"san.{kind}")
        names = doc.get(f"zeek.x509.san.{kind}")
        for name in names if type(names) is list else []:  # foreach, ignore_missing
            doc.append("file.x509.alternative_names", _mustache(name))
    for field, ecs in (("valid.from", "not_before"), ("valid.until", "not_after")):
        if doc.get(f"zeek.x509.certificate.{field}") not in (_MISSING, None):
            doc.date(f"zeek.x509.certificate.{field}", f"zeek.x509.certificate.{field}")
        doc.set_template(f"file.x509.{ecs}", f"zeek.x509.certificate.{field}")
    for short, name in (("iss", "issuer"), ("sub", "subject")):
        doc.gsub_escaped_commas(f"zeek.x509.certificate.{short}")
        doc.kv(f"zeek.x509.certificate.{short}", f"zeek.x509.certificate.{name}")
        doc.remove(f"zeek.x509.certificate.{short}")
        _name_parts(doc, f"zeek.x509.certificate.{name}", f"file.x509.{name}")
    # remove event.original unless the tags ask to preserve it (no tags are set here)
    doc.remove("event.original")


# --- ssl.log -------------------------------------------------------------------------------------

_SSL_RENAMES = (
    ("server_name", "server.name"),
    ("cert_chain", "server.cert_chain"),
    ("cert_chain_fuids", "server.cert_chain_fuids"),
    ("client_cert_chain", "client.cert_chain"),
    ("client_cert_chain_fuids", "client.cert_chain_fuids"),
    ("validation_status", "validation.status"),
    ("validation_code", "validation.code"),
)


def _ssl(doc: Doc) -> None:
    doc.set("event.kind", "event")
    doc.set("ecs.version", SSL_ECS_VERSION)
    doc.append("event.category", "network")
    doc.append("event.type", "connection")
    doc.append("event.type", "protocol")
    doc.set("network.transport", "tcp")
    for field in ("id.orig_p", "id.orig_h", "id.resp_h", "id.resp_p"):
        doc.dot_expand("zeek.ssl", field)
    for field, target in (
        ("id.orig_h", "source.address"),
        ("id.orig_p", "source.port"),
        ("id.resp_h", "destination.address"),
        ("id.resp_p", "destination.port"),
    ):
        doc.rename(f"zeek.ssl.{field}", target)
    doc.rename("zeek.ssl.uid", "zeek.session_id")
    for field, target in (
        ("zeek.session_id", "event.id"),
        ("source.address", "source.ip"),
        ("source.address", "client.address"),
        ("destination.address", "destination.ip"),
        ("destination.address", "server.address"),
    ):
        if doc.get(field) not in (_MISSING, None):
            doc.set(target, copy.deepcopy(doc.get(field)))
    for field, target in _SSL_RENAMES:
        doc.rename(f"zeek.ssl.{field}", f"zeek.ssl.{target}")
    doc.date("zeek.ssl.ts")
    doc.remove("zeek.ssl.ts")
    doc.rename("zeek.ssl.not_valid_after", "tls.server.not_after")
    doc.rename("zeek.ssl.not_valid_before", "tls.server.not_before")
    for field in ("tls.server.not_before", "tls.server.not_after"):
        if doc.get(field) not in (_MISSING, None):
            doc.date(field, field)
    if doc.get("zeek.ssl.client.cert_chain_fuids") == []:
        doc.remove("zeek.ssl.client.cert_chain_fuids")
    doc.gsub_escaped_commas("zeek.ssl.issuer")
    doc.kv("zeek.ssl.issuer", "zeek.ssl.server.issuer")
    doc.rename("zeek.ssl.issuer", "tls.server.issuer")
    doc.rename("zeek.ssl.resp_certificate_sha1", "tls.server.hash.sha1")
    sha1 = doc.get("tls.server.hash.sha1")
    if type(sha1) is str:
        doc.set("tls.server.hash.sha1", sha1.upper())
    _name_parts(doc, "zeek.ssl.server.issuer", "tls.server.x509.issuer")
    doc.gsub_escaped_commas("zeek.ssl.subject")
    doc.kv("zeek.ssl.subject", "zeek.ssl.server.subject")
    doc.rename("zeek.ssl.subject", "tls.server.subject")
    _name_parts(doc, "zeek.ssl.server.subject", "tls.server.x509.subject")
    doc.gsub_escaped_commas("zeek.ssl.client_issuer")
    doc.kv("zeek.ssl.client_issuer", "zeek.ssl.client.issuer")
    doc.rename("zeek.ssl.client_issuer", "tls.client.issuer")
    # The pipeline renames `zeek.ssl.issuer.subject.OU` here instead of the client issuer's OU:
    # `zeek.ssl.client.issuer.OU` keeps its short name.
    _client_issuer_parts(doc)
    doc.gsub_escaped_commas("zeek.ssl.client_subject")
    doc.kv("zeek.ssl.client_subject", "zeek.ssl.client.subject")
    doc.remove("zeek.ssl.client_subject")
    _name_parts(doc, "zeek.ssl.client.subject", "tls.client.x509.subject")
    doc.set_template("tls.cipher", "zeek.ssl.cipher")
    doc.set_template("tls.curve", "zeek.ssl.curve")
    doc.convert("zeek.ssl.established", "tls.established", "boolean")
    doc.convert("zeek.ssl.resumed", "tls.resumed", "boolean")
    _tls_version(doc)
    doc.rename("zeek.ssl.ja3", "tls.client.ja3")
    doc.rename("zeek.ssl.ja3s", "tls.server.ja3s")
    for field, target, duplicates in (
        ("source.ip", "related.ip", False),
        ("destination.ip", "related.ip", False),
        ("tls.server.ja3s", "related.hash", True),
        ("tls.client.ja3", "related.hash", False),
    ):
        if doc.get(field) not in (_MISSING, None):
            doc.append(target, _mustache(doc.get(field)), allow_duplicates=duplicates)
    client = doc.get("zeek.ssl.client")
    if client is _MISSING or client is None or client == {}:
        doc.remove("zeek.ssl.client")
    doc.remove("zeek.ssl.id")


def _client_issuer_parts(doc: Doc) -> None:
    parts, ecs = "zeek.ssl.client.issuer", "tls.client.x509.issuer"
    for key, long_name, ecs_name in _NAME_PARTS:
        value = doc.get(f"{parts}.{key}")
        if type(value) is str:
            doc.set(f"{ecs}.{ecs_name}", [value])
        if key == "OU":
            doc.rename("zeek.ssl.issuer.subject.OU", "zeek.ssl.issuer.subject.organizational_unit")
        else:
            doc.rename(f"{parts}.{key}", f"{parts}.{long_name}")


def _tls_version(doc: Doc) -> None:
    """The pipeline's painless script on `zeek.ssl.version` (`splitOnToken("v")`)."""
    version = doc.get("zeek.ssl.version")
    if version in (_MISSING, None):
        return
    if type(version) is not str:
        raise PipelineFailure("script: version is not a string")
    parts = version.split("v")
    if len(parts) != 2:
        return
    if not doc.has("tls"):
        raise PipelineFailure("script: cannot set tls.version, ctx.tls is null")
    if parts[0] == "SSL":
        doc.set("tls.version", parts[1] + ".0")
    else:
        if not parts[1]:
            raise PipelineFailure("script: begin 0, end 1, length 0")
        doc.set("tls.version", parts[1][:1] + "." + parts[1][1:])
    doc.set("tls.version_protocol", parts[0].lower())


# Zeek log -> its data stream's pipeline steps and `on_failure` handler.
PIPELINES: dict[str, tuple[Callable[[Doc], None], Callable[[Doc, str], None]]] = {
    "x509": (_x509, _x509_on_failure),
    "ssl": (_ssl, _ssl_on_failure),
}
