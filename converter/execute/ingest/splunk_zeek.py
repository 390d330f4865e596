"""Splunk model: the search-time event Splunk holds for one Zeek log row (JSON writer).

It follows the Splunk Add-on for Zeek aka Bro 4.0.0 (Splunk_TA_bro, Splunkbase 1617), whose
`props.conf` and `transforms.conf` are reproduced, with `bro` renamed to `zeek`, in
ThreatNerdz/Splunk_TA_bro_patched `local/` (the add-on's own documentation:
docs.splunk.com/Documentation/AddOns/latest/BroIDS):

- Zeek's JSON logs are monitored with sourcetype `bro:json`; the index-time transform
  `broAutoTypeJSON` renames the sourcetype from the file name
  (`REGEX = (?:[a-zA-Z0-9_]+\\.)?([a-zA-Z0-9_]+)\\.log`, `FORMAT = sourcetype::bro:$1:json`), so
  `x509.log` is `bro:x509:json` and `ssl.log` is `bro:ssl:json` (public searches over Splunk
  Attack Range data read `sourcetype="bro:x509:json" ... stats count by certificate.subject`).
  `source` is the monitored file.
- `_raw` is the line Zeek wrote; the `bro:*:json` stanza extracts fields at search time with
  `KV_MODE = JSON`: a top-level key is a field of the same name (Zeek's keys already carry their
  dots: `certificate.subject`, `id.orig_h`), a JSON array is the multivalue field `<key>{}`
  (the add-on's own aliases read `cert_chain_fuids{}`), `true`/`false` are the text
  `true`/`false`, and numbers keep their JSON text. An empty array gives no field; an empty
  string is taken to give none either, as for the XML renderings (assumed: Splunk documents no
  empty-value case for JSON).
- Aliases from the same `props.conf`: `id.resp_h` as `dest` and `dest_ip`, `id.orig_h` as
  `src` and `src_ip`, `id.orig_p` as `src_port` (`bro:*:json`), `dest_port` from `id.resp_p`
  (the `bro` stanza's `EVAL-dest_port`), and for `bro:ssl:json` `cert_chain_fuids{}` and
  `client_cert_chain_fuids{}` under their names without `{}`.

Not modelled: lookups (`vendor_product`, `transport`, `action`), eventtypes and tags, `host`
(the forwarder's), `_time` and the other internal fields.
"""

from __future__ import annotations

import json
from typing import Any

from converter.core.documents import SplunkEvent
from converter.core.zeek import ZeekRecord

SOURCETYPES = {"x509": "bro:x509:json", "ssl": "bro:ssl:json"}
# where the zeekctl default layout writes the current logs
LOG_DIRECTORY = "/opt/zeek/logs/current"
_ALIASES = (
    ("id.resp_h", "dest"),
    ("id.resp_h", "dest_ip"),
    ("id.orig_h", "src"),
    ("id.orig_h", "src_ip"),
    ("id.orig_p", "src_port"),
    ("id.resp_p", "dest_port"),
)
_SSL_ALIASES = (
    ("cert_chain_fuids{}", "cert_chain_fuids"),
    ("client_cert_chain_fuids{}", "client_cert_chain_fuids"),
)


def to_splunk(record: ZeekRecord) -> SplunkEvent | None:
    """The event Splunk searches for the row, or None for a log this model does not cover."""
    sourcetype = SOURCETYPES.get(record.log)
    if sourcetype is None:
        return None
    row = {name: value for name, value in record.fields.items() if value is not None}
    fields: dict[str, list[str]] = {}
    for name, value in row.items():
        if type(value) is list:
            values = [text for item in value if (text := _json_text(item))]
            if values:
                fields[f"{name}{{}}"] = values
        elif text := _json_text(value):
            fields[name] = [text]
    aliases = _ALIASES + (_SSL_ALIASES if record.log == "ssl" else ())
    for source, target in aliases:
        if source in fields:
            fields[target] = list(fields[source])
    return SplunkEvent(
        fields=fields,
        raw=json.dumps(row, separators=(",", ":"), ensure_ascii=False),
        source=f"{LOG_DIRECTORY}/{record.log}.log",
        sourcetype=sourcetype,
    )


def _json_text(value: Any) -> str:
    if type(value) is bool:
        return "true" if value else "false"
    if value is None:
        return ""
    # A number keeps the text it has in the JSON line.
    return value if type(value) is str else json.dumps(value)
