"""The build's verdict: every evaluator must match exactly the declared cases, and a query an
engine rejects fails the build (it is never a documented `unsupported` gap).

Each test runs the real build on a one-rule project (tests/verdict_support.py) with one thing
made wrong; tests/test_verdict_bites.py shows that each of them catches a wrong verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.core.status import Status
from converter.verify.build import run_build

from .verdict_support import EVALUATORS, probe_project, splunk_writes_a_second_command


def certdetect_build(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["build", "--project", str(root)])
    return result.exit_code, result.stderr


def test_a_false_positive_fails_the_build_and_names_the_case(tmp_path: Path) -> None:
    probe = probe_project(tmp_path)
    # The look-alike still declares no match, but now holds the event the rule matches.
    lookalike = probe.case(probe.lookalike)
    lookalike["event"] = probe.case(probe.match)["event"]
    probe.write_case(probe.lookalike, lookalike)
    build = run_build(probe.project)
    case = f"{probe.stem}/lookalike_example"
    assert build.failures == [
        f"{probe.stem} [{evaluator}] case {case}: expected no match, got match"
        for evaluator in EVALUATORS
    ]
    assert not build.ok
    code, stderr = certdetect_build(probe.project.root)
    assert code == 1
    assert f"FAIL {probe.stem} [kql] case {case}: expected no match, got match" in stderr
    assert not probe.project.dist_dir.exists()


def test_a_missed_case_fails_the_build_and_names_the_case(tmp_path: Path) -> None:
    probe = probe_project(tmp_path)
    match = probe.case(probe.match)
    match["event"] = probe.case(probe.lookalike)["event"]
    probe.write_case(probe.match, match)
    build = run_build(probe.project)
    case = f"{probe.stem}/match_example"
    assert build.failures == [
        f"{probe.stem} [{evaluator}] case {case}: expected match, got no match"
        for evaluator in EVALUATORS
    ]


def test_a_query_the_engine_rejects_fails_the_build_and_is_never_unsupported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = probe_project(tmp_path)
    splunk_writes_a_second_command(monkeypatch)
    build = run_build(probe.project)
    (result,) = build.rules
    spl = result.targets["spl"]
    assert spl.status == Status.FAILED and spl.status != Status.UNSUPPORTED
    assert spl.query is not None and spl.query.endswith(" | delete")
    assert len(build.failures) == 1
    assert build.failures[0].startswith(f"{probe.stem}: [spl] query rejected: ")
    assert (result.targets["eql"].status, result.targets["kql"].status) == (
        Status.VERIFIED,
        Status.VERIFIED,
    )
    code, stderr = certdetect_build(probe.project.root)
    assert code == 1
    assert f"FAIL {probe.stem}: [spl] query rejected: " in stderr
    assert not probe.project.dist_dir.exists()


def test_a_verified_probe_is_written_to_dist(tmp_path: Path) -> None:
    # the counterpart of the failures above: the same project, untouched, writes dist/
    probe = probe_project(tmp_path)
    code, stderr = certdetect_build(probe.project.root)
    assert code == 0, stderr
    manifest = json.loads((probe.project.dist_dir / "manifest.json").read_text())
    (rule,) = manifest["rules"]
    assert {name: entry["status"] for name, entry in rule["targets"].items()} == {
        "eql": "verified",
        "spl": "verified",
        "kql": "verified",
    }
