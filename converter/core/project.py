"""Where a certdetect checkout keeps its rules, pipelines, cases and generated artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from converter.core.errors import InputError


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def rules_dir(self) -> Path:
        return self.root / "sigma"

    @property
    def pipelines_dir(self) -> Path:
        return self.root / "pipelines"

    @property
    def cases_dir(self) -> Path:
        return self.root / "cases"

    @property
    def dist_dir(self) -> Path:
        return self.root / "dist"

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    @classmethod
    def at(cls, root: Path | str | None = None) -> Project:
        project = cls(Path(root or ".").resolve())
        if not project.rules_dir.is_dir():
            raise InputError(
                project.rules_dir,
                "no rules folder; run certdetect from the project root or pass --project DIR",
            )
        return project
