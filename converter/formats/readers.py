"""Reading event files for `certdetect scan`: the format of each file is detected from its first
bytes (a `.gz` file is read through gzip, streamed), and its records come out one at a time, each
with its `file:line`, so that memory stays flat whatever the file's size.

| format | detected by | records |
| --- | --- | --- |
| `.evtx` | the `ElfFile` signature | Windows events (`formats.evtx_file`) |
| JSON lines | a first line that is a whole JSON object | each line, by its keys (below) |
| JSON array / document | `[`, or `{` not closed on its first line | `formats.json_stream` |
| Windows event text | `<Event`, `<?xml`, `<Events`, a WinEventLog date | `formats.windows_text` |
| auditd | `type=... msg=audit(...)` | `formats.auditd` |
| Zeek TSV | `#separator` | `formats.zeek` |
| Defender CSV | a header with Timestamp and ActionType, DeviceName or Table | `formats.defender` |
| tar (`.tgz`) | the `ustar` signature | every member, detected as above, as `archive/member:line` |

A JSON record is, by its keys: a Splunk search export row (`_raw`, or `result._raw`: the
indexed text, XML or WinEventLog); a case file (`event` + `expect`: its event is read); an
Elasticsearch hit (`_index`/`_id` + `_source`: its source is read); a Windows event in the EVTX
JSON layout (`Event`); a flat Windows event (`EventID`, NXLog style); an ECS document (`event` or
`ecs` object); a Defender row (`Table`/`$table`, or `ActionType` + `DeviceName`/`DeviceId`);
a Zeek row (`ts` + `uid`/`fingerprint`/...).

A malformed record is yielded as a `BadRecord` and reading goes on; a file that is missing or of
no known format is an `InputError` before anything is read.
"""

from __future__ import annotations

import csv
import gzip
import io
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from converter.core.errors import InputError
from converter.core.events import EventFormatError, parse_raw_event
from converter.formats import (
    auditd,
    defender,
    ecs,
    evtx_file,
    evtx_json,
    flat_windows,
    json_stream,
    windows_classic,
    windows_text,
    windows_xml,
    zeek,
)
from converter.formats.base import BadRecord, Item, KeyFilter, RecordError, Records

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 1 << 16
_UNKNOWN = (
    "unrecognised format (expected .evtx, JSON lines or array of Windows events, ECS documents, "
    "Defender rows or Zeek rows, <Event> XML, WinEventLog text, auditd, Zeek TSV or Defender CSV)"
)
_NOT_A_RECORD = (
    'unrecognised record: expected a Windows event ("Event" or "EventID"), an ECS document, '
    "a Defender row or a Zeek row"
)

__all__ = ["BadRecord", "InputFile", "Item", "detect", "read_items", "classify"]


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str
    compressed: bool
    encoding: str = "utf-8"

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def _open(path: Path, compressed: bool) -> tuple[IO[bytes], IO[bytes]]:
    """(decompressed stream, raw file): the raw file's position tells how far reading got."""
    raw = path.open("rb")
    if compressed:
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    return raw, raw


def _encoding(head: bytes) -> tuple[str, bytes]:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # PowerShell 5 redirects `wevtutil` output as UTF-16
        return "utf-16", head.decode("utf-16", "replace").encode()
    return "utf-8", head


def _is_defender_header(line: str) -> bool:
    names = {name.strip().strip('"') for name in line.split(",")}
    if len(names) < 2 or "Timestamp" not in names:
        return False
    return bool(names & {"ActionType", "DeviceName", *defender.TABLE_COLUMNS})


def _format(head: bytes) -> str:
    if head.startswith(evtx_file.MAGIC):
        return "evtx"
    text = head.decode("utf-8", "replace")
    lines = text.splitlines()[:40]
    stripped = text.lstrip()
    if not stripped:
        return "empty"
    if zeek.sniff(lines):
        return "zeek-tsv"
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        first = stripped.split("\n", 1)
        if len(first) == 1 and len(head) >= SNIFF_BYTES:
            return "json-lines"  # one line longer than the sniffed head
        try:
            orjson.loads(first[0])
        except orjson.JSONDecodeError:
            return "json"
        return "json-lines"
    if windows_text.sniff(lines):
        return "windows-text"
    if auditd.sniff(lines):
        return "auditd"
    if _is_defender_header(lines[0]):
        return "defender-csv"
    return ""


