"""The log sources this project verifies, and the Windows event channels that carry them.

One table, read by everyone who needs to know a log source: the Sigma reference
(`converter.reference`: which raw events a rule reads), the conventions check (SigmaHQ's file
prefix and folder), `certdetect new` (`converter.scaffold`), the field specimens
(`converter.verify.specimens`) and the ingest models, whose builder tables are keyed by the
channel constants below.

Vocabulary follows pySigma's: a Windows channel is named as in the EVTX `System/Channel` element,
and the Sigma service of a channel is the key pySigma gives it in
`sigma/pipelines/common.py` (`windows_logsource_mapping`: `sysmon`, `security`, `powershell`).
A log source is a Sigma `product` with a `category` (taxonomy appendix, "Windows Folder",
"Linux Folder") or a `service` (SigmaHQ's `linux/auditd` and `zeek/<log>` folders).

PowerShell is two channels (Windows PowerShell 5.1 writes `Microsoft-Windows-PowerShell/
Operational`, PowerShell 7 writes `PowerShellCore/Operational`); pySigma's `powershell` service
and the taxonomy's `ps_script` name both, so the reference reads both. What a SIEM stores is the
vendor's choice, and each ingest model's builder table says it: the Elastic windows integration's
`powershell_operational` data stream reads the Windows PowerShell channel only; the Splunk model
stores the source the Splunk pipeline searches (`XmlWinEventLog:Microsoft-Windows-PowerShell/
Operational`), although Splunk's own `powershell` macro (security_content) also names
`XmlWinEventLog:PowerShellCore/Operational`; Defender XDR has no script-block table at all.

How to add a log source
-----------------------
1. Append a `LogSource` to `LOG_SOURCES`: product, category (or service), SigmaHQ's file prefix
   (its `tests/logsource.json` lists them), the folder if SigmaHQ files it elsewhere than
   `sigma/<product>/<category>/`, and what carries it: `WindowsEvents` (a channel constant below,
   adding one to `CHANNELS` if it is new, and the event IDs the taxonomy names), `AuditdRecords`
   or `ZeekLog`. The reference and the conventions check accept it from then on.
2. If the Sigma taxonomy names its fields differently from the raw event, add the mapping to the
   reference (`converter/reference/sources.py`, `TAXONOMY_FIELDS`).
3. Give every (channel, event ID) a specimen (`converter/verify/specimens.py`), so the field
   check knows what the targets' documents carry.
4. Add a builder to each ingest model that stores it (`BUILDERS` in
   `converter/execute/ingest/ecs.py`, `splunk.py`, `defender.py`); `stores` follows.
5. Add an example to `converter/scaffold.py` (`EXAMPLES` or `SERVICE_EXAMPLES`) so
   `certdetect new` can write a rule and cases for it, then a rule and its cases.
`tests/test_logsources.py` walks steps 1 and 4 with a toy log source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# --- Windows channels (EVTX System/Channel) ---------------------------------------------------

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SECURITY_CHANNEL = "Security"
POWERSHELL_CHANNEL = "Microsoft-Windows-PowerShell/Operational"
POWERSHELL_CORE_CHANNEL = "PowerShellCore/Operational"
LINUX_SYSMON_CHANNEL = "Linux-Sysmon/Operational"  # Sysmon for Linux keeps the Windows layout
TASK_SCHEDULER_CHANNEL = "Microsoft-Windows-TaskScheduler/Operational"
WMI_CHANNEL = "Microsoft-Windows-WMI-Activity/Operational"
WINDOWS_DEFENDER_CHANNEL = "Microsoft-Windows-Windows Defender/Operational"


@dataclass(frozen=True)
class Channel:
    """A channel's provider as the EVTX `System/Provider` element names it."""

    name: str
    provider: str
    # The provider GUID, where a scaffolded event carries it.
    provider_guid: str | None = None
    # pySigma's Sigma service for the channel (`windows_logsource_mapping`); None outside Windows.
    service: str | None = None


CHANNELS: dict[str, Channel] = {
    channel.name: channel
    for channel in (
        Channel(
            SYSMON_CHANNEL,
            "Microsoft-Windows-Sysmon",
            "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
            "sysmon",
        ),
        Channel(
            SECURITY_CHANNEL,
            "Microsoft-Windows-Security-Auditing",
            "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "security",
        ),
        Channel(
            POWERSHELL_CHANNEL,
            "Microsoft-Windows-PowerShell",
            "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}",
            "powershell",
        ),
        Channel(POWERSHELL_CORE_CHANNEL, "PowerShellCore", None, "powershell"),
        Channel(LINUX_SYSMON_CHANNEL, "Linux-Sysmon", "{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"),
        Channel(
            TASK_SCHEDULER_CHANNEL,
            "Microsoft-Windows-TaskScheduler",
            "{de7b24ea-73c8-4a09-985d-5bdadcfa9017}",
            "taskscheduler",
        ),
        Channel(
            WMI_CHANNEL,
            "Microsoft-Windows-WMI-Activity",
            "{1418ef04-b0b4-4623-bf7e-d74ab47bbdaa}",
            "wmi",
        ),
        Channel(
            WINDOWS_DEFENDER_CHANNEL,
            "Microsoft-Windows-Windows Defender",
            "{11cd958a-c507-4ef3-b3f2-5fd9dfbd2c78}",
            "windefend",
        ),
    )
}


