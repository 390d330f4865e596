"""Microsoft Sentinel: the verified KQL queries as scheduled analytics rules, one YAML file per
rule, in the template format of the Azure-Sentinel repository's detections (the format its
template validation checks and its tooling converts to ARM templates for deployment).

The KQL targets the Defender XDR advanced-hunting tables; Sentinel reads the same tables when the
Microsoft Defender XDR connector (`MicrosoftThreatProtection`) streams them into the workspace,
so that connector and the query's table are the rule's required data. The rule id is the Sigma
rule's UUID, so re-deploying updates the rule instead of adding one. Schedule: hourly over the
last hour. Entities: the device, the account and the process or file, from columns that the
Defender table of the query has.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from converter import __version__
from converter.environment import Environment, KqlOverlay
from converter.publish.deploy.metadata import SENTINEL_SEVERITY, Deployable, verified
from converter.verify.build import BuildResult

FOLDER = "sentinel"
FORM = "Microsoft Sentinel scheduled analytics rule (YAML template)"
TARGET = "kql"
CONNECTOR = "MicrosoftThreatProtection"

# Defender XDR table -> entity mappings: (entity type, ((identifier, column), ...)). Sentinel's
# entity reference: at most three identifiers per mapping; DeviceName holds the device's fully
# qualified name, so it is the Host's FullName (HostName is the name without the domain); an
# Account is identified by Name with NTDomain, or by Sid, so alerts on the same user merge.
Identifiers = tuple[tuple[str, str], ...]  # (identifier, column)


def _account(prefix: str) -> Identifiers:
    return (
        ("Name", f"{prefix}AccountName"),
        ("NTDomain", f"{prefix}AccountDomain"),
        ("Sid", f"{prefix}AccountSid"),
    )


_HOST: Identifiers = (("FullName", "DeviceName"),)
ENTITY_COLUMNS: dict[str, tuple[tuple[str, Identifiers], ...]] = {
    "DeviceProcessEvents": (
        ("Host", _HOST),
        ("Account", _account("")),
        ("Process", (("CommandLine", "ProcessCommandLine"),)),
    ),
    "DeviceFileEvents": (
        ("Host", _HOST),
        ("Account", _account("InitiatingProcess")),
        ("File", (("Name", "FileName"),)),
    ),
    "DeviceImageLoadEvents": (
        ("Host", _HOST),
        ("Account", _account("InitiatingProcess")),
        ("File", (("Name", "FileName"),)),
    ),
    "DeviceRegistryEvents": (
        ("Host", _HOST),
        ("Account", _account("InitiatingProcess")),
        ("Process", (("CommandLine", "InitiatingProcessCommandLine"),)),
        ("RegistryValue", (("Name", "RegistryValueName"),)),
    ),
}


def sentinel_tactic(name: str) -> str:
    """ATT&CK tactic name as Sentinel spells it: "Command and Control" -> "CommandAndControl"."""
    return "".join(word[:1].upper() + word[1:] for word in name.split())


def query_table(query: str) -> str:
    """The table a Defender XDR query starts from (its first token)."""
    first = query.split("|", 1)[0].split()
    if len(first) != 1 or not first[0].isidentifier():
        raise ValueError(f"KQL query does not start with a table name: {query[:60]!r}")
    return first[0]


def entity_mappings(
    table: str, columns: Mapping[str, str] | None = None
) -> list[dict[str, object]]:
    """Entity mappings of a Defender table; `columns` renames its columns (an environment's)."""
    renamed = columns or {}
    return [
        {
            "entityType": entity,
            "fieldMappings": [
                {"identifier": identifier, "columnName": renamed.get(column, column)}
                for identifier, column in identifiers
            ],
        }
        for entity, identifiers in ENTITY_COLUMNS.get(table, ())
    ]


def sentinel_rule(
    item: Deployable, version: str = __version__, environment: Environment | None = None
) -> dict[str, object]:
    rule = item.rule
    table = query_table(item.query)
    description = rule.description
    if rule.falsepositives:
        description += "\nFalse positives: " + "; ".join(rule.falsepositives) + "."
    document: dict[str, object] = {
        "id": rule.id,
        "name": rule.title,
        "description": description + "\n",
        "severity": SENTINEL_SEVERITY[rule.level],
        "requiredDataConnectors": [{"connectorId": CONNECTOR, "dataTypes": [table]}],
        "queryFrequency": "1h",
        "queryPeriod": "1h",
        "triggerOperator": "gt",
        "triggerThreshold": 0,
        "tactics": [sentinel_tactic(tactic.name) for tactic in rule.attack.tactics],
        "relevantTechniques": [technique.id for technique in rule.attack.techniques],
        "query": item.query + "\n",
    }
    overlay = environment.overlay(TARGET, KqlOverlay) if environment is not None else None
    if overlay is None:
        mappings = entity_mappings(table)
    else:  # the environment's table stands for a Defender table, with its columns renamed
        mappings = entity_mappings(overlay.stock_table(table), overlay.fields)
    if mappings:
        document["entityMappings"] = mappings
    document["version"] = version
    document["kind"] = "Scheduled"
    return document


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line text (queries, descriptions), as the Sentinel repo writes it."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(document: dict[str, object]) -> bytes:
    text = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    return text.encode("utf-8")


def render(build: BuildResult) -> dict[str, bytes]:
    return {
        f"{FOLDER}/{item.rule.stem}.yaml": dump(sentinel_rule(item, environment=build.environment))
        for item in verified(build, TARGET)
    }
