"""Defender XDR advanced-hunting exports: rows of DeviceProcessEvents, DeviceFileEvents and
DeviceRegistryEvents as the portal exports them (CSV with a header row) or as the hunting APIs
return them (JSON rows, one per line, in an array, or under `Results`/`results`). They are
already what the KQL target executes on, so they go to the KQL engine only.

The table is taken from a `Table`, `$table` or `TableName` column when the export has one (a
`union` query adds `$table`); else from the ActionType (ProcessCreated, File..., Registry...);
else it is the one of the three tables whose schema holds every column of the row. Values are
converted to the column's Kusto type (CSV holds text); an empty value is no value (Kusto strings
have no null, so a missing string reads ""). Columns outside the table's schema (a query's own
`extend` columns) are dropped: a KQL filter over the table cannot name them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from converter.core.defender_schema import DEFENDER_TABLES
from converter.core.documents import DefenderRow
from converter.formats.base import BadRecord, Head, Item, Opened, RecordError, Records

TABLE_COLUMNS = ("Table", "$table", "TableName")
PROCESS_TABLE = "DeviceProcessEvents"
FILE_TABLE = "DeviceFileEvents"
REGISTRY_TABLE = "DeviceRegistryEvents"
CANDIDATES = (PROCESS_TABLE, FILE_TABLE, REGISTRY_TABLE)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_US = "%b %d, %Y %I:%M:%S %p"  # the portal's display form, e.g. "Mar 5, 2024 10:11:12 AM"
_TRUE = frozenset({"true", "1", "t", "yes"})
_FALSE = frozenset({"false", "0", "f", "no"})


def is_row(record: Mapping[str, Any]) -> bool:
    if any(name in record for name in TABLE_COLUMNS):
        return True
    return "ActionType" in record and ("DeviceName" in record or "DeviceId" in record)


def parse_datetime(text: str) -> datetime:
    match = _ISO.fullmatch(text.strip())
    if match is None:
        try:
            return datetime.strptime(text.strip(), _US).replace(tzinfo=timezone.utc)
        except ValueError:
            raise RecordError(f"not a date and time: {text!r}") from None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "").ljust(6, "0")[:6])
    offset = timezone.utc
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        offset = timezone(sign * delta)
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micros, offset
    )
    return moment.astimezone(timezone.utc)


def _convert(kusto_type: str, value: Any) -> Any:
    if kusto_type == "string":
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    if isinstance(value, str):
        if kusto_type in ("long", "int"):
            return int(value)
        if kusto_type == "real":
            return float(value)
        if kusto_type in ("bool", "boolean"):
            folded = value.strip().lower()
            if folded in _TRUE or folded in _FALSE:
                return folded in _TRUE
            raise ValueError(value)
        if kusto_type == "datetime":
            return parse_datetime(value)
        if kusto_type == "dynamic":
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                return value
        return value
    if kusto_type in ("long", "int"):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value)
    if kusto_type == "real" and not isinstance(value, bool):
        return float(value)
    if kusto_type in ("bool", "boolean") and isinstance(value, bool):
        return value
    if kusto_type == "dynamic":
        return value
    raise ValueError(value)


def _table(record: Mapping[str, Any]) -> str:
    for column in TABLE_COLUMNS:
        named = record.get(column)
        if named:
            if named not in DEFENDER_TABLES:
                raise RecordError(f"unknown Defender XDR table {named!r}")
            return str(named)
    action = str(record.get("ActionType") or "")
    if action == "ProcessCreated":
        return PROCESS_TABLE
    if action.startswith("File"):
        return FILE_TABLE
    if action.startswith("Registry"):
        return REGISTRY_TABLE
    present = {name for name, value in record.items() if value not in (None, "")}
    fitting = [name for name in CANDIDATES if present <= DEFENDER_TABLES[name].columns.keys()]
    if len(fitting) != 1:
        raise RecordError(
            "cannot tell the Defender table of this row (no Table column, ActionType "
            f"{action!r}); add a Table column to the export"
        )
    return fitting[0]


def row(record: Mapping[str, Any]) -> DefenderRow:
    """A `DefenderRow` from one exported row (column name -> value)."""
    table = DEFENDER_TABLES[_table(record)]
    columns: dict[str, Any] = {}
    for name, value in record.items():
        kusto_type = table.columns.get(name)
        if kusto_type is None or value is None or (value == "" and kusto_type != "string"):
            continue
        try:
            columns[name] = _convert(kusto_type, value)
        except (ValueError, OverflowError, RecordError):
            raise RecordError(f"{name}: {value!r} is not a {kusto_type}") from None
    return DefenderRow(table=table.name, columns=columns)


def sniff_csv(head: Head) -> bool:
    """A CSV header with Timestamp and ActionType, DeviceName or a table column."""
    if not head.lines:
        return False
    names = {name.strip().strip('"') for name in head.lines[0].split(",")}
    if len(names) < 2 or "Timestamp" not in names:
        return False
    return bool(names & {"ActionType", "DeviceName", *TABLE_COLUMNS})


def read_csv(opened: Opened) -> Records:
    """A portal export: a header row, then one row per line (quoted values may span lines)."""
    name = opened.name
    text = io.TextIOWrapper(opened.stream, encoding=opened.encoding, errors="replace", newline="")
    rows = csv.reader(text)
    header = next(rows, None)
    if header is None:
        return
    header = [column.strip() for column in header]
    for values in rows:
        source = f"{name}:{rows.line_num}"
        if not any(values):
            continue
        if len(values) != len(header):
            yield BadRecord(source, f"{len(values)} values for {len(header)} columns")
            continue
        try:
            yield Item(source, row(dict(zip(header, values, strict=True))))
        except RecordError as error:
            yield BadRecord(source, str(error))
