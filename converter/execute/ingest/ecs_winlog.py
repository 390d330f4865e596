"""What every Elastic Windows data stream starts from: the `winlog` input's document.

Shared by the Elastic models of Windows events (`ecs` for Sysmon, Security 4688 and PowerShell,
`ecs_services` for the service channels): the fields the `winlog` input itself emits
(`winlog.event_id` as a string, `winlog.record_id`, `winlog.computer_name`, `event.code`,
`event.provider`, `host.name`, as the data streams' `sample_event.json` files show them), and
the small steps their ingest pipelines share (the date processor's millisecond UTC text,
Painless `Long.decode`, dropping empty objects).
"""

from __future__ import annotations

import re
from typing import Any

from converter.core.events import WindowsEvent

_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?")


def iso_millis(text: str | None) -> str | None:
    # The date processor keeps milliseconds and writes UTC with a "Z".
    match = _TIME.match(text or "")
    if match is None:
        return None
    fraction = (match.group(3) or "").ljust(3, "0")[:3]
    return f"{match.group(1)}T{match.group(2)}.{fraction}Z"


def long_value(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def decode_long(text: str | None) -> int | None:
    # Painless Long.decode: "0x" hex or decimal.
    if text is None:
        return None
    try:
        if text[:2].lower() == "0x":
            return int(text[2:], 16)
        return int(text)
    except ValueError:
        return None


def node(doc: dict[str, Any], *path: str) -> dict[str, Any]:
    for key in path:
        doc = doc.setdefault(key, {})
    return doc


def prune(value: Any, blanks: bool = False) -> Any:
    """Drop None and empty objects; with `blanks`, also "" and [] (sysmon_linux's last step).

    Every stored document passes here (about 50 nodes each), so leaves are handled in the loop
    rather than by a call each; `tests/test_ecs_winlog.py` checks it against the plain
    recursive definition."""
    if isinstance(value, dict):
        return _pruned_dict(value, blanks)
    if isinstance(value, list) and blanks:
        return _pruned_list(value)
    return value


def _pruned_dict(value: dict[Any, Any], blanks: bool) -> dict[Any, Any]:
    kept: dict[Any, Any] = {}
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, dict):
            item = _pruned_dict(item, blanks)
            if not item:
                continue
        elif blanks:
            if isinstance(item, list):
                item = _pruned_list(item)
            if item == "" or item == [] or item == {}:
                continue
        elif item == {}:  # a mapping of another type that equals {}
            continue
        kept[key] = item
    return kept


def _pruned_list(value: list[Any]) -> list[Any]:
    kept = []
    for item in value:
        if item is None:
            continue
        if isinstance(item, dict):
            item = _pruned_dict(item, True)
            if not item:
                continue
        else:
            if isinstance(item, list):
                item = _pruned_list(item)
            if item == "" or item == [] or item == {}:
                continue
        kept.append(item)
    return kept


def winlog_base(event: WindowsEvent, dataset: str, module: str, os_type: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event": {
            "kind": "event",
            "code": str(event.event_id),
            "provider": event.provider,
            "module": module,
            "dataset": dataset,
        },
        "winlog": {
            "channel": event.channel,
            "event_id": str(event.event_id),
            "provider_name": event.provider,
            "computer_name": event.computer,
        },
        "host": {"name": event.computer, "os": {"type": os_type}},
    }
    if event.record_id is not None:
        doc["winlog"]["record_id"] = str(event.record_id)
    created = iso_millis(event.time_created)
    if created is not None:
        doc["event"]["created"] = created
        doc["@timestamp"] = created
    return doc
