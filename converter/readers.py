"""Reading raw event files for `certdetect scan`: JSON lines, one JSON array, or one JSON
document (a pretty-printed event, or a case file whose "event" is taken).

Each record comes with its `file:line` so that a detection, or a malformed record, can be traced.
A malformed record is reported and skipped; it never aborts a long scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converter.errors import InputError


@dataclass(frozen=True)
class Record:
    source: str  # "file:line"
    data: Any


@dataclass(frozen=True)
class BadRecord:
    source: str
    message: str


def _first_char(path: Path) -> str:
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(4096), b""):
            stripped = chunk.lstrip()
            if stripped:
                return chunk.lstrip()[:1].decode("ascii", "replace")
    return ""


def _whole_document(path: Path, name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(name, "not valid UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise InputError(name, f"invalid JSON: {error.msg}", error.lineno) from None


def _is_single_document(path: Path) -> bool:
    """A file starting with "{" whose first line is not a whole JSON value is one document."""
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                try:
                    json.loads(raw)
                    return False
                except (json.JSONDecodeError, UnicodeDecodeError):
                    return raw.lstrip().startswith(b"{")
    return False


def _unwrap_case(data: Any) -> Any:
    if isinstance(data, dict) and "event" in data and "expect" in data and "Event" not in data:
        return data["event"]
    return data


def read_records(path: Path) -> Iterator[Record | BadRecord]:
    if not path.is_file():
        raise InputError(path, "no such file")
    name = str(path)
    first = _first_char(path)
    if first == "[":
        # A JSON array is read whole; the line of each element is not kept by json.
        items = _whole_document(path, name)
        for position, item in enumerate(items):
            yield Record(f"{name}:[{position}]", _unwrap_case(item))
        return
    if first == "{" and _is_single_document(path):
        yield Record(f"{name}:1", _unwrap_case(_whole_document(path, name)))
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            source = f"{name}:{number}"
            try:
                yield Record(source, _unwrap_case(json.loads(raw)))
            except UnicodeDecodeError:
                yield BadRecord(source, "not valid UTF-8")
            except json.JSONDecodeError as error:
                yield BadRecord(source, f"invalid JSON: {error.msg}")
