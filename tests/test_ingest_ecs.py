"""The Elastic model: documents as the Elastic Agent integrations' ingest pipelines store them.

Expected values follow elastic/integrations: `packages/windows/data_stream/sysmon_operational/
elasticsearch/ingest_pipeline/default.yml` (Sysmon), `packages/system/data_stream/security/
elasticsearch/ingest_pipeline/standard.yml` (4688), `packages/windows/data_stream/
powershell_operational/elasticsearch/ingest_pipeline/default.yml` (4104) and
`packages/sysmon_linux/data_stream/log/elasticsearch/ingest_pipeline/default.yml`.
"""

from __future__ import annotations

import json

import pytest

from converter.core.events import WindowsEvent, parse_windows_event
from converter.execute.ingest.ecs import (
    ARGS_FIELDS,
    model_for,
    security_argv,
    to_ecs,
    to_ecs_without_args,
    windows_argv,
)

from .ingest_support import FILES, load, record_from_xml, shared_file


def test_sysmon_process_create_is_the_whole_pipeline_output():
    # sysmon_operational default.yml: renames move Image/CommandLine/... out of event_data,
    # Company/Description/FileVersion/Product are copied, Hashes is split and lower-cased,
    # an all-zero IMPHASH is dropped, User splits into user.domain/user.name.
    doc = to_ecs(load("sysmon_1_certutil_addstore.json"))
    assert doc == {
        "@timestamp": "2024-03-12T10:15:42.118Z",
        "ecs": {"version": "8.0.0"},
        "event": {
            "kind": "event",
            "code": "1",
            "provider": "Microsoft-Windows-Sysmon",
            "module": "windows",
            "dataset": "windows.sysmon_operational",
            "created": "2024-03-12T10:15:42.123Z",
            "category": ["process"],
            "type": ["start"],
        },
        "winlog": {
            "channel": "Microsoft-Windows-Sysmon/Operational",
            "event_id": "1",
            "provider_name": "Microsoft-Windows-Sysmon",
            "computer_name": "WKS-042.corp.example.com",
            "record_id": "48213",
            "event_data": {
                "FileVersion": "10.0.19041.3570 (WinBuild.160101.0800)",
                "Description": "CertUtil.exe",
                "Product": "Microsoft® Windows® Operating System",
                "Company": "Microsoft Corporation",
                "LogonGuid": "{8a3f2c1d-5a10-65f0-e9b1-0b0000000000}",
                "LogonId": "0xbb1e9",
                "TerminalSessionId": "1",
                "IntegrityLevel": "High",
                "ParentUser": "CORP\\alice",
            },
        },
        "host": {"name": "WKS-042.corp.example.com", "os": {"type": "windows"}},
        "rule": {"name": "technique_id=T1553.004,technique_name=Install Root Certificate"},
        "related": {
            "hash": [
                "6e1e8a6b1f0a3c0f2d4b5c8e9a7d3f1b2c4e6a80",
                "3b2d6a1f0e9c8b7a6d5e4f3c2b1a0918",
                "0d6c7e2b1a9f8e3d4c5b6a7980f1e2d3c4b5a69788f0e1d2c3b4a5968778695a",
            ],
            "user": ["alice"],
        },
        "process": {
            "entity_id": "{8a3f2c1d-6b7e-65f0-4c02-000000001a00}",
            "pid": 7312,
            "executable": "C:\\Windows\\System32\\certutil.exe",
            "name": "certutil.exe",
            "command_line": (
                'certutil.exe  -addstore -f Root "C:\\Users\\Public\\Documents\\corp root.cer"'
            ),
            "args": [
                "certutil.exe",
                "-addstore",
                "-f",
                "Root",
                "C:\\Users\\Public\\Documents\\corp root.cer",
            ],
            "args_count": 5,
            "working_directory": "C:\\Users\\alice\\",
            "hash": {
                "sha1": "6e1e8a6b1f0a3c0f2d4b5c8e9a7d3f1b2c4e6a80",
                "md5": "3b2d6a1f0e9c8b7a6d5e4f3c2b1a0918",
                "sha256": "0d6c7e2b1a9f8e3d4c5b6a7980f1e2d3c4b5a69788f0e1d2c3b4a5968778695a",
            },
            "pe": {
                "original_file_name": "CertUtil.exe",
                "company": "Microsoft Corporation",
                "description": "CertUtil.exe",
                "file_version": "10.0.19041.3570 (WinBuild.160101.0800)",
                "product": "Microsoft® Windows® Operating System",
            },
            "parent": {
                "entity_id": "{8a3f2c1d-6b70-65f0-4a02-000000001a00}",
                "pid": 5528,
                "executable": "C:\\Windows\\System32\\cmd.exe",
                "name": "cmd.exe",
                "command_line": '"C:\\Windows\\system32\\cmd.exe" ',
                "args": ["C:\\Windows\\system32\\cmd.exe"],
                "args_count": 1,
            },
        },
        "user": {"domain": "CORP", "name": "alice"},
    }


def test_sysmon_file_create_splits_the_target_path():
    doc = to_ecs(load("sysmon_11_pfx_in_temp.json"))
    assert doc["event"]["category"] == ["file"]
    assert doc["event"]["type"] == ["creation"]
    assert doc["file"] == {
        "path": "C:\\Users\\alice\\AppData\\Local\\Temp\\web.corp-test.pfx",
        "name": "web.corp-test.pfx",
        "directory": "C:\\Users\\alice\\AppData\\Local\\Temp",
        "extension": "pfx",
    }
    assert doc["process"]["name"] == "powershell.exe"
    # TargetFilename was renamed away; CreationUtcTime is left where the input put it.
    assert doc["winlog"]["event_data"] == {"CreationUtcTime": "2024-03-12 10:16:05.650"}


def test_sysmon_image_load_puts_the_loaded_image_under_file():
    doc = to_ecs(load("sysmon_7_dbghelp_loaded_from_public.json"))
    assert doc["event"]["category"] == ["process"]
    assert doc["event"]["type"] == ["change"]
    assert doc["process"]["executable"] == "C:\\Users\\Public\\Documents\\dumper.exe"
    file = doc["file"]
    assert file["path"] == "C:\\Windows\\System32\\dbghelp.dll"
    assert (file["name"], file["directory"]) == ("dbghelp.dll", "C:\\Windows\\System32")
    # The loaded image's hashes and version info; an all-zero IMPHASH is skipped.
    assert file["hash"]["sha1"] == "4c6d0f8e2a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d"
    assert "imphash" not in file["pe"] and "hash" not in doc["process"]
    assert file["pe"]["original_file_name"] == "DBGHELP.DLL"
    assert file["pe"]["description"] == "Windows Image Helper"
    assert "pe" not in doc["process"]
    assert file["code_signature"] == {
        "subject_name": "Microsoft Windows",
        "status": "Valid",
        "valid": True,
    }
    # "true" == true is false in Painless: `signed` is never set, Signed stays in event_data.
    assert doc["winlog"]["event_data"]["Signed"] == "true"
    assert "ImageLoaded" not in doc["winlog"]["event_data"]


def test_sysmon_process_access_makes_the_source_the_process():
    doc = to_ecs(load("sysmon_10_lsass_access_from_public.json"))
    assert doc["event"]["category"] == ["process"]
    assert doc["event"]["type"] == ["access"]
    assert doc["process"] == {
        "entity_id": "{8a3f2c1d-6b97-65f0-5302-000000001a00}",
        "executable": "C:\\Users\\Public\\Documents\\dumper.exe",
        "name": "dumper.exe",
        "pid": 7784,
        "thread": {"id": 7790},
    }
    # The target is not renamed anywhere: it stays in event_data, as do the access details.
    data = doc["winlog"]["event_data"]
    assert data["TargetImage"] == "C:\\Windows\\system32\\lsass.exe"
    assert data["GrantedAccess"] == "0x1fffff"
    assert "dbgcore.DLL" in data["CallTrace"]
    assert (data["SourceUser"], data["TargetUser"]) == ("CORP\\alice", "NT AUTHORITY\\SYSTEM")
    assert "SourceImage" not in data and "SourceProcessId" not in data
    assert "user" not in doc  # no User field: SourceUser is not split into user.*


def test_sysmon_pipe_created_names_the_pipe_in_file_name():
    doc = to_ecs(load("sysmon_17_pipe_created_from_public.json"))
    assert doc["event"]["category"] == ["file"]
    assert doc["event"]["type"] == ["creation"]
    assert doc["file"] == {"name": "\\dumper_out"}  # no path, so no directory or extension
    assert doc["process"]["name"] == "dumper.exe"
    assert doc["user"] == {"domain": "CORP", "name": "alice"}
    assert doc["winlog"]["event_data"] == {"EventType": "CreatePipe"}


def test_sysmon_network_connection_fills_source_destination_and_network():
    doc = to_ecs(load("sysmon_3_network_connection.json"))
    assert doc["event"]["category"] == ["network"]
    assert doc["event"]["type"] == ["start", "connection", "protocol"]
    assert doc["source"] == {"ip": "10.1.2.42", "port": 50112}  # SourceHostname "-" dropped
    assert doc["destination"] == {"ip": "10.1.0.10", "port": 443}
    # Initiated "true" is egress; the destination's port name is the protocol
    assert doc["network"] == {
        "transport": "tcp",
        "protocol": "https",
        "direction": "egress",
        "type": "ipv4",
    }
    assert doc["related"]["ip"] == ["10.1.2.42", "10.1.0.10"]
    assert doc["process"]["name"] == "powershell.exe"
    assert "event_data" not in doc["winlog"]  # every network field is renamed or removed


def test_sysmon_network_connection_keeps_hosts_and_drops_what_is_no_ip_address():
    record = json.loads((FILES / "sysmon_3_network_connection.json").read_text(encoding="utf-8"))
    data = record["Event"]["EventData"]
    data.update(
        Initiated="false",
        SourceIp="not-an-ip",
        DestinationHostname="dc01.corp.example.com",
        DestinationPortName="-",
        SourcePortName="epmap",
    )
    doc = to_ecs(parse_windows_event(record))
    assert "source" in doc and "ip" not in doc["source"]  # the convert processor fails quietly
    assert doc["destination"]["domain"] == "dc01.corp.example.com"
    assert doc["network"]["direction"] == "ingress"
    assert doc["network"]["protocol"] == "epmap"  # the source's name when no destination's
    assert doc["related"]["ip"] == ["10.1.0.10"]


def test_sysmon_dns_query_splits_query_results_into_answers_and_resolved_ips():
    doc = to_ecs(load("sysmon_22_dns_query.json"))
    assert doc["event"]["type"] == ["connection", "protocol", "info"]
    assert doc["network"] == {"protocol": "dns"}
    # "type:  5 <name>" is a CNAME answer; "::ffff:" addresses are cut to IPv4 and become A
    assert doc["dns"] == {
        "question": {"name": "raw.githubusercontent.com"},
        "answers": [
            {"type": "CNAME", "data": "github.map.fastly.net"},
            {"type": "A", "data": "185.199.108.133"},
            {"type": "A", "data": "185.199.109.133"},
        ],
        "resolved_ip": ["185.199.108.133", "185.199.109.133"],
    }
    assert doc["related"]["hosts"] == ["github.map.fastly.net", "raw.githubusercontent.com"]
    assert doc["related"]["ip"] == ["185.199.108.133", "185.199.109.133"]
    # QueryStatus is translated into sysmon.dns.status, which is not modelled; both are gone
    assert "event_data" not in doc["winlog"] and "sysmon" not in doc


def test_sysmon_driver_load_fills_file_like_an_image_load():
    doc = to_ecs(load("sysmon_6_driver_loaded_from_temp.json"))
    assert (doc["event"]["category"], doc["event"]["type"]) == (["driver"], ["start"])
    assert doc["file"]["path"] == "C:\\Users\\alice\\AppData\\Local\\Temp\\RTCore64.sys"
    assert doc["file"]["hash"]["sha256"].startswith("0123456789abcdef")
    assert doc["file"]["pe"] == {"imphash": "33333333333333333333333333333333"}
    assert doc["file"]["code_signature"] == {
        "subject_name": "Micro-Star Int'l Co. Ltd.",
        "status": "Expired",  # not "Valid", so no `valid`
    }
    assert "process" not in doc  # a driver load has no process
    assert doc["winlog"]["event_data"]["Signed"] == "true"  # never becomes code_signature.signed


