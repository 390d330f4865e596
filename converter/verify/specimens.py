"""One fully populated raw event per event source: what an ingest model can make of it.

A field a rule names after a target's pipelines is only useful if the target's documents carry
it. Rather than keep a second list of ECS and Splunk field names beside the ingest models, the
known fields of a log source are whatever the ingest models produce from these specimens: every
EventData field of the event, each with a value shaped like real data (paths with separators,
hashes, hive-prefixed registry paths) so that every derived field appears too.

EventData names follow the providers' manifests: Sysmon's schema (`sysmon -s`, schema 4.90) for
events 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 22, 23 and the service events 4, 16,
255 (Sysmon for Linux uses the event 1 names), the Security auditing manifest for 4688, 4648 and
4698-4702 (Microsoft Learn, "4648(S)", "4698(S)" ... "4702(S)"; the client process fields of
4698-4702 as Windows 11 writes them), the PowerShell manifest for 4104, the Task Scheduler manifest
for 141/142, the WMI-Activity manifest for 5858 (UserData `Operation_ClientFailure`, flattened) and
the Defender Antivirus manifest for 1116/1117/1119 (Microsoft Learn, "Microsoft Defender Antivirus
event IDs"; names with spaces, as the EVTX writes them).
"""

from __future__ import annotations

from converter.core.events import RawEvent, WindowsEvent, parse_audit_event
from converter.core.logsources import (
    CHANNELS,
    LINUX_SYSMON_CHANNEL,
    POWERSHELL_CHANNEL,
    POWERSHELL_CORE_CHANNEL,
    SECURITY_CHANNEL,
    SYSMON_CHANNEL,
    TASK_SCHEDULER_CHANNEL,
    WINDOWS_DEFENDER_CHANNEL,
    WMI_CHANNEL,
)
from converter.core.zeek import ZeekRecord
from converter.reference import EventSource, Source

_GUID = "{8c7a9f2e-3b1d-4e5f-a6b7-c8d9e0f1a2b3}"
_HASHES = (
    "SHA1=0123456789ABCDEF0123456789ABCDEF01234567,MD5=0123456789ABCDEF0123456789ABCDEF,"
    "SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF,"
    "IMPHASH=0123456789ABCDEF0123456789ABCDEF"
)
_SYSMON_COMMON = {
    "RuleName": "technique_id=T1587.003",
    "UtcTime": "2026-01-01 00:00:00.000",
    "ProcessGuid": _GUID,
    "ProcessId": "4242",
    "Image": "C:\\Windows\\System32\\example.exe",
}
_SYSMON_PROCESS = {
    **_SYSMON_COMMON,
    "FileVersion": "1.0.0",
    "Description": "Example",
    "Product": "Example",
    "Company": "Example Corporation",
    "OriginalFileName": "example.exe",
    "CommandLine": "example.exe -flag value",
    "CurrentDirectory": "C:\\Windows\\System32\\",
    "User": "EXAMPLE\\alice",
    "LogonGuid": _GUID,
    "LogonId": "0x3e7",
    "TerminalSessionId": "1",
    "IntegrityLevel": "High",
    "Hashes": _HASHES,
    "ParentProcessGuid": _GUID,
    "ParentProcessId": "4141",
    "ParentImage": "C:\\Windows\\System32\\cmd.exe",
    "ParentCommandLine": "cmd.exe /c example.exe",
    "ParentUser": "EXAMPLE\\alice",
}
_REGISTRY = {
    **_SYSMON_COMMON,
    "TargetObject": "HKLM\\SOFTWARE\\Example\\Value",
    "User": "EXAMPLE\\alice",
}
_LINUX_PROCESS = {
    **_SYSMON_PROCESS,
    "Image": "/usr/bin/example",
    "CommandLine": "example -flag value",
    "CurrentDirectory": "/root",
    "User": "root",
    "LogonId": "0",
    "ParentImage": "/usr/bin/bash",
    "ParentCommandLine": "bash",
    "ParentUser": "root",
}