# --- What carries a log source -----------------------------------------------------------------


@dataclass(frozen=True)
class WindowsEvents:
    """Windows events (or Sysmon for Linux events) of given channels and IDs."""

    name: str  # how reports name these events, e.g. "Sysmon 1"
    channels: frozenset[str]
    event_ids: frozenset[int]
    # EventData name -> accepted values, for log sources narrower than an event ID.
    required: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # A Sigma service is its whole channel: every event ID is read, and `event_ids` lists only
    # those the project models (specimens, ingest builders, scaffold examples).
    whole_channel: bool = False

    def reads(self, channel: str, event_id: int) -> bool:
        """Whether events of this channel and ID carry the log source."""
        return channel in self.channels and (self.whole_channel or event_id in self.event_ids)

    @property
    def keys(self) -> tuple[tuple[str, int], ...]:
        """Every modelled (channel, event ID) pair, in a stable order."""
        return tuple(
            (channel, event_id)
            for channel in sorted(self.channels)
            for event_id in sorted(self.event_ids)
        )


@dataclass(frozen=True)
class AuditdRecords:
    """Linux audit events (`AuditdEvent`), read one record at a time."""

    name: str = "auditd"


@dataclass(frozen=True)
class ZeekLog:
    """Rows of one Zeek log (`ZeekRecord` with this `log`)."""

    log: str

    @property
    def name(self) -> str:
        return f"Zeek {self.log}.log"


Carrier = WindowsEvents | AuditdRecords | ZeekLog


@dataclass(frozen=True)
class LogSource:
    """A Sigma log source this project can verify: its name, SigmaHQ's file layout, its events."""

    product: str
    category: str | None
    service: str | None
    prefix: str  # SigmaHQ's file name prefix
    carriers: tuple[Carrier, ...]
    # SigmaHQ's folder, when it is not sigma/<product>/<category>/.
    folder: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """`product/category` or `product/service`, as `certdetect new --logsource` takes it."""
        return f"{self.product}/{self.category or self.service}"

    @property
    def rule_folder(self) -> tuple[str, ...]:
        return self.folder or ("sigma", self.product, self.category or self.service or "")


def _sysmon(name: str, *event_ids: int, **required: frozenset[str]) -> WindowsEvents:
    return WindowsEvents(name, frozenset({SYSMON_CHANNEL}), frozenset(event_ids), required)


def _category(product: str, category: str, prefix: str, *carriers: Carrier) -> LogSource:
    return LogSource(product, category, None, prefix, carriers)


def _service(product: str, service: str, prefix: str, folder: str, *carriers: Carrier) -> LogSource:
    return LogSource(product, None, service, prefix, carriers, tuple(folder.split("/")))


def _channel(name: str, channel: str, *modelled: int) -> WindowsEvents:
    """Every event of a Windows channel (a Sigma service), with the event IDs modelled."""
    return WindowsEvents(name, frozenset({channel}), frozenset(modelled), whole_channel=True)


