"""Elastic model: the `_source` Elasticsearch stores for one Windows event.

A generated EQL query is only verified if it runs against documents shaped the way the Elastic
Agent integrations write them, not the way a Sigma pipeline assumes they look. This module
replays, step by step, the ingest pipelines of the integrations (elastic/integrations, read in
2026; file paths below), starting from the fields the `winlog` input itself emits:

- Sysmon: `packages/windows/data_stream/sysmon_operational/elasticsearch/ingest_pipeline/
  default.yml` (data stream `windows.sysmon_operational`, `event.module` "windows" as
  elastic/kibana#148043 reports it).
- Security 4688: `packages/system/data_stream/security/elasticsearch/ingest_pipeline/
  standard.yml` (data stream `system.security`; the Windows package's `windows.forwarded`
  stream links the same pipeline).
- Sysmon 4, 16 and 255 (the Sysmon service's own events): the Sysmon pipeline's categorization
  (255 is `event.outcome` "failure" with no type, and its `ID` becomes `error.code`).
- PowerShell 4104: `packages/windows/data_stream/powershell_operational/.../default.yml`.
- Sysmon for Linux: `packages/sysmon_linux/data_stream/log/.../default.yml`.
- The `winlog` input fields (`winlog.event_id` as a string, `winlog.record_id`,
  `winlog.computer_name`, `event.code`, `event.provider`, `host.name`) as the data streams'
  `sample_event.json` files show them.

Quirks kept on purpose, because real documents have them:

- `rename` processors move values: `Image`, `CommandLine`, `TargetFilename`, `TargetObject`,
  `OriginalFileName`, ... are no longer under `winlog.event_data` (`Company`, `Description`,
  `Details`, `CreationUtcTime`, ... stay). Sysmon values "", "-" and the null GUID are dropped.
- `process.name` is the text after the last backslash. Sysmon for Linux paths have none, so
  there `process.name` keeps the syslog app name "sysmon" (see the sysmon_linux pipeline test
  `test-sysmon.json-expected.json`), and `process.parent.name` is absent.
- `process.args`: the Sysmon data streams split with the integration's port of Windows
  `CommandLineToArgvW` (quotes removed, backslash-quote rules, runs of blanks collapse); the
  Security pipeline splits 4688 command lines on whitespace outside quotes and keeps the quotes
  and the empty strings between repeated blanks.
- `file.extension` is cut at the last "." of the whole path; `registry.value` is the last path
  segment for Sysmon 12, 13 and 14 alike, and `registry.key` still ends with it; a QWORD is
  `(high << 8) + low`, as the script computes it.
- Sysmon 7 (image load): the loaded image fills `file` (`file.path` from ImageLoaded, its
  hashes in `file.hash`, version info in `file.pe`, `file.code_signature.status`/
  `subject_name`, `valid` when the status is "Valid"); `file.code_signature.signed` is never
  set, because the pipeline compares the string `Signed` with the boolean `true`.
- Sysmon 10 (process access): the source process fills `process` (`SourceImage` ->
  `process.executable`, `SourceProcessGUID` -> `entity_id`, `SourceProcessId` -> `pid`,
  `SourceThreadId` -> `thread.id`); `TargetImage`, `TargetProcessGUID`, `GrantedAccess`,
  `CallTrace`, `SourceUser` and `TargetUser` stay in `winlog.event_data`.
- Sysmon 2, 3, 5, 6, 8, 9, 15, 22, 23: the steps only they get are in `ecs_sysmon_events`.
- Sysmon 17 and 18 (pipe created, connected): `PipeName` becomes `file.name` (no `file.path`);
  `EventType` stays in `winlog.event_data`.
- The PowerShell pipeline sets `event.category` "process" and `event.type` "info" as plain
  strings, not arrays.

The other Security events and Defender Antivirus are `ecs_services`'; the `winlog` input's
common fields are `ecs_winlog`'s.

Not modelled: what a `WindowsEvent` does not carry (`winlog.user`, `log.level`, task, opcode,
keywords, `event.outcome`, the System element's `process.thread`), agent and `data_stream`
metadata, and the Security pipeline's descriptions of `%%` codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from converter.core.documents import EcsDocument
from converter.core.events import WindowsEvent
from converter.core.logsources import (
    LINUX_SYSMON_CHANNEL,
    POWERSHELL_CHANNEL,
    SECURITY_CHANNEL,
    SYSMON_CHANNEL,
    WINDOWS_DEFENDER_CHANNEL,
)
from converter.execute.ingest import ecs_sysmon_events
from converter.execute.ingest.ecs_services import (
    SECURITY_CATEGORIZATION,
    security_event,
    security_subject,
    windows_defender,
)
from converter.execute.ingest.ecs_winlog import decode_long as _decode_long
from converter.execute.ingest.ecs_winlog import iso_millis as _iso_millis
from converter.execute.ingest.ecs_winlog import long_value as _long
from converter.execute.ingest.ecs_winlog import node as _node
from converter.execute.ingest.ecs_winlog import prune as _prune
from converter.execute.ingest.ecs_winlog import winlog_base as _base

Builder = Callable[[WindowsEvent], "EcsDocument | None"]

# The Sysmon pipelines' categorization table, for the event IDs this project reads.
_SYSMON_CATEGORIZATION: dict[int, tuple[list[str], list[str]]] = {
    1: (["process"], ["start"]),
    **ecs_sysmon_events.CATEGORIZATION,  # 2, 3, 5, 6, 8, 9, 15, 22, 23
    7: (["process"], ["change"]),
    10: (["process"], ["access"]),
    11: (["file"], ["creation"]),
    12: (["configuration", "registry"], ["change"]),
    13: (["configuration", "registry"], ["change"]),
    14: (["configuration", "registry"], ["change"]),
    17: (["file"], ["creation"]),
    18: (["file"], ["access"]),
    # the Sysmon service's own events
    4: (["process"], ["change"]),
    16: (["configuration"], ["change"]),
    255: (["process"], []),  # and event.outcome ["failure"]
}
_SYSMON_EMPTY = frozenset({"", "-", "{00000000-0000-0000-0000-000000000000}"})
# Removed by the Sysmon pipelines' cleanup step (after being copied elsewhere, if at all).
_SYSMON_CLEANUP = (
    "ProcessId",
    "ParentProcessId",
    "SourceProcessId",
    "SourceThreadId",
    "RuleName",
    "User",
    "UtcTime",
    "Hash",
    "Hashes",
    "TargetObject",
)
_LINUX_CLEANUP = ("Details",)
_HIVES = {
    "HKEY_CLASSES_ROOT": "HKCR",
    "HKCR": "HKCR",
    "HKEY_CURRENT_CONFIG": "HKCC",
    "HKCC": "HKCC",
    "HKEY_CURRENT_USER": "HKCU",
    "HKCU": "HKCU",
    "HKEY_DYN_DATA": "HKDD",
    "HKDD": "HKDD",
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKLM": "HKLM",
    "HKEY_PERFORMANCE_DATA": "HKPD",
    "HKPD": "HKPD",
    "HKEY_USERS": "HKU",
    "HKU": "HKU",
}
_QWORD = re.compile(r"QWORD \(((0x[0-9A-F]{8})-(0x[0-9A-F]{8}))\)", re.IGNORECASE)
_DWORD = re.compile(r"DWORD \((0x[0-9A-F]{8})\)", re.IGNORECASE)
# Painless Character.isWhitespace is false for the no-break spaces Python's isspace accepts.
_NOT_JAVA_WHITESPACE = frozenset("\u00a0\u2007\u202f")


def to_ecs(event: WindowsEvent) -> EcsDocument | None:
    """The document the Elastic Agent integration stores for `event`, or None if unsupported."""
    builder = BUILDERS.get((event.channel, event.event_id))
    return builder(event) if builder is not None else None


def windows_argv(command_line: str) -> list[str]:
    """Split as the Sysmon and PowerShell pipelines do (their port of CommandLineToArgvW)."""
    args: list[str] = []
    i, n = 0, len(command_line)
    while i < n:
        if command_line[i] in " \t":
            i += 1
            continue
        arg, i = _next_arg(command_line, i)
        args.append(arg)
    return args


# Runs of characters with no meaning to the splitter, outside and inside quotes: taken whole.
_PLAIN_OUTSIDE = re.compile(r'[^ \t"\\]+')
_PLAIN_INSIDE = re.compile(r'[^"\\]+')


def _next_arg(cmd: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    in_quote = False
    slashes = 0
    n = len(cmd)
    while i < n:
        run = (_PLAIN_INSIDE if in_quote else _PLAIN_OUTSIDE).match(cmd, i)
        if run is not None:
            if slashes:
                out.append("\\" * slashes)
                slashes = 0
            out.append(run.group())
            i = run.end()
            continue
        c = cmd[i]
        if c in " \t":
            if not in_quote:
                out.append("\\" * slashes)
                return "".join(out), i + 1
        elif c == '"':
            out.append("\\" * (slashes // 2))
            if slashes % 2 == 0:
                # "Prior to 2008" rule: a doubled quote inside quotes is a literal quote.
                if in_quote and i + 1 < n and cmd[i + 1] == '"':
                    out.append(c)
                    i += 1
                in_quote = not in_quote
            else:
                out.append(c)
            slashes = 0
            i += 1
            continue
        elif c == "\\":
            slashes += 1
            i += 1
            continue
        out.append("\\" * slashes)
        slashes = 0
        out.append(c)
        i += 1
    out.append("\\" * slashes)
    return "".join(out), n


def security_argv(command_line: str) -> list[str]:
    """Split as the Security pipeline's "Process Event 4688" script does (quotes kept)."""
    args: list[str] = []
    start = 0
    in_quote = False
    last = len(command_line) - 1
    for i, c in enumerate(command_line):
        if c == '"':
            in_quote = not in_quote
        if not in_quote and c.isspace() and c not in _NOT_JAVA_WHITESPACE:
            args.append(command_line[start:i])
            start = i + 1
        if i == last:
            args.append(command_line[start : i + 1])
    return args


