from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest

from converter.core.project import Project
from converter.core.status import Status
from converter.execute.engines.eql.parsing import parse_event_query
from converter.publish.artifacts import render as render_dist
from converter.publish.deploy import kibana
from converter.verify.build import BuildResult, run_build

from .conftest import FILES, REPO

SCHEMA = json.loads((FILES / "deploy" / "kibana_eql_rule.schema.json").read_text())


@pytest.fixture(scope="module")
def build() -> BuildResult:
    return run_build(Project.at(REPO))


def _rules(build: BuildResult) -> list[dict]:
    text = kibana.render(build)[kibana.PATH].decode("utf-8")
    assert text.endswith("\n") and "\n\n" not in text
    return [json.loads(line) for line in text.splitlines()]


def test_every_line_is_a_kibana_eql_rule_per_the_documented_schema(build: BuildResult) -> None:
    rules = _rules(build)
    for rule in rules:
        jsonschema.validate(rule, SCHEMA)
        parse_event_query(rule["query"])  # Elasticsearch EQL syntax, as Kibana checks it
    expected = {r.rule.id for r in build.rules if r.targets["eql"].status == Status.VERIFIED}
    assert [rule["rule_id"] for rule in rules] == [
        r.rule.id for r in build.rules if r.rule.id in expected
    ]
    # every rule Elastic can express is in the file (script blocks stored as analysed text,
    # auditd positional arguments and Zeek's split distinguished names cannot be: their manifest
    # entries say why)
    unsupported = {r.rule.stem for r in build.rules if r.targets["eql"].status != Status.VERIFIED}
    assert all(stem.startswith(("posh_ps_", "lnx_auditd_", "zeek_x509_")) for stem in unsupported)
    assert len(rules) == len(expected) == len(build.rules) - len(unsupported)


def test_each_rule_searches_the_data_streams_of_its_log_source(build: BuildResult) -> None:
    index = {rule["name"]: rule["index"] for rule in _rules(build)}
    # Sysmon 1 and Security 4688 both carry process creation
    assert index["Certutil Importing Certificates Into A Certificate Store"] == [
        "logs-windows.sysmon_operational-*",
        "logs-system.security-*",
    ]
    # script blocks are `text` in Elastic's PowerShell data stream: EQL cannot compare them, and
    # a rule Elasticsearch would reject is not shipped
    posh = [r.rule for r in build.rules if r.rule.stem.startswith("posh_ps_")]
    assert posh and not any(r.title in index for r in posh)
    zeek = [r.rule for r in build.rules if r.rule.stem.startswith("zeek_ssl_")]
    assert zeek and all(index[r.title] == ["logs-zeek.ssl-*"] for r in zeek)


def test_the_query_is_the_verified_artifact_byte_for_byte(build: BuildResult) -> None:
    dist = render_dist(build)
    stems = {r.rule.id: r.rule.stem for r in build.rules}
    for rule in _rules(build):
        artifact = dist[f"eql/{stems[rule['rule_id']]}.eql"].decode("utf-8")
        assert rule["query"] + "\n" == artifact