# (channel, event id) -> EventData of the specimen
SPECIMENS: dict[tuple[str, int], dict[str, str]] = {
    (SYSMON_CHANNEL, 1): _SYSMON_PROCESS,
    (SYSMON_CHANNEL, 7): {
        **_SYSMON_COMMON,
        "ImageLoaded": "C:\\Windows\\System32\\example.dll",
        "FileVersion": "1.0.0",
        "Description": "Example Library",
        "Product": "Example",
        "Company": "Example Corporation",
        "OriginalFileName": "example.dll",
        "Hashes": _HASHES,
        "Signed": "true",
        "Signature": "Example Corporation",
        "SignatureStatus": "Valid",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 10): {
        "RuleName": "technique_id=T1003.001",
        "UtcTime": "2026-01-01 00:00:00.000",
        "SourceProcessGUID": _GUID,
        "SourceProcessId": "4242",
        "SourceThreadId": "4243",
        "SourceImage": "C:\\Windows\\System32\\example.exe",
        "TargetProcessGUID": _GUID,
        "TargetProcessId": "676",
        "TargetImage": "C:\\Windows\\system32\\lsass.exe",
        "GrantedAccess": "0x1010",
        "CallTrace": "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|"
        "C:\\Windows\\System32\\dbgcore.DLL+164cc|C:\\Windows\\System32\\example.exe+1a0b",
        "SourceUser": "EXAMPLE\\alice",
        "TargetUser": "NT AUTHORITY\\SYSTEM",
    },
    (SYSMON_CHANNEL, 11): {
        **_SYSMON_COMMON,
        "TargetFilename": "C:\\Windows\\Temp\\example.txt",
        "CreationUtcTime": "2026-01-01 00:00:00.000",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 3): {
        **_SYSMON_COMMON,
        "User": "EXAMPLE\\alice",
        "Protocol": "tcp",
        "Initiated": "true",
        "SourceIsIpv6": "false",
        "SourceIp": "10.0.0.5",
        "SourceHostname": "example.corp.example",
        "SourcePort": "50000",
        "SourcePortName": "example-src",
        "DestinationIsIpv6": "false",
        "DestinationIp": "203.0.113.10",
        "DestinationHostname": "example.example.net",
        "DestinationPort": "443",
        "DestinationPortName": "https",
    },
    (SYSMON_CHANNEL, 22): {
        **_SYSMON_COMMON,
        "QueryName": "example.example.net",
        "QueryStatus": "0",
        "QueryResults": "type:  5 edge.example.net;::ffff:203.0.113.10;",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 6): {
        "RuleName": "technique_id=T1543.003",
        "UtcTime": "2026-01-01 00:00:00.000",
        "ImageLoaded": "C:\\Windows\\System32\\drivers\\example.sys",
        "Hashes": _HASHES,
        "Signed": "true",
        "Signature": "Example Corporation",
        "SignatureStatus": "Valid",
    },
    (SYSMON_CHANNEL, 8): {
        "RuleName": "technique_id=T1055",
        "UtcTime": "2026-01-01 00:00:00.000",
        "SourceProcessGuid": _GUID,
        "SourceProcessId": "4242",
        "SourceImage": "C:\\Windows\\System32\\example.exe",
        "TargetProcessGuid": _GUID,
        "TargetProcessId": "4343",
        "TargetImage": "C:\\Windows\\System32\\notepad.exe",
        "NewThreadId": "5151",
        "StartAddress": "0x00007FF6A1B21000",
        "StartModule": "C:\\Windows\\System32\\kernel32.dll",
        "StartFunction": "LoadLibraryW",
        "SourceUser": "EXAMPLE\\alice",
        "TargetUser": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 23): {
        **_SYSMON_COMMON,
        "User": "EXAMPLE\\alice",
        "TargetFilename": "C:\\Users\\alice\\AppData\\Local\\Temp\\example.tmp",
        "Hashes": _HASHES,
        "IsExecutable": "false",
        "Archived": "true",
    },
    (SYSMON_CHANNEL, 5): {**_SYSMON_COMMON, "User": "EXAMPLE\\alice"},
    (SYSMON_CHANNEL, 9): {
        **_SYSMON_COMMON,
        "Device": "\\Device\\HarddiskVolume2",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 2): {
        **_SYSMON_COMMON,
        "TargetFilename": "C:\\Users\\alice\\AppData\\Local\\Temp\\example.dll",
        "CreationUtcTime": "2009-07-14 01:14:24.000",
        "PreviousCreationUtcTime": "2026-01-01 00:00:00.000",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 15): {
        **_SYSMON_COMMON,
        "TargetFilename": "C:\\Users\\alice\\Downloads\\example.exe:Zone.Identifier",
        "CreationUtcTime": "2026-01-01 00:00:00.000",
        "Hash": _HASHES,
        "Contents": "[ZoneTransfer]  ZoneId=3  HostUrl=https://example.example.net/  ",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 12): {**_REGISTRY, "EventType": "CreateKey"},
    (SYSMON_CHANNEL, 17): {
        **_SYSMON_COMMON,
        "EventType": "CreatePipe",
        "PipeName": "\\example-pipe",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 18): {
        **_SYSMON_COMMON,
        "EventType": "ConnectPipe",
        "PipeName": "\\example-pipe",
        "User": "EXAMPLE\\alice",
    },
    (SYSMON_CHANNEL, 13): {**_REGISTRY, "EventType": "SetValue", "Details": "DWORD (0x00000001)"},
    (SYSMON_CHANNEL, 14): {
        **_REGISTRY,
        "EventType": "RenameKey",
        "NewName": "HKLM\\SOFTWARE\\Example\\Renamed",
    },
    (SECURITY_CHANNEL, 4688): {
        "SubjectUserSid": "S-1-5-21-1-2-3-1104",
        "SubjectUserName": "alice",
        "SubjectDomainName": "EXAMPLE",
        "SubjectLogonId": "0x3e7",
        "NewProcessId": "0x1092",
        "NewProcessName": "C:\\Windows\\System32\\example.exe",
        "TokenElevationType": "%%1936",
        "ProcessId": "0x102d",
        "CommandLine": "example.exe -flag value",
        "TargetUserSid": "S-1-5-21-1-2-3-1105",
        "TargetUserName": "bob@example.com",
        "TargetDomainName": "EXAMPLE",
        "TargetLogonId": "0x3e8",
        "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        "MandatoryLabel": "S-1-16-12288",
    },
    (LINUX_SYSMON_CHANNEL, 1): _LINUX_PROCESS,
}
_SECURITY_SUBJECT = {
    "SubjectUserSid": "S-1-5-21-1-2-3-1104",
    "SubjectUserName": "alice",
    "SubjectDomainName": "EXAMPLE",
    "SubjectLogonId": "0x3e7",
}
SPECIMENS[(SECURITY_CHANNEL, 4648)] = {
    **_SECURITY_SUBJECT,
    "LogonGuid": _GUID,
    "TargetUserName": "bob",
    "TargetDomainName": "EXAMPLE",
    "TargetLogonGuid": _GUID,
    "TargetServerName": "server.example.com",
    "TargetInfo": "server.example.com",
    "ProcessId": "0x1092",
    "ProcessName": "C:\\Windows\\System32\\example.exe",
    "IpAddress": "192.0.2.10",
    "IpPort": "445",
}
_TASK_XML = (
    '<?xml version="1.0" encoding="UTF-16"?><Task xmlns="http://schemas.microsoft.com/windows/'
    '2004/02/mit/task"><RegistrationInfo><URI>\\Example\\Task</URI></RegistrationInfo>'
    "<Actions><Exec><Command>C:\\Windows\\System32\\example.exe</Command></Exec></Actions>"
    "</Task>"
)
_SCHEDULED_TASK = {
    **_SECURITY_SUBJECT,
    "TaskName": "\\Example\\Task",
    "ClientProcessStartKey": "2251799813691708",
    "ClientProcessId": "5204",
    "ParentProcessId": "4242",
    "RpcCallClientLocality": "0",
    "FQDN": "host.example.com",
}
for _event_id in (4698, 4699, 4700, 4701):
    SPECIMENS[(SECURITY_CHANNEL, _event_id)] = {**_SCHEDULED_TASK, "TaskContent": _TASK_XML}
