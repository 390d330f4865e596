"""`certdetect release VERSION` (issue 16, item 4): the changelog and the package take the
version, dist/ carries it everywhere, and the bundle is named and dated by it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.core.errors import InputError
from converter.publish.release import plan_release, release_changelog

from .conftest import REPO

CHANGELOG = """# Changelog

Intro.

## [Unreleased]

### Added

- keytool generating a key pair

## [0.1.0] - 2026-11-28

### Added

- the first rules
"""


def test_the_unreleased_section_becomes_the_version_under_a_fresh_one() -> None:
    text = release_changelog(CHANGELOG, "0.2.0", date(2026, 12, 6))
    assert text == CHANGELOG.replace(
        "## [Unreleased]\n", "## [Unreleased]\n\n## [0.2.0] - 2026-12-06\n"
    )


@pytest.mark.parametrize(
    ("changelog", "message"),
    [
        (
            CHANGELOG.replace("- keytool generating a key pair\n", "").replace(
                "### Added\n\n", "", 1
            ),
            "the [Unreleased] section is empty",
        ),
        (CHANGELOG.replace("## [Unreleased]", "## Unreleased"), "needs exactly one"),
        (CHANGELOG.replace("## [0.1.0]", "## [0.2.0]"), "already has a section for 0.2.0"),
    ],
)
def test_a_changelog_that_cannot_be_released_is_refused(changelog: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        release_changelog(changelog, "0.2.0", date(2026, 12, 6))


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("0.1.0", "is not after the current version 0.1.0"),
        ("0.0.9", "is not after"),
        ("1.0", "is not a version"),
        ("v0.2.0", "is not a version"),
        ("0.02.0", "is not a version"),
    ],
)
def test_a_version_that_is_not_the_next_one_is_refused(version: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_release(REPO, version, date(2026, 12, 6))


def test_the_plan_writes_only_the_version_and_the_changelog() -> None:
    planned = plan_release(REPO, "0.2.0", date(2026, 12, 6))
    assert sorted(planned.files) == ["CHANGELOG.md", "converter/__init__.py"]
    assert '__version__ = "0.2.0"' in planned.files["converter/__init__.py"]
    assert "## [0.2.0] - 2026-12-06" in planned.files["CHANGELOG.md"]


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout") / "certdetect"
    ignored = shutil.ignore_patterns(
        ".venv", ".git", "build", "__pycache__", "*.egg-info", ".*_cache"
    )
    shutil.copytree(REPO, root, ignore=ignored)
    result = CliRunner().invoke(
        main, ["release", "--project", str(root), "0.2.0", "--date", "2026-12-06"]
    )
    assert result.exit_code == 0, result.output
    assert "version 0.1.0 -> 0.2.0" in result.output
    return root


def test_every_deployable_carries_the_new_version(released: Path) -> None:
    dist = released / "dist"
    assert json.loads((dist / "manifest.json").read_text())["version"] == "0.2.0"
    kibana = [json.loads(line) for line in (dist / "elastic/certdetect-rules.ndjson").open()]
    assert kibana and {rule["version"] for rule in kibana} == {200}
    sentinel = list((dist / "sentinel").glob("*.yaml"))
    assert sentinel and all("\nversion: 0.2.0\n" in path.read_text() for path in sentinel)
    assert "certdetect 0.2.0" in (dist / "attack-navigator-layer.json").read_text()
    stale = [p for p in dist.rglob("*") if p.is_file() and "0.1.0" in p.read_text()]
    assert stale == []


def test_the_bundle_is_named_and_dated_by_the_release(released: Path, tmp_path: Path) -> None:
    # a new interpreter, as the release workflow runs it: this one imported version 0.1.0
    done = subprocess.run(
        [sys.executable, "-m", "converter", "bundle", "--out", str(tmp_path)],
        cwd=released,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with tarfile.open(tmp_path / "certdetect-0.2.0.tar.gz") as tar:
        members = tar.getmembers()
    midnight = datetime(2026, 12, 6, tzinfo=timezone.utc).timestamp()
    assert {member.mtime for member in members} == {midnight}
    assert members[0].name == "certdetect-0.2.0"


def test_a_second_release_of_the_same_version_is_refused(released: Path) -> None:
    before = (released / "CHANGELOG.md").read_bytes()
    result = CliRunner().invoke(main, ["release", "--project", str(released), "0.2.0"])
    assert result.exit_code == 2
    assert "0.2.0 is not after the current version 0.2.0" in result.output
    assert (released / "CHANGELOG.md").read_bytes() == before