def test_metadata_of_the_certutil_rule(build: BuildResult) -> None:
    rule = next(r for r in _rules(build) if r["rule_id"] == "17976649-cec8-47e5-9118-f95515f1123a")
    assert rule["name"] == "Certutil Importing Certificates Into A Certificate Store"
    assert rule["description"].startswith("Detects certutil.exe importing a certificate or PFX")
    assert "\n" not in rule["description"] and "  " not in rule["description"]
    assert (rule["type"], rule["language"]) == ("eql", "eql")
    assert (rule["severity"], rule["risk_score"]) == ("medium", 47)
    assert rule["index"] == ["logs-windows.sysmon_operational-*", "logs-system.security-*"]
    assert rule["references"] == [
        "https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/certutil",
        "https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments",
    ]
    assert rule["false_positives"] == [
        "Certificate lifecycle or endpoint management software other than the agents the rule "
        "knows (Configuration Manager, Intune Management Extension, Venafi, DigiCert, left to "
        "the low agent rule) invoking certutil to deploy or renew certificates; add its install "
        "folder to filter_optional_management_agent"
    ]
    assert rule["threat"] == [
        {
            "framework": "MITRE ATT&CK",
            "tactic": {
                "id": "TA0042",
                "name": "Resource Development",
                "reference": "https://attack.mitre.org/tactics/TA0042/",
            },
            "technique": [
                {
                    "id": "T1587",
                    "name": "Develop Capabilities",
                    "reference": "https://attack.mitre.org/techniques/T1587/",
                    "subtechnique": [
                        {
                            "id": "T1587.003",
                            "name": "Digital Certificates",
                            "reference": "https://attack.mitre.org/techniques/T1587/003/",
                        }
                    ],
                }
            ],
        },
        {
            "framework": "MITRE ATT&CK",
            "tactic": {
                "id": "TA0005",
                "name": "Defense Evasion",
                "reference": "https://attack.mitre.org/tactics/TA0005/",
            },
            "technique": [
                {
                    "id": "T1553",
                    "name": "Subvert Trust Controls",
                    "reference": "https://attack.mitre.org/techniques/T1553/",
                    "subtechnique": [
                        {
                            "id": "T1553.004",
                            "name": "Install Root Certificate",
                            "reference": "https://attack.mitre.org/techniques/T1553/004/",
                        }
                    ],
                }
            ],
        },
    ]
    assert rule["tags"] == [
        "Source: certdetect",
        "Domain: Endpoint",
        "OS: Windows",
        "Use Case: Threat Detection",
        "Tactic: Resource Development",
        "Tactic: Defense Evasion",
        "Data Source: Sysmon",
        "Data Source: Windows Security Event Logs",
    ]
    assert (rule["enabled"], rule["interval"], rule["from"], rule["version"]) == (
        False,
        "5m",
        "now-9m",
        100,
    )


def test_levels_and_index_patterns_per_rule(build: BuildResult) -> None:
    by_name = {rule["name"]: rule for rule in _rules(build)}
    linux = by_name["OpenSSL Execution Without Generation Arguments On Linux"]
    assert (linux["severity"], linux["risk_score"]) == ("low", 21)
    assert linux["index"] == ["logs-sysmon_linux.log-*"]
    assert "OS: Linux" in linux["tags"]
    staging = by_name["Certificate Or Key File Written To A Staging Folder"]
    assert (staging["severity"], staging["risk_score"]) == ("low", 21)
    assert staging["index"] == ["logs-windows.sysmon_operational-*"]


def _with_status(build: BuildResult, stem: str, target: str, status: str) -> BuildResult:
    rules = []
    for result in build.rules:
        if result.rule.stem == stem:
            outcome = dataclasses.replace(result.targets[target], status=status)
            result = dataclasses.replace(result, targets={**result.targets, target: outcome})
        rules.append(result)
    return dataclasses.replace(build, rules=rules)


def test_a_rule_whose_eql_is_not_verified_is_left_out(build: BuildResult) -> None:
    changed = _with_status(
        build, "proc_creation_win_certutil_certificate_import", "eql", Status.CONVERTED
    )
    ids = [rule["rule_id"] for rule in _rules(changed)]
    assert len(ids) == len(_rules(build)) - 1
    assert "17976649-cec8-47e5-9118-f95515f1123a" not in ids


def test_no_verified_eql_means_no_file(build: BuildResult) -> None:
    changed = build
    for result in build.rules:
        changed = _with_status(changed, result.rule.stem, "eql", Status.CONVERTED)
    assert kibana.render(changed) == {}


@pytest.mark.parametrize(
    "change",
    [
        {"falsePositives": []},
        {"risk_score": 150},
        {"severity": "informational"},
        {"threat": [{"framework": "MITRE ATT&CK", "tactic": {"id": "T1587", "name": "x"}}]},
    ],
)
def test_the_schema_refuses_what_kibana_refuses(build: BuildResult, change: dict) -> None:
    rule = {**_rules(build)[0], **change}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, SCHEMA)


def test_every_tag_follows_elastics_prefix_convention(build: BuildResult) -> None:
    # detection-rules' EXPECTED_RULE_TAGS prefixes, plus the rule set's own Source tag
    prefixes = {
        "Data Source",
        "Domain",
        "OS",
        "Rule Type",
        "Resources",
        "Tactic",
        "Threat",
        "Use Case",
        "Source",
    }
    for rule in _rules(build):
        for tag in rule["tags"]:
            prefix, _, value = tag.partition(": ")
            assert prefix in prefixes and value, tag
        assert kibana.SOURCE_TAG in rule["tags"]