SPECIMENS[(SECURITY_CHANNEL, 4702)] = {**_SCHEDULED_TASK, "TaskContentNew": _TASK_XML}
for _event_id in (141, 142):
    SPECIMENS[(TASK_SCHEDULER_CHANNEL, _event_id)] = {
        "TaskName": "\\Example\\Task",
        "UserName": "EXAMPLE\\alice",
    }
SPECIMENS[(WMI_CHANNEL, 5858)] = {
    "Id": _GUID,
    "ClientMachine": "HOST",
    "User": "EXAMPLE\\alice",
    "ClientProcessId": "4242",
    "Component": "Unknown",
    "Operation": "Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_Process",
    "ResultCode": "0x80041003",
    "PossibleCause": "Unknown",
}
SPECIMENS[(SYSMON_CHANNEL, 4)] = {
    "UtcTime": "2026-01-01 00:00:00.000",
    "State": "Started",
    "Version": "15.15",
    "SchemaVersion": "4.90",
}
SPECIMENS[(SYSMON_CHANNEL, 16)] = {
    "UtcTime": "2026-01-01 00:00:00.000",
    "Configuration": "C:\\Windows\\sysmon.xml",
    "ConfigurationFileHash": "SHA256=" + "0123456789ABCDEF" * 4,
}
SPECIMENS[(SYSMON_CHANNEL, 255)] = {
    "UtcTime": "2026-01-01 00:00:00.000",
    "ID": "DriverCommunication",
    "Description": "Failed to open service configuration with error 1060",
}
_DEFENDER_DETECTION = {
    "Product Name": "Microsoft Defender Antivirus",
    "Product Version": "4.18.26030.3011",
    "Detection ID": _GUID,
    "Detection Time": "2026-01-01T00:00:00.000Z",
    "Threat ID": "2147519003",
    "Threat Name": "Virus:DOS/EICAR_Test_File",
    "Severity ID": "5",
    "Severity Name": "Severe",
    "Category ID": "42",
    "Category Name": "Virus",
    "FWLink": "https://go.microsoft.com/fwlink/?linkid=37020&name=Virus:DOS/EICAR_Test_File",
    "Status Code": "1",
    "State": "1",
    "Source ID": "3",
    "Source Name": "Real-Time Protection",
    "Process Name": "C:\\Windows\\System32\\example.exe",
    "Detection User": "EXAMPLE\\alice",
    "Path": "file:_C:\\Users\\alice\\Downloads\\eicar.com",
    "Origin ID": "1",
    "Origin Name": "Local machine",
    "Execution ID": "1",
    "Execution Name": "Suspended",
    "Type ID": "0",
    "Type Name": "Concrete",
    "Pre Execution Status": "0",
    "Action ID": "2",
    "Action Name": "Quarantine",
    "Error Code": "0x00000000",
    "Error Description": "The operation completed successfully. ",
    "Post Clean Status": "0",
    "Additional Actions ID": "0",
    "Additional Actions String": "No additional actions required",
    "Remediation User": "NT AUTHORITY\\SYSTEM",
    "Security intelligence Version": "AV: 1.449.142.0, AS: 1.449.142.0, NIS: 1.449.142.0",
    "Engine Version": "AM: 1.1.26030.3008, NIS: 1.1.26030.3008",
}
for _event_id in (1116, 1117, 1119):
    SPECIMENS[(WINDOWS_DEFENDER_CHANNEL, _event_id)] = _DEFENDER_DETECTION
