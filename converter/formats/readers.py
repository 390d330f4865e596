"""Reading event files for `certdetect scan`: the format of each file is detected from its first
bytes (a `.gz` file is read through gzip, streamed), and its records come out one at a time, each
with its `file:line`, so that memory stays flat whatever the file's size.

`FORMATS` is the one table of input formats, asked in its order; detection, reading, the
unknown-format message and the item kind names of the scan summary are derived from it.

| format | detected by | read by |
| --- | --- | --- |
| `tar` (`.tgz`) | the `ustar` signature | here: each member as below, as `archive/member:line` |
| `zip` | the `PK` local header | here: each member as below, in name order |
| `evtx` | the `ElfFile` signature | `formats.evtx_file` |
| `empty` | nothing but white space | (no records) |
| `json-lines` | a first line that is a whole JSON object | `formats.json_records` |
| `json` | `[`, or `{` not closed on its first line | `formats.json_records` |
| `windows-text` | `<Event`, `<?xml`, `<Events`, a WinEventLog date | `formats.windows_text` |
| `auditd` | `type=... msg=audit(...)` | `formats.auditd` |
| `zeek-tsv` | `#separator` | `formats.zeek` |
| `defender-csv` | a header of Timestamp and ActionType, DeviceName or Table | `formats.defender` |

An `.evtx` member is copied out of the archive first (`SPOOL_IN_MEMORY`): its parser seeks. A zip
member that cannot be read (bad CRC, encrypted) ends with a `BadRecord` marked `lost`, and the
other members are still read.
A malformed record is yielded as a `BadRecord` and reading goes on; a file cut short or failing
to read ends with a `BadRecord` marked `lost` (what came before it was read); a file that is
missing or of no known format is an `InputError` before anything is read. Standard input, pipes
and devices are spooled to an anonymous temporary file (`spooled`), which the system deletes
when it is closed, also when the scan is interrupted.

How to add an input format
--------------------------
A new kind of JSON record is not a new format: it is one `JsonLayout` in
`converter.formats.json_records.LAYOUTS`. Any other format:

1. Write its reader module, `converter/formats/<name>.py`, with
   - a sniff: whether a file's first bytes or lines (a `Head`) are in this format. Make it
     specific: the formats before it in `FORMATS` have already said no, those after it are not
     asked;
   - a reader: from an `Opened` file (its decompressed stream, or numbered text lines with
     `Opened.lines()`) yield one `Item(f"{name}:{line}", payload)` per record and a `BadRecord`
     for a malformed one (never raise for a bad record: the rest of the file is still read).
     Stream: hold no more than one record. For a Windows event, ask `opened.wanted(channel,
     event_id)` first when it is set and yield `FILTERED` if it says no (nothing can match it).
2. Choose the payload: a raw event (`WindowsEvent`, `AuditdEvent`, `ZeekRecord`, from
   `converter.core`) is evaluated by the Sigma reference and every target that stores it; a
   target's own document (`EcsRecord`, `DefenderRow`) by that target only. A new payload type
   needs its own `ItemKind` (`converter.formats.kinds`), and an evaluator that handles it
   (`converter.scan.scanner`), else it is only read and counted.
3. Add one `Format` to `FORMATS`, where its sniff cannot take another format's files (before any
   looser sniff), with the `ItemKind`s it yields and a `description` for the unknown-format
   message; add a row to the table above (`tests/test_formats.py` checks that every format has
   one).
4. Test it: a small recorded file in `tests/files/formats/`, its detection in
   `tests/test_readers.py` and its records in `tests/test_formats_<name>.py`.
   `tests/test_formats.py` follows these steps with a toy format that `certdetect scan` reads.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from converter.core.errors import InputError
from converter.formats import auditd, defender, evtx_file, json_records, windows_text, zeek
from converter.formats.base import (
    SNIFF_BYTES,
    BadRecord,
    Format,
    Head,
    Item,
    KeyFilter,
    Opened,
    Records,
    one_of,
)
from converter.formats.kinds import AUDITD, DEFENDER, WINDOWS, ZEEK

GZIP_MAGIC = b"\x1f\x8b"

__all__ = ["BadRecord", "FORMATS", "InputFile", "Item", "detect", "kind_names", "read_items"]

# JSON lines and documents differ only in their layout: the message offers them as one
JSON_DESCRIPTION = (
    "JSON lines or array of Windows events, ECS documents, Defender rows or Zeek rows"
)


SPOOL_IN_MEMORY = 16 << 20  # an archived .evtx larger than this is spooled to disk


def _read_evtx(opened: Opened) -> Records:
    if not opened.in_archive:
        # the file object itself, not a path: its position tells the progress
        return evtx_file.read(opened.stream, opened.name, opened.wanted)
    return _read_spooled_evtx(opened)


def _read_spooled_evtx(opened: Opened) -> Records:
    # the parser seeks and a streamed tar member cannot: the member is copied out first
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as copy:
        shutil.copyfileobj(opened.stream, copy, 1 << 20)
        copy.seek(0)
        yield from evtx_file.read(copy, opened.name, opened.wanted)  # type: ignore[arg-type]


def _read_members(opened: Opened) -> Records:
    """The records of every file in a tar archive, read in one pass as the archive streams."""
    with tarfile.open(fileobj=opened.stream, mode="r|") as archive:
        for member in archive:
            member_stream = archive.extractfile(member) if member.isfile() else None
            if member_stream is None:
                continue
            member_name = f"{opened.name}/{member.name}"
            head = Head(member_stream.read(SNIFF_BYTES))
            # members are not archives themselves (nor gzipped): only the other formats are asked
            form = _sniff(head, [form for form in FORMATS if form not in ARCHIVES])
            if form is None:
                yield BadRecord(member_name, unknown_format_message())
                continue
            whole = io.BufferedReader(_Prefixed(head.raw, member_stream), buffer_size=1 << 16)
            yield from form.read(Opened(whole, member_name, head.encoding, opened.wanted, True))


def _read_zip_members(opened: Opened) -> Records:
    """The records of every file in a zip archive, members in name order (as a folder's files
    are: the same on every machine whatever order the archive was written in). A member that
    cannot be read (bad CRC, encrypted, an unknown compression) is reported, the others are read."""
    try:
        archive = zipfile.ZipFile(opened.stream)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        yield BadRecord(opened.name, f"not a readable zip archive: {error}", lost=True)
        return
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        for info in sorted(members, key=lambda info: PurePosixPath(info.filename).parts):
            member_name = f"{opened.name}/{info.filename}"
            try:
                with archive.open(info) as member_stream:
                    head = Head(member_stream.read(SNIFF_BYTES))
                    # members are not archives themselves: only the other formats are asked
                    form = _sniff(head, [form for form in FORMATS if form not in ARCHIVES])
                    if form is None:
                        yield BadRecord(member_name, unknown_format_message())
                        continue
                    whole = io.BufferedReader(
                        _Prefixed(head.raw, member_stream), buffer_size=1 << 16
                    )
                    member = Opened(whole, member_name, head.encoding, opened.wanted, True)
                    yield from form.read(member)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError) as error:
                # RuntimeError: an encrypted member; its subclass NotImplementedError: an unknown
                # compression method
                yield BadRecord(
                    member_name,
                    f"unreadable archive member: {error}; rest of the member skipped",
                    lost=True,
                )


TAR = Format(
    "tar",
    None,
    sniff=lambda head: head.raw[257:262] == b"ustar",
    read=_read_members,
    yields=(),  # its members'
)

ZIP = Format(
    "zip",
    None,
    # a local file header, or the end record of an empty archive
    sniff=lambda head: head.raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"),
    read=_read_zip_members,
    yields=(),  # its members'
)
ARCHIVES = (TAR, ZIP)

FORMATS: tuple[Format, ...] = (
    TAR,
    ZIP,
    Format(
        "evtx",
        ".evtx",
        sniff=lambda head: head.data.startswith(evtx_file.MAGIC),
        read=_read_evtx,
        yields=(WINDOWS,),
    ),
    Format("empty", None, sniff=lambda head: not head.stripped, read=lambda _: iter(()), yields=()),
    Format(
        "json-lines",
        JSON_DESCRIPTION,
        sniff=json_records.sniff_lines,
        read=json_records.read_lines,
        yields=json_records.KINDS,
    ),
    Format(
        "json",
        JSON_DESCRIPTION,
        sniff=json_records.sniff_document,
        read=json_records.read_document,
        yields=json_records.KINDS,
    ),
    Format(
        "windows-text",
        "<Event> XML, WinEventLog text",
        sniff=lambda head: windows_text.sniff(head.lines),
        read=lambda opened: windows_text.read(opened.lines(), opened.name, opened.wanted),
        yields=(WINDOWS,),
    ),
    Format(
        "auditd",
        "auditd",
        sniff=lambda head: auditd.sniff(head.lines),
        read=lambda opened: auditd.read(opened.lines(), opened.name),
        yields=(AUDITD,),
    ),
    Format(
        "zeek-tsv",
        "Zeek TSV",
        sniff=lambda head: zeek.sniff(head.lines),
        read=lambda opened: zeek.read_tsv(opened.lines(), opened.name),
        yields=(ZEEK,),
    ),
    Format(
        "defender-csv",
        "Defender CSV",
        sniff=defender.sniff_csv,
        read=defender.read_csv,
        yields=(DEFENDER,),
    ),
)


def _sniff(head: Head, formats: Sequence[Format]) -> Format | None:
    return next((form for form in formats if form.sniff(head)), None)


def format_named(name: str) -> Format:
    found = next((form for form in FORMATS if form.name == name), None)
    if found is None:
        raise KeyError(f"no input format named {name!r}")
    return found


def unknown_format_message() -> str:
    offered = one_of(form.description for form in FORMATS if form.description)
    return f"unrecognised format (expected {offered})"


_kind_names: tuple[tuple[Format, ...], Mapping[type, str]] | None = None


def kind_names() -> Mapping[type, str]:
    """Payload type -> the kind the scan summary counts it under, from the formats' `yields`."""
    global _kind_names
    formats = FORMATS
    if _kind_names is None or _kind_names[0] is not formats:  # derived again if FORMATS changed
        names: dict[type, str] = {}
        for kind in (kind for form in formats for kind in form.yields):
            for payload_type in kind.types:
                if names.setdefault(payload_type, kind.name) != kind.name:
                    raise ValueError(
                        f"{payload_type.__name__} is counted as both "
                        f"{names[payload_type]!r} and {kind.name!r}"
                    )
        _kind_names = (formats, names)
    return _kind_names[1]


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str  # the name of its `Format`
    compressed: bool
    encoding: str = "utf-8"
    # standard input or a pipe, copied to an anonymous temporary file: read from there
    spool: IO[bytes] | None = field(default=None, compare=False)
    label: str | None = None  # what records cite instead of the path ("-" for standard input)

    @property
    def name(self) -> str:
        return self.label if self.label is not None else str(self.path)

    @property
    def size(self) -> int:
        if self.spool is not None:
            return os.fstat(self.spool.fileno()).st_size
        return self.path.stat().st_size