def _windows_name(path: str) -> str:
    index = path.rfind("\\")
    return path[index + 1 :] if index > -1 else ""


def _sysmon(event: WindowsEvent, linux: bool, args: bool = True) -> EcsDocument:
    code = event.event_id
    if linux:
        doc = _base(event, "sysmon_linux.log", "sysmon_linux", "linux")
        doc["ecs"] = {"version": "8.17.0"}
        doc["event"]["action"] = "log"
        # Sysmon for Linux reaches the agent through syslog; the header fills these two.
        doc["host"]["hostname"] = event.computer
        doc["process"] = {"name": "sysmon"}
    else:
        doc = _base(event, "windows.sysmon_operational", "windows", "windows")
        doc["ecs"] = {"version": "8.0.0"}
    category, types = _SYSMON_CATEGORIZATION[code]
    doc["event"]["category"] = list(category)
    if types:
        doc["event"]["type"] = list(types)
    if code == 255:
        doc["event"]["outcome"] = ["failure"]
        if event.data.get("ID"):
            doc["error"] = {"code": event.data["ID"]}

    data = {k: v for k, v in event.data.items() if v not in _SYSMON_EMPTY}
    utc = _iso_millis(data.get("UtcTime"))
    if utc is not None:
        doc["@timestamp"] = utc
    if "RuleName" in data:
        doc["rule"] = {"name": data.pop("RuleName")}

    hashes = _sysmon_hashes(data.get("Hash") or data.get("Hashes"))
    if hashes:
        doc["related"] = {"hash": list(hashes.values())}

    process = _node(doc, "process")
    parent = _node(process, "parent")
    moves = (
        ("ProcessGuid", process, "entity_id"),
        ("Image", process, "executable"),
        # Sysmon 10: the source process is `process`; the target's fields stay in event_data.
        ("SourceProcessGuid", process, "entity_id"),
        ("SourceProcessGUID", process, "entity_id"),
        ("SourceImage", process, "executable"),
        ("CommandLine", process, "command_line"),
        ("CurrentDirectory", process, "working_directory"),
        ("ParentProcessGuid", parent, "entity_id"),
        ("ParentImage", parent, "executable"),
        ("ParentCommandLine", parent, "command_line"),
    )
    for source, target, name in moves:
        if source in data:
            target[name] = data.pop(source)
    for source, target in (
        ("ProcessId", process),
        ("SourceProcessId", process),
        ("ParentProcessId", parent),
    ):
        pid = _long(data.get(source))
        if pid is not None:
            target["pid"] = pid
    thread = _long(data.get("SourceThreadId"))
    if thread is not None:
        _node(process, "thread")["id"] = thread
    # Version info describes the created process (1) or the loaded image (7).
    pe = _node(_node(doc, "file") if code == 7 else process, "pe")
    if "OriginalFileName" in data:
        pe["original_file_name"] = data.pop("OriginalFileName")
    for source, name in (
        ("Company", "company"),
        ("Description", "description"),
        ("FileVersion", "file_version"),
        ("Product", "product"),
    ):
        if source in data:
            pe[name] = data[source]
    if hashes and code in ecs_sysmon_events.PROCESS_HASH_EVENTS:
        process_hashes = dict(hashes)
        if "imphash" in process_hashes:
            pe["imphash"] = process_hashes.pop("imphash")
        process["hash"] = process_hashes
    if code in ecs_sysmon_events.FILE_HASH_EVENTS:
        _image_loaded(doc, data, hashes)
    for node in (process, parent):
        if args and node.get("command_line"):
            node["args"] = windows_argv(node["command_line"])
            node["args_count"] = len(node["args"])
    for node in (process, parent):
        executable = node.get("executable", "")
        if len(executable) > 1 and "name" not in node:
            name = _windows_name(executable)
            if name:
                node["name"] = name

    if "TargetFilename" in data or "Device" in data:  # Device: Sysmon 9, kept if both are set
        _file_info(_node(doc, "file"), data.pop("TargetFilename", None) or data.pop("Device"))
    if "PipeName" in data:
        _node(doc, "file")["name"] = data.pop("PipeName")

    if code in ecs_sysmon_events.CATEGORIZATION:
        ecs_sysmon_events.event_fields(doc, data, code)
    _sysmon_user(doc, data.get("User"))
    if code in (12, 13, 14) and "TargetObject" in data:
        doc["registry"] = _registry(data["TargetObject"], data.get("Details"))

    for name in _SYSMON_CLEANUP + ecs_sysmon_events.CLEANUP + (_LINUX_CLEANUP if linux else ()):
        data.pop(name, None)
    if code == 255:
        data.pop("ID", None)
    if data:
        doc["winlog"]["event_data"] = data
    return _prune(doc, blanks=linux)


