from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest

from converter.core.project import Project
from converter.core.status import Status
from converter.publish.deploy import navigator
from converter.verify.build import BuildResult, run_build

from .conftest import FILES, REPO

SCHEMA = json.loads((FILES / "deploy" / "navigator_layer.schema.json").read_text())


@pytest.fixture(scope="module")
def build() -> BuildResult:
    return run_build(Project.at(REPO))


def _layer(build: BuildResult) -> dict:
    return json.loads(navigator.render(build)[navigator.PATH])


def test_the_layer_follows_the_layer_format_and_scores_each_technique(
    build: BuildResult,
) -> None:
    layer = _layer(build)
    jsonschema.validate(layer, SCHEMA)
    assert layer["name"] == "certdetect 0.1.0"
    assert layer["versions"] == {"attack": "17", "navigator": "5.1.0", "layer": "4.5"}
    assert layer["filters"] == {"platforms": ["Linux", "Windows"]}
    assert [
        (t["techniqueID"], t["tactic"], t.get("score"), t["showSubtechniques"])
        for t in layer["techniques"]
    ] == [
        ("T1059", "execution", None, True),
        ("T1059.001", "execution", 3, False),
        ("T1553", "defense-evasion", None, True),
        ("T1553.004", "defense-evasion", 13, False),
        ("T1573", "command-and-control", None, True),
        ("T1573.002", "command-and-control", 5, False),
        ("T1587", "resource-development", None, True),
        ("T1587.003", "resource-development", len(build.rules), False),
    ]
    assert layer["gradient"]["maxValue"] == len(build.rules)
    root_install = layer["techniques"][3]
    assert "Certutil Importing Certificates Into A Certificate Store" in root_install["comment"]
    assert {
        "name": "Certutil Importing Certificates Into A Certificate Store",
        "value": "17976649-cec8-47e5-9118-f95515f1123a (eql, spl, kql)",
    } in root_install["metadata"]
    assert {
        "name": "PowerShell Script Importing A Certificate Into The Root Store",
        "value": "cee2efc0-4db1-49d5-9f87-90b2616530c4 (spl)",
    } in root_install["metadata"]


def test_a_rule_without_any_verified_target_does_not_count(build: BuildResult) -> None:
    rules = []
    for result in build.rules:
        if result.rule.stem == "proc_creation_win_powershell_certificate_api":
            targets = {
                name: dataclasses.replace(outcome, status=Status.CONVERTED)
                for name, outcome in result.targets.items()
            }
            result = dataclasses.replace(result, targets=targets)
        rules.append(result)
    layer = _layer(dataclasses.replace(build, rules=rules))
    # the script-block rule still carries T1059.001; the command-line rule no longer counts
    assert [(t["techniqueID"], t.get("score")) for t in layer["techniques"]] == [
        ("T1059", None),
        ("T1059.001", 2),
        ("T1553", None),
        ("T1553.004", 13),
        ("T1573", None),
        ("T1573.002", 5),
        ("T1587", None),
        ("T1587.003", len(build.rules) - 1),
    ]


def test_the_schema_refuses_a_malformed_technique(build: BuildResult) -> None:
    layer = _layer(build)
    layer["techniques"][0]["techniqueID"] = "1587.003"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(layer, SCHEMA)
