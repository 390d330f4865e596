from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from sigma.pipelines.microsoftxdr.tables import MICROSOFT_XDR_TABLES

from converter.core.project import Project
from converter.core.status import Status
from converter.publish.artifacts import render as render_dist
from converter.publish.deploy import sentinel
from converter.publish.deploy.attack import TACTICS, technique
from converter.verify.build import BuildResult, run_build

from .conftest import FILES, REPO

SCHEMA = json.loads((FILES / "deploy" / "sentinel_scheduled_rule.schema.json").read_text())
# Entity identifiers Sentinel accepts for the entity types used here (Sentinel's entity docs).
IDENTIFIERS = {
    "Host": {"HostName", "FullName", "NetBiosName", "AzureID", "OMSAgentID", "DnsDomain"},
    "Account": {"Name", "FullName", "NTDomain", "Sid", "UPNSuffix", "AadUserId"},
    "Process": {"CommandLine", "ProcessId", "CreationTimeUtc"},
    "File": {"Name", "Directory"},
    "RegistryValue": {"Name", "Value"},
}
SENTINEL_TACTIC = {tactic.shortname: tactic.name.title().replace(" ", "") for tactic in TACTICS}


@pytest.fixture(scope="module")
def build() -> BuildResult:
    return run_build(Project.at(REPO))


def _minutes(span: str) -> int:
    number, unit = int(span[:-1]), span[-1]
    return number * {"m": 1, "h": 60, "d": 1440}[unit]


def _documents(build: BuildResult) -> dict[str, dict]:
    return {
        path: yaml.safe_load(content.decode("utf-8"))
        for path, content in sentinel.render(build).items()
    }


def test_one_valid_analytics_rule_per_verified_kql_query(build: BuildResult) -> None:
    documents = _documents(build)
    verified = [r for r in build.rules if r.targets["kql"].status == Status.VERIFIED]
    assert sorted(documents) == sorted(f"sentinel/{r.rule.stem}.yaml" for r in verified)
    assert len(documents) == len(verified) >= 7
    dist = render_dist(build)
    for result in verified:
        document = documents[f"sentinel/{result.rule.stem}.yaml"]
        jsonschema.validate(document, SCHEMA)
        assert document["id"] == result.rule.id
        assert document["name"] == result.rule.title
        assert document["kind"] == "Scheduled"
        assert document["query"] == dist[f"kql/{result.rule.stem}.kql"].decode("utf-8")


def test_what_sentinel_validates_beyond_the_schema(build: BuildResult) -> None:
    for document in _documents(build).values():
        frequency = _minutes(document["queryFrequency"])
        period = _minutes(document["queryPeriod"])
        assert 5 <= frequency <= 14 * 1440 and frequency <= period <= 14 * 1440
        # every technique's tactics are listed (NoTechniquesWithoutMatchingTactics)
        for technique_id in document["relevantTechniques"]:
            for shortname in technique(technique_id).tactics:
                assert SENTINEL_TACTIC[shortname] in document["tactics"], technique_id
        # the required data is a Defender XDR table, and entities map columns it has
        (connector,) = document["requiredDataConnectors"]
        assert connector["connectorId"] == "MicrosoftThreatProtection"
        (table,) = connector["dataTypes"]
        assert document["query"].startswith(table + "\n")
        columns = MICROSOFT_XDR_TABLES[table]
        for mapping in document["entityMappings"]:
            for field in mapping["fieldMappings"]:
                assert field["identifier"] in IDENTIFIERS[mapping["entityType"]]
                assert field["columnName"] in columns, (table, field)


def test_fields_of_the_file_staging_rule(build: BuildResult) -> None:
    document = _documents(build)["sentinel/file_event_win_certificate_file_staging.yaml"]
    assert document["severity"] == "Low"
    assert document["tactics"] == ["ResourceDevelopment"]
    assert document["relevantTechniques"] == ["T1587.003"]
    assert document["requiredDataConnectors"] == [
        {"connectorId": "MicrosoftThreatProtection", "dataTypes": ["DeviceFileEvents"]}
    ]
    assert [m["entityType"] for m in document["entityMappings"]] == ["Host", "Account", "File"]
    assert (document["queryFrequency"], document["queryPeriod"]) == ("1h", "1h")
    assert (document["triggerOperator"], document["triggerThreshold"]) == ("gt", 0)
    assert document["version"] == "0.1.0"
    assert document["description"] == (
        "Detects certificate and key files (.pfx, .p12, .pem, .cer, .crt, .der, .key, .pvk, and "
        "the PKCS#7 and Authenticode bundles .p7b, .spc) created in world-writable or staging "
        "folders (Temp, AppData\\Local\\Temp, Users\\Public, ProgramData, Windows\\Temp, and "
        "the folders any user may write to under C:\\: PerfLogs, Windows\\Tasks, "
        "Windows\\Tracing), where adversaries stage self-signed certificates and exported keys "
        "before use or exfiltration. Level low under the project's severity model (staging): "
        "installers and agents also drop certificates in ProgramData and Temp.\nFalse positives: "
        "Installers and certificate management agents writing certificates to ProgramData or "
        "Temp.\n"
    )


def test_tactics_of_the_powershell_rule(build: BuildResult) -> None:
    document = _documents(build)["sentinel/proc_creation_win_powershell_certificate_api.yaml"]
    assert document["tactics"] == ["ResourceDevelopment", "Execution"]
    assert document["relevantTechniques"] == ["T1587.003", "T1059.001"]
    assert document["severity"] == "Medium"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Command and Control", "CommandAndControl"),
        ("Resource Development", "ResourceDevelopment"),
        ("Impact", "Impact"),
    ],
)
def test_sentinel_tactic_names(name: str, expected: str) -> None:
    assert sentinel.sentinel_tactic(name) == expected


def test_query_table_refuses_a_query_without_a_leading_table() -> None:
    assert sentinel.query_table("DeviceFileEvents\n| where true") == "DeviceFileEvents"
    with pytest.raises(ValueError, match="table name"):
        sentinel.query_table("let x = 1;\nDeviceFileEvents")


def test_the_yaml_is_block_style_and_stable(build: BuildResult) -> None:
    first = sentinel.render(build)
    assert first == sentinel.render(build)
    text = first["sentinel/proc_creation_win_certutil_certificate_import.yaml"].decode("utf-8")
    assert re.search(r"^query: \|\n  DeviceProcessEvents\n  \| where ", text, re.MULTILINE)
    assert text.endswith("version: 0.1.0\nkind: Scheduled\n")


def test_entities_carry_identifiers_that_merge_across_alerts(build: BuildResult) -> None:
    # Sentinel's entity reference: at most 3 identifiers a mapping; DeviceName is a fully
    # qualified name (FullName); Name+NTDomain and Sid are strong Account identifiers
    for document in _documents(build).values():
        mappings = {m["entityType"]: m["fieldMappings"] for m in document["entityMappings"]}
        assert all(len(fields) <= 3 for fields in mappings.values())
        assert mappings["Host"] == [{"identifier": "FullName", "columnName": "DeviceName"}]
        identifiers = {field["identifier"]: field["columnName"] for field in mappings["Account"]}
        assert set(identifiers) == {"Name", "NTDomain", "Sid"}
        assert identifiers["Sid"].endswith("AccountSid")
        assert identifiers["NTDomain"].endswith("AccountDomain")
