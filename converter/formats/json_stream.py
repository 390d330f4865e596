"""JSON values read one at a time from a text stream, with the line each one starts on.

NDJSON is read line by line elsewhere (faster); this reader is for what is not one value per
line: a JSON array (streamed element by element, however large), a pretty-printed document, or
several concatenated. An object whose `Results`/`results` member is an array (the Defender
hunting APIs' response) has that array streamed too, each row marked as a Defender row.

A syntax error ends the file: after it, where the next value starts cannot be known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

CHUNK = 1 << 20
MAX_VALUE = 256 << 20  # a single record larger than this is refused, not buffered
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
RESULTS = ("Results", "results")


class StreamError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _Buffer:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.line = 1
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return True

    def _advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def peek(self) -> str:
        """The next non-blank character ("" at the end), not consumed."""
        while True:
            self._advance(_SPACE.match(self.text, self.pos).end())  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._fill():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            while len(self.text) - self.pos < 20 and self._fill():
                pass  # enough text to show where
            found = self.text[self.pos : self.pos + 20] or "end of file"
            raise StreamError(self.line, f"invalid JSON: expected {char!r} at {found!r}")
        self._advance(self.pos + 1)

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                # the value may only be cut by the end of the buffer: read on and try again
                if len(self.text) - self.pos > MAX_VALUE or not self._fill():
                    raise StreamError(self.line, f"invalid JSON: {error.msg}") from None
                continue
            if end == len(self.text) and not self.eof and self._fill():
                continue  # a number at the very end may go on in the next chunk
            self._advance(end)
            return value


def values(stream: TextIO) -> Iterator[tuple[int, Any, bool]]:
    """(line, value, is_hunting_row) for each top-level value, array element or `Results` row."""
    buffer = _Buffer(stream)
    while True:
        char = buffer.peek()
        if not char:
            return
        if char == "[":
            yield from ((line, value, False) for line, value in _array(buffer))
        elif char == "{":
            yield from _object(buffer)
        else:
            line = buffer.line
            yield line, buffer.value(), False


def _array(buffer: _Buffer) -> Iterator[tuple[int, Any]]:
    buffer.take("[")
    if buffer.peek() == "]":
        buffer.take("]")
        return
    while True:
        buffer.peek()
        line = buffer.line
        yield line, buffer.value()
        if buffer.peek() == ",":
            buffer.take(",")
        else:
            buffer.take("]")
            return


def _object(buffer: _Buffer) -> Iterator[tuple[int, Any, bool]]:
    line = buffer.line
    buffer.take("{")
    members: dict[str, Any] = {}
    streamed = False
    if buffer.peek() == "}":
        buffer.take("}")
        yield line, members, False
        return
    while True:
        buffer.peek()
        key = buffer.value()
        if not isinstance(key, str):
            raise StreamError(buffer.line, "invalid JSON: expected a member name")
        buffer.take(":")
        if key in RESULTS and buffer.peek() == "[":
            streamed = True
            yield from ((row_line, row, True) for row_line, row in _array(buffer))
        else:
            members[key] = buffer.value()
        if buffer.peek() == ",":
            buffer.take(",")
        else:
            buffer.take("}")
            break
    if not streamed:
        yield line, members, False