for _channel in (POWERSHELL_CHANNEL, POWERSHELL_CORE_CHANNEL):
    SPECIMENS[(_channel, 4104)] = {
        "MessageNumber": "1",
        "MessageTotal": "1",
        "ScriptBlockText": "Get-Date",
        "ScriptBlockId": _GUID,
        "Path": "C:\\Windows\\Temp\\example.ps1",
    }


# Specimens of the sources that are not Windows events, by source name (`Source.name`).
RAW_SPECIMENS: dict[str, tuple[RawEvent, ...]] = {}

# Linux audit: one execve audit event, its records as auditd writes them (SYSCALL, EXECVE with a
# hex argument, CWD, two PATH, PROCTITLE hex with NUL separators): an SELinux host running
# `openssl req -x509 -new ... -subj "/CN=Example Root CA" -out rootCA.crt`.
_AUDIT = "msg=audit(1795511526.734:48221):"
_AUDIT_LONG = "msg=audit(1795511526.901:48230):"
_AUDIT_PATH = "dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 obj=system_u:object_r"
_AUDIT_CAPS = "nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
RAW_SPECIMENS["auditd"] = (
    parse_audit_event(
        [
            f"type=SYSCALL {_AUDIT} arch=c000003e syscall=59 success=yes exit=0 a0=5633f4b1c6a0 "
            "a1=5633f4b1d2e0 a2=5633f4b1a8c0 a3=8 items=2 ppid=48110 pid=48223 auid=1000 uid=0 "
            'gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=2 comm="openssl" '
            'exe="/usr/bin/openssl" subj=unconfined_u:unconfined_r:unconfined_t:s0 key="exec"',
            f'type=EXECVE {_AUDIT} argc=14 a0="openssl" a1="req" a2="-x509" a3="-new" '
            'a4="-nodes" a5="-key" a6="rootCA.key" a7="-sha256" a8="-days" a9="365" a10="-subj" '
            'a11=2F434E3D4578616D706C6520526F6F74204341 a12="-out" a13="rootCA.crt"',
            f'type=CWD {_AUDIT} cwd="/root"',
            f'type=PATH {_AUDIT} item=0 name="/usr/bin/openssl" inode=17364821 {_AUDIT_PATH}'
            f":bin_t:s0 {_AUDIT_CAPS}",
            f'type=PATH {_AUDIT} item=1 name="/lib64/ld-linux-x86-64.so.2" inode=16957362 '
            f"{_AUDIT_PATH}:ld_so_t:s0 {_AUDIT_CAPS}",
            f"type=PROCTITLE {_AUDIT} proctitle=6F70656E73736C00726571002D78353039002D6E6577002D6E"
            "6F646573002D6B657900726F6F7443412E6B6579002D736861323536002D64617973003336350"
            "02D7375626A002F434E3D4578616D706C6520526F6F74204341002D6F757400726F6F7443412E637274",
        ]
    ),
    # a long command line (auditd logs every argument: a0-a25), so rules may read late positions
    parse_audit_event(
        [
            f"type=SYSCALL {_AUDIT_LONG} arch=c000003e syscall=59 success=yes exit=0 a0=55d0c1a0 "
            "a1=55d0c2b0 a2=55d0c3c0 a3=8 items=2 ppid=48110 pid=48230 auid=1000 uid=0 gid=0 "
            'euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=2 comm="openssl" '
            'exe="/usr/bin/openssl" key="exec"',
            'type=EXECVE msg=audit(1795511526.901:48230): argc=26 a0="openssl" a1="req" a2="-new" a'
            '3="-x509" a4="-config" a5="/etc/ssl/openssl.cnf" a6="-sha256" a7="-days" a8="825" a9="'
            '-newkey" a10="rsa:3072" a11="-nodes" a12="-keyout" a13="/tmp/ca.key" a14="-out" a15="/'
            'tmp/ca.crt" a16="-addext" a17="basicConstraints=critical,CA:TRUE" a18="-addext" a19="k'
            'eyUsage=keyCertSign" a20="-set_serial" a21="0x1" a22="-subj" a23=2F434E3D4578616D706C6'
            '520526F6F74204341 a24="-extensions" a25="v3_ca"',
            f'type=CWD {_AUDIT_LONG} cwd="/root"',
            f'type=PATH {_AUDIT_LONG} item=0 name="/usr/bin/openssl" inode=17364821 {_AUDIT_PATH}'
            f":bin_t:s0 {_AUDIT_CAPS}",
            "type=PROCTITLE msg=audit(1795511526.901:48230): proctitle=6F70656E73736C00726571002D6E"
            "6577002D78353039002D636F6E666967002F6574632F73736C2F6F70656E73736C2E636E66002D73686132"
            "3536002D6461797300383235002D6E65776B6579007273613A33303732002D6E6F646573002D6B65796F75"
            "74002F746D702F63612E6B6579002D6F7574002F746D702F63612E63",
        ]
    ),
)

