"""Text files of Windows events: `<Event>` XML (one or more per line, or one spread over several
lines, with or without an `<Events>` root or a syslog prefix) mixed with Splunk's classic
WinEventLog text blocks, as Splunk attack_data `.raw` files hold them.

Each event is reported at the line where it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from converter.formats.base import BadRecord, Item, KeyFilter, RecordError, Records
from converter.formats.windows_classic import DATE_LINE, parse_block
from converter.formats.windows_xml import parse_event_xml

_EVENT_START = re.compile(r"<Event[\s>]")
_EVENT_END = "</Event>"
# Text outside events that is not an error: XML declaration, <Events> root, blank lines.
_IGNORABLE = re.compile(r"\s*(?:<\?xml[^>]*\?>|</?Events\s*>|\s)*\s*")


def sniff(lines: list[str]) -> bool:
    """Whether the first lines of a file look like Windows event text."""
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if _EVENT_START.search(line) or line.lstrip().startswith(("<?xml", "<Events")):
            return True
        following = lines[index + 1] if index + 1 < len(lines) else ""
        return DATE_LINE.fullmatch(line.strip()) is not None and following.startswith("LogName=")
    return False


class _Reader:
    def __init__(self, name: str, wanted: KeyFilter | None) -> None:
        self.name = name
        self.wanted = wanted
        self.xml: list[str] | None = None  # parts of the <Event> being read
        self.xml_line = 0
        self.block: list[str] | None = None  # lines of the classic block being read
        self.block_line = 0
        self.pending: tuple[int, str] | None = None  # a date line that may start a block

    def _event(self, line: int, text: str) -> Item | BadRecord:
        source = f"{self.name}:{line}"
        try:
            return Item(source, parse_event_xml(text, self.wanted))
        except RecordError as error:
            return BadRecord(source, str(error))

    def _close_block(self) -> Iterator[Item | BadRecord]:
        if self.block is not None:
            source = f"{self.name}:{self.block_line}"
            try:
                yield Item(source, parse_block(self.block, self.wanted))
            except RecordError as error:
                yield BadRecord(source, str(error))
            self.block = None

    def _outside(self, number: int, text: str) -> Iterator[Item | BadRecord]:
        """Text that is not inside an <Event>: XML starts here, or a classic block goes on."""
        while True:
            start = _EVENT_START.search(text)
            if start is None:
                if self.block is not None:
                    self.block.append(text)
                elif text and not _IGNORABLE.fullmatch(text):
                    yield BadRecord(
                        f"{self.name}:{number}",
                        "not a Windows event (expected <Event> XML or a WinEventLog text block)",
                    )
                return
            yield from self._close_block()
            end = text.find(_EVENT_END, start.start())
            if end < 0:
                self.xml, self.xml_line = [text[start.start() :]], number
                return
            yield self._event(number, text[start.start() : end + len(_EVENT_END)])
            text = text[end + len(_EVENT_END) :]
            if not text.strip():
                return

    def line(self, number: int, text: str) -> Iterator[Item | BadRecord]:
        if self.xml is not None:
            end = text.find(_EVENT_END)
            if end < 0:
                self.xml.append(text)
                return
            self.xml.append(text[: end + len(_EVENT_END)])
            joined, self.xml = "\n".join(self.xml), None
            yield self._event(self.xml_line, joined)
            text = text[end + len(_EVENT_END) :]
            if not text.strip():
                return
        if self.pending is not None:
            date_number, date_line = self.pending
            self.pending = None
            if text.startswith("LogName="):
                yield from self._close_block()
                self.block, self.block_line = [date_line, text], date_number
                return
            yield from self._outside(date_number, date_line)
        if DATE_LINE.fullmatch(text):
            self.pending = (number, text)
            return
        yield from self._outside(number, text)

    def finish(self) -> Iterator[Item | BadRecord]:
        if self.pending is not None:
            yield from self._outside(*self.pending)
        if self.xml is not None:
            yield BadRecord(f"{self.name}:{self.xml_line}", "<Event> not closed before end of file")
        yield from self._close_block()


def read(lines: Iterable[tuple[int, str]], name: str, wanted: KeyFilter | None = None) -> Records:
    """Events from numbered text lines (without line ends)."""
    reader = _Reader(name, wanted)
    for number, text in lines:
        yield from reader.line(number, text)
    yield from reader.finish()
