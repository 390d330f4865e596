"""What every input format declares and yields: the `Format` record (how a file in it is detected
and read, `converter.formats.readers` holds the table of them), scan items, malformed records,
and the event-kind filter.

A reader turns one file into a stream of `Item`s (the record's `file:line` and what it holds) and
`BadRecord`s (a record that could not be read; reported and skipped, never fatal). What an item
holds decides who evaluates it (`converter.scan.scanner`): a raw event (`WindowsEvent`,
`AuditdEvent`, `ZeekRecord`) goes to the Sigma reference and every target whose ingest models
store it; a target's own document (an ECS document, a Defender row) goes to that target only.

`KeyFilter` lets the scanner skip Windows events that no evaluator can match before they are
parsed into a `WindowsEvent`: a reader asks it with the event's channel and ID and yields
`FILTERED` for a refused event. Parsing the EventData of every event would cost as much as
decoding it, and on real logs most events (Sysmon 10, logons) are of kinds no rule reads. It may
also answer with a set of EventData names: the event is of use only if its data holds one of them
(`converter.scan.reach`, guards). A reader that can see the names before parsing (flat JSON) skips
an event holding none; any other reader parses it (a non-empty set is true), which is never wrong.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import IO, Any, NamedTuple

# (channel, event ID) -> whether any evaluator can use such an event (a set of names: only an
# event whose EventData holds one of them).
KeyFilter = Callable[[str, int], "bool | frozenset[str]"]


class Item(NamedTuple):
    # A NamedTuple rather than a dataclass: one is made per event, millions per scan.
    source: str  # "file:line"
    payload: Any


@dataclass(frozen=True)
class BadRecord:
    source: str
    message: str
    # the rest of the file could not be read (a cut, a read error): the file counts as unreadable
    lost: bool = False


class Filtered:
    """A Windows event the key filter refused: read and counted, not parsed further."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FILTERED"


FILTERED = Filtered()

Records = Iterator["Item | BadRecord"]


SNIFF_BYTES = 1 << 16  # how much of a file its format is detected from
SNIFF_LINES = 40


@dataclass(frozen=True)
class ItemKind:
    """What scan items hold, by the name the scan summary counts them under ("windows 12")."""

    name: str
    types: tuple[type, ...]


@dataclass(frozen=True)
class Head:
    """The first bytes of a file (decompressed), as its format is detected from them."""

    raw: bytes  # at most SNIFF_BYTES

    @cached_property
    def encoding(self) -> str:
        return _encoding(self.raw)[0]

    @cached_property
    def data(self) -> bytes:
        """The bytes without a byte-order mark, UTF-16 re-encoded as UTF-8."""
        return _encoding(self.raw)[1]

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()[:SNIFF_LINES]

    @cached_property
    def stripped(self) -> str:
        return self.text.lstrip()

    @property
    def truncated(self) -> bool:
        """Whether the file goes on after these bytes (so the last line may be cut)."""
        return len(self.data) >= SNIFF_BYTES


def _encoding(head: bytes) -> tuple[str, bytes]:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # PowerShell 5 redirects `wevtutil` output as UTF-16
        return "utf-16", head.decode("utf-16", "replace").encode()
    return "utf-8", head


@dataclass(frozen=True)
class Opened:
    """A file, or a member of an archive, being read: what a format's reader reads."""

    stream: IO[bytes]  # decompressed, from the first byte
    name: str  # what its records cite: the path, or "archive/member"
    encoding: str
    wanted: KeyFilter | None = None
    in_archive: bool = False  # the stream is a tar member: it cannot seek

    def lines(self) -> Iterator[tuple[int, str]]:
        """Its text lines, numbered from 1, without their line ends."""
        text = io.TextIOWrapper(self.stream, encoding=self.encoding, errors="replace", newline=None)
        for number, line in enumerate(text, start=1):
            yield number, line.rstrip("\n")


@dataclass(frozen=True)
class Format:
    """One scan input format: its name (`InputFile.format`), how a file in it is recognised from
    its first bytes, how it is read, what its items hold and how a user would call it."""

    name: str
    # offered in the unknown-format message; formats sharing one are offered once, None: not
    # offered (an empty file, an archive of the others)
    description: str | None
    sniff: Callable[[Head], bool]
    read: Callable[[Opened], Records]
    yields: tuple[ItemKind, ...]


class RecordError(ValueError):
    """A record of a known format that is malformed; the message says what is wrong."""


def one_of(descriptions: Iterable[str]) -> str:
    """ "a, b or c" for the messages that say what was expected, each description once."""
    offered = list(dict.fromkeys(descriptions))
    return ", ".join(offered[:-1]) + " or " + offered[-1] if len(offered) > 1 else offered[0]


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
