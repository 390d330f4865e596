"""Splunk model for Linux audit records: the events Splunk holds for `/var/log/audit/audit.log`.

The Splunk Add-on for Unix and Linux (Splunk_TA_nix) parses audit.log under its `[auditd]`
props.conf stanza: one event per line (`LINE_BREAKER = ([\\r\\n]+)`, `SHOULD_LINEMERGE =
false`), the time from `audit(` on, and no `KV_MODE`, `REPORT-` or `EXTRACT-` setting, so the
fields are Splunk's automatic key-value extraction (props.conf.spec: `KV_MODE` defaults to
`auto`; Knowledge Manager Manual, "Configure automatic key-value field extraction"). The add-on
has no `[linux:audit]` stanza; its retired `[linux_audit]` stanza (the TA-deployment-apps block)
only adds CIM aliases for user-space records. Splunk's own detections search this data as
`sourcetype="auditd"` (splunk/security_content `macros/linux_auditd.yml`, data source
`data_sources/linux_auditd_execve.yml`), so a monitor input of audit.log is modelled with
`source=/var/log/audit/audit.log`, `sourcetype=auditd`.

Each record of an audit event is one Splunk event (`to_splunk` returns a `DocumentGroup`):

- `_raw` is the record's line as auditd writes it: `node=... type=... msg=audit(<time>:<serial>):`
  and the record's `key=value` pairs, quoted values in double quotes (single quotes when the
  value holds a double quote), hex as hex;
- automatic key-value extraction gives `type`, `msg` (`audit(<time>:<serial>):`, up to the next
  space), `node`, and every `key=value` of the record, quoted values without their quotes; no
  value is decoded from hex (auto-KV decodes nothing).

Not modelled (Splunk does not document what auto-KV makes of them): keys with characters other
than letters, digits and `_` (`a3[0]`, `old-auid`: the pieces of a split argument are not
fields here), the nested `key=value` pairs of a user-space record's `msg='...'` payload, a key
repeated in one record, the enriched format's fields after 0x1d, and the add-on's eventtypes
and tags.
"""

from __future__ import annotations

import re

from converter.core.auditd import AuditdEvent, AuditdRecord
from converter.core.documents import DocumentGroup, SplunkEvent

SOURCE = "/var/log/audit/audit.log"
SOURCETYPE = "auditd"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def to_splunk(event: AuditdEvent) -> DocumentGroup:
    """The events Splunk searches for `event`: one per record."""
    return DocumentGroup(_event(event, record) for record in event.records)


def render_line(event: AuditdEvent, record: AuditdRecord) -> str:
    """The record's audit.log line."""
    parts = [f"node={event.node}"] if event.node is not None else []
    parts.append(f"type={record.type}")
    parts.append(f"msg=audit({event.timestamp:.3f}:{event.serial}):")
    for name, value in record.fields.items():
        if name not in record.quoted:
            parts.append(f"{name}={value}")
        elif '"' in value:
            parts.append(f"{name}='{value}'")
        else:
            parts.append(f'{name}="{value}"')
    return " ".join(parts)


def _event(event: AuditdEvent, record: AuditdRecord) -> SplunkEvent:
    fields: dict[str, list[str]] = {
        "type": [record.type],
        "msg": [f"audit({event.timestamp:.3f}:{event.serial}):"],
    }
    if event.node is not None:
        fields["node"] = [event.node]
    for name, value in record.fields.items():
        # A user-space record's msg='...' payload is not modelled (module docstring).
        if name != "msg" and _KEY.fullmatch(name) and value != "":
            fields[name] = [value]
    return SplunkEvent(
        fields=fields,
        raw=render_line(event, record),
        source=SOURCE,
        sourcetype=SOURCETYPE,
        host=event.node or "",
    )