def _image_loaded(doc: dict[str, Any], data: dict[str, str], hashes: dict[str, str]) -> None:
    # Sysmon 6 and 7: the hashes, path and signature are the loaded image's, under `file`.
    file = _node(doc, "file")
    if hashes:
        file_hashes = dict(hashes)
        if "imphash" in file_hashes:
            _node(file, "pe")["imphash"] = file_hashes.pop("imphash")
        file["hash"] = file_hashes
    if "ImageLoaded" in data:
        _file_info(file, data.pop("ImageLoaded"))
    signature = _node(file, "code_signature")
    if "Signature" in data:
        signature["subject_name"] = data["Signature"]
    if "SignatureStatus" in data:
        signature["status"] = data["SignatureStatus"]
        if data["SignatureStatus"] == "Valid":
            signature["valid"] = True
    # The pipeline sets `signed` only `if ... event_data.Signed == true`: event_data values are
    # strings, and Painless' "true" == true is false, so `file.code_signature.signed` is never
    # set and `Signed` stays in event_data.


def _sysmon_hashes(text: str | None) -> dict[str, str]:
    # kv processor on "," and "=", then lower-cased, skipping empty and all-zero hashes.
    hashes: dict[str, str] = {}
    for pair in (text or "").split(","):
        key, sep, value = pair.partition("=")
        if not sep:
            continue
        value = value.lower()
        if value.strip("0") == "":
            continue
        hashes[key.lower()] = value
    return hashes


