"""`certdetect new`: a rule and its two cases, laid out the way `check` and `build` expect.

The rule gets a fresh UUID, today's date, the SigmaHQ filename prefix of its log source and the
project's tags; its cases are a complete raw event of the log source (EVTX JSON layout, every
field the ingest models read, from `converter.verify.specimens`; for the service log sources an
audit event's lines or a Zeek JSON row) that the example detection matches, and a look-alike it
does not. So a freshly scaffolded rule builds and is verified on
every target at once, and stays so as the contributor replaces the example detection and events.
What only the contributor can write (description, references, false positives, what each case
shows) is marked TODO, and `certdetect check` fails until every TODO is gone.
"""

from __future__ import annotations

import datetime
import json
import re
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from converter.checks.conventions import PROJECT_TAGS
from converter.core import logsources
from converter.core.errors import InputError
from converter.core.logsources import (
    CHANNELS,
    LINUX_SYSMON_CHANNEL,
    POWERSHELL_CHANNEL,
    SECURITY_CHANNEL,
    SYSMON_CHANNEL,
    TASK_SCHEDULER_CHANNEL,
    WINDOWS_DEFENDER_CHANNEL,
    WMI_CHANNEL,
    LogSource,
)
from converter.core.project import Project
from converter.verify.specimens import RAW_SPECIMENS, SPECIMENS

LEVELS = ("low", "medium", "high", "critical")
MATCH_CASE = "match_example"
LOOKALIKE_CASE = "lookalike_example"


@dataclass(frozen=True)
class Example:
    """The example detection of a log source, and the event data its two cases differ in."""

    channel: str
    event_id: int
    detection: tuple[str, ...]  # lines under `selection:`
    match: dict[str, str]
    lookalike: dict[str, str]


# replaced by a marker unique to each scaffolded rule
EXAMPLE_MARKER = "example-certgen"
_TOOL = "C:\\Tools\\example-certgen.exe"
_PROCESS = Example(
    SYSMON_CHANNEL,
    1,
    ("Image|endswith: '\\example-certgen.exe'", "CommandLine|contains: ' --example-self-signed'"),
    {
        "Image": _TOOL,
        "OriginalFileName": "example-certgen.exe",
        "CommandLine": '"C:\\Tools\\example-certgen.exe" --example-self-signed --out server.crt',
    },
    {
        "Image": _TOOL,
        "OriginalFileName": "example-certgen.exe",
        "CommandLine": '"C:\\Tools\\example-certgen.exe" --version',
    },
)


# Sysmon 3 fields as the schema names them; the ports differ between match and lookalike.
_CONNECTION = {
    "Image": _TOOL,
    "User": "EXAMPLE\\alice",
    "Protocol": "tcp",
    "Initiated": "true",
    "SourceIsIpv6": "false",
    "SourceIp": "10.0.0.5",
    "SourcePort": "50000",
    "DestinationIsIpv6": "false",
    "DestinationIp": "203.0.113.10",
}


def _registry(event_id: int, event_type: str, details: dict[str, str]) -> Example:
    # No trailing backslash in the value: microsoft_xdr's HKLM replacement breaks it (finding 1),
    # and Defender's RegistryKey holds the key without the value name (finding 2).
    return Example(
        SYSMON_CHANNEL,
        event_id,
        ("TargetObject|contains: '\\SOFTWARE\\example-certgen-store'",),
        {
            "EventType": event_type,
            "Image": _TOOL,
            "TargetObject": "HKLM\\SOFTWARE\\example-certgen-store\\Certificates\\Example",
            **details,
        },
        {
            "EventType": event_type,
            "Image": _TOOL,
            "TargetObject": "HKLM\\SOFTWARE\\example-settings\\Certificates\\Example",
            **details,
        },
    )