def detect(path: Path) -> InputFile:
    """The file's format; InputError if it is missing or of no known format."""
    if not path.is_file():
        raise InputError(path, "no such file")
    with path.open("rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    stream, raw = _open(path, compressed)
    try:
        head = stream.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(path, f"not a readable gzip file: {error}") from None
    finally:
        stream.close()
        raw.close()
    if head[257:262] == b"ustar":
        return InputFile(path, "tar", compressed)
    encoding, head = _encoding(head)
    found = _format(head)
    if not found:
        raise InputError(path, _UNKNOWN, 1)
    return InputFile(path, found, compressed, encoding)


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
        if "Event" in record:
            return Item(source, evtx_json.convert(record, wanted))
        if flat_windows.is_flat(record):
            return Item(source, flat_windows.convert(record, wanted))
        if ecs.is_ecs(record):
            return Item(source, ecs.EcsRecord(record))
        if defender.is_row(record):
            return Item(source, defender.row(record))
        if zeek.is_zeek(record):
            return Item(source, zeek.from_json(record, file_name))
    except RecordError as error:
        return BadRecord(source, str(error))
    return BadRecord(source, _NOT_A_RECORD)


def _splunk_raw(raw: str, source: str, wanted: KeyFilter | None) -> Item | BadRecord:
    """A Splunk search export row: its `_raw` is the event as Splunk indexed it."""
    text = raw.strip()
    if text.startswith("<Event"):
        return Item(source, windows_xml.parse_event_xml(text, wanted))
    lines = text.splitlines()
    if len(lines) > 1 and windows_classic.is_block_start(lines[0], lines[1]):
        return Item(source, windows_classic.parse_block(lines, wanted))
    return BadRecord(source, "_raw is neither <Event> XML nor a WinEventLog text block")


def _text_lines(stream: IO[bytes], encoding: str) -> Iterator[tuple[int, str]]:
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline=None)
    for number, line in enumerate(text, start=1):
        yield number, line.rstrip("\n")


def _json_lines(stream: IO[bytes], name: str, encoding: str, wanted: KeyFilter | None) -> Records:
    loads = orjson.loads
    lines: Any = stream
    if encoding != "utf-8":
        lines = (line for _, line in _text_lines(stream, encoding))
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


def _json(stream: IO[bytes], name: str, encoding: str, wanted: KeyFilter | None) -> Records:
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict")
    try:
        for line, value, hunting in json_stream.values(text):
            yield classify(value, f"{name}:{line}", wanted, name, hunting)
    except json_stream.StreamError as error:
        yield BadRecord(f"{name}:{error.line}", f"{error}; rest of the file skipped")
    except UnicodeDecodeError:
        yield BadRecord(name, f"not valid {encoding}; rest of the file skipped")


def _defender_csv(stream: IO[bytes], name: str, encoding: str) -> Records:
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
    rows = csv.reader(text)
    header = next(rows, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    for values in rows:
        source = f"{name}:{rows.line_num}"
        if not any(values):
            continue
        if len(values) != len(header):
            yield BadRecord(source, f"{len(values)} values for {len(header)} columns")
            continue
        try:
            yield Item(source, defender.row(dict(zip(header, values, strict=True))))
        except RecordError as error:
            yield BadRecord(source, str(error))


def _records(
    form: str,
    stream: IO[bytes],
    name: str,
    encoding: str,
    wanted: KeyFilter | None,
    evtx_source: Path | IO[bytes] | None,
) -> Records:
    if form == "evtx":
        if evtx_source is None:
            return iter([BadRecord(name, "an .evtx file inside an archive: extract it first")])
        return evtx_file.read(evtx_source, name, wanted)
    if form == "json-lines":
        return _json_lines(stream, name, encoding, wanted)
    if form == "json":
        return _json(stream, name, encoding, wanted)
    if form == "defender-csv":
        return _defender_csv(stream, name, encoding)
    if form == "empty":
        return iter(())
    lines = _text_lines(stream, encoding)
    if form == "windows-text":
        return windows_text.read(lines, name, wanted)
    if form == "auditd":
        return auditd.read(lines, name)
    return zeek.read_tsv(lines, name)


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read (to detect its format) and are read again."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _members(stream: IO[bytes], name: str, wanted: KeyFilter | None) -> Records:
    """The records of every file in a tar archive, read in one pass as the archive streams."""
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            member_stream = archive.extractfile(member) if member.isfile() else None
            if member_stream is None:
                continue
            member_name = f"{name}/{member.name}"
            head = member_stream.read(SNIFF_BYTES)
            encoding, sniffed = _encoding(head)
            form = _format(sniffed)
            if not form:
                yield BadRecord(member_name, _UNKNOWN)
                continue
            whole = io.BufferedReader(_Prefixed(head, member_stream), buffer_size=1 << 16)
            yield from _records(form, whole, member_name, encoding, wanted, None)


class Reading:
    """The records of one file, and how far into the file (in stored bytes) reading got."""

    def __init__(self, file: InputFile, wanted: KeyFilter | None = None) -> None:
        self.file = file
        self.wanted = wanted
        self._raw: IO[bytes] | None = None

    def position(self) -> int:
        raw = self._raw
        try:
            return raw.tell() if raw is not None and not raw.closed else 0
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Records:
        file, wanted = self.file, self.wanted
        stream, self._raw = _open(file.path, file.compressed)
        try:
            if file.format == "tar":
                yield from _members(stream, file.name, wanted)
            else:
                evtx_source = stream  # a file object: its position tells the progress
                yield from _records(
                    file.format, stream, file.name, file.encoding, wanted, evtx_source
                )
        except (OSError, EOFError, zlib.error) as error:
            # a truncated .gz or a read error: what was read counts, the rest is reported
            yield BadRecord(file.name, f"read error: {error}; rest of the file skipped")
        finally:
            stream.close()
            self._raw.close()


def read_items(path: Path, wanted: KeyFilter | None = None) -> Records:
    """Detect the format of `path` and yield its records (InputError before any record)."""
    return iter(Reading(detect(path), wanted))
