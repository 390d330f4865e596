from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import time
from datetime import date
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

import converter.verify.build as build_module
from converter.cli import CertdetectGroup
from converter.cli.bundle import bundle
from converter.core.project import Project
from converter.publish.artifacts import render
from converter.publish.bundle import (
    changelog_from_git,
    changelog_section,
    project_version,
    release_date,
    tar_gz,
)
from converter.reference import UnsupportedRuleError
from converter.verify.build import run_build

from .conftest import REPO
from .verdict_support import splunk_writes_a_second_command

COPIED = ("sigma", "pipelines", "cases", "oracle", "dist")
DOCUMENTS = (
    "LICENSE",
    "CHANGELOG.md",
    "README.md",
    "CONTRIBUTING.md",
    "docs/converter-defects.md",
    "docs/catalog.png",
    "docs/severity-and-false-positives.md",
    "benchmarks/README.md",
    "pyproject.toml",
    "converter/__init__.py",
)
LINKED = (
    "CONTRIBUTING.md",
    "docs/converter-defects.md",
    "docs/catalog.png",
    "docs/severity-and-false-positives.md",
    "benchmarks/README.md",
)
RELEASED = 1795824000  # 2026-11-28T00:00:00Z, the 0.1.0 heading of CHANGELOG.md


@click.group(cls=CertdetectGroup)
def cli() -> None:
    """The real error handling of `certdetect`, around the command under test."""


cli.add_command(bundle)


def fresh_copy(root: Path, file_mode: int, dir_mode: int, mtime: float) -> Path:
    """What a checkout holds, with this machine's modes and this moment's timestamps."""
    for name in COPIED:
        if (REPO / name).exists():
            shutil.copytree(REPO / name, root / name)
    for name in DOCUMENTS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, root / name)
    for path in sorted(root.rglob("*"), reverse=True):
        os.chmod(path, dir_mode if path.is_dir() else file_mode)
        os.utime(path, (mtime, mtime))
    return root


