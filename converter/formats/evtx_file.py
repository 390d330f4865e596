"""Binary `.evtx` event log files, read with the `evtx` package (a Rust EVTX parser), which
renders each record in the EVTX JSON layout; `converter.formats.evtx_json` takes it from there.

A record is reported as `file:record=<EventRecordID>`. A record the parser cannot read is
reported and skipped; the parser goes on with the next one.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson

from converter.formats import evtx_json
from converter.formats.base import BadRecord, Item, KeyFilter, RecordError, Records

MAGIC = b"ElfFile\x00"
MAX_ERRORS_IN_A_ROW = 1000


def read(source: Path | IO[bytes], name: str, wanted: KeyFilter | None = None) -> Records:
    from evtx import PyEvtxParser  # imported here: only .evtx input needs the native module

    try:
        parser = PyEvtxParser(str(source) if isinstance(source, Path) else source)
    except (OSError, RuntimeError) as error:
        yield BadRecord(name, f"not a readable EVTX file: {error}")
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
                yield BadRecord(name, "too many unreadable records; rest of the file skipped")
                return
            continue
        errors = 0
        source_name = f"{name}:record={record.get('event_record_id', position)}"
        try:
            yield Item(source_name, evtx_json.convert(orjson.loads(record["data"]), wanted))
        except (RecordError, orjson.JSONDecodeError, KeyError) as error:
            yield BadRecord(source_name, str(error))