EXAMPLES: dict[tuple[str, str], Example] = {
    ("windows", "process_creation"): _PROCESS,
    ("windows", "file_event"): Example(
        SYSMON_CHANNEL,
        11,
        ("TargetFilename|endswith: '.example-certgen'",),
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\server.example-certgen"},
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\server.example-certgen.txt"},
    ),
    ("windows", "image_load"): Example(
        SYSMON_CHANNEL,
        7,
        ("ImageLoaded|endswith: '\\example-certgen.dll'",),
        {"Image": _TOOL, "ImageLoaded": "C:\\Tools\\example-certgen.dll"},
        {"Image": _TOOL, "ImageLoaded": "C:\\Tools\\example-certgen-ui.dll"},
    ),
    ("windows", "process_access"): Example(
        SYSMON_CHANNEL,
        10,
        ("SourceImage|endswith: '\\example-certgen.exe'", "TargetImage|endswith: '\\lsass.exe'"),
        {"SourceImage": _TOOL, "TargetImage": "C:\\Windows\\System32\\lsass.exe"},
        {"SourceImage": _TOOL, "TargetImage": "C:\\Windows\\System32\\svchost.exe"},
    ),
    ("windows", "pipe_created"): Example(
        SYSMON_CHANNEL,
        17,
        ("PipeName: '\\example-certgen-pipe'",),
        {"EventType": "CreatePipe", "Image": _TOOL, "PipeName": "\\example-certgen-pipe"},
        {"EventType": "CreatePipe", "Image": _TOOL, "PipeName": "\\example-settings-pipe"},
    ),
    ("windows", "network_connection"): Example(
        SYSMON_CHANNEL,
        3,
        ("Image|endswith: '\\example-certgen.exe'", "DestinationPort: 8443"),
        {**_CONNECTION, "DestinationPort": "8443"},
        {**_CONNECTION, "DestinationPort": "443"},
    ),
    ("windows", "dns_query"): Example(
        SYSMON_CHANNEL,
        22,
        ("QueryName|endswith: '.example-certgen.test'",),
        {"Image": _TOOL, "QueryName": "ca.example-certgen.test", "QueryStatus": "0"},
        {"Image": _TOOL, "QueryName": "ca.example-certgen.test.example.net", "QueryStatus": "0"},
    ),
    ("windows", "create_remote_thread"): Example(
        SYSMON_CHANNEL,
        8,
        ("SourceImage|endswith: '\\example-certgen.exe'", "TargetImage|endswith: '\\lsass.exe'"),
        {"SourceImage": _TOOL, "TargetImage": "C:\\Windows\\System32\\lsass.exe"},
        {"SourceImage": _TOOL, "TargetImage": "C:\\Windows\\System32\\svchost.exe"},
    ),
    ("windows", "driver_load"): Example(
        SYSMON_CHANNEL,
        6,
        ("ImageLoaded|endswith: '\\example-certgen.sys'",),
        {"ImageLoaded": "C:\\Tools\\example-certgen.sys", "Signed": "false"},
        {"ImageLoaded": "C:\\Tools\\example-certgen-ui.sys", "Signed": "false"},
    ),
    ("windows", "file_delete"): Example(
        SYSMON_CHANNEL,
        23,
        ("TargetFilename|endswith: '.example-certgen'",),
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\server.example-certgen"},
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\server.example-certgen.txt"},
    ),
    ("windows", "raw_access_thread"): Example(
        SYSMON_CHANNEL,
        9,
        ("Image|endswith: '\\example-certgen.exe'", "Device|contains: '\\HarddiskVolume'"),
        {"Image": _TOOL, "Device": "\\Device\\HarddiskVolume2"},
        {"Image": _TOOL, "Device": "\\Device\\CdRom0"},
    ),
    ("windows", "process_termination"): Example(
        SYSMON_CHANNEL,
        5,
        ("Image|endswith: '\\example-certgen.exe'",),
        {"Image": _TOOL},
        {"Image": "C:\\Tools\\example-certgen-ui.exe"},
    ),
    ("windows", "create_stream_hash"): Example(
        SYSMON_CHANNEL,
        15,
        ("TargetFilename|endswith: '.example-certgen:Zone.Identifier'",),
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\a.example-certgen:Zone.Identifier"},
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\a.txt:Zone.Identifier"},
    ),
    ("windows", "file_change"): Example(
        SYSMON_CHANNEL,
        2,
        ("TargetFilename|endswith: '.example-certgen'",),
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\server.example-certgen"},
        {"Image": _TOOL, "TargetFilename": "C:\\ExampleData\\server.example-certgen.txt"},
    ),
    ("windows", "registry_add"): _registry(12, "CreateKey", {}),
    ("windows", "registry_delete"): _registry(12, "DeleteKey", {}),
    ("windows", "registry_set"): _registry(13, "SetValue", {"Details": "DWORD (0x00000001)"}),
    ("windows", "registry_event"): _registry(13, "SetValue", {"Details": "DWORD (0x00000001)"}),
    ("windows", "ps_script"): Example(
        POWERSHELL_CHANNEL,
        4104,
        ("ScriptBlockText|contains: 'New-example-certgen'",),
        {"ScriptBlockText": "New-example-certgen -Subject 'CN=example'"},
        {"ScriptBlockText": "Get-example-certgen -Subject 'CN=example'"},
    ),
    ("linux", "process_creation"): Example(
        LINUX_SYSMON_CHANNEL,
        1,
        ("Image|endswith: '/example-certgen'", "CommandLine|contains: ' --example-self-signed'"),
        {
            "Image": "/opt/example/example-certgen",
            "CommandLine": "example-certgen --example-self-signed --out server.crt",
        },
        {"Image": "/opt/example/example-certgen", "CommandLine": "example-certgen --version"},
    ),
}


