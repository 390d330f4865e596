"""Binary `.evtx` event log files, read with the `evtx` package (a Rust EVTX parser), which
renders each record in the EVTX JSON layout; `converter.formats.evtx_json` takes it from there.

A record is reported as `file:record=<EventRecordID>`. A record the parser cannot read is
reported and skipped; the parser goes on with the next one. A file shorter than its header says
(cut while copied, or still being written) ends with a `lost` `BadRecord` saying how much was
read: the parser itself reads the chunks before the cut and says nothing.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO

import orjson

from converter.formats import evtx_json
from converter.formats.base import BadRecord, Item, KeyFilter, RecordError, Records

MAGIC = b"ElfFile\x00"
MAX_ERRORS_IN_A_ROW = 1000
CHUNK_SIZE = 65536  # every chunk of an EVTX file has this size (libyal's EVTX format notes)


def expected_size(header: bytes) -> int | None:
    """The size a whole file with this header has: its header block (the size at offset 40)
    then the chunks it counts (offset 42), per libyal's "Windows XML Event Log format"."""
    if len(header) < 44 or not header.startswith(MAGIC):
        return None
    block, chunks = struct.unpack_from("<HH", header, 40)
    return block + chunks * CHUNK_SIZE


def _cut(source: IO[bytes]) -> tuple[int, int] | None:
    """(bytes present, bytes the header announces) when a seekable file is cut short.

    The parser itself reads the chunks before the cut and says nothing about the rest."""
    if not source.seekable():
        return None
    start = source.tell()
    header = source.read(44)
    size = source.seek(0, 2)
    source.seek(start)
    expected = expected_size(header)
    if expected is None or size >= expected:
        return None
    return size, expected


def read(source: Path | IO[bytes], name: str, wanted: KeyFilter | None = None) -> Records:
    from evtx import PyEvtxParser  # imported here: only .evtx input needs the native module

    cut = None if isinstance(source, Path) else _cut(source)
    read = 0
    for record in _records(PyEvtxParser, source, name, wanted):
        read += type(record) is Item
        yield record
    if cut is not None:
        present, expected = cut
        yield BadRecord(
            name,
            f"truncated: {present:,} of {expected:,} bytes present; "
            f"{read} record(s) before the cut were read",
            lost=True,
        )


def _records(
    parser_type: type, source: Path | IO[bytes], name: str, wanted: KeyFilter | None
) -> Records:
    try:
        parser = parser_type(str(source) if isinstance(source, Path) else source)
    except (OSError, RuntimeError) as error:
        yield BadRecord(name, f"not a readable EVTX file: {error}", lost=True)
        return
    records = iter(parser.records_json())
    errors = 0
    position = 0
    while True:
        position += 1
        try:
            record = next(records)
        except StopIteration:
            return
        except (OSError, RuntimeError, ValueError) as error:
            errors += 1
            yield BadRecord(f"{name}:record#{position}", f"unreadable EVTX record: {error}")
            if errors >= MAX_ERRORS_IN_A_ROW:
                yield BadRecord(
                    name, "too many unreadable records; rest of the file skipped", lost=True
                )
                return
            continue
        errors = 0
        source_name = f"{name}:record={record.get('event_record_id', position)}"
        try:
            yield Item(source_name, evtx_json.convert(orjson.loads(record["data"]), wanted))
        except (RecordError, orjson.JSONDecodeError, KeyError) as error:
            yield BadRecord(source_name, str(error))
