"""A one-rule project for the verdict tests: small enough to build in a second, real enough to
go through every evaluator (the Sigma reference and the EQL, SPL and KQL engines).

The rule and its two cases are what `certdetect new` scaffolds for windows/process_creation,
which builds verified on every target (tests/test_cli_new.py).
"""

from __future__ import annotations

import datetime
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sigma.backends.splunk import SplunkBackend

import converter.verify.build as build_module
from converter.convert.conversion import Converted, TargetBackends
from converter.core.project import Project
from converter.core.rules import RuleFile
from converter.scaffold import new_rule, write_new_rule

from .conftest import REPO

EVALUATORS = ("sigma", "eql", "spl", "kql")


@dataclass(frozen=True)
class Probe:
    project: Project
    stem: str  # the rule's file stem, also its cases folder
    rule_id: str

    @property
    def match(self) -> Path:
        return self.project.cases_dir / self.stem / "match_example.json"

    @property
    def lookalike(self) -> Path:
        return self.project.cases_dir / self.stem / "lookalike_example.json"

    def case(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8"))

    def write_case(self, path: Path, case: dict[str, Any]) -> None:
        path.write_text(json.dumps(case, indent=2), encoding="utf-8")


def probe_project(root: Path) -> Probe:
    (root / "sigma").mkdir(parents=True)
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    project = Project.at(root)
    rule = new_rule(
        "Verdict Probe", "windows/process_creation", "medium", date=datetime.date(2026, 12, 6)
    )
    write_new_rule(project, rule)
    return Probe(project, rule.name, rule.rule_id)


def splunk_writes_a_second_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Splunk conversion gone wrong: a pipe into a command no filter may run."""
    original = build_module.convert_for_target

    def convert(backends: TargetBackends, rule: RuleFile) -> Converted:
        converted = original(backends, rule)
        if isinstance(backends.main, SplunkBackend):
            return replace(converted, query=converted.query + " | delete")
        return converted

    monkeypatch.setattr(build_module, "convert_for_target", convert)