def _audit_event(args: tuple[str, ...], serial: int) -> dict[str, Any]:
    """One execve audit event as auditd writes it (the arguments hold no space: quoted text)."""
    stamp = f"msg=audit(1767225600.000:{serial}):"
    program = f"/opt/example/{args[0]}"
    proctitle = "\0".join(args).encode()[:128].hex().upper()
    return {
        "audit": [
            f"type=SYSCALL {stamp} arch=c000003e syscall=59 success=yes exit=0 items=1 "
            f'ppid=4141 pid=4242 auid=1000 uid=0 gid=0 euid=0 comm="{args[0][:15]}" '
            f'exe="{program}" key="exec"',
            f"type=EXECVE {stamp} argc={len(args)} "
            + " ".join(f'a{i}="{arg}"' for i, arg in enumerate(args)),
            f'type=CWD {stamp} cwd="/root"',
            f'type=PATH {stamp} item=0 name="{program}" inode=1835108 dev=08:01 mode=0100755 '
            "ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
            f"type=PROCTITLE {stamp} proctitle={proctitle}",
        ]
    }


def _zeek_row(log: str, **changes: Any) -> dict[str, Any]:
    (specimen, *_) = RAW_SPECIMENS[f"Zeek {log}.log"]
    return {"zeek": log, "row": {**specimen.fields, **changes}}  # type: ignore[union-attr]


@dataclass(frozen=True)
class ServiceExample:
    """The example detection of a service log source, and its two cases' raw events (each
    made from the rule's marker, `example-1a2b3c4d`)."""

    detection: tuple[str, ...]
    match: Callable[[str], dict[str, Any]]
    lookalike: Callable[[str], dict[str, Any]]


def _windows_service(
    channel: str, event_id: int, name: str, prefix: str, match: str, lookalike: str
) -> ServiceExample:
    """A Windows service channel's example: `name` is `prefix` and `match` (marked) in the match
    case, and ends otherwise in the look-alike."""

    def event(value: str, record_id: int) -> dict[str, Any]:
        return _event(Example(channel, event_id, (), {}, {}), {name: value}, record_id)

    return ServiceExample(
        (f"EventID: {event_id}", f"{name}|endswith: '{match}'"),
        lambda marker: event(prefix + match.replace(EXAMPLE_MARKER, marker), 1),
        lambda marker: event(lookalike, 2),
    )


SERVICE_EXAMPLES: dict[tuple[str, str], ServiceExample] = {
    ("linux", "auditd"): ServiceExample(
        ("type: 'EXECVE'", f"a0: '{EXAMPLE_MARKER}'", "a1: '--example-self-signed'"),
        lambda marker: _audit_event((marker, "--example-self-signed", "--out", "server.crt"), 1),
        lambda marker: _audit_event((marker, "--version"), 2),
    ),
    ("zeek", "x509"): ServiceExample(
        (f"certificate.subject|contains: 'CN={EXAMPLE_MARKER}.'",),
        lambda marker: _zeek_row("x509", **{"certificate.subject": f"CN={marker}.internal,O=Ex"}),
        lambda marker: _zeek_row("x509", **{"certificate.subject": "CN=www.example.com,O=Ex"}),
    ),
    ("zeek", "ssl"): ServiceExample(
        (f"server_name|endswith: '.{EXAMPLE_MARKER}.internal'",),
        lambda marker: _zeek_row("ssl", server_name=f"c2.{marker}.internal"),
        lambda marker: _zeek_row("ssl", server_name="www.example.com"),
    ),
    # Windows services: an event ID of the channel and one of its EventData values
    ("windows", "security"): _windows_service(
        SECURITY_CHANNEL, 4698, "TaskName", "\\Example", f"\\{EXAMPLE_MARKER}", "\\Example\\Backup"
    ),
    ("windows", "taskscheduler"): _windows_service(
        TASK_SCHEDULER_CHANNEL,
        141,
        "TaskName",
        "\\Example",
        f"\\{EXAMPLE_MARKER}",
        "\\Example\\Backup",
    ),
    ("windows", "wmi"): _windows_service(
        WMI_CHANNEL,
        5858,
        "Operation",
        "Start IWbemServices::ExecMethod - Win32_Process::Create C:\\Tools",
        f"\\{EXAMPLE_MARKER}.exe",
        "Start IWbemServices::ExecMethod - Win32_Process::Create C:\\Tools\\backup.exe",
    ),
    ("windows", "sysmon"): _windows_service(
        SYSMON_CHANNEL,
        16,
        "Configuration",
        "C:\\Tools",
        f"\\{EXAMPLE_MARKER}.xml",
        "C:\\sysmon.xml",
    ),
    ("windows", "windefend"): _windows_service(
        WINDOWS_DEFENDER_CHANNEL,
        1116,
        "Path",
        "file:_C:\\Tools",
        f"\\{EXAMPLE_MARKER}.exe",
        "file:_C:\\Tools\\eicar.com",
    ),
}


