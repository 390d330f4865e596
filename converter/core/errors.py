"""Errors that reach the user as one line: `file:line: message`, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(Exception):
    """Bad input (a rule, a case, a pipeline, an argument). The CLI exits with code 2."""

    path: Path | str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return where + self.message


class VerificationFailed(Exception):
    """A query or rule disagreed with its recorded cases. The CLI exits with code 1."""