def _file_info(file: dict[str, Any], path: str) -> None:
    file["path"] = path
    index = path.rfind("\\")
    if len(path) > 1 and index > -1:
        file["name"] = path[index + 1 :]
        file["directory"] = path[:index]
        dot = path.rfind(".")
        if dot > -1:
            file["extension"] = path[dot + 1 :]


def _sysmon_user(doc: dict[str, Any], user: str | None) -> None:
    if user is None:
        return
    parts = re.split(r"\\", user)
    while parts and parts[-1] == "":
        parts.pop()  # Java's String.split drops trailing empty strings
    if len(parts) != 2:
        return
    domain, name = parts
    if domain:
        _node(doc, "user")["domain"] = domain
    if name:
        _node(doc, "user")["name"] = name
        related = _node(doc, "related").setdefault("user", [])
        if name not in related:
            related.append(name)


def _registry(path: str, details: str | None) -> dict[str, Any]:
    tokens = path.split("\\")
    while len(tokens) > 1 and tokens[-1] == "":
        tokens.pop()
    registry: dict[str, Any] = {"path": path}
    hive = _HIVES.get(tokens[0])
    if hive is not None:
        registry["hive"] = hive
        if len(tokens) > 1:
            registry["key"] = "\\".join(tokens[1:])
    registry["value"] = tokens[-1]
    if not details:
        return registry
    qword = _QWORD.fullmatch(details)
    if qword is not None:
        high, low = int(qword.group(2)[2:], 16), int(qword.group(3)[2:], 16)
        registry["data"] = {"strings": [str((high << 8) + low)], "type": "SZ_QWORD"}
        return registry
    dword = _DWORD.fullmatch(details)
    if dword is not None:
        registry["data"] = {"strings": [str(int(dword.group(1)[2:], 16))], "type": "SZ_DWORD"}
        return registry
    if details == "Binary Data":
        registry["data"] = {"strings": [details], "type": "REG_BINARY"}
        return registry
    registry["data"] = {"strings": [details], "type": "REG_SZ"}
    return registry