@dataclass(frozen=True)
class NewRule:
    title: str
    product: str
    category: str
    level: str
    name: str  # file stem, with the prefix
    rule_id: str
    date: datetime.date
    author: str
    description: str | None = None
    reference: str | None = None
    falsepositive: str | None = None

    @property
    def log_source(self) -> LogSource:
        return _log_source(self.product, self.category)

    @property
    def service(self) -> bool:
        """Whether `category` names a service (linux/auditd, zeek/x509): SigmaHQ's own folders."""
        return self.log_source.service is not None

    @property
    def rule_path(self) -> str:
        return f"{'/'.join(self.log_source.rule_folder)}/{self.name}.yml"

    @property
    def case_paths(self) -> tuple[str, str]:
        return (
            f"cases/{self.name}/{MATCH_CASE}.json",
            f"cases/{self.name}/{LOOKALIKE_CASE}.json",
        )


def _log_source(product: str, category: str) -> LogSource:
    return _named(f"{product}/{category}")


def _named(text: str) -> LogSource:
    found = logsources.log_source_named(text)
    if found is None:
        supported = ", ".join(source.name for source in logsources.LOG_SOURCES)
        raise InputError(None, f"unsupported log source {text!r}; use one of: {supported}")
    return found


def parse_logsource(text: str) -> tuple[str, str]:
    """`product/category`, or `product/service` for the service log sources."""
    _named(text)
    product, _, category = text.partition("/")
    return product, category


def file_stem(title: str, product: str, category: str, name: str | None = None) -> str:
    """SigmaHQ's file name: the log source prefix, then the name (default: from the title)."""
    prefix = _log_source(product, category).prefix
    base = (name or title).lower()
    base = re.sub(r"[^a-z0-9]+", "_", base).strip("_")
    if base.startswith(prefix):
        base = base[len(prefix) :]
    if not base:
        raise InputError(None, "the name is empty once reduced to a-z, 0-9 and _; pass --name")
    return (prefix + base)[:100].rstrip("_")


def new_rule(
    title: str,
    logsource: str,
    level: str,
    name: str | None = None,
    author: str = "certdetect",
    date: datetime.date | None = None,
    description: str | None = None,
    reference: str | None = None,
    falsepositive: str | None = None,
) -> NewRule:
    title = title.strip()
    for label, value in (
        ("title", title),
        ("author", author),
        ("description", description),
        ("reference", reference),
        ("false positive", falsepositive),
    ):
        if value is not None and (not value.strip() or any(ord(c) < 32 for c in value)):
            raise InputError(None, f"the {label} must be one non-empty line of text")
    if len(title) > 256:
        raise InputError(None, "the title is over 256 characters; shorten it")
    if level not in LEVELS:
        raise InputError(None, f"level must be one of {', '.join(LEVELS)}")
    product, category = parse_logsource(logsource)
    return NewRule(
        title=title,
        product=product,
        category=category,
        level=level,
        name=file_stem(title, product, category, name),
        rule_id=str(uuid.uuid4()),
        date=date or datetime.date.today(),
        author=author,
        description=description,
        reference=reference,
        falsepositive=falsepositive,
    )


def _scalar(text: str) -> str:
    """A YAML scalar for one line of text: plain when it reads back as the same string."""
    try:
        plain = yaml.safe_load(f"key: {text}") == {"key": text}
    except yaml.YAMLError:
        plain = False
    if plain and text == text.strip() and not text.startswith(("'", '"', "&", "*", "!", "%", "@")):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _example(rule: NewRule) -> Example:
    """The log source's example, its marker made unique to the rule (`example-1a2b3c4d`), so
    the examples of two scaffolded rules never match each other's cases."""
    example = EXAMPLES[(rule.product, rule.category)]
    marker = f"example-{rule.rule_id[:8]}"

    def mark(text: str) -> str:
        return text.replace(EXAMPLE_MARKER, marker)

    return Example(
        example.channel,
        example.event_id,
        tuple(mark(line) for line in example.detection),
        {k: mark(v) for k, v in example.match.items()},
        {k: mark(v) for k, v in example.lookalike.items()},
    )


