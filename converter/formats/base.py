"""What every input format yields: scan items, malformed records, and the event-kind filter.

A reader turns one file into a stream of `Item`s (the record's `file:line` and what it holds) and
`BadRecord`s (a record that could not be read; reported and skipped, never fatal). What an item
holds decides who evaluates it (`converter.scan.scanner`): a `WindowsEvent` goes to the Sigma
reference
and every target through the ingest models; a target's own document (an ECS document, a
Defender row) goes to that target only; auditd and Zeek records are read and counted.

`KeyFilter` lets the scanner skip Windows events that no evaluator can match before they are
parsed into a `WindowsEvent`: a reader asks it with the event's channel and ID and yields
`FILTERED` for a refused event. Parsing the EventData of every event would cost as much as
decoding it, and on real logs most events (Sysmon 10, logons) are of kinds no rule reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

# (channel, event ID) -> whether any evaluator can use such an event.
KeyFilter = Callable[[str, int], bool]


class Item(NamedTuple):
    # A NamedTuple rather than a dataclass: one is made per event, millions per scan.
    source: str  # "file:line"
    payload: Any


@dataclass(frozen=True)
class BadRecord:
    source: str
    message: str


class Filtered:
    """A Windows event the key filter refused: read and counted, not parsed further."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FILTERED"


FILTERED = Filtered()

Records = Iterator["Item | BadRecord"]


class RecordError(ValueError):
    """A record of a known format that is malformed; the message says what is wrong."""


def text_value(value: Any) -> str:
    """A JSON scalar as the text Windows would have logged (EventData values are text)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(text_value(item) for item in value)
    if isinstance(value, dict) and "#text" in value:
        return text_value(value["#text"])
    return str(value)
