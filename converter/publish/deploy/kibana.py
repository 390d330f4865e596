"""Elastic: the verified EQL queries as Kibana detection rules, one JSON object a line (NDJSON),
the file Kibana's Rules > Import (and `POST /api/detection_engine/rules/_import`) takes.

Index patterns: a query is verified against documents shaped as the Elastic Agent integrations
write them (`converter/execute/ingest/ecs.py`), so a rule searches exactly those data streams:
Sysmon for Windows in `windows.sysmon_operational`, Sysmon for Linux in `sysmon_linux.log`.
The Security 4688 stream (`system.security`) is left out on purpose: it has no
`process.pe.original_file_name`, and no case checks the rules on its documents.

Rules are imported disabled, as Elastic installs its prebuilt rules: read the false positives,
then enable. Schedule: every 5 minutes over the last 9, Elastic's prebuilt default.
"""

from __future__ import annotations

import json

from converter import __version__
from converter.core.errors import InputError
from converter.environment import Environment, EqlOverlay
from converter.publish.deploy.attack import FRAMEWORK, AttackMapping, Technique, technique
from converter.publish.deploy.metadata import KIBANA_SEVERITY, Deployable, release_number, verified
from converter.verify.build import BuildResult

PATH = "elastic/certdetect-rules.ndjson"
FORM = "Kibana detection rules (Rules > Import, NDJSON)"  # how the catalog names the file
SOURCE_TAG = "Source: certdetect"
TARGET = "eql"

# Sigma log source (product, category or service) -> the data streams of the Elastic Agent
# integrations whose documents the EQL artifacts are verified against
# (converter/execute/ingest/ecs*.py).
INDEX_PATTERNS: dict[tuple[str, str], tuple[str, ...]] = {
    # Sysmon 1 and Security 4688 (system integration) both carry process_creation
    ("windows", "process_creation"): (
        "logs-windows.sysmon_operational-*",
        "logs-system.security-*",
    ),
    ("windows", "image_load"): ("logs-windows.sysmon_operational-*",),
    ("windows", "process_access"): ("logs-windows.sysmon_operational-*",),
    ("windows", "file_event"): ("logs-windows.sysmon_operational-*",),
    ("windows", "pipe_created"): ("logs-windows.sysmon_operational-*",),
    ("windows", "network_connection"): ("logs-windows.sysmon_operational-*",),
    ("windows", "dns_query"): ("logs-windows.sysmon_operational-*",),
    ("windows", "create_remote_thread"): ("logs-windows.sysmon_operational-*",),
    ("windows", "driver_load"): ("logs-windows.sysmon_operational-*",),
    ("windows", "file_delete"): ("logs-windows.sysmon_operational-*",),
    ("windows", "raw_access_thread"): ("logs-windows.sysmon_operational-*",),
    ("windows", "process_termination"): ("logs-windows.sysmon_operational-*",),
    ("windows", "create_stream_hash"): ("logs-windows.sysmon_operational-*",),
    ("windows", "file_change"): ("logs-windows.sysmon_operational-*",),
    ("windows", "registry_add"): ("logs-windows.sysmon_operational-*",),
    ("windows", "registry_delete"): ("logs-windows.sysmon_operational-*",),
    ("windows", "registry_set"): ("logs-windows.sysmon_operational-*",),
    ("windows", "registry_event"): ("logs-windows.sysmon_operational-*",),
    ("windows", "ps_script"): ("logs-windows.powershell_operational-*",),
    ("linux", "process_creation"): ("logs-sysmon_linux.log-*",),
    ("linux", "auditd"): ("logs-auditd.log-*",),
    ("zeek", "x509"): ("logs-zeek.x509-*",),
    ("zeek", "ssl"): ("logs-zeek.ssl-*",),
    # Windows services; the windows integration has no data stream for Task Scheduler or
    # WMI-Activity, so their EQL is never verified and never deployed
    ("windows", "security"): ("logs-system.security-*",),
    ("windows", "sysmon"): ("logs-windows.sysmon_operational-*",),
    ("windows", "windefend"): ("logs-windows.windows_defender-*",),
}
_OS_TAGS = {"windows": "OS: Windows", "linux": "OS: Linux"}
_DOMAINS = {"zeek": "Domain: Network"}
_DATA_SOURCES = {
    ("windows", "process_creation"): ("Sysmon", "Windows Security Event Logs"),
    ("windows", "ps_script"): ("PowerShell Logs",),
    ("linux", "auditd"): ("Auditd",),
    ("zeek", "x509"): ("Zeek",),
    ("zeek", "ssl"): ("Zeek",),
}


