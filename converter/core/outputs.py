"""Output folders checked before the work starts: a build or a bundle takes a while, and a
folder that cannot be written should fail at once, in one line, with nothing made."""

from __future__ import annotations

import os
from pathlib import Path

from converter.core.errors import InputError


def check_writable(path: Path, shown: str) -> None:
    """Refuse a folder that could not be created or written, creating nothing: its nearest
    existing ancestor must be a folder this process can write into."""
    for existing in (path, *path.parents):
        if not existing.exists():
            continue
        if not existing.is_dir():
            where = "is a file" if existing == path else f"is under a file ({existing})"
            raise InputError(shown, f"output folder {where}; choose another --out")
        if not os.access(existing, os.W_OK | os.X_OK):
            what = "output folder" if existing == path else f"{existing}"
            raise InputError(shown, f"cannot write here: {what} is not writable")
        return


def write_failed(error: OSError, shown: str) -> InputError:
    """A write that failed after the checks (disk full, a folder removed meanwhile)."""
    return InputError(shown, f"cannot write the output: {error.strerror or error}")