def _security_4688(event: WindowsEvent, args: bool = True) -> EcsDocument:
    doc = _base(event, "system.security", "system", "windows")
    doc["ecs"] = {"version": "8.0.0"}
    doc["event"].update(category=["process"], type=["start"], action="created-process")
    data = dict(event.data)
    process = _node(doc, "process")
    parent = _node(process, "parent")

    pid = _decode_long(data.pop("NewProcessId", None))
    if pid is not None:
        process["pid"] = pid
    if "NewProcessName" in data:
        process["executable"] = data.pop("NewProcessName")
    if "ParentProcessName" in data:
        parent["executable"] = data.pop("ParentProcessName")
    for node in (process, parent):
        if "executable" in node:
            node["name"] = node["executable"].split("\\")[-1]
    parent_pid = _decode_long(data.get("ProcessId"))
    if parent_pid is not None:
        parent["pid"] = parent_pid
    if "CommandLine" in data:
        if args:
            process["args"] = security_argv(data["CommandLine"])
        process["command_line"] = data["CommandLine"]
        if args:
            process["args_count"] = len(process["args"])

    related = security_subject(doc, data)
    user = _node(doc, "user")
    effective = _node(user, "effective")
    if data.get("TargetUserSid") not in (None, "", "-"):
        effective["id"] = data["TargetUserSid"]
    target_name = data.get("TargetUserName")
    if target_name not in (None, "", "-"):
        effective["name"] = target_name.split("@")[0]
        if effective["name"] not in related:
            related.append(effective["name"])
        if target_name not in related:
            related.append(target_name)
    if data.get("TargetDomainName") not in (None, "", "-"):
        effective["domain"] = data["TargetDomainName"]
    if related:
        doc["related"] = {"user": related}
    if data:
        doc["winlog"]["event_data"] = data
    return _prune(doc)


