from __future__ import annotations

from datetime import datetime, timezone

import pytest

from converter.core.documents import DefenderRow
from converter.formats.base import BadRecord, Item, RecordError
from converter.formats.defender import parse_datetime, row
from converter.formats.readers import read_items

from .conftest import FILES

FORMATS = FILES / "formats"


def test_csv_export_rows_get_their_table_and_column_types() -> None:
    records = list(read_items(FORMATS / "defender_export.csv"))
    first = records[0]
    assert isinstance(first, Item)
    assert first.payload == DefenderRow(
        table="DeviceProcessEvents",
        columns={
            "Timestamp": datetime(2026, 11, 20, 10, 15, 2, 114000, tzinfo=timezone.utc),
            "DeviceId": "5a1e0c2b9d8f",
            "DeviceName": "wks-0142.corp.example.com",
            "ActionType": "ProcessCreated",
            "FileName": "certutil.exe",
            "FolderPath": "C:\\Windows\\System32\\certutil.exe",
            "ProcessCommandLine": (
                'certutil.exe -addstore root "C:\\Users\\alice\\AppData\\Local\\Temp\\'
                'df00tech-root.cer"'
            ),
            "ProcessId": 6812,
            "ProcessVersionInfoOriginalFileName": "CertUtil.exe",
            "InitiatingProcessFileName": "cmd.exe",
            "InitiatingProcessCommandLine": "cmd.exe",
            "ReportId": 4411,
        },
    )
    file_row = records[2]
    assert isinstance(file_row, Item) and file_row.payload.table == "DeviceFileEvents"
    # empty CSV cells of non-string columns are no value; ProcessCommandLine is not in the table
    assert "ProcessId" not in file_row.payload.columns
    assert records[3] == BadRecord(
        f"{FORMATS / 'defender_export.csv'}:5", "ProcessId: 'not-a-number' is not a long"
    )


def test_hunting_api_results_are_streamed_and_offsets_applied() -> None:
    records = list(read_items(FORMATS / "defender_hunting_api.json"))
    assert [r.source.rsplit(":", 1)[1] for r in records] == ["14", "24"]
    second = records[1].payload  # type: ignore[union-attr]
    assert second.columns["Timestamp"] == datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
    assert "$table" not in second.columns


@pytest.mark.parametrize(
    ("record", "table"),
    [
        ({"$table": "DeviceRegistryEvents", "RegistryKey": "HKLM"}, "DeviceRegistryEvents"),
        ({"ActionType": "RegistryValueSet", "DeviceName": "h"}, "DeviceRegistryEvents"),
        ({"ActionType": "FileRenamed", "DeviceName": "h"}, "DeviceFileEvents"),
        ({"DeviceName": "h", "FileOriginUrl": "http://x"}, "DeviceFileEvents"),
        ({"DeviceName": "h", "ProcessCommandLine": "x"}, "DeviceProcessEvents"),
    ],
)  # fmt: skip
def test_table_inference(record: dict, table: str) -> None:
    assert row(record).table == table


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"Table": "DeviceMadeUp"}, "unknown Defender XDR table 'DeviceMadeUp'"),
        ({"DeviceName": "h", "FileName": "a"}, "cannot tell the Defender table of this row"),
        ({"Table": "DeviceProcessEvents", "Timestamp": "yesterday"}, "Timestamp: 'yesterday'"),
        ({"Table": "DeviceProcessEvents", "ProcessId": 1.5}, "ProcessId: 1.5 is not a long"),
        ({"Table": "DeviceFileEvents", "IsAzureInfoProtectionApplied": "maybe"}, "not a boolean"),
    ],
)
def test_rows_that_cannot_be_typed(record: dict, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        row(record)


def test_values_are_converted_to_the_schema_types() -> None:
    converted = row(
        {
            "Table": "DeviceFileEvents",
            "IsAzureInfoProtectionApplied": "True",
            "RequestSourcePort": "445",
            "FileSize": 12.0,
            "ShareName": 7,
            "Unknown": "dropped",
        }
    )
    assert converted.columns == {
        "IsAzureInfoProtectionApplied": True,
        "RequestSourcePort": 445,
        "FileSize": 12,
        "ShareName": "7",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T10:15:02.1234567Z", datetime(2026, 11, 20, 10, 15, 2, 123456, timezone.utc)),
        ("2026-11-20 10:15:02", datetime(2026, 11, 20, 10, 15, 2, tzinfo=timezone.utc)),
        ("2026-11-20T12:15:02-0200", datetime(2026, 11, 20, 14, 15, 2, tzinfo=timezone.utc)),
        ("Nov 20, 2026 1:15:02 PM", datetime(2026, 11, 20, 13, 15, 2, tzinfo=timezone.utc)),
    ],
)
def test_datetimes(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected
