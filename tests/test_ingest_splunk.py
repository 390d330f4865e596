"""The Splunk model: raw XML text, source/sourcetype/host and search-time fields.

Field names and CIM mappings are those Splunk documents for its add-ons in
splunk/security_content `data_sources/` (sysmon_eventid_1.yml, _7, _11, _12, _13: Splunk Add-on
for Sysmon 5.0.1; windows_event_log_security_4688.yml, powershell_script_block_logging_4104.yml:
Splunk Add-on for Microsoft Windows; sysmon_for_linux_eventid_1.yml: Splunk Add-on for Sysmon
for Linux 1.0.0). The raw layout is checked against real indexed text from splunk/attack_data.
"""

from __future__ import annotations

import json
import re

import pytest

from converter.core.documents import SplunkEvent
from converter.core.events import WindowsEvent, parse_windows_event
from converter.execute.engines.spl.engine import SplEngine
from converter.execute.ingest.splunk import render_xml, to_splunk

from .ingest_support import FILES, load, record_from_xml, shared_file


def test_sysmon_process_create_metadata_and_raw():
    event = to_splunk(load("sysmon_1_certutil_addstore.json"))
    assert event.source == "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
    assert event.sourcetype == "XmlWinEventLog"
    assert event.host == "WKS-042.corp.example.com"
    assert event.raw.startswith(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID>"
        "<TimeCreated SystemTime='2024-03-12T10:15:42.123456Z'/>"
        "<EventRecordID>48213</EventRecordID>"
        "<Channel>Microsoft-Windows-Sysmon/Operational</Channel>"
        "<Computer>WKS-042.corp.example.com</Computer></System><EventData>"
        "<Data Name='RuleName'>technique_id=T1553.004,technique_name=Install Root Certificate"
        "</Data><Data Name='UtcTime'>2024-03-12 10:15:42.118</Data>"
    )
    assert (
        "<Data Name='CommandLine'>certutil.exe  -addstore -f Root "
        '"C:\\Users\\Public\\Documents\\corp root.cer"</Data>'
    ) in event.raw
    assert event.raw.endswith("<Data Name='ParentUser'>CORP\\alice</Data></EventData></Event>")
    assert "\n" not in event.raw


def test_sysmon_process_create_fields_and_cim():
    fields = to_splunk(load("sysmon_1_certutil_addstore.json")).fields
    # Raw XML extraction: EventData names and System elements.
    assert fields["EventCode"] == ["1"]
    assert fields["EventID"] == ["1"]
    assert fields["Computer"] == ["WKS-042.corp.example.com"]
    assert fields["Image"] == ["C:\\Windows\\System32\\certutil.exe"]
    assert fields["ProcessId"] == ["7312"]
    assert fields["User"] == ["CORP\\alice"]
    # sysmon_eventid_1.yml, field_mappings -> Endpoint.Processes.
    cim = {name: fields[name] for name in fields if name[0].islower()}
    assert cim == {
        "process_guid": ["{8a3f2c1d-6b7e-65f0-4c02-000000001a00}"],
        "process_id": ["7312"],
        "process_path": ["C:\\Windows\\System32\\certutil.exe"],
        "process": [
            'certutil.exe  -addstore -f Root "C:\\Users\\Public\\Documents\\corp root.cer"'
        ],
        "process_current_directory": ["C:\\Users\\alice\\"],
        "process_integrity_level": ["High"],
        "parent_process_guid": ["{8a3f2c1d-6b70-65f0-4a02-000000001a00}"],
        "parent_process_id": ["5528"],
        "parent_process_path": ["C:\\Windows\\System32\\cmd.exe"],
        "parent_process": ['"C:\\Windows\\system32\\cmd.exe" '],
        "dest": ["WKS-042.corp.example.com"],
        "original_file_name": ["CertUtil.exe"],
        "process_hash": [
            "SHA1=6E1E8A6B1F0A3C0F2D4B5C8E9A7D3F1B2C4E6A80,MD5=3B2D6A1F0E9C8B7A6D5E4F3C2B1A0918,"
            "SHA256=0D6C7E2B1A9F8E3D4C5B6A7980F1E2D3C4B5A69788F0E1D2C3B4A5968778695A,"
            "IMPHASH=00000000000000000000000000000000"
        ],
        "process_name": ["certutil.exe"],
        "process_exec": ["certutil.exe"],
        "parent_process_name": ["cmd.exe"],
        "parent_process_exec": ["cmd.exe"],
        "user": ["alice"],
        "action": ["allowed"],
        "vendor_product": ["Microsoft Sysmon"],
        "signature_id": ["1"],
    }


def test_sysmon_file_create_fields():
    fields = to_splunk(load("sysmon_11_pfx_in_temp.json")).fields
    # sysmon_eventid_11.yml -> Endpoint.Filesystem.
    assert fields["file_path"] == ["C:\\Users\\alice\\AppData\\Local\\Temp\\web.corp-test.pfx"]
    assert fields["file_name"] == ["web.corp-test.pfx"]
    assert fields["file_create_time"] == ["2024-03-12 10:16:05.650"]
    assert fields["object_category"] == ["file"]
    assert fields["action"] == ["created"]  # UtcTime == CreationUtcTime
    assert fields["process_name"] == ["powershell.exe"]
    assert fields["TargetFilename"] == fields["file_path"]
    assert "process" not in fields  # the command-line field belongs to process events only


def test_sysmon_image_load_fields():
    fields = to_splunk(load("sysmon_7_dbghelp_loaded_from_public.json")).fields
    # sysmon_eventid_7.yml: the EventData fields as named, plus the acting process.
    assert fields["ImageLoaded"] == ["C:\\Windows\\System32\\dbghelp.dll"]
    assert fields["Signed"] == ["true"]
    assert fields["SignatureStatus"] == ["Valid"]
    assert fields["Description"] == ["Windows Image Helper"]
    assert fields["process_name"] == ["dumper.exe"]
    assert fields["signature_id"] == ["7"]
    assert "file_path" not in fields  # the Filesystem mapping belongs to Sysmon 11


def test_sysmon_process_access_fields():
    fields = to_splunk(load("sysmon_10_lsass_access_from_public.json")).fields
    assert fields["SourceImage"] == ["C:\\Users\\Public\\Documents\\dumper.exe"]
    assert fields["TargetImage"] == ["C:\\Windows\\system32\\lsass.exe"]
    assert fields["GrantedAccess"] == ["0x1fffff"]
    assert fields["CallTrace"][0].endswith("dumper.exe+1a0b")
    assert fields["signature_id"] == ["10"]


def test_sysmon_network_connection_fields():
    fields = to_splunk(load("sysmon_3_network_connection.json")).fields
    # the raw names the Splunk pipeline searches, and the Network_Traffic renames
    assert fields["Initiated"] == ["true"]
    assert fields["DestinationPort"] == ["443"]
    assert fields["dest_ip"] == ["10.1.0.10"]
    assert fields["src_port"] == ["50112"]
    assert fields["transport"] == ["tcp"]
    assert fields["signature_id"] == ["3"]
    assert "dest" not in fields  # not the Computer, as for file and registry events


def test_sysmon_dns_query_fields():
    fields = to_splunk(load("sysmon_22_dns_query.json")).fields
    assert fields["QueryName"] == fields["query"] == ["raw.githubusercontent.com"]
    assert fields["answer"] == fields["QueryResults"]
    assert fields["src"] == ["WKS-042.corp.example.com"]
    assert fields["signature_id"] == ["22"]


def test_sysmon_remote_thread_driver_and_delete_events_keep_their_extracted_fields():
    thread = to_splunk(load("sysmon_8_remote_thread_loadlibrary.json")).fields
    assert thread["StartFunction"] == ["LoadLibraryW"]
    assert thread["TargetImage"] == ["C:\\Windows\\System32\\notepad.exe"]
    driver = to_splunk(load("sysmon_6_driver_loaded_from_temp.json")).fields
    assert driver["SignatureStatus"] == ["Expired"]
    deleted = to_splunk(load("sysmon_23_event_log_deleted.json")).fields
    assert deleted["TargetFilename"] == ["C:\\Windows\\System32\\winevt\\Logs\\Security.evtx"]
    assert [f["signature_id"] for f in (thread, driver, deleted)] == [["8"], ["6"], ["23"]]
    record = json.loads((FILES / "sysmon_23_event_log_deleted.json").read_text(encoding="utf-8"))
    record["Event"]["System"]["EventID"] = 9
    record["Event"]["EventData"]["Device"] = "\\Device\\HarddiskVolume2"
    raw_read = to_splunk(parse_windows_event(record)).fields
    assert raw_read["Device"] == ["\\Device\\HarddiskVolume2"]
    assert raw_read["signature_id"] == ["9"]


def test_sysmon_pipe_created_fields():
    fields = to_splunk(load("sysmon_17_pipe_created_from_public.json")).fields
    assert fields["PipeName"] == ["\\dumper_out"]
    assert fields["EventType"] == ["CreatePipe"]
    assert fields["process_name"] == ["dumper.exe"]
    assert fields["signature_id"] == ["17"]


def test_sysmon_registry_value_set_fields():
    fields = to_splunk(load("sysmon_13_hidefileext_dword.json")).fields
    target = (
        "HKU\\S-1-5-21-1957236100-58272097-297103362-500\\Software\\Microsoft\\Windows"
        "\\CurrentVersion\\Explorer\\Advanced\\HideFileExt"
    )
    # sysmon_eventid_13.yml -> Endpoint.Registry (TargetObject, Details, startswith/endswith).
    assert fields["TargetObject"] == [target]
    assert fields["registry_path"] == [target]
    assert fields["registry_key_name"] == [target.rsplit("\\", 1)[0]]
    assert fields["registry_value_name"] == ["HideFileExt"]
    assert fields["RegistryValueType"] == ["DWORD"]
    assert fields["RegistryValueData"] == ["0x00000001"]
    assert fields["registry_value_data"] == ["0x00000001"]
    assert fields["action"] == ["modified"]
    assert fields["status"] == ["success"]


def test_sysmon_registry_binary_details_and_key_create():
    blob = to_splunk(load("sysmon_13_root_certificate_blob.json")).fields
    assert blob["registry_value_name"] == ["Blob"]
    assert blob["registry_value_data"] == ["Binary Data"]
    assert "RegistryValueData" not in blob
    assert blob["user"] == ["SYSTEM"]
    key = to_splunk(load("sysmon_12_root_certificate_key.json")).fields
    assert key["action"] == ["created"]
    assert key["registry_key_name"] == key["TargetObject"]
    assert "registry_value_name" not in key


def test_security_4688_fields():
    event = to_splunk(load("security_4688_openssl_req.json"))
    assert (event.source, event.sourcetype) == ("XmlWinEventLog:Security", "XmlWinEventLog")
    fields = event.fields
    # windows_event_log_security_4688.yml -> Endpoint.Processes.
    assert fields["process_path"] == ["C:\\Program Files\\OpenSSL-Win64\\bin\\openssl.exe"]
    assert fields["process_name"] == ["openssl.exe"]
    assert fields["process_id"] == ["0x1b28"]
    assert fields["parent_process_id"] == ["0x1acc"]
    assert fields["parent_process_name"] == ["cmd.exe"]
    assert fields["Process_Command_Line"] == fields["CommandLine"] == fields["process"]
    assert fields["TargetUserName"] == ["-"]
    assert "vendor_product" not in fields


def test_powershell_4104_raw_escapes_and_fields():
    event = to_splunk(load("powershell_4104_selfsigned.json"))
    assert event.source == "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational"
    # Windows' XML rendering escapes &, < and > in element text (quotes stay literal), and the
    # add-on's regex extraction keeps the escapes in the field value.
    assert "-Password $p &amp; &lt;# done #&gt;</Data>" in event.raw
    assert event.fields["ScriptBlockText"] == [
        "$c = New-SelfSignedCertificate -DnsName 'web.corp-test' "
        "-CertStoreLocation Cert:\\CurrentUser\\My\r\n"
        'Export-PfxCertificate -Cert $c -FilePath "$env:TEMP\\web.corp-test.pfx" '
        "-Password $p &amp; &lt;# done #&gt;"
    ]
    # An empty element is in the raw text but gives no field.
    assert "<Data Name='Path'></Data>" in event.raw
    assert "Path" not in event.fields
    assert sorted(event.fields) == [
        "Channel",
        "Computer",
        "EventCode",
        "EventID",
        "EventRecordID",
        "MessageNumber",
        "MessageTotal",
        "Name",
        "ScriptBlockId",
        "ScriptBlockText",
        "SystemTime",
    ]


def test_sysmon_for_linux_source_raw_and_fields():
    event = to_splunk(load("linux_sysmon_1_openssl_req.json"))
    assert (event.source, event.sourcetype, event.host) == (
        "Syslog:Linux-Sysmon/Operational",
        "sysmon:linux",
        "build-07",
    )
    assert event.raw.startswith(
        '<Event><System><Provider Name="Linux-Sysmon"/><EventID>1</EventID>'
    )
    assert '<Data Name="Image">/usr/bin/openssl</Data>' in event.raw
    fields = event.fields
    assert fields["process_name"] == ["openssl"]
    assert fields["parent_process_name"] == ["bash"]
    assert fields["user"] == ["root"]
    assert "original_file_name" not in fields  # "-"
    assert "process_hash" not in fields
    assert fields["OriginalFileName"] == ["-"]