def test_sysmon_remote_thread_makes_the_source_the_process_and_renames_the_target_guid():
    doc = to_ecs(load("sysmon_8_remote_thread_loadlibrary.json"))
    assert (doc["event"]["category"], doc["event"]["type"]) == (["process"], ["change"])
    assert doc["process"]["executable"].endswith("\\inject.exe")
    assert doc["process"]["pid"] == 4242
    data = doc["winlog"]["event_data"]
    assert data["StartFunction"] == "LoadLibraryW"
    assert data["TargetImage"] == "C:\\Windows\\System32\\notepad.exe"
    # the pipeline's "Conformity" rename
    assert "TargetProcessGuid" not in data and data["TargetProcessGUID"].startswith("{8a3f")


def test_sysmon_file_delete_puts_the_hashes_on_the_process_and_flags_in_sysmon_file():
    doc = to_ecs(load("sysmon_23_event_log_deleted.json"))
    assert (doc["event"]["category"], doc["event"]["type"]) == (["file"], ["deletion"])
    assert doc["file"]["name"] == "Security.evtx"
    assert "hash" not in doc["file"]  # the pipeline lists 23 among the process-hash events
    assert doc["process"]["hash"]["sha1"] == "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
    assert doc["sysmon"] == {"file": {"archived": True, "is_executable": False}}
    assert "event_data" not in doc["winlog"]


def test_sysmon_raw_access_read_renames_the_device_to_file_path_and_cuts_its_name():
    record = json.loads((FILES / "sysmon_3_network_connection.json").read_text(encoding="utf-8"))
    record["Event"]["System"]["EventID"] = 9
    data = record["Event"]["EventData"]
    record["Event"]["EventData"] = {
        "UtcTime": data["UtcTime"],
        "ProcessGuid": data["ProcessGuid"],
        "ProcessId": data["ProcessId"],
        "Image": data["Image"],
        "Device": "\\Device\\HarddiskVolume2",
        "User": data["User"],
    }
    doc = to_ecs(parse_windows_event(record))
    assert (doc["event"]["category"], doc["event"]["type"]) == (["process"], ["access"])
    # the "Adds file information" script cuts at the last backslash; there is no dot
    assert doc["file"] == {
        "path": "\\Device\\HarddiskVolume2",
        "name": "HarddiskVolume2",
        "directory": "\\Device",
    }
    assert doc["process"]["name"] == "powershell.exe"
    assert "event_data" not in doc["winlog"]
    record["Event"]["System"]["EventID"] = 5  # process terminated: process/end, no file
    del record["Event"]["EventData"]["Device"]
    doc = to_ecs(parse_windows_event(record))
    assert (doc["event"]["category"], doc["event"]["type"]) == (["process"], ["end"])
    assert "file" not in doc and doc["process"]["pid"] == 6044


def test_sysmon_stream_hash_puts_the_stream_hash_on_file_and_keeps_contents():
    record = json.loads((FILES / "sysmon_23_event_log_deleted.json").read_text(encoding="utf-8"))
    record["Event"]["System"]["EventID"] = 15
    data = record["Event"]["EventData"]
    data["Hash"] = data.pop("Hashes")
    data["TargetFilename"] = "C:\\Users\\alice\\Downloads\\tool.exe:Zone.Identifier"
    data["Contents"] = "[ZoneTransfer]  ZoneId=3  "
    for name in ("Archived", "IsExecutable"):
        del data[name]
    doc = to_ecs(parse_windows_event(record))
    assert (doc["event"]["category"], doc["event"]["type"]) == (["file"], ["access"])
    assert doc["file"]["hash"]["sha1"] == "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
    assert "hash" not in doc["process"]  # 15 is a file-hash event, 23 a process-hash one
    assert doc["file"]["extension"] == "Identifier"  # cut at the last dot, in the stream name
    assert doc["winlog"]["event_data"] == {"Contents": "[ZoneTransfer]  ZoneId=3  "}


def test_file_extension_is_cut_at_the_last_dot_of_the_whole_path():
    # The pipeline's "Adds file information" script takes path.lastIndexOf(".").
    record = json.loads((FILES / "sysmon_11_pfx_in_temp.json").read_text(encoding="utf-8"))
    record["Event"]["EventData"]["TargetFilename"] = "C:\\certs.d\\README"
    doc = to_ecs(parse_windows_event(record))
    assert doc["file"]["name"] == "README"
    assert doc["file"]["extension"] == "d\\README"


