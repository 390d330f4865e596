from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from converter.convert import conversion_cache
from converter.core.project import Project

# CI runs every property-based test on the same examples, so a red run can be reproduced.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The compiled-query cache of `certdetect scan` (`converter.execute.compile_cache`): one for the
# test session, in its own temporary folder (inherited by the commands the tests run), never the
# user's.
os.environ["CERTDETECT_CACHE_DIR"] = _CACHE = tempfile.mkdtemp(prefix="certdetect-test-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
# Tests change conversion code in the process (monkeypatch): no conversion is kept between the
# builds they run (`tests/test_conversion_cache.py` turns it on for its own).
conversion_cache.ENABLED = False

REPO = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "files"
SHARED = REPO.parent / "shared"


@pytest.fixture
def repo_project() -> Project:
    return Project.at(REPO)


@pytest.fixture
def project_copy(tmp_path: Path) -> Project:
    """A throwaway copy of the project's rules, pipelines, cases and dist/."""
    for name in ("sigma", "pipelines", "cases", "oracle", "dist"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, tmp_path / name)
    for name in ("validation.yml",):
        if (REPO / name).exists():
            shutil.copy(REPO / name, tmp_path / name)
    return Project.at(tmp_path)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}); real recordings are not available")
    return SHARED