def _powershell_4104(event: WindowsEvent) -> EcsDocument:
    doc = _base(event, "windows.powershell_operational", "windows", "windows")
    doc["ecs"] = {"version": "8.0.0"}
    # This pipeline sets both as plain strings.
    doc["event"].update(category="process", type="info")
    data = {re.sub(r"\s", "", k): v for k, v in event.data.items()}
    powershell = _node(doc, "powershell")
    for source, name in (("MessageNumber", "sequence"), ("MessageTotal", "total")):
        number = _long(data.get(source))
        if number is not None:
            powershell[name] = number
    for source, name in (
        ("ScriptBlockId", "script_block_id"),
        ("ScriptBlockText", "script_block_text"),
    ):
        if data.get(source, "") != "":
            _node(powershell, "file")[name] = data.pop(source)
    if data.get("Path", "") != "":
        data["ScriptName"] = data.pop("Path")
    script = data.get("ScriptName")
    if script:
        file = _node(doc, "file")
        if len(script) > 1:
            _file_info(file, script)
        file["path"] = data.pop("ScriptName")
    for name in ("SequenceNumber", "User", "ConnectedUser", "ContextInfo", "Severity"):
        data.pop(name, None)
    for name in ("MessageTotal", "MessageNumber", "Payload"):
        data.pop(name, None)
    data = {k: v for k, v in data.items() if v != ""}
    if data:
        doc["winlog"]["event_data"] = data
    return _prune(doc)


def _windows_sysmon(event: WindowsEvent) -> EcsDocument:
    return _sysmon(event, linux=False)


def _linux_sysmon(event: WindowsEvent) -> EcsDocument:
    return _sysmon(event, linux=True)


# (channel, event ID) -> the integration data stream's pipeline, as a builder. The windows
# integration's `powershell_operational` stream reads Microsoft-Windows-PowerShell/Operational;
# no data stream of it reads PowerShellCore/Operational, so PowerShell 7 events are not stored.
BUILDERS: dict[tuple[str, int], Builder] = {
    **{(SYSMON_CHANNEL, event_id): _windows_sysmon for event_id in _SYSMON_CATEGORIZATION},
    (LINUX_SYSMON_CHANNEL, 1): _linux_sysmon,
    (SECURITY_CHANNEL, 4688): _security_4688,
    (POWERSHELL_CHANNEL, 4104): _powershell_4104,
    **{(SECURITY_CHANNEL, event_id): security_event for event_id in SECURITY_CATEGORIZATION},
    **{(WINDOWS_DEFENDER_CHANNEL, event_id): windows_defender for event_id in (1116, 1117, 1119)},
}


# What `to_ecs_without_args` leaves out: splitting command lines is a good part of the model's
# time, and most queries never read the parts.
ARGS_FIELDS = frozenset(
    {"process.args", "process.args_count", "process.parent.args", "process.parent.args_count"}
)
_WITHOUT_ARGS: dict[Builder, Builder] = {
    _windows_sysmon: lambda event: _sysmon(event, linux=False, args=False),
    _linux_sysmon: lambda event: _sysmon(event, linux=True, args=False),
    _security_4688: lambda event: _security_4688(event, args=False),
}
BUILDERS_WITHOUT_ARGS: dict[tuple[str, int], Builder] = {
    key: _WITHOUT_ARGS.get(builder, builder) for key, builder in BUILDERS.items()
}


def to_ecs_without_args(event: WindowsEvent) -> EcsDocument | None:
    """`to_ecs` without the `ARGS_FIELDS`: the document for queries that read none of them."""
    builder = BUILDERS_WITHOUT_ARGS.get((event.channel, event.event_id))
    return builder(event) if builder is not None else None


def model_for(fields: frozenset[str] | None) -> Builder:
    """The model for queries that read `fields` (None: any field): `to_ecs`, or
    `to_ecs_without_args` when none of them is or holds an `ARGS_FIELDS` field."""
    if fields is None or any(
        read == left_out or read.startswith(left_out + ".") or left_out.startswith(read + ".")
        for read in fields
        for left_out in ARGS_FIELDS
    ):
        return to_ecs
    return to_ecs_without_args


def stores(channel: str, event_id: int) -> bool:
    """Whether `to_ecs` can return a document for events of this channel and ID; when False it
    returns None for all of them (`certdetect scan` skips such events before parsing them)."""
    return (channel, event_id) in BUILDERS