def _reference(item: Technique) -> dict[str, str]:
    return {"id": item.id, "name": item.name, "reference": item.reference}


def threat(attack: AttackMapping) -> list[dict[str, object]]:
    """Kibana's `threat`: one entry per tactic, its techniques with their sub-techniques."""
    entries: list[dict[str, object]] = []
    for tactic in attack.tactics:
        parents: dict[str, dict[str, object]] = {}
        subtechniques: dict[str, list[dict[str, str]]] = {}
        for item in attack.techniques_of(tactic):
            parent_id = item.parent_id or item.id
            parents.setdefault(parent_id, dict(_reference(technique(parent_id))))
            if item.parent_id:
                subtechniques.setdefault(parent_id, []).append(_reference(item))
        entry: dict[str, object] = {
            "framework": FRAMEWORK,
            "tactic": {"id": tactic.id, "name": tactic.name, "reference": tactic.reference},
        }
        if parents:
            entry["technique"] = [
                {**parent, "subtechnique": subtechniques[parent_id]}
                if parent_id in subtechniques
                else parent
                for parent_id, parent in parents.items()
            ]
        entries.append(entry)
    return entries


def kibana_rule(
    item: Deployable, version: str = __version__, environment: Environment | None = None
) -> dict[str, object]:
    rule = item.rule
    # An environment overlay names where its data streams are (converter/environment/eql.py).
    logsource = (rule.product, rule.category or rule.service)
    overlay = environment.overlay(TARGET, EqlOverlay) if environment is not None else None
    index = (overlay and overlay.index_patterns(*logsource)) or INDEX_PATTERNS.get(logsource)
    if index is None:
        raise InputError(
            rule.source,
            f"no Elastic index pattern for log source {'/'.join(logsource)}; add the data "
            "stream its EQL is verified against to converter/publish/deploy/kibana.py",
        )
    severity, risk_score = KIBANA_SEVERITY[rule.level]
    # Elastic's rules tag as "<Prefix>: <Value>" (detection-rules' EXPECTED_RULE_TAGS); it has no
    # prefix for a third-party rule set, so the rule set is named in that shape.
    tags = [SOURCE_TAG, _DOMAINS.get(rule.product, "Domain: Endpoint")]
    if rule.product in _OS_TAGS:
        tags.append(_OS_TAGS[rule.product])
    tags.append("Use Case: Threat Detection")
    tags += [f"Tactic: {tactic.name}" for tactic in rule.attack.tactics]
    tags += [f"Data Source: {name}" for name in _DATA_SOURCES.get(logsource, ("Sysmon",))]
    return {
        "rule_id": rule.id,
        "name": rule.title,
        "description": rule.description,
        "type": "eql",
        "language": "eql",
        "query": item.query,
        "index": list(index),
        "severity": severity,
        "risk_score": risk_score,
        "threat": threat(rule.attack),
        "false_positives": list(rule.falsepositives),
        "references": list(rule.references),
        "tags": tags,
        "author": ["certdetect"],
        "license": "Apache-2.0",
        "from": "now-9m",
        "interval": "5m",
        "max_signals": 100,
        "enabled": False,
        "version": release_number(version),
    }


def render(build: BuildResult) -> dict[str, bytes]:
    rules = [kibana_rule(item, environment=build.environment) for item in verified(build, TARGET)]
    if not rules:
        return {}
    lines = [json.dumps(rule, ensure_ascii=False) for rule in rules]
    return {PATH: ("\n".join(lines) + "\n").encode("utf-8")}
