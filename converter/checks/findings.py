"""What `certdetect check` reports: findings with a file and line, and where lines come from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in one file. `error`: the file could not be read at all (exit code 2)."""

    path: str
    line: int | None
    check: str  # which check found it: "schema", a pySigma validator name, "convention", ...
    message: str
    error: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message} [{self.check}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "check": self.check,
            "message": self.message,
            "error": self.error,
        }


class YamlLines:
    """Line numbers of the keys and items of a YAML document, by path (`"tags", 2`)."""

    def __init__(self, text: str) -> None:
        try:
            self._root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self._root = None

    def line(self, *path: str | int) -> int | None:
        """Line of the last key or item of `path` that exists (its nearest existing parent's)."""
        node, found = self._root, None
        for step in path:
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                match = next(
                    ((k, v) for k, v in node.value if getattr(k, "value", None) == step), None
                )
                if match is None:
                    break
                found = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if not 0 <= step < len(node.value):
                    break
                node = node.value[step]
                found = node.start_mark.line + 1
            else:
                break
        return found

    def keys(self, *path: str | int) -> list[tuple[str, int]]:
        """Keys of the mapping at `path`, with their lines."""
        node = self._root
        for step in path:
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                node = next((v for k, v in node.value if getattr(k, "value", None) == step), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                node = node.value[step] if 0 <= step < len(node.value) else None
            else:
                return []
        if not isinstance(node, yaml.MappingNode):
            return []
        return [
            (str(k.value), k.start_mark.line + 1)
            for k, _ in node.value
            if isinstance(k, yaml.ScalarNode)
        ]
