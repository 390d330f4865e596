"""The Defender XDR model: advanced-hunting rows with the documented columns.

Columns and types are those of the Microsoft Learn table pages (DeviceProcessEvents,
DeviceFileEvents, DeviceImageLoadEvents, DeviceRegistryEvents); pySigma's kusto backend ships the
same schemas as data (`sigma/pipelines/microsoftxdr/tables.py`), which a test reads as text to
check that every column the model fills exists with the right type.
"""

from __future__ import annotations

import ast
import json
import sysconfig
from datetime import datetime, timezone
from pathlib import Path

import pytest

from converter.core.events import parse_windows_event
from converter.execute.ingest.defender import parse_time, registry_key, to_defender

from .ingest_support import FILES, SHARED, load

FIXTURES = sorted(p.name for p in FILES.glob("*.json"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_sysmon_process_create_row():
    row = to_defender(load("sysmon_1_certutil_addstore.json"))
    assert row.table == "DeviceProcessEvents"
    assert row.columns == {
        "Timestamp": utc(2024, 3, 12, 10, 15, 42, 123456),
        "DeviceName": "wks-042.corp.example.com",
        "ActionType": "ProcessCreated",
        "FileName": "certutil.exe",
        # Full path including the file name, as Defender fills FolderPath in practice.
        "FolderPath": "C:\\Windows\\System32\\certutil.exe",
        "ProcessCommandLine": (
            'certutil.exe  -addstore -f Root "C:\\Users\\Public\\Documents\\corp root.cer"'
        ),
        "ProcessId": 7312,
        "ProcessCreationTime": utc(2024, 3, 12, 10, 15, 42, 118000),
        "ProcessIntegrityLevel": "High",
        "ProcessVersionInfoOriginalFileName": "CertUtil.exe",
        "ProcessVersionInfoCompanyName": "Microsoft Corporation",
        "ProcessVersionInfoProductName": "Microsoft® Windows® Operating System",
        "ProcessVersionInfoFileDescription": "CertUtil.exe",
        "AccountDomain": "corp",
        "AccountName": "alice",
        "LogonId": 0xBB1E9,
        "InitiatingProcessFileName": "cmd.exe",
        "InitiatingProcessFolderPath": "C:\\Windows\\System32\\cmd.exe",
        "InitiatingProcessCommandLine": '"C:\\Windows\\system32\\cmd.exe" ',
        "InitiatingProcessId": 5528,
        "InitiatingProcessAccountDomain": "corp",
        "InitiatingProcessAccountName": "alice",
        "SHA1": "6e1e8a6b1f0a3c0f2d4b5c8e9a7d3f1b2c4e6a80",
        "MD5": "3b2d6a1f0e9c8b7a6d5e4f3c2b1a0918",
        "SHA256": "0d6c7e2b1a9f8e3d4c5b6a7980f1e2d3c4b5a69788f0e1d2c3b4a5968778695a",
    }


def test_security_4688_row():
    row = to_defender(load("security_4688_openssl_req.json"))
    assert row.table == "DeviceProcessEvents"
    assert row.columns == {
        "Timestamp": utc(2024, 3, 12, 10, 20, 11, 987654),
        "DeviceName": "wks-042.corp.example.com",
        "ActionType": "ProcessCreated",
        "FileName": "openssl.exe",
        "FolderPath": "C:\\Program Files\\OpenSSL-Win64\\bin\\openssl.exe",
        "ProcessCommandLine": (
            'openssl  req -x509 -newkey rsa:2048 -keyout "C:\\Users\\Public\\k ey.pem" '
            '-subj "/CN=Microsoft IT TLS CA 5"'
        ),
        "ProcessId": 0x1B28,
        "ProcessCreationTime": utc(2024, 3, 12, 10, 20, 11, 987654),
        "AccountDomain": "corp",
        "AccountName": "alice",
        "AccountSid": "S-1-5-21-1004336348-1177238915-682003330-1104",
        "LogonId": 0xBB1E9,
        "InitiatingProcessFileName": "cmd.exe",
        "InitiatingProcessFolderPath": "C:\\Windows\\System32\\cmd.exe",
        "InitiatingProcessId": 0x1ACC,
        "InitiatingProcessAccountDomain": "corp",
        "InitiatingProcessAccountName": "alice",
        "InitiatingProcessAccountSid": "S-1-5-21-1004336348-1177238915-682003330-1104",
    }


def test_sysmon_for_linux_process_row():
    row = to_defender(load("linux_sysmon_1_openssl_req.json"))
    assert row.table == "DeviceProcessEvents"
    columns = row.columns
    assert (columns["FileName"], columns["FolderPath"]) == ("openssl", "/usr/bin/openssl")
    assert (columns["InitiatingProcessFileName"], columns["InitiatingProcessId"]) == ("bash", 15369)
    assert columns["AccountName"] == "root"
    assert columns["ProcessCommandLine"].startswith("openssl req -x509 -nodes")
    # Sysmon for Linux writes "-" for PE version data and hashes: no column.
    assert "ProcessVersionInfoOriginalFileName" not in columns
    assert "SHA256" not in columns
    assert "ProcessIntegrityLevel" not in columns


def test_sysmon_file_create_row():
    row = to_defender(load("sysmon_11_pfx_in_temp.json"))
    assert row.table == "DeviceFileEvents"
    assert row.columns == {
        "Timestamp": utc(2024, 3, 12, 10, 16, 5, 654321),
        "DeviceName": "wks-042.corp.example.com",
        "ActionType": "FileCreated",
        "FileName": "web.corp-test.pfx",
        "FolderPath": "C:\\Users\\alice\\AppData\\Local\\Temp\\web.corp-test.pfx",
        "InitiatingProcessFileName": "powershell.exe",
        "InitiatingProcessFolderPath": (
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
        ),
        "InitiatingProcessId": 6044,
        "InitiatingProcessAccountDomain": "corp",
        "InitiatingProcessAccountName": "alice",
    }


def test_sysmon_image_load_row():
    row = to_defender(load("sysmon_7_dbghelp_loaded_from_public.json"))
    assert row.table == "DeviceImageLoadEvents"
    assert row.columns == {
        "Timestamp": utc(2024, 3, 12, 10, 16, 7, 210482),
        "DeviceName": "wks-042.corp.example.com",
        "ActionType": "ImageLoaded",
        # The loaded module; its version info and signature have no column.
        "FileName": "dbghelp.dll",
        "FolderPath": "C:\\Windows\\System32\\dbghelp.dll",
        "SHA1": "4c6d0f8e2a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d",
        "MD5": "9e2b4d6f8a0c1e3f5a7b9c0d2e4f6a8b",
        "SHA256": "1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a0f1e",
        "InitiatingProcessFileName": "dumper.exe",
        "InitiatingProcessFolderPath": "C:\\Users\\Public\\Documents\\dumper.exe",
        "InitiatingProcessId": 7784,
        "InitiatingProcessAccountDomain": "corp",
        "InitiatingProcessAccountName": "alice",
    }


def test_sysmon_registry_key_create_row():
    row = to_defender(load("sysmon_12_root_certificate_key.json"))
    assert row.table == "DeviceRegistryEvents"
    assert row.columns["ActionType"] == "RegistryKeyCreated"
    # HKU\<SID>\ is shown by Defender under HKEY_CURRENT_USER\<SID>\.
    assert row.columns["RegistryKey"] == (
        "HKEY_CURRENT_USER\\S-1-5-21-1004336348-1177238915-682003330-1104\\SOFTWARE\\Microsoft"
        "\\SystemCertificates\\Root\\Certificates\\8F3A1C5E7B9D2F4A6C8E0B1D3F5A7C9E2B4D6F80"
    )
    assert "RegistryValueName" not in row.columns
    assert row.columns["InitiatingProcessFileName"] == "certutil.exe"


def test_sysmon_registry_value_set_splits_key_and_value_name():
    row = to_defender(load("sysmon_13_root_certificate_blob.json"))
    assert row.table == "DeviceRegistryEvents"
    assert row.columns == {
        "Timestamp": utc(2024, 3, 12, 10, 15, 42, 346789),
        "DeviceName": "wks-042.corp.example.com",
        "ActionType": "RegistryValueSet",
        "RegistryKey": (
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates"
            "\\8F3A1C5E7B9D2F4A6C8E0B1D3F5A7C9E2B4D6F80"
        ),
        "RegistryValueName": "Blob",
        # Sysmon's "Binary Data" is a placeholder, not the data.
        "RegistryValueType": "Binary",
        "InitiatingProcessFileName": "certutil.exe",
        "InitiatingProcessFolderPath": "C:\\Windows\\System32\\certutil.exe",
        "InitiatingProcessId": 7312,
        "InitiatingProcessAccountDomain": "nt authority",
        "InitiatingProcessAccountName": "system",
    }


@pytest.mark.parametrize(
    ("target", "details", "expected"),
    [
        (
            "HKU\\S-1-5-21-1\\Software\\X\\HideFileExt",
            "DWORD (0x00000001)",
            ("HKEY_CURRENT_USER\\S-1-5-21-1\\Software\\X", "HideFileExt", "Dword", "1"),
        ),
        (
            "HKLM\\System\\CurrentControlSet\\Services\\W32Time\\SecureTimeHigh",
            "QWORD (0x01d776fd-0xd724b8c5)",
            (
                "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\W32Time",
                "SecureTimeHigh",
                "Qword",
                str(0x01D776FDD724B8C5),
            ),
        ),
        (
            "HKLM\\SOFTWARE\\Classes\\x\\(Default)",
            "C:\\Tools\\a.exe",
            ("HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\x", "", "String", "C:\\Tools\\a.exe"),
        ),
    ],
)
def test_registry_value_columns(target, details, expected):
    record = json.loads((FILES / "sysmon_13_hidefileext_dword.json").read_text(encoding="utf-8"))
    record["Event"]["EventData"].update(TargetObject=target, Details=details)
    columns = to_defender(parse_windows_event(record)).columns
    found = tuple(
        columns.get(c)
        for c in ("RegistryKey", "RegistryValueName", "RegistryValueType", "RegistryValueData")
    )
    assert found == expected


def test_registry_value_delete_and_key_rename():
    record = json.loads((FILES / "sysmon_12_root_certificate_key.json").read_text(encoding="utf-8"))
    record["Event"]["EventData"].update(
        EventType="DeleteValue", TargetObject="HKLM\\SOFTWARE\\K\\V"
    )
    row = to_defender(parse_windows_event(record))
    assert (
        row.columns["ActionType"],
        row.columns["RegistryKey"],
        row.columns["RegistryValueName"],
    ) == (
        "RegistryValueDeleted",
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\K",
        "V",
    )
    record["Event"]["System"]["EventID"] = 14
    record["Event"]["EventData"].update(
        EventType="RenameKey", TargetObject="HKLM\\SOFTWARE\\Old", NewName="HKLM\\SOFTWARE\\New"
    )
    row = to_defender(parse_windows_event(record))
    assert (
        row.columns["ActionType"],
        row.columns["RegistryKey"],
        row.columns["PreviousRegistryKey"],
    ) == (
        "RegistryKeyRenamed",
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\New",
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Old",
    )


@pytest.mark.parametrize(
    ("sysmon", "defender"),
    [
        ("HKLM\\SOFTWARE\\Microsoft", "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft"),
        ("HKU\\.DEFAULT\\Software", "HKEY_CURRENT_USER\\.DEFAULT\\Software"),
        ("HKCR\\.pfx", "HKEY_CLASSES_ROOT\\.pfx"),
        ("HKLM", "HKEY_LOCAL_MACHINE"),
        ("\\REGISTRY\\MACHINE\\SOFTWARE", "\\REGISTRY\\MACHINE\\SOFTWARE"),
    ],
)
def test_registry_key_spells_out_the_hive(sysmon, defender):
    assert registry_key(sysmon) == defender


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-10-08T12:57:15.192592Z", utc(2021, 10, 8, 12, 57, 15, 192592)),
        ("2021-01-14T23:41:40.145335200Z", utc(2021, 1, 14, 23, 41, 40, 145335)),
        ("2024-03-12 10:15:42.118", utc(2024, 3, 12, 10, 15, 42, 118000)),
        ("2024-03-12T10:15:42Z", utc(2024, 3, 12, 10, 15, 42)),
        ("", None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_sysmon_network_connection_is_a_device_network_events_row():
    row = to_defender(load("sysmon_3_network_connection.json"))
    assert row.table == "DeviceNetworkEvents"
    columns = row.columns
    assert columns["ActionType"] == "ConnectionSuccess"  # Initiated "true"
    assert (columns["RemoteIP"], columns["RemotePort"]) == ("10.1.0.10", 443)
    assert (columns["LocalIP"], columns["LocalPort"]) == ("10.1.2.42", 50112)
    assert columns["Protocol"] == "Tcp"
    assert "RemoteUrl" not in columns  # DestinationHostname "-"
    assert columns["InitiatingProcessFileName"] == "powershell.exe"


def test_an_accepted_connection_is_inbound_connection_accepted():
    record = json.loads((FILES / "sysmon_3_network_connection.json").read_text(encoding="utf-8"))
    record["Event"]["EventData"]["Initiated"] = "false"
    row = to_defender(parse_windows_event(record))
    assert row.columns["ActionType"] == "InboundConnectionAccepted"


def test_sysmon_file_delete_is_a_file_deleted_row_with_the_file_hashes():
    row = to_defender(load("sysmon_23_event_log_deleted.json"))
    assert (row.table, row.columns["ActionType"]) == ("DeviceFileEvents", "FileDeleted")
    assert row.columns["FolderPath"] == "C:\\Windows\\System32\\winevt\\Logs\\Security.evtx"
    assert row.columns["SHA1"] == "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
    assert row.columns["InitiatingProcessFileName"] == "cmd.exe"


# Events with no Defender XDR table; every other fixture is a row.
NO_ROW = (
    "powershell_4104_selfsigned.json",
    "sysmon_25_process_tampering_unsupported.json",
    "sysmon_10_lsass_access_from_public.json",
    "sysmon_17_pipe_created_from_public.json",
    "sysmon_22_dns_query.json",
    "sysmon_6_driver_loaded_from_temp.json",
    "sysmon_8_remote_thread_loadlibrary.json",
)


@pytest.mark.parametrize("name", NO_ROW)
def test_unsupported_events_are_none(name):
    # 4104, Sysmon 6, 8, 10, 17, 22 and 25: no table or column for script blocks, driver loads
    # (not mapped), remote threads, process access, named pipes, DNS queries or tampering.
    assert to_defender(load(name)) is None


def test_real_mdecrevoisier_events_are_not_supported_event_types():
    path = SHARED / "real-logs" / "mdecrevoisier"
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared/ real-log corpus sits beside the repository)")
    count = 0
    for file in sorted(path.glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            assert to_defender(parse_windows_event(json.loads(line))) is None
            count += 1
    assert count > 0


def _documented_schemas() -> dict[str, dict[str, str]]:
    # Read as data (never imported): the Defender XDR table schemas pySigma's kusto backend ships.
    path = Path(sysconfig.get_paths()["purelib"]) / "sigma/pipelines/microsoftxdr/tables.py"
    # pysigma-backend-kusto is a dependency: without the file there is nothing to check against
    assert path.exists(), f"{path} is absent; is pysigma-backend-kusto installed?"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
            tables = ast.literal_eval(node.value)
            if "DeviceProcessEvents" in tables:
                return {
                    table: {column: spec["data_type"] for column, spec in columns.items()}
                    for table, columns in tables.items()
                }
    raise AssertionError(f"no table dictionary in {path}")


PYTHON_TYPES = {"string": str, "long": int, "int": int, "datetime": datetime}


@pytest.mark.parametrize("name", [name for name in FIXTURES if name not in NO_ROW])
def test_rows_stay_inside_the_documented_schema(name):
    row = to_defender(load(name))
    assert row is not None and row.columns
    schema = _documented_schemas()[row.table]
    for column, value in row.columns.items():
        assert column in schema, f"{row.table} has no column {column}"
        assert type(value) is PYTHON_TYPES[schema[column]], (column, value)