# Zeek: rows as the JSON writer writes them, every default column of x509.log and ssl.log set
# (Zeek 7; ssl.log's validation_status from policy/protocols/ssl/validate-certs, which the default
# local.zeek loads): an RSA server certificate with every kind of alternative name, its EC
# sibling, and the TLS connection that carried them.
_X509 = {
    "ts": 1795511526.734121,
    "fingerprint": "3f1c7a0d5e9b2468ace013579bdf2468ace013579bdf2468ace013579bdf2468",
    "certificate.version": 3,
    "certificate.serial": "5A3C9E1F0B2D4C6E",
    "certificate.subject": "CN=www.example.com,O=Example\\, Inc.,L=Springfield,ST=Oregon,C=US",
    "certificate.issuer": "CN=Example Issuing CA 1,OU=PKI,O=Example\\, Inc.,C=US",
    "certificate.not_valid_before": 1767225600.0,
    "certificate.not_valid_after": 1798761600.0,
    "certificate.key_alg": "rsaEncryption",
    "certificate.sig_alg": "sha256WithRSAEncryption",
    "certificate.key_type": "rsa",
    "certificate.key_length": 2048,
    "certificate.exponent": "65537",
    "san.dns": ["www.example.com", "example.com"],
    "san.uri": ["https://www.example.com/"],
    "san.email": ["pki@example.com"],
    "san.ip": ["192.0.2.10"],
    "basic_constraints.ca": False,
    "basic_constraints.path_len": 0,
    "host_cert": True,
    "client_cert": False,
}
_X509_EC = {
    **{k: v for k, v in _X509.items() if k != "certificate.exponent"},
    "certificate.key_alg": "id-ecPublicKey",
    "certificate.sig_alg": "ecdsa-with-SHA256",
    "certificate.key_type": "ecdsa",
    "certificate.key_length": 256,
    "certificate.curve": "prime256v1",
}
RAW_SPECIMENS["Zeek x509.log"] = (ZeekRecord("x509", _X509), ZeekRecord("x509", _X509_EC))
RAW_SPECIMENS["Zeek ssl.log"] = (
    ZeekRecord(
        "ssl",
        {
            "ts": 1795511526.731802,
            "uid": "CHhAvVGS1DHFjwGM9",
            "id.orig_h": "198.51.100.23",
            "id.orig_p": 50432,
            "id.resp_h": "192.0.2.10",
            "id.resp_p": 443,
            "version": "TLSv12",
            "cipher": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "curve": "x25519",
            "server_name": "www.example.com",
            "resumed": False,
            "last_alert": "bad_certificate",
            "next_protocol": "h2",
            "established": True,
            "ssl_history": "CsxknGIi",
            "cert_chain_fps": [_X509["fingerprint"]],
            "client_cert_chain_fps": [_X509_EC["fingerprint"]],
            "sni_matches_cert": True,
            "validation_status": "ok",
        },
    ),
)


def specimen_events(source: Source) -> list[RawEvent]:
    """A specimen of every (channel, event id) of the event source that has one."""
    if not isinstance(source, EventSource):
        return list(RAW_SPECIMENS.get(source.name, ()))
    events: list[RawEvent] = []
    for channel in sorted(source.channels):
        for event_id in sorted(source.event_ids):
            data = SPECIMENS.get((channel, event_id))
            if data is None:
                continue
            provider = CHANNELS[channel].provider
            data = dict(data)
            for name, allowed in source.required.items():
                data[name] = sorted(allowed)[0]  # e.g. a registry_delete EventType
            events.append(
                WindowsEvent(
                    provider=provider,
                    event_id=event_id,
                    channel=channel,
                    computer="host.example.com",
                    time_created="2026-01-01T00:00:00.000Z",
                    record_id=1,
                    data=data,
                )
            )
    return events
