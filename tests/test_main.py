"""`python -m converter` run by an interpreter without the project's dependencies (a system
`python` in a checkout, as hooks and editors start it): a one-line message naming what to
install, or a hand-over to the checkout's `.venv`; never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

CANDIDATES = ("/usr/bin/python3", "/bin/python3")


def _bare_python() -> str | None:
    """An interpreter on this machine that has no pySigma (checked from a neutral folder)."""
    for path in CANDIDATES:
        if not Path(path).is_file():
            continue
        probe = subprocess.run(
            [path, "-c", "import sigma.exceptions"], cwd="/", capture_output=True, check=False
        )
        if probe.returncode != 0:
            return path
    return None


BARE = _bare_python()
needs_bare = pytest.mark.skipif(BARE is None, reason="no interpreter without pySigma here")


def _checkout(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "converter", tmp_path / "converter")
    (tmp_path / "sigma").mkdir()  # the rules folder, which shadows a missing pySigma
    return tmp_path


@needs_bare
def test_without_the_dependencies_it_says_what_to_install_in_one_line(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    result = subprocess.run(
        [BARE, "-m", "converter", "list"], cwd=checkout, capture_output=True, text=True, timeout=60
    )  # type: ignore[list-item]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "is not installed; run: pip install -e ." in result.stderr


@needs_bare
def test_it_hands_over_to_the_checkouts_venv(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    (checkout / ".venv" / "bin").mkdir(parents=True)
    # an interpreter that has the dependencies stands in for the Quickstart's .venv
    stand_in = checkout / ".venv" / "bin" / "python"
    stand_in.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    stand_in.chmod(0o755)
    result = subprocess.run(
        [BARE, "-m", "converter", "--help"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=60,
    )  # type: ignore[list-item]
    assert result.returncode == 0, result.stderr
    assert "using" in result.stderr and "Usage: certdetect" in result.stdout


@needs_bare
def test_a_venv_without_the_dependencies_is_not_handed_over_to_twice(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "python").symlink_to(BARE)  # type: ignore[arg-type]
    result = subprocess.run(
        [BARE, "-m", "converter", "list"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=60,
    )  # type: ignore[list-item]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("using") == 1