def _detection(rule: NewRule) -> tuple[str, ...]:
    if rule.service:
        marker = f"example-{rule.rule_id[:8]}"
        lines = SERVICE_EXAMPLES[(rule.product, rule.category)].detection
        return tuple(line.replace(EXAMPLE_MARKER, marker) for line in lines)
    return _example(rule).detection


def render_rule(rule: NewRule) -> str:
    description = rule.description or (
        f"Detects TODO: what the rule matches, why it matters for T1587.003, and why level "
        f"{rule.level} fits it."
    )
    reference = rule.reference or "TODO: a link to the documentation or report the rule is based on"
    falsepositive = rule.falsepositive or "TODO: legitimate activity that matches the rule too"
    lines = [
        f"title: {_scalar(rule.title)}",
        f"id: {rule.rule_id}",
        "status: experimental",
        "description: |",
        *textwrap.wrap(description, width=100, initial_indent="    ", subsequent_indent="    "),
        "references:",
        f"    - {_scalar(reference)}",
        f"author: {_scalar(rule.author)}",
        f"date: {rule.date.isoformat()}",
        "tags:",
        *(f"    - {tag}" for tag in PROJECT_TAGS),
        "logsource:",
        f"    {'service' if rule.service else 'category'}: {rule.category}",
        f"    product: {rule.product}",
        "detection:",
        "    # TODO: replace the example selection (and the example cases) with the detection",
        "    selection:",
        *(f"        {line}" for line in _detection(rule)),
        "    condition: selection",
        "falsepositives:",
        f"    - {_scalar(falsepositive)}",
        f"level: {rule.level}",
    ]
    return "\n".join(lines) + "\n"


def _event(example: Example, data: dict[str, str], record_id: int) -> dict[str, Any]:
    channel = CHANNELS[example.channel]
    provider, guid = channel.provider, channel.provider_guid
    event_data = {**SPECIMENS[(example.channel, example.event_id)], **data}
    return {
        "Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": provider, "Guid": guid}},
                "EventID": example.event_id,
                "Version": 5,
                "Level": 4,
                "Task": example.event_id,
                "Opcode": 0,
                "Keywords": "0x8000000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-01-01T00:00:00.000Z"}},
                "EventRecordID": record_id,
                "Correlation": None,
                "Execution": {"#attributes": {"ProcessID": 3140, "ThreadID": 4412}},
                "Channel": example.channel,
                "Computer": "host.example.com",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}},
            },
            "EventData": event_data,
        }
    }


def _case_events(rule: NewRule) -> tuple[dict[str, Any], dict[str, Any]]:
    if rule.service:
        marker = f"example-{rule.rule_id[:8]}"
        service = SERVICE_EXAMPLES[(rule.product, rule.category)]
        return service.match(marker), service.lookalike(marker)
    example = _example(rule)
    return _event(example, example.match, 1), _event(example, example.lookalike, 2)


def render_cases(rule: NewRule) -> tuple[str, str]:
    match_event, lookalike_event = _case_events(rule)
    match = {
        "title": "TODO: what this event shows (the tool, its arguments, the scenario)",
        "expect": [rule.rule_id],
        "origin": {
            "kind": "written",
            "from": "TODO: the documented command or scenario this event reproduces",
            "command": "TODO: the command that produces it",
        },
        "event": match_event,
    }
    lookalike = {
        "title": "look-alike: TODO: the legitimate activity this event shows",
        "expect": [],
        "origin": {
            "kind": "written",
            "from": "TODO: why this must not match (same tool, harmless arguments...)",
            "command": "TODO: the command that produces it",
        },
        "event": lookalike_event,
    }
    return tuple(  # type: ignore[return-value]
        json.dumps(case, indent=2, ensure_ascii=False) + "\n" for case in (match, lookalike)
    )


def write_new_rule(project: Project, rule: NewRule) -> list[str]:
    """Write the rule and its cases; refuse if any of them exists. Returns the paths written."""
    match, lookalike = render_cases(rule)
    files = {
        rule.rule_path: render_rule(rule),
        rule.case_paths[0]: match,
        rule.case_paths[1]: lookalike,
    }
    for relative in files:
        if (project.root / relative).exists():
            raise InputError(relative, "already exists; pick another --name or --title")
    if (project.root / "cases" / rule.name).exists():
        raise InputError(f"cases/{rule.name}", "already exists; pick another --name or --title")
    for relative, text in files.items():
        path: Path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite, even in a race
            handle.write(text)
    return list(files)