# Channels and event IDs from the taxonomy appendix. registry_delete is narrowed to deletions
# (the taxonomy lists only EID 12, which Sysmon also writes for creations; its EventType tells
# CreateKey/DeleteKey/CreateValue/DeleteValue apart); registry_add keeps every EID 12 event, as
# the taxonomy and pySigma's sysmon pipeline do. process_creation is also Security 4688 (the
# specification's own field-mapping example, pySigma's windows-audit pipeline). pipe_created is
# both pipe events (created and connected), as the taxonomy and pySigma's sysmon pipeline map it;
# file_delete is Sysmon 23 (deletion archived) only: pySigma's sysmon pipeline, like the taxonomy,
# names 26 (deletion logged only) file_delete_detected, a log source of its own.
LOG_SOURCES: tuple[LogSource, ...] = (
    _category(
        "windows",
        "process_creation",
        "proc_creation_win_",
        _sysmon("Sysmon 1", 1),
        WindowsEvents("Security 4688", frozenset({SECURITY_CHANNEL}), frozenset({4688})),
    ),
    _category("windows", "image_load", "image_load_", _sysmon("Sysmon 7", 7)),
    _category("windows", "process_access", "proc_access_win_", _sysmon("Sysmon 10", 10)),
    _category("windows", "file_event", "file_event_win_", _sysmon("Sysmon 11", 11)),
    _category("windows", "pipe_created", "pipe_created_", _sysmon("Sysmon 17/18", 17, 18)),
    _category("windows", "network_connection", "net_connection_win_", _sysmon("Sysmon 3", 3)),
    _category("windows", "dns_query", "dns_query_win_", _sysmon("Sysmon 22", 22)),
    _category(
        "windows", "create_remote_thread", "create_remote_thread_win_", _sysmon("Sysmon 8", 8)
    ),
    _category("windows", "driver_load", "driver_load_win_", _sysmon("Sysmon 6", 6)),
    _category("windows", "file_delete", "file_delete_win_", _sysmon("Sysmon 23", 23)),
    _category("windows", "raw_access_thread", "raw_access_thread_win_", _sysmon("Sysmon 9", 9)),
    _category("windows", "process_termination", "proc_termination_win_", _sysmon("Sysmon 5", 5)),
    _category("windows", "create_stream_hash", "create_stream_hash_", _sysmon("Sysmon 15", 15)),
    _category("windows", "file_change", "file_change_win_", _sysmon("Sysmon 2", 2)),
    _category("windows", "registry_add", "registry_add_win_", _sysmon("Sysmon 12", 12)),
    _category(
        "windows",
        "registry_delete",
        "registry_delete_win_",
        _sysmon("Sysmon 12 (delete)", 12, EventType=frozenset({"DeleteKey", "DeleteValue"})),
    ),
    _category("windows", "registry_set", "registry_set_win_", _sysmon("Sysmon 13", 13)),
    _category(
        "windows", "registry_event", "registry_event_win_", _sysmon("Sysmon 12/13/14", 12, 13, 14)
    ),
    _category(
        "windows",
        "ps_script",
        "posh_ps_",
        WindowsEvents(
            "PowerShell 4104",
            frozenset({POWERSHELL_CHANNEL, POWERSHELL_CORE_CHANNEL}),
            frozenset({4104}),
        ),
    ),
    _category(
        "linux",
        "process_creation",
        "proc_creation_lnx_",
        WindowsEvents("Sysmon for Linux 1", frozenset({LINUX_SYSMON_CHANNEL}), frozenset({1})),
    ),
    _service("linux", "auditd", "lnx_auditd_", "sigma/linux/auditd", AuditdRecords()),
    _service("zeek", "x509", "zeek_x509_", "sigma/network/zeek", ZeekLog("x509")),
    _service("zeek", "ssl", "zeek_ssl_", "sigma/network/zeek", ZeekLog("ssl")),
    # Windows services: pySigma's `windows_logsource_mapping` service -> channel, each read whole
    # (a `service: security` rule reads every Security event, whereas `process_creation` reads
    # only 4688). Modelled: Security 4648 (explicit credentials) and 4698-4702 (scheduled tasks),
    # Task Scheduler 141/142, WMI-Activity 5858, the Sysmon service events (4 service state,
    # 16 configuration change, 255 error) and Defender Antivirus 1116/1117/1119.
    _service(
        "windows",
        "security",
        "win_security_",
        "sigma/windows/builtin/security",
        _channel("Security", SECURITY_CHANNEL, 4648, 4688, 4698, 4699, 4700, 4701, 4702),
    ),
    _service(
        "windows",
        "taskscheduler",
        "win_taskscheduler_",
        "sigma/windows/builtin/taskscheduler",
        _channel("Task Scheduler", TASK_SCHEDULER_CHANNEL, 141, 142),
    ),
    _service(
        "windows",
        "wmi",
        "win_wmi_",
        "sigma/windows/builtin/wmi",
        _channel("WMI-Activity", WMI_CHANNEL, 5858),
    ),
    _service(
        "windows",
        "sysmon",
        "sysmon_",
        "sigma/windows/sysmon",
        _channel("Sysmon service", SYSMON_CHANNEL, 4, 16, 255),
    ),
    _service(
        "windows",
        "windefend",
        "win_defender_",
        "sigma/windows/builtin/windefend",
        _channel("Defender Antivirus", WINDOWS_DEFENDER_CHANNEL, 1116, 1117, 1119),
    ),
)


def find_log_source(
    product: str | None, category: str | None, service: str | None
) -> LogSource | None:
    """The log source of a rule's `logsource` (a category or a service, not both); None if the
    project has none."""
    if not product or bool(category) == bool(service):
        return None
    for source in LOG_SOURCES:
        if (source.product, source.category, source.service) == (product, category, service):
            return source
    return None


def log_source_named(name: str) -> LogSource | None:
    """The log source `product/category` or `product/service` names (`LogSource.name`)."""
    return next((source for source in LOG_SOURCES if source.name == name), None)