def spooled(stream: IO[bytes]) -> IO[bytes]:
    """A copy of a stream that can be read only once (standard input, a pipe, a device) in an
    anonymous temporary file: it has no name on disk, so nothing is left behind."""
    copy = tempfile.TemporaryFile()
    shutil.copyfileobj(stream, copy, 1 << 20)
    copy.flush()
    return copy


def _open_raw(path: Path, spool: IO[bytes] | None) -> IO[bytes]:
    if spool is None:
        return path.open("rb")
    raw = os.fdopen(os.dup(spool.fileno()), "rb")  # shares the offset: rewound
    raw.seek(0)
    return raw


def _open(
    path: Path, compressed: bool, spool: IO[bytes] | None = None
) -> tuple[IO[bytes], IO[bytes]]:
    """(decompressed stream, raw file): the raw file's position tells how far reading got."""
    raw = _open_raw(path, spool)
    if compressed:
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    return raw, raw


def detect(path: Path, spool: IO[bytes] | None = None, label: str | None = None) -> InputFile:
    """The file's format; InputError if it is missing or of no known format. `spool` is the
    copy of a stream (`spooled`) that `label` names."""
    if spool is None and not path.is_file():
        raise InputError(path, "no such file")
    with _open_raw(path, spool) as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    stream, raw = _open(path, compressed, spool)
    try:
        head = Head(stream.read(SNIFF_BYTES))
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(path, f"not a readable gzip file: {error}") from None
    finally:
        stream.close()
        raw.close()
    found = _sniff(head, FORMATS)
    if found is None:
        raise InputError(label or path, unknown_format_message(), 1)
    # a tar archive's members have their own encodings
    encoding = "utf-8" if found in ARCHIVES else head.encoding
    return InputFile(path, found.name, compressed, encoding, spool, label)


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
        file = self.file
        form = format_named(file.format)
        stream, self._raw = _open(file.path, file.compressed, file.spool)
        try:
            yield from form.read(Opened(stream, file.name, file.encoding, self.wanted))
        except (OSError, EOFError, zlib.error, tarfile.TarError) as error:
            # a truncated .gz or a read error: what was read counts, the rest is reported
            yield BadRecord(file.name, f"read error: {error}; rest of the file skipped", lost=True)
        finally:
            stream.close()
            self._raw.close()


def read_items(path: Path, wanted: KeyFilter | None = None) -> Records:
    """Detect the format of `path` and yield its records (InputError before any record)."""
    return iter(Reading(detect(path), wanted))