def test_sysmon_registry_value_matches_the_documented_ecs_example():
    # elastic/ecs rfcs/text/0001-wildcard-data-type.md, "Windows registry event from sysmon":
    # the documented `registry` object of a Sysmon DWORD write under HKU.
    doc = to_ecs(load("sysmon_13_hidefileext_dword.json"))
    assert doc["registry"] == {
        "path": "HKU\\S-1-5-21-1957236100-58272097-297103362-500\\Software\\Microsoft\\Windows"
        "\\CurrentVersion\\Explorer\\Advanced\\HideFileExt",
        "hive": "HKU",
        "key": "S-1-5-21-1957236100-58272097-297103362-500\\Software\\Microsoft\\Windows"
        "\\CurrentVersion\\Explorer\\Advanced\\HideFileExt",
        "value": "HideFileExt",
        "data": {"strings": ["1"], "type": "SZ_DWORD"},
    }
    assert doc["event"]["category"] == ["configuration", "registry"]
    assert doc["event"]["type"] == ["change"]
    # TargetObject is removed by the cleanup; Details and EventType stay.
    assert doc["winlog"]["event_data"] == {"EventType": "SetValue", "Details": "DWORD (0x00000001)"}


def test_sysmon_registry_binary_blob_and_key_create():
    blob = to_ecs(load("sysmon_13_root_certificate_blob.json"))["registry"]
    assert blob["key"] == (
        "SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates"
        "\\8F3A1C5E7B9D2F4A6C8E0B1D3F5A7C9E2B4D6F80\\Blob"
    )
    assert blob["value"] == "Blob"
    assert blob["data"] == {"strings": ["Binary Data"], "type": "REG_BINARY"}
    key = to_ecs(load("sysmon_12_root_certificate_key.json"))
    # For a key event the script still calls the last segment the value.
    assert key["registry"]["value"] == "8F3A1C5E7B9D2F4A6C8E0B1D3F5A7C9E2B4D6F80"
    assert "data" not in key["registry"]
    assert key["winlog"]["event_data"] == {"EventType": "CreateKey"}


@pytest.mark.parametrize(
    ("details", "data"),
    [
        # The script's own arithmetic for a QWORD: (high << 8) + low.
        ("QWORD (0x00000001-0x00000002)", {"strings": ["258"], "type": "SZ_QWORD"}),
        ("DWORD (0x000000ff)", {"strings": ["255"], "type": "SZ_DWORD"}),
        ("C:\\Tools\\evil.exe", {"strings": ["C:\\Tools\\evil.exe"], "type": "REG_SZ"}),
    ],
)
def test_registry_details_become_typed_data(details, data):
    record = json.loads((FILES / "sysmon_13_hidefileext_dword.json").read_text(encoding="utf-8"))
    record["Event"]["EventData"]["Details"] = details
    assert to_ecs(parse_windows_event(record))["registry"]["data"] == data


def test_security_4688_follows_the_security_pipeline():
    doc = to_ecs(load("security_4688_openssl_req.json"))
    assert doc["event"] == {
        "kind": "event",
        "code": "4688",
        "provider": "Microsoft-Windows-Security-Auditing",
        "module": "system",
        "dataset": "system.security",
        "created": "2024-03-12T10:20:11.987Z",
        "category": ["process"],
        "type": ["start"],
        "action": "created-process",
    }
    assert doc["process"] == {
        "pid": 0x1B28,
        "executable": "C:\\Program Files\\OpenSSL-Win64\\bin\\openssl.exe",
        "name": "openssl.exe",
        "parent": {
            "executable": "C:\\Windows\\System32\\cmd.exe",
            "name": "cmd.exe",
            "pid": 0x1ACC,
        },
        # Split on whitespace outside quotes; quotes and the empty string between the two
        # blanks after "openssl" stay.
        "args": [
            "openssl",
            "",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-keyout",
            '"C:\\Users\\Public\\k ey.pem"',
            "-subj",
            '"/CN=Microsoft IT TLS CA 5"',
        ],
        "command_line": (
            'openssl  req -x509 -newkey rsa:2048 -keyout "C:\\Users\\Public\\k ey.pem" '
            '-subj "/CN=Microsoft IT TLS CA 5"'
        ),
        "args_count": 10,
    }
    assert doc["user"] == {
        "id": "S-1-5-21-1004336348-1177238915-682003330-1104",
        "name": "alice",
        "domain": "CORP",
        "effective": {"id": "S-1-0-0"},
    }
    assert doc["related"] == {"user": ["alice"]}
    assert doc["winlog"]["logon"] == {"id": "0xbb1e9"}
    # The 4688 script removes these three and keeps CommandLine and ProcessId.
    data = doc["winlog"]["event_data"]
    assert {"NewProcessId", "NewProcessName", "ParentProcessName"}.isdisjoint(data)
    assert data["ProcessId"] == "0x1acc"
    assert data["CommandLine"].startswith("openssl  req")


