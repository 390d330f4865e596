"""Elastic model of the Windows service channels: Security events beside 4688, Defender Antivirus.

Like `ecs`, these replay the Elastic Agent integrations' ingest pipelines (elastic/integrations,
read in 2026) from the fields the `winlog` input emits (`ecs_winlog`):

- Security 4648 (explicit credentials) and 4698-4702 (scheduled task created, deleted, enabled,
  disabled, updated): `packages/system/data_stream/security/elasticsearch/ingest_pipeline/
  standard.yml` (data stream `system.security`; the windows package's `windows.forwarded`
  stream links the same pipeline) - its categorization table (`event.category`, `event.type`,
  `event.action`) and the subject's `user.*` and `winlog.logon.id`; every other value stays in
  `winlog.event_data` (`TaskName`, `TargetServerName`, ...).
- Defender Antivirus 1116/1117/1119: `packages/windows/data_stream/windows_defender/
  elasticsearch/ingest_pipeline/default.yml` (data stream `windows.windows_defender`). The
  `winlog` input writes EventData names with underscores for spaces (`Threat_Name`, the names
  the pipeline reads); `Process_Name` becomes `process.executable` (and `process.name`), `Path`
  without its `file:_` prefix `file.path`, `Detection_User` `user.domain`/`user.name`.

Not stored: the Task Scheduler and WMI-Activity channels (the windows integration has no data
stream for them). Not modelled: the Security pipeline's 4648 extras (`user.target`, `source.ip`
from the target and network values) and the agent-side scheduled task XML decoding
(`winlog.scheduled_task`).
"""

from __future__ import annotations

import re
from typing import Any

from converter.core.documents import EcsDocument
from converter.core.events import WindowsEvent
from converter.execute.ingest.ecs_winlog import node, prune, winlog_base

# standard.yml's categorization of the Security events modelled here.
SECURITY_CATEGORIZATION: dict[int, tuple[list[str], list[str], str]] = {
    4648: (["authentication"], ["start"], "logged-in-explicit"),
    4698: (["iam", "configuration"], ["creation", "admin"], "scheduled-task-created"),
    4699: (["iam", "configuration"], ["deletion", "admin"], "scheduled-task-deleted"),
    4700: (["iam", "configuration"], ["change", "admin"], "scheduled-task-enabled"),
    4701: (["iam", "configuration"], ["change", "admin"], "scheduled-task-disabled"),
    4702: (["iam", "configuration"], ["change", "admin"], "scheduled-task-updated"),
}


def security_subject(doc: dict[str, Any], data: dict[str, str]) -> list[str]:
    """The subject's `user.*` and `winlog.logon.id` (values stay in event_data); related users."""
    related: list[str] = []
    user = node(doc, "user")
    if "SubjectUserSid" in data:
        user["id"] = data["SubjectUserSid"]
    if "SubjectUserName" in data:
        user["name"] = data["SubjectUserName"]
        related.append(data["SubjectUserName"])
    if "SubjectDomainName" in data:
        user["domain"] = data["SubjectDomainName"]
    if "SubjectLogonId" in data:
        doc["winlog"]["logon"] = {"id": data["SubjectLogonId"]}
    return related


def security_event(event: WindowsEvent) -> EcsDocument:
    # 4648, 4698-4702: categorization and the subject; everything else stays in event_data.
    doc = winlog_base(event, "system.security", "system", "windows")
    doc["ecs"] = {"version": "8.0.0"}
    category, types, action = SECURITY_CATEGORIZATION[event.event_id]
    doc["event"].update(category=list(category), type=list(types), action=action)
    data = dict(event.data)
    related = security_subject(doc, data)
    if related:
        doc["related"] = {"user": related}
    if data:
        doc["winlog"]["event_data"] = data
    return prune(doc)


_DEFENDER_MALWARE = ("1116", "1117")
_DEFENDER_PATH_PREFIX = re.compile(r".*:_")


def windows_defender(event: WindowsEvent) -> EcsDocument:
    doc = winlog_base(event, "windows.windows_defender", "windows", "windows")
    doc["ecs"] = {"version": "8.11.0"}
    # the winlog input's EventData names: spaces become underscores
    data = {name.replace(" ", "_"): value for name, value in event.data.items()}
    code = str(event.event_id)
    malware = code in _DEFENDER_MALWARE
    if malware:
        doc["event"]["action"] = "malware-detected"
        if code == "1117" and data.get("Action_Name") == "Quarantine":
            doc["event"]["action"] = "malware-quarantined"
    doc["event"]["category"] = ["malware" if malware else "process"]
    doc["event"]["type"] = ["info"]
    if data.get("Error_Description") == "The operation completed successfully. ":
        doc["event"]["outcome"] = "success"
    if data.get("FWLink"):
        doc["event"]["reference"] = data["FWLink"]
    parts = (data.get("Detection_User") or data.get("User") or "").split("\\")
    if len(parts) == 2:
        user = node(doc, "user")
        if parts[0]:
            user["domain"] = parts[0]
        if parts[1]:
            user["name"] = parts[1]
    if "Path" in data:
        file = node(doc, "file")
        file["path"] = _DEFENDER_PATH_PREFIX.sub("", data["Path"])
        file["name"] = file["path"].rsplit("\\", 1)[-1]
        dot = file["name"].find(".")
        if dot > -1 and dot < len(file["name"]) - 1:
            file["extension"] = file["name"][dot + 1 :]  # grok: GREEDYDATA after the first "."
    if "Process_Name" in data and code != "1126":
        executable = data.pop("Process_Name")
        process = node(doc, "process")
        process["executable"] = executable
        process["name"] = executable.rsplit("\\", 1)[-1]
    if data:
        doc["winlog"]["event_data"] = data
    return prune(doc)
