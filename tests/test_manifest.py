from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sigma.rule import SigmaRule

from converter import __version__
from converter.cli import main
from converter.core.cases import Case
from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.rules import RuleFile
from converter.core.status import Status
from converter.execute.runtimes import TargetRuntime
from converter.publish.artifacts import render
from converter.publish.manifest import (
    CaseTally,
    EnvironmentEntry,
    Manifest,
    RuleEntry,
    TargetEntry,
    manifest_of,
    parse_manifest,
    read_manifest,
    render_manifest,
)
from converter.verify.build import BuildResult, Outcome, RuleResult, evaluate_artifact

from .conftest import REPO

RULE_ID = "5f0c4d0e-3a51-4a39-8d6e-2f9a1f0b7c11"
RULE_TEXT = f"""\
title: Keytool Generating A Key Pair
id: {RULE_ID}
status: test
description: Inline rule for the manifest tests
author: certdetect tests
date: 2026-12-06
tags:
  - attack.t1587.003
logsource:
  product: linux
  category: process_creation
detection:
  selection:
    Image|endswith: /keytool
  condition: selection
level: medium
"""


def _rule() -> RuleFile:
    return RuleFile("sigma/linux/keytool.yml", RULE_TEXT, SigmaRule.from_yaml(RULE_TEXT))


def _sample() -> Manifest:
    """Every status, a converted query, an empty matched list and an environment block."""
    return Manifest(
        version="9.9.9",
        environment=EnvironmentEntry(
            name="acme-prod",
            description=None,
            pipelines={"eql": "environment/eql.yml", "spl": "environment/spl.yml"},
        ),
        rules=(
            RuleEntry(
                id=RULE_ID,
                title="Keytool – Key Pair",  # non-ASCII stays as written (ensure_ascii=False)
                level="medium",
                tags=("attack.t1587.003",),
                source="sigma/linux/keytool.yml",
                sha256="ab" * 32,
                targets={
                    "eql": TargetEntry(
                        Status.VERIFIED, "eql/keytool.eql", CaseTally(2, ("keytool/hit",)), None
                    ),
                    "spl": TargetEntry(
                        Status.CONVERTED, "spl/keytool.spl", CaseTally(0, ()), "no engine"
                    ),
                    "kql": TargetEntry(Status.UNSUPPORTED, None, CaseTally(0, ()), "no table"),
                    "xql": TargetEntry(Status.FAILED, None, CaseTally(2, ()), "rejected"),
                },
            ),
        ),
    )


# --- round trip ----------------------------------------------------------------------------------


def test_reading_what_the_writer_wrote_gives_the_same_records() -> None:
    manifest = _sample()
    assert parse_manifest(render_manifest(manifest).decode("utf-8")) == manifest


def test_the_committed_manifest_reads_and_writes_back_byte_for_byte() -> None:
    path = REPO / "dist" / "manifest.json"
    manifest = read_manifest(path)
    assert manifest.rules and manifest.version == __version__
    assert render_manifest(manifest) == path.read_bytes()


def test_the_writer_keeps_the_committed_key_order_and_status_words() -> None:
    data = json.loads(render_manifest(_sample()))
    assert list(data) == ["version", "environment", "rules"]
    assert list(data["rules"][0]) == ["id", "title", "level", "tags", "source", "sha256", "targets"]
    targets = data["rules"][0]["targets"]
    assert list(targets["eql"]) == ["status", "path", "cases", "reason"]
    assert [entry["status"] for entry in targets.values()] == [
        "verified",
        "converted",
        "unsupported",
        "failed",
    ]
    assert "Keytool – Key Pair" in render_manifest(_sample()).decode("utf-8")


def test_a_stock_manifest_has_no_environment_key() -> None:
    manifest = dataclasses.replace(_sample(), environment=None)
    assert list(json.loads(render_manifest(manifest))) == ["version", "rules"]
    assert parse_manifest(render_manifest(manifest).decode()) == manifest


def test_a_status_is_written_and_compared_as_its_word() -> None:
    assert json.dumps(Status.VERIFIED) == '"verified"'
    assert str(Status.FAILED) == "failed" and f"{Status.CONVERTED}" == "converted"
    assert Status("unsupported") is Status.UNSUPPORTED


# --- from a build --------------------------------------------------------------------------------


def _build(tmp_path: Path, targets: dict[str, Outcome]) -> BuildResult:
    rule = _rule()
    reference = Outcome(Status.VERIFIED, checked=2, matched=("keytool/hit",))
    return BuildResult(Project(tmp_path), [RuleResult(rule, reference, targets)], cases=[])


def test_only_verified_and_converted_queries_get_a_path_and_only_verified_drops_the_reason(
    tmp_path: Path,
) -> None:
    build = _build(
        tmp_path,
        {
            "kql": Outcome(Status.UNSUPPORTED, reason="no table"),
            "eql": Outcome(Status.VERIFIED, query="any where true", reason="ignored", checked=2),
            "spl": Outcome(Status.CONVERTED, query="search x", reason="no engine"),
        },
    )
    (rule,) = manifest_of(build).rules
    assert list(rule.targets) == ["eql", "spl", "kql"]  # TARGETS order, not the build's
    assert rule.targets["eql"] == TargetEntry(
        Status.VERIFIED, "eql/keytool.eql", CaseTally(2, ()), None
    )
    assert rule.targets["spl"].path == "spl/keytool.spl"
    assert rule.targets["spl"].reason == "no engine"
    assert rule.targets["kql"] == TargetEntry(
        Status.UNSUPPORTED, None, CaseTally(0, ()), "no table"
    )
    assert (rule.id, rule.level, rule.tags) == (RULE_ID, "medium", ("attack.t1587.003",))


