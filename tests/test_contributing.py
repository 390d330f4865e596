"""The contributor path as documented: every pointer into CONTRIBUTING.md leads to a section, and
the pre-commit hooks run offline with the project's own tools (issue 16, item 5)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

# `CONTRIBUTING.md, "Section"` or `CONTRIBUTING.md#anchor` anywhere in the project's own files
POINTER = re.compile(r'CONTRIBUTING\.md(?:, "([^"]+)"|#([a-z0-9-]+))')
SEARCHED = ("*.md", "*.yml", "*.yaml", "*.toml", "*.py", ".ci/run", ".github/**/*")


def headings(markdown: str) -> set[str]:
    return {line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")}


def anchor(heading: str) -> str:  # GitHub's rule: lowercase, spaces to '-', punctuation dropped
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def pointers() -> list[tuple[str, str]]:
    found = []
    files = {path for pattern in SEARCHED for path in REPO.glob(pattern) if path.is_file()}
    files |= {path for path in (REPO / "converter").rglob("*.py")}
    for path in sorted(files):
        for match in POINTER.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.append((path.relative_to(REPO).as_posix(), match.group(1) or match.group(2)))
    return found


def test_the_pre_commit_configuration_points_at_a_section() -> None:
    assert (".pre-commit-config.yaml", "Before you commit") in pointers()


@pytest.mark.parametrize(("source", "section"), pointers())
def test_every_pointer_into_contributing_leads_to_a_section(source: str, section: str) -> None:
    sections = headings((REPO / "CONTRIBUTING.md").read_text(encoding="utf-8"))
    assert section in sections | {anchor(name) for name in sections}, source


def test_the_section_check_bites() -> None:
    assert "Before you commit" in headings("## Check\n\n### Before you commit\n")
    assert "Before you push" not in headings("## Check\n\n### Before you commit\n")


def test_every_pre_commit_hook_is_local_and_runs_an_installed_tool() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {repo["repo"] for repo in config["repos"]} == {"local"}  # nothing cloned
    assert {hook["id"] for hook in hooks} >= {"yamllint", "certdetect-check", "ruff-check"}
    for hook in hooks:
        assert hook["language"] == "system", hook["id"]
        tool = hook["entry"].split()[0]
        assert tool == "python" or shutil.which(tool, path=str(Path(sys.executable).parent)), tool


def test_pre_commit_runs_every_hook_offline_in_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    for name in (".pre-commit-config.yaml", "CONTRIBUTING.md"):  # this checkout's, committed or not
        shutil.copy(REPO / name, clone / name)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),  # pre-commit's cache, so nothing of the user's is read
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for hook in ("yamllint", "certdetect check", "ruff check", "ruff format"):
        assert re.search(rf"^{re.escape(hook)}.*Passed$", done.stdout, re.M), done.stdout
