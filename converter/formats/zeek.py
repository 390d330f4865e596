"""Zeek logs (x509.log, ssl.log, ...) in Zeek's two writers' formats: tab-separated values with
`#separator`, `#fields` and `#types` headers (the default), and JSON lines (`LogAscii::use_json`).

A row becomes a `ZeekRecord` (`converter.core.zeek`): the log's name (`#path`, or the JSON row's
`_path`, or guessed from the fields: x509 rows have `certificate.*`, ssl rows
`cipher`/`ssl_history`/`server_name`, else the file name) and its fields under their `#fields`
names. TSV values are converted by their `#types`: `time`/`interval`/`double` -> float,
`count`/`int`/`port` -> int, `bool` T/F -> bool, `set[...]`/`vector[...]` -> list split on
`#set_separator`, the unset field (`-`) -> None, the empty field (`(empty)`) -> "" or [], and
`\\xHH` escapes decoded. JSON values are kept as they
are; keys starting with "_" other than `_path` (writer metadata) are dropped.

No rule reads Zeek logs yet: rows are read, checked and counted, and a later evaluator can take
`ZeekRecord`s as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from converter.core.zeek import ZeekRecord
from converter.formats.base import BadRecord, Item, RecordError, Records

_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")


def sniff(lines: list[str]) -> bool:
    return bool(lines) and lines[0].startswith("#separator ")


def is_zeek(record: Mapping[str, Any]) -> bool:
    return "ts" in record and any(
        name in record for name in ("uid", "fingerprint", "id.orig_h", "certificate.subject")
    )


def log_name(fields: Mapping[str, Any], file_name: str) -> str:
    path = fields.get("_path")
    if isinstance(path, str) and path:
        return path
    if "certificate.subject" in fields or "certificate.serial" in fields:
        return "x509"
    if any(name in fields for name in ("cipher", "ssl_history", "server_name")):
        return "ssl"
    return PurePath(file_name).name.split(".", 1)[0] or "unknown"


def from_json(record: Mapping[str, Any], file_name: str) -> ZeekRecord:
    fields = {k: v for k, v in record.items() if not k.startswith("_")}
    return ZeekRecord(log_name(record, file_name), fields)


def _unescape(text: str) -> str:
    if "\\x" not in text:
        return text
    raw = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    # Zeek escapes bytes, not characters: re-read the byte string as UTF-8 where it is one.
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


@dataclass
class _Header:
    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str = ""
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def directive(self, text: str) -> None:
        if text.startswith("#separator "):
            self.separator = _unescape(text[len("#separator ") :])
            return
        name, _, value = text[1:].partition(self.separator)
        if name == "set_separator":
            self.set_separator = _unescape(value)
        elif name == "empty_field":
            self.empty = value
        elif name == "unset_field":
            self.unset = value
        elif name == "path":
            self.path = value
        elif name == "fields":
            self.fields = value.split(self.separator)
        elif name == "types":
            self.types = value.split(self.separator)

    def value(self, zeek_type: str, text: str) -> Any:
        if text == self.unset:
            return None
        if zeek_type.startswith(("set[", "vector[")):
            if text == self.empty:
                return []
            inner = zeek_type[zeek_type.index("[") + 1 : -1]
            return [self.value(inner, item) for item in text.split(self.set_separator)]
        if text == self.empty and zeek_type in ("string", "pattern"):
            return ""
        if zeek_type in ("time", "interval", "double"):
            return float(text)
        if zeek_type in ("count", "int", "port"):
            return int(text)
        if zeek_type == "bool":
            if text not in ("T", "F"):
                raise ValueError(text)
            return text == "T"
        return _unescape(text)

    def row(self, text: str) -> Mapping[str, Any]:
        values = text.split(self.separator)
        if not self.fields:
            raise RecordError("row before any #fields header")
        if len(values) != len(self.fields):
            raise RecordError(f"{len(values)} values for {len(self.fields)} #fields")
        types = self.types if len(self.types) == len(self.fields) else ["string"] * len(values)
        row: dict[str, Any] = {}
        for name, zeek_type, value in zip(self.fields, types, values, strict=True):
            try:
                row[name] = self.value(zeek_type, value)
            except ValueError:
                raise RecordError(f"{name}: {value!r} is not a {zeek_type}") from None
        return row


def read_tsv(lines: Iterable[tuple[int, str]], name: str) -> Records:
    header = _Header()
    for number, text in lines:
        if not text:
            continue
        if text.startswith("#"):
            if text.startswith("#fields"):
                header.types = []
            header.directive(text)
            continue
        try:
            row = header.row(text)
        except RecordError as error:
            yield BadRecord(f"{name}:{number}", str(error))
            continue
        yield Item(f"{name}:{number}", ZeekRecord(header.path or log_name(row, name), row))