def test_render_writes_each_query_at_the_path_its_manifest_entry_names(tmp_path: Path) -> None:
    build = _build(
        tmp_path,
        {
            "eql": Outcome(Status.VERIFIED, query="any where true\n\n", checked=2),
            "spl": Outcome(Status.FAILED, query="search x", reason="rejected"),
        },
    )
    files = render(build)
    manifest = parse_manifest(files["manifest.json"].decode())
    assert files["eql/keytool.eql"] == b"any where true\n"
    assert manifest.rules[0].targets["spl"].path is None
    assert not any(name.startswith("spl/") for name in files)


# --- Outcome ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Compiled:
    query: str

    def select(self, documents: Sequence[Any]) -> list[int]:
        return [index for index, document in enumerate(documents) if document == "hit"]


class _Engine:
    language = "fake"

    def compile(self, query: str) -> _Compiled:
        return _Compiled(query)


def _case(name: str, expected: bool) -> Case:
    expect = frozenset({RULE_ID}) if expected else frozenset()
    # the event is never read: evaluate_artifact gets the stored documents beside the cases
    event: Any = None
    return Case(f"keytool/{name}", f"cases/keytool/{name}.json", name, expect, {}, {}, event)


def test_an_executed_artifact_outcome_is_complete_when_made_and_cannot_change() -> None:
    runtime = TargetRuntime("fake", lambda event: event, _Engine())
    cases = [_case("hit", True), _case("miss", False)]
    outcome = evaluate_artifact(_rule(), "q", runtime, cases, ["hit", "miss"])
    assert outcome == Outcome(Status.VERIFIED, query="q", matched=("keytool/hit",), checked=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.query = "changed"  # type: ignore[misc]


def test_a_disagreeing_artifact_outcome_keeps_its_query_and_mismatch() -> None:
    runtime = TargetRuntime("fake", lambda event: event, _Engine())
    outcome = evaluate_artifact(_rule(), "q", runtime, [_case("hit", True)], ["miss"])
    assert (outcome.status, outcome.query, outcome.matched) == (Status.FAILED, "q", ())
    assert [str(m) for m in outcome.mismatches] == [
        "keytool [fake] case keytool/hit: expected match, got no match"
    ]


# --- reader errors ------------------------------------------------------------------------------


def _broken(change: Any) -> str:
    data = json.loads(render_manifest(_sample()))
    change(data)
    return json.dumps(data)


def _target(data: dict[str, Any]) -> dict[str, Any]:
    return data["rules"][0]["targets"]["eql"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("rules"), "missing key 'rules'"),
        (lambda d: d.update(extra=1), "unknown key 'extra'"),
        (lambda d: d.update(rules={}), "rules: must be a list"),
        (lambda d: d.update(environment=None), "environment: must be a JSON object"),
        (lambda d: d["rules"][0].pop("sha256"), "rules[0]: missing key 'sha256'"),
        (lambda d: d["rules"][0].update(tags="x"), "rules[0].tags: must be a list of strings"),
        (lambda d: d["rules"][0]["tags"].append(3), "rules[0].tags[1]: must be a string"),
        (lambda d: _target(d).pop("cases"), "rules[0].targets.eql: missing key 'cases'"),
        (
            lambda d: _target(d)["cases"].update(checked="2"),
            "rules[0].targets.eql.cases.checked: must be a whole number",
        ),
        (
            lambda d: _target(d)["cases"].update(checked=True),
            "rules[0].targets.eql.cases.checked: must be a whole number",
        ),
        (
            lambda d: _target(d).update(status="VERIFIED"),
            "rules[0].targets.eql.status: 'VERIFIED' is not a status "
            "(verified, converted, unsupported, failed)",
        ),
        (
            lambda d: _target(d).update(path="../../etc/passwd"),
            "rules[0].targets.eql.path: '../../etc/passwd' is not a path inside dist/",
        ),
        (
            lambda d: _target(d).update(path="/etc/passwd"),
            "rules[0].targets.eql.path: '/etc/passwd' is not a path inside dist/",
        ),
        (lambda d: _target(d).update(reason=0), "rules[0].targets.eql.reason: must be a string"),
        (
            lambda d: d["environment"]["pipelines"].update(kql=None),
            "environment.pipelines.kql: must be a string",
        ),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_one_line_naming_the_key(
    change: Any, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        parse_manifest(_broken(change))
    hint = "; run `certdetect build` to write it again"
    assert str(raised.value) == f"dist/manifest.json: {message}{hint}"


def test_a_manifest_that_is_not_json_names_its_line() -> None:
    with pytest.raises(InputError) as raised:
        parse_manifest('{\n  "version": "0.1.0",\n  "rules": [\n}\n')
    assert str(raised.value).startswith("dist/manifest.json:4: not valid JSON (")


def test_a_missing_manifest_asks_for_a_build(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        read_manifest(tmp_path / "dist" / "manifest.json", "dist/manifest.json")
    assert str(raised.value) == (
        "dist/manifest.json: no built artifacts; run `certdetect build` first"
    )


def test_scan_reports_a_broken_manifest_as_an_input_error(
    project_copy: Project, tmp_path: Path
) -> None:
    manifest = project_copy.dist_dir / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["rules"][0]["targets"]["spl"]["cases"].pop("matched")
    manifest.write_text(json.dumps(data), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["scan", "--evaluator", "spl", "--project", str(project_copy.root), str(events)]
    )
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith(
            "dist/manifest.json: rules[0].targets.spl.cases: missing key 'matched'; "
            "run `certdetect build` to write it again"
        )
    )
