"""Preparing a release: the changelog's `[Unreleased]` section becomes the version's, and the
package declares the version, so every file that carries it (the manifest, the Kibana and
Sentinel rules, the Splunk saved searches, the bundle's name) says it after the next build.

The version lives in one place, `converter/__init__.py` (pyproject.toml reads it from there), so
a release is one edit to code plus one to CHANGELOG.md; `certdetect release` makes both and
rebuilds `dist/`, and the release commit is then those files and nothing else.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from converter.core.errors import InputError
from converter.publish.bundle import project_version

VERSION_FILE = "converter/__init__.py"
CHANGELOG = "CHANGELOG.md"
UNRELEASED = "## [Unreleased]"
# The project's versions are plain MAJOR.MINOR.PATCH: tags, bundle names and Kibana's
# integer `version` are all derived from them.
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_ASSIGNMENT = re.compile(r'^__version__ = "[^"]*"$', re.M)


@dataclass(frozen=True)
class Release:
    version: str
    previous: str
    day: date
    files: dict[str, str]  # project-relative path -> new text


def parse_version(text: str, shown: str = "VERSION") -> tuple[int, int, int]:
    match = _VERSION.match(text)
    if match is None:
        raise InputError(shown, f"{text!r} is not a version MAJOR.MINOR.PATCH (e.g. 0.2.0)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def release_changelog(changelog: str, version: str, day: date) -> str:
    """The `[Unreleased]` section renamed to the version, an empty `[Unreleased]` above it."""
    lines = changelog.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == UNRELEASED]
    if len(starts) != 1:
        raise InputError(CHANGELOG, f"needs exactly one '{UNRELEASED}' heading", None)
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    if not "".join(lines[start + 1 : end]).strip():
        raise InputError(
            CHANGELOG, "the [Unreleased] section is empty; say what the release changes", start + 1
        )
    heading = f"## [{version}] - {day.isoformat()}\n"
    if any(line.startswith(f"## [{version}]") for line in lines):
        raise InputError(CHANGELOG, f"already has a section for {version}")
    return "".join([*lines[:start], f"{UNRELEASED}\n\n", heading, *lines[start + 1 :]])


def plan_release(root: Path, version: str, day: date) -> Release:
    """What `certdetect release` writes, checked before anything is written."""
    previous = project_version(root)
    if parse_version(version) <= parse_version(previous, VERSION_FILE):
        raise InputError("VERSION", f"{version} is not after the current version {previous}")
    sources = {}
    for name in (VERSION_FILE, CHANGELOG):
        try:
            sources[name] = (root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(name, f"cannot read it: {error}") from None
    if len(_ASSIGNMENT.findall(sources[VERSION_FILE])) != 1:
        raise InputError(VERSION_FILE, 'needs exactly one line `__version__ = "..."`')
    files = {
        VERSION_FILE: _ASSIGNMENT.sub(f'__version__ = "{version}"', sources[VERSION_FILE]),
        CHANGELOG: release_changelog(sources[CHANGELOG], version, day),
    }
    return Release(version=version, previous=previous, day=day, files=files)


def write_release(root: Path, release: Release) -> None:
    """Each file replaced in one step (written beside it, then renamed over it)."""
    for name, text in release.files.items():
        path = root / name
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
            os.chmod(temporary, path.stat().st_mode & 0o777)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