def test_unsupported_events_are_none():
    assert to_splunk(load("sysmon_25_process_tampering_unsupported.json")) is None


def test_real_mdecrevoisier_events_are_not_supported_event_types():
    count = 0
    for path in sorted(shared_file("real-logs/mdecrevoisier").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert to_splunk(parse_windows_event(json.loads(line))) is None
            count += 1
    assert count > 0


def test_rendered_event_data_is_byte_identical_to_real_indexed_text():
    # splunk/attack_data T1552.004: the one-line XML Splunk indexed for 20 Sysmon 1 and
    # 20 Security 4688 events. The EventData part of our rendering must match it exactly.
    raw = shared_file("real-logs/splunk-attack-data/certutil_exe_certificate_extraction.raw")
    lines = [
        line
        for line in raw.read_text(encoding="utf-8").splitlines()
        if line.startswith("<Event xmlns=")
    ]
    assert len(lines) == 40
    event_data = re.compile(r"<EventData>.*</EventData>", re.DOTALL)
    for line in lines:
        event = parse_windows_event(record_from_xml(line))
        rendered = render_xml(event)
        assert event_data.search(rendered).group(0) == event_data.search(line).group(0)
        for element in ("EventID", "EventRecordID", "Channel", "Computer"):
            found = re.search(f"<{element}>[^<]*</{element}>", line).group(0)
            assert found in rendered
        splunk = to_splunk(event)
        assert splunk.raw == rendered
        assert splunk.source == f"XmlWinEventLog:{event.channel}"
        assert splunk.fields["EventCode"] == [str(event.event_id)]


def _service_event(channel: str, event_id: int, **data: str) -> WindowsEvent:
    return WindowsEvent("provider", event_id, channel, "host", "2026-01-01T00:00:00Z", 1, data)


def test_service_channels_are_searched_by_their_xmlwineventlog_source():
    event = to_splunk(_service_event("Security", 4699, TaskName="\\Example", SubjectUserName="a"))
    assert event.source == "XmlWinEventLog:Security"
    assert event.fields["TaskName"] == ["\\Example"]
    assert event.fields["SubjectUserName"] == ["a"]
    task = to_splunk(
        _service_event("Microsoft-Windows-TaskScheduler/Operational", 142, UserName="u")
    )
    assert task.source == "XmlWinEventLog:Microsoft-Windows-TaskScheduler/Operational"
    assert task.fields["UserName"] == ["u"]


def test_defender_names_with_spaces_are_cleaned_keys():
    # CLEAN_KEYS: "Threat Name" is searched as Threat_Name, never as ThreatName
    defender = "Microsoft-Windows-Windows Defender/Operational"
    fields = to_splunk(_service_event(defender, 1116, **{"Threat Name": "EICAR"})).fields
    assert fields["Threat_Name"] == ["EICAR"]
    assert "ThreatName" not in fields and "Threat Name" not in fields


def test_wmi_activity_user_data_is_not_stored():
    assert to_splunk(_service_event("Microsoft-Windows-WMI-Activity/Operational", 5858)) is None


def test_the_raw_text_is_rendered_when_first_read_and_only_then():
    source = load("sysmon_1_certutil_addstore.json")
    event = to_splunk(source)
    assert event._raw is None  # a query on fields alone never renders it
    renamed = event.replace(index="wineventlog")
    assert renamed._raw is None and renamed.index == "wineventlog"
    assert event.raw == render_xml(source)  # rendered now, once
    assert event._raw is not None and event._render is None
    eager = SplunkEvent(
        event.fields, render_xml(source), event.source, event.sourcetype, event.host
    )
    assert eager == event == to_splunk(source)  # rendered or not, the same event
    assert eager.replace(raw="x") != event
    with pytest.raises(TypeError):
        SplunkEvent({})
    with pytest.raises(TypeError):
        SplunkEvent({}, "x", render=lambda: "x")


def test_a_bare_term_search_reads_the_rendered_raw_text():
    engine = SplEngine()
    event = to_splunk(load("sysmon_1_certutil_addstore.json"))
    # "corp root.cer" is in the raw XML; a bare term searches _raw
    assert engine.compile('"corp root.cer"').select([event]) == [0]
    assert engine.compile('"not in this event"').select([event]) == []