def test_powershell_4104_sets_script_block_fields_and_scalar_categories():
    doc = to_ecs(load("powershell_4104_selfsigned.json"))
    assert doc["event"]["category"] == "process"
    assert doc["event"]["type"] == "info"
    assert doc["event"]["dataset"] == "windows.powershell_operational"
    assert doc["powershell"] == {
        "sequence": 1,
        "total": 1,
        "file": {
            "script_block_id": "6f0b6a3e-2d1c-4c5b-9a8e-7f6d5c4b3a21",
            "script_block_text": (
                "$c = New-SelfSignedCertificate -DnsName 'web.corp-test' "
                "-CertStoreLocation Cert:\\CurrentUser\\My\r\n"
                'Export-PfxCertificate -Cert $c -FilePath "$env:TEMP\\web.corp-test.pfx" '
                "-Password $p & <# done #>"
            ),
        },
    }
    # An empty Path is not renamed and the final cleanup drops it with the rest.
    assert "file" not in doc
    assert "event_data" not in doc["winlog"]


def test_powershell_4104_script_path_becomes_file_fields():
    record = json.loads((FILES / "powershell_4104_selfsigned.json").read_text(encoding="utf-8"))
    record["Event"]["EventData"]["Path"] = "C:\\Users\\alice\\mk.ps1"
    doc = to_ecs(parse_windows_event(record))
    assert doc["file"] == {
        "path": "C:\\Users\\alice\\mk.ps1",
        "name": "mk.ps1",
        "directory": "C:\\Users\\alice",
        "extension": "ps1",
    }


def test_sysmon_for_linux_keeps_the_syslog_process_name():
    # sysmon_linux pipeline: log.syslog.appname is renamed to process.name first and the
    # backslash-based name script finds no name in a Linux path (see the package's
    # _dev/test/pipeline/test-sysmon.json-expected.json: process.name "sysmon").
    doc = to_ecs(load("linux_sysmon_1_openssl_req.json"))
    assert doc["process"]["name"] == "sysmon"
    assert doc["process"]["executable"] == "/usr/bin/openssl"
    assert doc["process"]["parent"] == {
        "entity_id": "{ec23eae3-315b-62f2-4884-4ea587550000}",
        "pid": 15369,
        "executable": "/usr/bin/bash",
        "command_line": "-bash",
        "args": ["-bash"],
        "args_count": 1,
    }
    assert doc["process"]["args"][:3] == ["openssl", "req", "-x509"]
    assert doc["host"] == {
        "name": "build-07",
        "hostname": "build-07",
        "os": {"type": "linux"},
    }
    assert doc["event"]["dataset"] == "sysmon_linux.log"
    assert doc["event"]["provider"] == "Linux-Sysmon"
    # "root" has no DOMAIN\ part, so no user.* fields; "-" values were dropped.
    assert "user" not in doc
    assert doc["winlog"]["event_data"] == {
        "LogonGuid": "{ec23eae3-315b-62f2-0000-000000000000}",
        "LogonId": "0",
        "TerminalSessionId": "3",
        "IntegrityLevel": "no level",
        "ParentUser": "root",
    }


@pytest.mark.parametrize(
    ("command_line", "args"),
    [
        ('"C:\\Program Files\\a.exe" -x  y', ["C:\\Program Files\\a.exe", "-x", "y"]),
        ('a\\\\\\"b c', ['a\\"b', "c"]),  # 3 backslashes + quote: one backslash, literal quote
        ('a\\\\"b c" d', ["a\\b c", "d"]),  # 2 backslashes + quote: one backslash, opens quote
        # "Prior to 2008" rule: inside quotes, "" is a literal quote AND ends the quoted part,
        # so the closing quote after b opens a new one.
        ('"a""b" c', ['a"b c']),
        ("a\\b\\ ", ["a\\b\\"]),
        ("\t x \t", ["x"]),
        ("", []),
    ],
)
def test_windows_argv_follows_the_integrations_command_line_to_argv(command_line, args):
    assert windows_argv(command_line) == args


