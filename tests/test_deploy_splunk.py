from __future__ import annotations

import dataclasses
import json
import re

import pytest
from addonfactory_splunk_conf_parser_lib import TABConfigParser

from converter.core.project import Project
from converter.core.status import Status
from converter.publish.artifacts import render as render_dist
from converter.publish.deploy import splunk_conf
from converter.verify.build import BuildResult, run_build

from .conftest import REPO

KEYS = [
    "description",
    "search",
    "disabled",
    "enableSched",
    "cron_schedule",
    "dispatch.earliest_time",
    "dispatch.latest_time",
    "schedule_window",
    "counttype",
    "relation",
    "quantity",
    "alert.track",
    "alert.digest_mode",
    "alert.severity",
    "alert.suppress",
    "action.correlationsearch.enabled",
    "action.correlationsearch.label",
    "action.correlationsearch.annotations",
    "action.notable",
    "action.notable.param.rule_title",
    "action.notable.param.rule_description",
    "action.notable.param.security_domain",
    "action.notable.param.severity",
]


@pytest.fixture(scope="module")
def build() -> BuildResult:
    return run_build(Project.at(REPO))


def _parse(build: BuildResult) -> dict[str, dict[str, str]]:
    """savedsearches.conf read by Splunk's own conf parser library."""
    parser = TABConfigParser()
    parser.read_string(splunk_conf.render(build)[splunk_conf.PATH].decode("utf-8"))
    assert parser.fields_outside_stanza == []
    return parser.item_dict()


def test_one_stanza_per_verified_rule_with_the_verified_search(build: BuildResult) -> None:
    stanzas = _parse(build)
    # a rule SPL refuses (a regex in a Sysmon-or-4688 rule) has no stanza
    deployed = [r for r in build.rules if r.targets["spl"].status is Status.VERIFIED]
    assert len(deployed) == len(build.rules) - 2
    assert list(stanzas) == [f"certdetect - {r.rule.title}" for r in deployed]
    dist = render_dist(build)
    for result in deployed:
        stanza = stanzas[f"certdetect - {result.rule.title}"]
        assert list(stanza) == KEYS
        assert stanza["search"] + "\n" == dist[f"spl/{result.rule.stem}.spl"].decode("utf-8")
        assert stanza["action.correlationsearch.label"] == f"certdetect - {result.rule.title}"
        assert stanza["action.notable.param.rule_title"] == result.rule.title


def test_schedule_alert_and_annotations_of_the_powershell_rule(build: BuildResult) -> None:
    stanza = _parse(build)["certdetect - PowerShell Creating Certificates Through .NET APIs"]
    assert {key: stanza[key] for key in KEYS[2:15]} == {
        "disabled": "1",
        "enableSched": "1",
        "cron_schedule": "0 * * * *",
        "dispatch.earliest_time": "-70m@m",
        "dispatch.latest_time": "-10m@m",
        "schedule_window": "auto",
        "counttype": "number of events",
        "relation": "greater than",
        "quantity": "0",
        "alert.track": "1",
        "alert.digest_mode": "0",
        "alert.severity": "4",
        "alert.suppress": "0",
    }
    assert json.loads(stanza["action.correlationsearch.annotations"]) == {
        "mitre_attack": ["T1587.003", "T1059.001"],
    }
    assert stanza["action.notable.param.severity"] == "medium"
    assert stanza["description"].endswith(
        "False positives: Legitimate PKI administrators or DevOps engineers using "
        "New-SelfSignedCertificate to generate test or internal-service certificates."
    )
    low = _parse(build)["certdetect - Certificate Or Key File Written To A Staging Folder"]
    assert low["alert.severity"] == "3"


def test_a_rule_without_verified_spl_gets_no_stanza(build: BuildResult) -> None:
    rules = [
        dataclasses.replace(
            r,
            targets={
                **r.targets,
                "spl": dataclasses.replace(r.targets["spl"], status=Status.UNSUPPORTED),
            },
        )
        if r.rule.stem == "proc_creation_lnx_openssl_execution"
        else r
        for r in build.rules
    ]
    stanzas = _parse(dataclasses.replace(build, rules=rules))
    assert len(stanzas) == len(_parse(build)) - 1
    assert "certdetect - OpenSSL Execution Without Generation Arguments On Linux" not in stanzas


@pytest.mark.parametrize("value", ["two\nlines", "ends with a continuation \\"])
def test_values_splunk_would_read_differently_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        splunk_conf.conf_value("search", value)


def test_zeek_searches_are_in_the_network_security_domain(build: BuildResult) -> None:
    stanzas = _parse(build)
    domains = {
        name: stanza["action.notable.param.security_domain"] for name, stanza in stanzas.items()
    }
    zeek = {
        f"certdetect - {r.rule.title}"
        for r in build.rules
        if r.rule.rule.logsource.product == "zeek"
    }
    assert zeek and {domains[name] for name in zeek} == {"network"}
    assert {domains[name] for name in domains if name not in zeek} == {"endpoint"}


def test_annotations_use_only_enterprise_security_frameworks(build: BuildResult) -> None:
    frameworks = {"mitre_attack", "kill_chain_phases", "cis20", "nist", "analytic_story"}
    for name, stanza in _parse(build).items():
        annotations = json.loads(stanza["action.correlationsearch.annotations"])
        assert set(annotations) <= frameworks, name
        assert all(re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in annotations["mitre_attack"])
