"""JSON input: JSON lines (one record per line), and JSON arrays or documents (streamed by
`converter.formats.json_stream`), each record read by its keys (`classify`).

A record may come in an envelope, which is opened first:

- a Splunk search export row (`_raw`, or `result._raw`): the indexed text, XML or WinEventLog;
- a certdetect case file (`event` + `expect`): its event is read (an audit event or a Zeek row
  in the case layouts of `converter.core.events` too);
- an Elasticsearch hit (`_index`/`_id` + `_source`): its source is read.

Then the first of the `LAYOUTS` whose keys it has reads it:

- a Windows event in the EVTX JSON layout (`Event`);
- a flat Windows event (`EventID`, NXLog style);
- an ECS document (`event` or `ecs` object);
- a Defender row (`Table`/`$table`, or `ActionType` + `DeviceName`/`DeviceId`);
- a Zeek row (`ts` + `uid`/`fingerprint`/...).

A JSON record of another kind is one more `JsonLayout` in `LAYOUTS`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from converter.core.events import EventFormatError, parse_raw_event
from converter.formats import (
    defender,
    ecs,
    evtx_json,
    flat_windows,
    json_stream,
    windows_classic,
    windows_xml,
    zeek,
)
from converter.formats.base import (
    BadRecord,
    Head,
    Item,
    ItemKind,
    KeyFilter,
    Opened,
    RecordError,
    Records,
    one_of,
)
from converter.formats.kinds import AUDITD, DEFENDER, ECS, WINDOWS, ZEEK


@dataclass(frozen=True)
class JsonLayout:
    """One kind of JSON record, recognised by its keys."""

    description: str  # offered in the unrecognised-record message; shared ones are offered once
    matches: Callable[[Mapping[str, Any]], bool]
    # (record, key filter, file name) -> the item's payload; RecordError if it is malformed
    read: Callable[[dict[str, Any], KeyFilter | None, str], Any]
    kind: ItemKind


_WINDOWS_EVENT = 'a Windows event ("Event" or "EventID")'
LAYOUTS: tuple[JsonLayout, ...] = (
    JsonLayout(
        _WINDOWS_EVENT,
        lambda record: "Event" in record,
        lambda record, wanted, _: evtx_json.convert(record, wanted),
        WINDOWS,
    ),
    JsonLayout(
        _WINDOWS_EVENT,
        flat_windows.is_flat,
        lambda record, wanted, _: flat_windows.convert(record, wanted),
        WINDOWS,
    ),
    JsonLayout("an ECS document", ecs.is_ecs, lambda record, *_: ecs.EcsRecord(record), ECS),
    JsonLayout(
        "a Defender row", defender.is_row, lambda record, *_: defender.row(record), DEFENDER
    ),
    JsonLayout(
        "a Zeek row",
        zeek.is_zeek,
        lambda record, _, file_name: zeek.from_json(record, file_name),
        ZEEK,
    ),
)
# what JSON input yields: its layouts' kinds, and audit events from case files
KINDS = (*dict.fromkeys(layout.kind for layout in LAYOUTS), AUDITD)


def not_a_record_message() -> str:
    return f"unrecognised record: expected {one_of(layout.description for layout in LAYOUTS)}"


def sniff_lines(head: Head) -> bool:
    """A first line that is a whole JSON object (or one too long for the head to hold)."""
    if not head.stripped.startswith("{"):
        return False
    first = head.stripped.split("\n", 1)
    if len(first) == 1 and head.truncated:
        return True
    try:
        orjson.loads(first[0])
    except orjson.JSONDecodeError:
        return False
    return True


def sniff_document(head: Head) -> bool:
    """A JSON array, or an object over several lines (asked after `sniff_lines`)."""
    return head.stripped.startswith(("[", "{"))


def classify(
    record: Any, source: str, wanted: KeyFilter | None, file_name: str, hunting: bool = False
) -> Item | BadRecord:
    """One JSON record as a scan item, by its keys (see the module docstring)."""
    if type(record) is not dict:
        return BadRecord(source, "expected a JSON object")
    try:
        if hunting:
            return Item(source, defender.row(record))
        splunk = record.get("result") if "_raw" not in record else record
        if isinstance(splunk, dict) and isinstance(splunk.get("_raw"), str):
            return _splunk_raw(splunk["_raw"], source, wanted)
        if "expect" in record and isinstance(record.get("event"), Mapping):
            record = record["event"]  # a certdetect case file
            if "audit" in record or "zeek" in record:  # its audit event or Zeek row layouts
                try:
                    return Item(source, parse_raw_event(record))
                except EventFormatError as error:
                    return BadRecord(source, str(error))
        elif ecs.is_search_hit(record):
            record = record["_source"]
        for layout in LAYOUTS:
            if layout.matches(record):
                return Item(source, layout.read(record, wanted, file_name))
    except RecordError as error:
        return BadRecord(source, str(error))
    return BadRecord(source, not_a_record_message())


def _splunk_raw(raw: str, source: str, wanted: KeyFilter | None) -> Item | BadRecord:
    """A Splunk search export row: its `_raw` is the event as Splunk indexed it."""
    text = raw.strip()
    if text.startswith("<Event"):
        return Item(source, windows_xml.parse_event_xml(text, wanted))
    lines = text.splitlines()
    if len(lines) > 1 and windows_classic.is_block_start(lines[0], lines[1]):
        return Item(source, windows_classic.parse_block(lines, wanted))
    return BadRecord(source, "_raw is neither <Event> XML nor a WinEventLog text block")


def read_lines(opened: Opened) -> Records:
    """JSON lines: one record per line; a line that is not JSON is a `BadRecord`."""
    name, wanted = opened.name, opened.wanted
    loads = orjson.loads
    lines: Any = opened.stream
    if opened.encoding != "utf-8":
        lines = (line for _, line in opened.lines())
    flat = flat_windows.convert
    for number, raw in enumerate(lines, start=1):
        try:
            record = loads(raw)
        except orjson.JSONDecodeError as error:
            if raw.strip():
                yield BadRecord(f"{name}:{number}", f"invalid JSON: {error.msg}")
            continue
        source = f"{name}:{number}"
        if type(record) is dict and "EventID" in record:
            # the common case (NXLog exports), without the general classification
            try:
                yield Item(source, flat(record, wanted))
            except RecordError as error:
                yield BadRecord(source, str(error))
        else:
            yield classify(record, source, wanted, name)


def read_document(opened: Opened) -> Records:
    """A JSON array or document: its records as `json_stream` finds them."""
    name, encoding = opened.name, opened.encoding
    text = io.TextIOWrapper(opened.stream, encoding=encoding, errors="strict")
    try:
        for line, value, hunting in json_stream.values(text):
            yield classify(value, f"{name}:{line}", opened.wanted, name, hunting)
    except json_stream.StreamError as error:
        yield BadRecord(f"{name}:{error.line}", f"{error}; rest of the file skipped")
    except UnicodeDecodeError:
        yield BadRecord(name, f"not valid {encoding}; rest of the file skipped")