@pytest.mark.parametrize(
    ("command_line", "args"),
    [
        ('"C:\\a b\\c.exe" -p x', ['"C:\\a b\\c.exe"', "-p", "x"]),
        (
            "certutil.exe  -exportPFX powershellcert.pfx ",
            ["certutil.exe", "", "-exportPFX", "powershellcert.pfx", ""],
        ),
        ("a", ["a"]),
        ("", []),
    ],
)
def test_security_argv_keeps_quotes_and_empty_strings(command_line, args):
    assert security_argv(command_line) == args


def test_unsupported_events_are_none():
    assert to_ecs(load("sysmon_25_process_tampering_unsupported.json")) is None


def test_real_mdecrevoisier_events_are_not_supported_event_types():
    # Security 4656 and CAPI2 70 (EVTX-to-MITRE-Attack): not in this project's event set.
    seen = set()
    for path in sorted(shared_file("real-logs/mdecrevoisier").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            event = parse_windows_event(json.loads(line))
            seen.add((event.channel, event.event_id))
            assert to_ecs(event) is None
    assert seen == {("Security", 4656), ("Microsoft-Windows-CAPI2/Operational", 70)}


def test_real_splunk_attack_data_process_events():
    # splunk/attack_data T1552.004 certutil: 20 Sysmon 1 and 20 Security 4688 XML events.
    raw = shared_file("real-logs/splunk-attack-data/certutil_exe_certificate_extraction.raw")
    docs = [
        to_ecs(parse_windows_event(record_from_xml(line)))
        for line in raw.read_text(encoding="utf-8").splitlines()
        if line.startswith("<Event xmlns=")
    ]
    by_code = {}
    for doc in docs:
        by_code.setdefault(doc["event"]["code"], []).append(doc)
    assert sorted((code, len(found)) for code, found in by_code.items()) == [
        ("1", 20),
        ("4688", 20),
    ]
    names = sorted({doc["process"]["name"] for doc in docs})
    assert names == ["certutil.exe", "notepad.exe", "rundll32.exe"]
    line = "certutil.exe  -exportPFX powershellcert.pfx "
    sysmon = [d for d in by_code["1"] if d["process"]["command_line"] == line]
    security = [d for d in by_code["4688"] if d["process"]["command_line"] == line]
    assert sysmon and security
    assert {tuple(d["process"]["args"]) for d in sysmon} == {
        ("certutil.exe", "-exportPFX", "powershellcert.pfx")
    }
    assert {tuple(d["process"]["args"]) for d in security} == {
        ("certutil.exe", "", "-exportPFX", "powershellcert.pfx", "")
    }


def test_empty_arguments_survive_on_windows_but_not_in_sysmon_linux():
    # windows_argv turns "" into an empty argument; the sysmon_linux pipeline's last script
    # removes empty strings from every list, the Windows Sysmon pipeline does not.
    for name, expected in (
        ("sysmon_1_certutil_addstore.json", ["openssl", "-passout", "", "-x"]),
        ("linux_sysmon_1_openssl_req.json", ["openssl", "-passout", "-x"]),
    ):
        record = json.loads((FILES / name).read_text(encoding="utf-8"))
        record["Event"]["EventData"]["CommandLine"] = 'openssl -passout "" -x'
        assert to_ecs(parse_windows_event(record))["process"]["args"] == expected


def _service_event(channel: str, provider: str, event_id: int, **data: str) -> WindowsEvent:
    return WindowsEvent(provider, event_id, channel, "host", "2026-01-01T00:00:00.000Z", 1, data)


def test_security_scheduled_task_events_keep_the_task_in_event_data_and_name_the_subject():
    # standard.yml: 4701 is iam/configuration, change/admin, scheduled-task-disabled; the subject
    # fills user.*, and TaskName stays in winlog.event_data (the Sigma pipeline's field)
    doc = to_ecs(
        _service_event(
            "Security",
            "Microsoft-Windows-Security-Auditing",
            4701,
            SubjectUserName="HOST$",
            SubjectDomainName="EXAMPLE",
            SubjectLogonId="0x3e7",
            TaskName="\\Microsoft\\Windows\\SystemRestore\\SR",
        )
    )
    assert doc["event"]["dataset"] == "system.security"
    assert doc["event"]["category"] == ["iam", "configuration"]
    assert doc["event"]["action"] == "scheduled-task-disabled"
    assert doc["user"] == {"name": "HOST$", "domain": "EXAMPLE"}
    assert doc["winlog"]["logon"] == {"id": "0x3e7"}
    assert doc["winlog"]["event_data"]["TaskName"] == "\\Microsoft\\Windows\\SystemRestore\\SR"


def test_defender_detections_use_underscored_names_and_strip_the_path_prefix():
    # windows_defender default.yml reads Process_Name, Detection_User, Path ("file:_" cut)
    doc = to_ecs(
        _service_event(
            "Microsoft-Windows-Windows Defender/Operational",
            "Microsoft-Windows-Windows Defender",
            1117,
            **{
                "Threat Name": "Virus:DOS/EICAR_Test_File",
                "Process Name": "C:\\Users\\alice\\RedSun.exe",
                "Detection User": "HOST\\alice",
                "Path": "file:_C:\\Temp\\eicar.com",
                "Action Name": "Quarantine",
            },
        )
    )
    assert doc["event"]["dataset"] == "windows.windows_defender"
    assert doc["event"]["action"] == "malware-quarantined"
    assert doc["event"]["category"] == ["malware"]
    assert doc["process"] == {"executable": "C:\\Users\\alice\\RedSun.exe", "name": "RedSun.exe"}
    assert doc["file"] == {"path": "C:\\Temp\\eicar.com", "name": "eicar.com", "extension": "com"}
    assert doc["user"] == {"domain": "HOST", "name": "alice"}
    data = doc["winlog"]["event_data"]
    assert data["Threat_Name"] == "Virus:DOS/EICAR_Test_File"
    assert data["Path"] == "file:_C:\\Temp\\eicar.com"
    assert "Process_Name" not in data and "Threat Name" not in data


def test_sysmon_service_events_are_categorized_and_an_error_id_is_the_error_code():
    sysmon = ("Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon")
    config = to_ecs(_service_event(*sysmon, 16, Configuration="C:\\sysmon.xml"))
    assert (config["event"]["category"], config["event"]["type"]) == (["configuration"], ["change"])
    assert config["winlog"]["event_data"] == {"Configuration": "C:\\sysmon.xml"}
    error = to_ecs(_service_event(*sysmon, 255, ID="DriverCommunication", Description="x"))
    assert error["event"]["outcome"] == ["failure"] and "type" not in error["event"]
    assert error["error"] == {"code": "DriverCommunication"}
    assert "ID" not in error.get("winlog", {}).get("event_data", {})


def test_task_scheduler_and_wmi_activity_have_no_elastic_data_stream():
    assert to_ecs(_service_event("Microsoft-Windows-TaskScheduler/Operational", "x", 141)) is None
    assert to_ecs(_service_event("Microsoft-Windows-WMI-Activity/Operational", "x", 5858)) is None


def _without(document: dict, dotted: frozenset[str]) -> dict:
    """`document` without the dotted fields."""
    copy = json.loads(json.dumps(document))
    for name in dotted:
        *parents, last = name.split(".")
        node = copy
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return copy


def test_the_model_without_args_leaves_out_the_args_and_nothing_else():
    from .test_scan import CASE_EVENTS

    with_args = 0
    for event in CASE_EVENTS:
        full = to_ecs(event)
        lean = to_ecs_without_args(event)
        if full is None:
            assert lean is None
            continue
        with_args += "args" in full.get("process", {})
        assert lean == _without(full, ARGS_FIELDS), event
    assert with_args > 20  # the comparison covers documents that had them


@pytest.mark.parametrize(
    ("fields", "model"),
    [
        (None, to_ecs),  # not known: the whole model
        (frozenset({"process.command_line", "event.category"}), to_ecs_without_args),
        (frozenset({"process.args"}), to_ecs),
        (frozenset({"process.parent.args_count"}), to_ecs),
        (frozenset({"process.args.0"}), to_ecs),  # an array index
        (frozenset({"process"}), to_ecs),  # the object holding them
        (frozenset({"process.args_counter"}), to_ecs_without_args),
        (frozenset(), to_ecs_without_args),
    ],
)
def test_the_model_for_the_fields_read(fields, model):
    assert model_for(fields) is model