def _bundle(root: Path, out: Path) -> bytes:
    result = CliRunner().invoke(cli, ["bundle", "--project", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == [
        "certdetect-0.1.0.tar.gz",
        "certdetect-splunk-app-0.1.0.tgz",
    ]
    archive = out / "certdetect-0.1.0.tar.gz"
    data = archive.read_bytes()
    assert f"sha256 {hashlib.sha256(data).hexdigest()}" in result.output
    return data


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = fresh_copy(tmp_path_factory.mktemp("checkout"), 0o644, 0o755, 1_000_000_000)
    return _bundle(root, tmp_path_factory.mktemp("out"))


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


def _contents(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_two_fresh_copies_at_different_times_give_the_same_bytes(
    archive: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another checkout: private modes, timestamps a year later, a restrictive umask and a
    # clock that says something else. None of it may reach the archive.
    root = fresh_copy(tmp_path / "other", 0o600, 0o700, 1_031_536_000)
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    previous = os.umask(0o077)
    try:
        again = _bundle(root, tmp_path / "out")
    finally:
        os.umask(previous)
    assert again == archive


def test_the_archive_holds_rules_cases_dist_documents_and_sums(archive: bytes) -> None:
    build = run_build(Project.at(REPO))
    expected = sorted(
        ["LICENSE", "CHANGELOG.md", "README.md", "SHA256SUMS", *LINKED]
        + [result.rule.path for result in build.rules]
        + [case.path for case in build.cases]
        + [f"dist/{name}" for name in render(build)]
    )
    contents = _contents(archive)
    assert sorted(name.removeprefix("certdetect-0.1.0/") for name in contents) == expected
    assert contents["certdetect-0.1.0/LICENSE"] == (REPO / "LICENSE").read_bytes()
    for name, content in render(build).items():
        assert contents[f"certdetect-0.1.0/dist/{name}"] == content


def test_every_relative_link_of_a_bundled_document_opens_inside_the_bundle(
    archive: bytes,
) -> None:
    contents = {
        name.removeprefix("certdetect-0.1.0/"): data for name, data in _contents(archive).items()
    }
    link = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s#]+)")
    checked = 0
    for name, data in contents.items():
        if not name.endswith(".md"):
            continue
        for target in link.findall(data.decode("utf-8")):
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            assert resolved in contents, f"{name} links {target}"
            checked += 1
    assert checked >= 3  # README's links to CONTRIBUTING, the defects and the benchmarks


def test_every_case_the_manifest_counts_is_in_the_bundle(archive: bytes) -> None:
    contents = _contents(archive)
    manifest = json.loads(contents["certdetect-0.1.0/dist/manifest.json"])
    cases = {name for name in contents if "/cases/" in name}
    matched = {
        case
        for rule in manifest["rules"]
        for target in rule["targets"].values()
        for case in target["cases"]["matched"]
    }
    assert matched and all(f"certdetect-0.1.0/cases/{case}.json" in cases for case in matched)


def test_a_link_to_a_missing_file_refuses_the_bundle(tmp_path: Path) -> None:
    root = fresh_copy(tmp_path / "checkout", 0o644, 0o755, 1_000_000_000)
    readme = root / "README.md"
    readme.write_text(readme.read_text() + "\nSee [the guide](docs/guide.md).\n")
    result = CliRunner().invoke(
        cli, ["bundle", "--project", str(root), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    line = len(readme.read_text().splitlines())
    assert result.stderr == (
        f"certdetect: error: README.md:{line}: links to a missing file: docs/guide.md\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_different_archive_of_the_version_is_never_replaced(
    archive: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "certdetect-0.1.0.tar.gz").write_bytes(archive)
    root = fresh_copy(tmp_path / "checkout", 0o644, 0o755, 1_000_000_000)
    same = CliRunner().invoke(cli, ["bundle", "--project", str(root), "--out", str(out)])
    assert same.exit_code == 0 and "already there, identical:" in same.output
    (out / "certdetect-0.1.0.tar.gz").write_bytes(archive[:-1] + b"x")
    (out / "certdetect-splunk-app-0.1.0.tgz").unlink()
    other = CliRunner().invoke(cli, ["bundle", "--project", str(root), "--out", str(out)])
    assert other.exit_code == 2
    assert "a different archive of this version is already there" in other.stderr
    assert (out / "certdetect-0.1.0.tar.gz").read_bytes() == archive[:-1] + b"x"
    # refused before anything was written: not even the Splunk app package
    assert [path.name for path in out.iterdir()] == ["certdetect-0.1.0.tar.gz"]


def test_entries_are_sorted_with_fixed_owner_modes_and_time(archive: bytes) -> None:
    members = _members(archive)
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[0] == "certdetect-0.1.0"
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == RELEASED
        assert member.mode == (0o755 if member.isdir() else 0o644), member.name
        assert member.isdir() or member.isfile()
    # gzip header: deflate, no flags (so no file name), mtime 0, max compression, unknown OS
    assert archive[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def test_sha256sums_cover_every_file_and_verify(archive: bytes, tmp_path: Path) -> None:
    contents = _contents(archive)
    sums = contents.pop("certdetect-0.1.0/SHA256SUMS").decode("utf-8").splitlines()
    listed = {}
    for line in sums:
        digest, name = line.split("  ", 1)
        listed[f"certdetect-0.1.0/{name}"] = digest
    assert listed == {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed; the Python check above ran")
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=tmp_path / "certdetect-0.1.0",
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK\n") == len(contents)


def test_a_stale_dist_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    root = fresh_copy(tmp_path / "checkout", 0o644, 0o755, 1_000_000_000)
    stale = root / "dist" / "eql" / "proc_creation_lnx_openssl_execution.eql"
    stale.write_text("any where true\n")
    (root / "dist" / "notes.txt").write_text("left behind\n")
    result = CliRunner().invoke(
        cli, ["bundle", "--project", str(root), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "stale dist/eql/proc_creation_lnx_openssl_execution.eql (differs)",
        "stale dist/notes.txt (not generated by the build)",
        "certdetect: dist/ is out of date; run `certdetect build` and commit it",
    ]
    assert not (tmp_path / "out").exists()


def test_a_version_without_a_changelog_section_is_refused(tmp_path: Path) -> None:
    root = fresh_copy(tmp_path / "checkout", 0o644, 0o755, 1_000_000_000)
    changelog = root / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace("## [0.1.0]", "## [0.0.9]"))
    result = CliRunner().invoke(
        cli, ["bundle", "--project", str(root), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "certdetect: error: CHANGELOG.md: no section '## [0.1.0] - YYYY-MM-DD' for the release "
        "of 0.1.0\n"
    )


def test_project_version_follows_pyproject(tmp_path: Path) -> None:
    assert project_version(REPO) == "0.1.0"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "2.3.4"\n')
    assert project_version(tmp_path) == "2.3.4"
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndynamic = ["version"]\n'
        '[tool.setuptools.dynamic]\nversion = { attr = "pkg.about.VERSION" }\n'
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "about.py").write_text('"""About."""\nVERSION = "5.6.7"\n')
    assert project_version(tmp_path) == "5.6.7"


def test_changelog_dates_and_sections() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert release_date(text, "0.1.0") == date(2026, 11, 28)
    section = changelog_section(text, "0.1.0")
    assert section.startswith("### Added\n\n- Sigma rules for the seed's branches")
    assert not [line for line in section.splitlines() if line.startswith("## ")]
    with pytest.raises(ValueError, match=r"no section '## \[9.9.9\]"):
        release_date(text, "9.9.9")


def test_changelog_from_git_groups_commit_prefixes(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, env=env, text=True)

    git("init", "-q")
    for subject in (
        "new: first rule",
        "fix: typo in the first rule",
        "tidy the folder",
        "update: README",
        "new: second rule",
        "remove: old pipeline",
    ):
        git("commit", "-q", "--allow-empty", "-m", subject)
        if subject == "fix: typo in the first rule":
            git("tag", "v0.1.0")
    assert changelog_from_git(tmp_path, "0.2.0", date(2026, 12, 1), since="v0.1.0") == (
        "## [0.2.0] - 2026-12-01\n"
        "\n### Added\n\n- second rule\n"
        "\n### Changed\n\n- README\n"
        "\n### Removed\n\n- old pipeline\n"
        "\n### Other\n\n- tidy the folder\n"
    )
    everything = changelog_from_git(tmp_path, "0.2.0", date(2026, 12, 1))
    assert "### Fixed\n\n- typo in the first rule\n" in everything
    assert "### Added\n\n- first rule\n- second rule\n" in everything


def test_long_paths_fit_the_ustar_format() -> None:
    name = "sigma/" + "a" * 90 + "/" + "b" * 60 + ".yml"
    data = tar_gz("certdetect-9.9.9", {name: b"x\n"}, 0)
    raw = gzip.decompress(data)
    assert b"././@LongLink" not in raw and b"PaxHeader" not in raw  # plain ustar headers
    assert _contents(data) == {f"certdetect-9.9.9/{name}": b"x\n"}
    assert data == tar_gz("certdetect-9.9.9", {name: b"x\n"}, 0)


# --- the release gate: no bundle from a build that is not ok ------------------------------------


def reference_cannot_evaluate(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(rule: object) -> None:
        raise UnsupportedRuleError("injected: a construct the reference cannot evaluate")

    monkeypatch.setattr(build_module, "compile_reference", refuse)


def a_case_declares_no_match(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the first case that expects a rule now says it expects none: every evaluator disagrees
    for path in sorted((root / "cases").rglob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if case["expect"]:
            case["expect"] = []
            path.write_text(json.dumps(case, indent=2), encoding="utf-8")
            return
    raise AssertionError("no case expects a rule")


def an_engine_rejects_a_query(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    splunk_writes_a_second_command(monkeypatch)


def the_seed_oracle_disagrees(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # only the oracle changes: every rule still verifies and dist/ stays what a build writes
    seed = root / "oracle" / "seed.yml"
    data = yaml.safe_load(seed.read_text(encoding="utf-8"))
    data["query"] = 'any where process.name == "no-such-tool"'
    seed.write_text(yaml.safe_dump(data), encoding="utf-8")


BUILD_FAILURES = {
    "reference": reference_cannot_evaluate,
    "case": a_case_declares_no_match,
    "engine": an_engine_rejects_a_query,
    "oracle": the_seed_oracle_disagrees,
}


@pytest.mark.parametrize("way", sorted(BUILD_FAILURES))
def test_no_bundle_is_made_from_a_build_that_is_not_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    # The stale dist/, the fifth way, is test_a_stale_dist_is_refused_and_nothing_is_written.
    root = fresh_copy(tmp_path / "checkout", 0o644, 0o755, 1_000_000_000)
    BUILD_FAILURES[way](root, monkeypatch)
    failures = run_build(Project.at(root)).failures
    assert failures
    result = CliRunner().invoke(
        cli, ["bundle", "--project", str(root), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert re.fullmatch(
        r"certdetect: (\d+) disagreement\(s\) with the cases; run `certdetect build`\n",
        result.stderr,
    ), result.stderr
    assert result.stderr.startswith(f"certdetect: {len(failures)} disagreement")
    assert not (tmp_path / "out").exists()
