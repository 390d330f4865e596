"""Which fields Splunk extracts at search time for each data source the Splunk models store.

Splunk has no mapping: a field exists at search time only if a knowledge object of the event's
sourcetype or source extracts it. A query naming any other field is valid SPL that never
matches, so every field the Splunk ingest models (`converter.execute.ingest.splunk`,
`splunk_auditd`, `splunk_zeek`) write is declared here, per data source, with how the add-on
gets it and what its values can look like (read in 2026; each group names its source):

- XmlWinEventLog (Splunk Add-on for Microsoft Windows 10.x, `default/props.conf`
  `[XmlWinEventLog]`; the Sysmon add-on 5.0.1 renames its sourcetype to it): `KV_MODE = none`,
  so nothing generic parses the XML; `REPORT-0xml_block_extract` cuts the System and EventData
  blocks out of `_raw` and `REPORT-0xml_kv_extract` reads them: the System elements
  (`system_props_xml_kv`, `system_props_xml_attributes`) and every `<Data Name='X'>` element
  (`eventdata_xml_data`), whose value is captured as every character up to the next `<`. A
  negated class matches line breaks in PCRE (pcre2pattern, "Square brackets and character
  classes"), and Windows escapes `<` in element text, so a multi-line `ScriptBlockText` or
  `CommandLine` comes out whole, entities unexpanded. The same add-on's documentation describes
  these objects for SPL2 (splunk.github.io/splunk-add-on-for-microsoft-windows, "Field
  extractions module": "generated from the add-on's props.conf and transforms.conf").
- transforms.conf.spec (Splunk 9.0): `MV_ADD` defaults to false ("otherwise the newly found
  value is discarded"): a Data name repeated in one event keeps its first value, so every
  XmlWinEventLog field is single-valued; `KEEP_EMPTY_VALS` defaults to false: an empty element
  gives no field.
- CIM fields: FIELDALIAS/EVAL/REPORT objects of the two add-ons, limited to those splunk/
  security_content `data_sources/*.yml` list for the data source (`sysmon_eventid_<n>.yml`,
  `windows_event_log_security_4688.yml`, `powershell_script_block_logging_4104.yml`,
  `sysmon_for_linux_eventid_1.yml`); they copy or cut an extracted value, so they are
  multi-line exactly when their source field is.
- auditd (Splunk Add-on for Unix and Linux, `[auditd]`): one event per line (`LINE_BREAKER =
  ([\\r\\n]+)`), no `KV_MODE`, so automatic key-value extraction (props.conf.spec: `KV_MODE`
  defaults to `auto`): every `key=value` of the line, quotes removed, hex (`proctitle`, `a0`..,
  `name` of a path with spaces) left hex. No value spans lines; the field names are those of
  the Linux audit field dictionary (linux-audit/audit-documentation `specs/fields/
  field-dictionary.csv`); `a<n>` is one per execve argument.
- Zeek (Splunk Add-on for Zeek aka Bro 4.0.0, `bro:*:json`): `KV_MODE = JSON`: each top-level
  key is a field of the same name, a JSON array the multivalue field `<key>{}` (the naming
  Search Reference `spath` documents for arrays; the add-on's aliases read `cert_chain_fuids{}`),
  JSON string escapes decoded (so a value may hold a line break); keys are those of Zeek's
  `x509.log` and `ssl.log` (docs.zeek.org, "Log Files"). Aliases `dest`, `src`, ... as the
  add-on's `FIELDALIAS`/`EVAL` give them.

Where the documentation is silent, this says so and picks a model: whether `*` in a search
value matches across a line break is not stated; the Search Manual ("Wildcards") says `*`
matches any characters, so the SPL engine lets it span line breaks (its semantics table pins
that, and a test shows which recorded case a first-line-only `*` would miss). An empty JSON
string is taken to give no field, as `KEEP_EMPTY_VALS` says for regex extractions. Not modelled:
a repeated Data element (the recorded events keep one value per name, so the first-value rule
above is declared but not exercised). The default fields `source`, `sourcetype`, `host`, `_raw`
are not declared here; every event has them.

How to add a field: when a Splunk model starts writing a new field, declare it in its data
source below with its extraction; `tests/test_splunk_fields.py` fails until it is here, and the
field check (`converter.verify.fields.splunk_names`) treats an undeclared field as one Splunk
does not extract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from converter.core.documents import SplunkEvent

XML_SYSTEM = "xml-system"  # System element or attribute: system_props_xml_kv / _attributes
XML_DATA = "xml-eventdata"  # <Data Name='X'> element: eventdata_xml_data
CIM = "cim"  # FIELDALIAS / EVAL / REPORT over an extracted field
AUTO_KV = "auto-kv"  # KV_MODE = auto: key=value pairs of the raw line
KV_JSON = "kv-json"  # KV_MODE = json: a top-level key
KV_JSON_ARRAY = "kv-json-array"  # KV_MODE = json: a JSON array as `<key>{}`


@dataclass(frozen=True)
class SplunkField:
    """How Splunk gets one field at search time, and what its values can be."""

    extraction: str
    source: str
    # a value may hold a line break and is still extracted whole
    multiline: bool = False
    # an event may carry several values (all of them are searched: any value matches)
    multivalue: bool = False


@dataclass(frozen=True)
class DataSource:
    """One kind of stored event: its sourcetype, source and (Windows) event code."""

    sourcetype: str
    source: str
    event_code: str | None = None


_TA_WINDOWS = "Splunk_TA_windows default/props.conf [XmlWinEventLog] REPORT-0xml_kv_extract"
_TA_SYSMON = "Splunk_TA_microsoft_sysmon 5.0.1 props.conf, security_content sysmon_eventid_*.yml"
_TA_SECURITY = "Splunk_TA_windows, security_content windows_event_log_security_4688.yml"
_TA_LINUX_SYSMON = "Splunk Add-on for Sysmon for Linux 1.0.0, sysmon_for_linux_eventid_1.yml"
_TA_NIX = "Splunk_TA_nix props.conf [auditd] (KV_MODE auto), audit field-dictionary.csv"
_TA_BRO = "Splunk_TA_bro 4.0.0 props.conf"

WINDOWS_SOURCETYPES = frozenset({"XmlWinEventLog", "sysmon:linux"})
_SYSMON_SOURCE = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
_SYSTEM = "Channel Computer EventCode EventID EventRecordID Name SystemTime"


_Entries = list[tuple[str, SplunkField]]


def _fields(
    extraction: str, source: str, names: str, *, multiline: bool = False, multivalue: bool = False
) -> Iterable[tuple[str, SplunkField]]:
    field = SplunkField(extraction, source, multiline=multiline, multivalue=multivalue)
    return ((name, field) for name in names.split())


def _windows(data: str, cim: str, cim_source: str, *, cim_multiline: str = "") -> _Entries:
    # Data values are extracted up to the next `<`: whole, line breaks included.
    return [
        *_fields(XML_SYSTEM, _TA_WINDOWS, _SYSTEM),
        *_fields(XML_DATA, _TA_WINDOWS, data, multiline=True),
        *_fields(CIM, cim_source, cim),
        *_fields(CIM, cim_source, cim_multiline, multiline=True),
    ]


_SYSMON_PROCESS = (
    "RuleName UtcTime ProcessGuid ProcessId Image FileVersion Description Product Company "
    "OriginalFileName CommandLine CurrentDirectory User LogonGuid LogonId TerminalSessionId "
    "IntegrityLevel Hashes ParentProcessGuid ParentProcessId ParentImage ParentCommandLine "
    "ParentUser"
)
_PROCESS_CIM = (
    "action dest original_file_name parent_process_exec parent_process_guid parent_process_id "
    "parent_process_name parent_process_path process_current_directory process_exec "
    "process_guid process_hash process_id process_integrity_level process_name process_path user"
)
_ACTOR_CIM = "dest process_exec process_guid process_id process_name process_path user"
_SYSMON_CIM = "signature_id vendor_product"
_REGISTRY_CIM = f"{_ACTOR_CIM} {_SYSMON_CIM} action object_category object_path registry_path"

# Sysmon's event schema (`sysmon -s`, Sysmon 15) names the Data elements of each event ID.
_SYSMON: dict[str, _Entries] = {
    "1": _windows(
        _SYSMON_PROCESS,
        f"{_PROCESS_CIM} {_SYSMON_CIM}",
        _TA_SYSMON,
        cim_multiline="process parent_process",
    ),
    "7": _windows(
        "RuleName UtcTime ProcessGuid ProcessId Image ImageLoaded FileVersion Description "
        "Product Company OriginalFileName Hashes Signed Signature SignatureStatus User",
        f"{_ACTOR_CIM} {_SYSMON_CIM}",
        _TA_SYSMON,
    ),
    "10": _windows(
        "RuleName UtcTime SourceProcessGUID SourceProcessId SourceThreadId SourceImage "
        "TargetProcessGUID TargetProcessId TargetImage GrantedAccess CallTrace SourceUser "
        "TargetUser",
        f"dest {_SYSMON_CIM}",
        _TA_SYSMON,
    ),
    "11": _windows(
        "RuleName UtcTime ProcessGuid ProcessId Image TargetFilename CreationUtcTime User",
        f"{_ACTOR_CIM} {_SYSMON_CIM} action file_create_time file_name file_path object_category",
        _TA_SYSMON,
    ),
    "12": _windows(
        "RuleName EventType UtcTime ProcessGuid ProcessId Image TargetObject User",
        f"{_REGISTRY_CIM} registry_key_name status",
        _TA_SYSMON,
    ),
    "13": _windows(
        "RuleName EventType UtcTime ProcessGuid ProcessId Image TargetObject Details User",
        f"{_REGISTRY_CIM} registry_key_name registry_value_name registry_value_type "
        "RegistryValueType status",
        _TA_SYSMON,
        # transforms.conf splits "<type> (<data>)"; the data part keeps Details' line breaks
        cim_multiline="RegistryValueData registry_value_data",
    ),
    "14": _windows(
        "RuleName EventType UtcTime ProcessGuid ProcessId Image TargetObject NewName User",
        f"{_REGISTRY_CIM} registry_key_name",
        _TA_SYSMON,
    ),
    # the Sysmon log sources after the certificate work: Sysmon's schema names, the Sysmon
    # add-on's CIM fields as security_content's sysmon_eventid_<n>.yml list them
    "2": _windows(
        "RuleName UtcTime ProcessGuid ProcessId Image TargetFilename CreationUtcTime "
        "PreviousCreationUtcTime User",
        _ACTOR_CIM + " " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "3": _windows(
        "RuleName UtcTime ProcessGuid ProcessId Image User Protocol Initiated SourceIsIpv6 "
        "SourceIp SourceHostname SourcePort SourcePortName DestinationIsIpv6 DestinationIp "
        "DestinationHostname DestinationPort DestinationPortName",
        "dest_ip dest_port process_exec process_guid process_id process_name process_path "
        "src_ip src_port transport user " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "5": _windows(
        "RuleName UtcTime ProcessGuid ProcessId Image User",
        _ACTOR_CIM + " " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "6": _windows(
        "RuleName UtcTime ImageLoaded Hashes Signed Signature SignatureStatus",
        "dest " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "8": _windows(
        "RuleName UtcTime SourceProcessGuid SourceProcessId SourceImage TargetProcessGuid "
        "TargetProcessId TargetImage NewThreadId StartAddress StartModule StartFunction "
        "SourceUser TargetUser",
        "dest " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "9": _windows(
        "RuleName UtcTime ProcessGuid ProcessId Image Device User",
        _ACTOR_CIM + " " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "15": _windows(
        "RuleName UtcTime ProcessGuid ProcessId Image TargetFilename CreationUtcTime Hash "
        "Contents User",
        _ACTOR_CIM + " " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "22": _windows(
        "RuleName UtcTime ProcessGuid ProcessId QueryName QueryStatus QueryResults Image User",
        _ACTOR_CIM.replace("dest ", "") + " answer dest query src " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    "23": _windows(
        "RuleName UtcTime ProcessGuid ProcessId User Image TargetFilename Hashes IsExecutable "
        "Archived",
        _ACTOR_CIM + " " + _SYSMON_CIM,
        _TA_SYSMON,
    ),
    **{
        code: _windows(
            "RuleName EventType UtcTime ProcessGuid ProcessId PipeName Image User",
            f"{_ACTOR_CIM} {_SYSMON_CIM}",
            _TA_SYSMON,
        )
        for code in ("17", "18")
    },
}

_SECURITY_4688 = _windows(
    # the event's manifest (Microsoft-Windows-Security-Auditing, 4688 version 2)
    "SubjectUserSid SubjectUserName SubjectDomainName SubjectLogonId NewProcessId "
    "NewProcessName TokenElevationType ProcessId CommandLine TargetUserSid TargetUserName "
    "TargetDomainName TargetLogonId ParentProcessName MandatoryLabel",
    "dest parent_process_id parent_process_name parent_process_path process_exec process_id "
    "process_name process_path",
    _TA_SECURITY,
    cim_multiline="process Process_Command_Line",
)

_POWERSHELL_4104 = _windows(
    # Microsoft-Windows-PowerShell manifest, event 4104 (script block logging)
    "MessageNumber MessageTotal ScriptBlockText ScriptBlockId Path",
    "",
    "security_content powershell_script_block_logging_4104.yml",
)

# The Windows service channels (Sigma services): the add-on's generic `<Data Name>` extraction,
# names from each provider's manifest. Sysmon's service events carry the Sysmon add-on's
# `dest`, `signature_id` and `vendor_product` as its other events do.
_SYSMON_SERVICE: dict[str, _Entries] = {
    "4": _windows("UtcTime State Version SchemaVersion", _SYSMON_CIM + " dest", _TA_SYSMON),
    "16": _windows(
        "UtcTime Configuration ConfigurationFileHash", _SYSMON_CIM + " dest", _TA_SYSMON
    ),
    "255": _windows("UtcTime ID Description", _SYSMON_CIM + " dest", _TA_SYSMON),
}
_SECURITY_SOURCE = "XmlWinEventLog:Security"
_SECURITY_SERVICE: dict[str, _Entries] = {
    # Microsoft-Windows-Security-Auditing manifest: 4648 (explicit credentials), 4698-4702
    # (scheduled task created, deleted, enabled, disabled, updated)
    "4648": _windows(
        "SubjectUserSid SubjectUserName SubjectDomainName SubjectLogonId LogonGuid "
        "TargetUserName TargetDomainName TargetLogonGuid TargetServerName TargetInfo ProcessId "
        "ProcessName IpAddress IpPort",
        "",
        _TA_SECURITY,
    ),
    **{
        code: _windows(
            "SubjectUserSid SubjectUserName SubjectDomainName SubjectLogonId TaskName "
            f"{'TaskContentNew' if code == '4702' else 'TaskContent'} ClientProcessStartKey "
            "ClientProcessId ParentProcessId RpcCallClientLocality FQDN",
            "",
            _TA_SECURITY,
        )
        for code in ("4698", "4699", "4700", "4701", "4702")
    },
}
_TASK_SCHEDULER_SOURCE = "XmlWinEventLog:Microsoft-Windows-TaskScheduler/Operational"
_TASK_SCHEDULER = _windows("TaskName UserName", "", _TA_WINDOWS)
_DEFENDER_SOURCE = "XmlWinEventLog:Microsoft-Windows-Windows Defender/Operational"
# Defender Antivirus names hold spaces ("Threat Name"); the extraction cleans key names
# (transforms.conf.spec `CLEAN_KEYS`, default true: other characters become underscores).
_DEFENDER_DETECTION = _windows(
    "Product_Name Product_Version Detection_ID Detection_Time Threat_ID Threat_Name "
    "Severity_ID Severity_Name Category_ID Category_Name FWLink Status_Code State Source_ID "
    "Source_Name Process_Name Detection_User Path Origin_ID Origin_Name Execution_ID "
    "Execution_Name Type_ID Type_Name Pre_Execution_Status Action_ID Action_Name Error_Code "
    "Error_Description Post_Clean_Status Additional_Actions_ID Additional_Actions_String "
    "Remediation_User Security_intelligence_Version Engine_Version",
    "",
    _TA_WINDOWS + " (CLEAN_KEYS)",
)

_LINUX_SYSMON_1 = _windows(
    _SYSMON_PROCESS,
    _PROCESS_CIM,
    _TA_LINUX_SYSMON,
    cim_multiline="process parent_process",
)

_AUDITD = [
    *_fields(AUTO_KV, _TA_NIX, "type msg node"),
    *_fields(
        AUTO_KV,
        _TA_NIX,
        "arch syscall success exit items ppid pid auid uid gid euid suid fsuid egid sgid fsgid "
        "tty ses comm exe subj key argc cwd proctitle item name inode dev mode ouid ogid rdev "
        "obj nametype cap_fp cap_fi cap_fe cap_fver cap_frootid",
    ),
]
# EXECVE carries one `a<n>` per argument and `a<n>_len` for one split over records
# (field-dictionary.csv: "a[[:digit:]+]", "a[[:digit:]+]_len").
_AUDITD_PATTERNS = ((re.compile(r"a\d+(?:_len)?"), SplunkField(AUTO_KV, _TA_NIX)),)

_ZEEK_ALIASES = "dest dest_ip src src_ip src_port dest_port"
_ZEEK_X509 = [
    *_fields(
        KV_JSON,
        _TA_BRO + " [bro:*:json] KV_MODE = JSON, Zeek x509.log",
        "ts fingerprint certificate.version certificate.serial certificate.subject "
        "certificate.issuer certificate.not_valid_before certificate.not_valid_after "
        "certificate.key_alg certificate.sig_alg certificate.key_type certificate.key_length "
        "certificate.exponent certificate.curve basic_constraints.ca "
        "basic_constraints.path_len host_cert client_cert",
        multiline=True,
    ),
    *_fields(
        KV_JSON_ARRAY,
        _TA_BRO + ", Zeek x509.log",
        "san.dns{} san.uri{} san.email{} san.ip{}",
        multiline=True,
        multivalue=True,
    ),
]
_ZEEK_SSL = [
    *_fields(
        KV_JSON,
        _TA_BRO + ", Zeek ssl.log",
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p version cipher curve server_name "
        "resumed last_alert next_protocol established ssl_history validation_status "
        "sni_matches_cert",
        multiline=True,
    ),
    *_fields(CIM, _TA_BRO + " FIELDALIAS/EVAL", _ZEEK_ALIASES),
    *_fields(
        KV_JSON_ARRAY,
        _TA_BRO + ", Zeek ssl.log",
        "cert_chain_fps{} client_cert_chain_fps{} cert_chain_fuids{} client_cert_chain_fuids{}",
        multiline=True,
        multivalue=True,
    ),
    *_fields(
        CIM,
        _TA_BRO + " [bro:ssl:json] FIELDALIAS",
        "cert_chain_fuids client_cert_chain_fuids",
        multiline=True,
        multivalue=True,
    ),
]


def _table(entries: Iterable[tuple[str, SplunkField]]) -> Mapping[str, SplunkField]:
    table: dict[str, SplunkField] = {}
    for name, field in entries:
        if name in table:
            raise ValueError(f"{name} is declared twice")
        table[name] = field
    return MappingProxyType(table)


SPLUNK_FIELDS: Mapping[DataSource, Mapping[str, SplunkField]] = MappingProxyType(
    {
        **{
            DataSource("XmlWinEventLog", _SYSMON_SOURCE, code): _table(entries)
            for code, entries in _SYSMON.items()
        },
        **{
            DataSource("XmlWinEventLog", _SYSMON_SOURCE, code): _table(entries)
            for code, entries in _SYSMON_SERVICE.items()
        },
        DataSource("XmlWinEventLog", "XmlWinEventLog:Security", "4688"): _table(_SECURITY_4688),
        **{
            DataSource("XmlWinEventLog", _SECURITY_SOURCE, code): _table(entries)
            for code, entries in _SECURITY_SERVICE.items()
        },
        **{
            DataSource("XmlWinEventLog", _TASK_SCHEDULER_SOURCE, code): _table(_TASK_SCHEDULER)
            for code in ("141", "142")
        },
        **{
            DataSource("XmlWinEventLog", _DEFENDER_SOURCE, code): _table(_DEFENDER_DETECTION)
            for code in ("1116", "1117", "1119")
        },
        DataSource(
            "XmlWinEventLog", "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational", "4104"
        ): _table(_POWERSHELL_4104),
        DataSource("sysmon:linux", "Syslog:Linux-Sysmon/Operational", "1"): _table(_LINUX_SYSMON_1),
        DataSource("auditd", "/var/log/audit/audit.log"): _table(_AUDITD),
        DataSource("bro:x509:json", "/opt/zeek/logs/current/x509.log"): _table(_ZEEK_X509),
        DataSource("bro:ssl:json", "/opt/zeek/logs/current/ssl.log"): _table(_ZEEK_SSL),
    }
)
_PATTERNS: Mapping[DataSource, tuple[tuple[re.Pattern[str], SplunkField], ...]] = {
    DataSource("auditd", "/var/log/audit/audit.log"): _AUDITD_PATTERNS,
}


def splunk_field(
    source: DataSource,
    name: str,
    schema: Mapping[DataSource, Mapping[str, SplunkField]] = SPLUNK_FIELDS,
) -> SplunkField | None:
    """How Splunk extracts `name` for events of `source`; None if it does not."""
    declared = schema.get(source)
    if declared is None:
        return None
    found = declared.get(name)
    if found is not None:
        return found
    for pattern, field in _PATTERNS.get(source, ()):
        if pattern.fullmatch(name):
            return field
    return None


def data_source(event: SplunkEvent) -> DataSource:
    """The data source of a stored event: Windows events by their EventCode too."""
    codes = event.fields.get("EventCode")
    if codes and event.sourcetype in WINDOWS_SOURCETYPES:
        return DataSource(event.sourcetype, event.source, codes[0])
    return DataSource(event.sourcetype, event.source)


def declared_names(source: DataSource) -> frozenset[str]:
    """The fields declared by name for the data source (`a<n>`-style patterns not included)."""
    return frozenset(SPLUNK_FIELDS.get(source, {}))
