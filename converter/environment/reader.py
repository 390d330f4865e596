"""Reading an environment file: typed access to its values, each refusal with the key's line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from converter.core.errors import InputError


def line_of(lines: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of the deepest key of `path` found in the environment file."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:  # pragma: no cover - load_yaml parsed it already
        return lines

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    here = (*path, str(key.value))
                    lines.setdefault(here, key.start_mark.line + 1)
                    walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                here = (*path, str(index))
                lines.setdefault(here, item.start_mark.line + 1)
                walk(item, here)

    if root is not None:
        walk(root, ())
    return lines


class Reader:
    """Typed access to the parsed file; every refusal names the file and the key's line."""

    def __init__(self, shown: str, lines: Mapping[tuple[str, ...], int]) -> None:
        self.shown = shown
        self.lines = lines

    def error(self, path: tuple[str, ...], message: str) -> InputError:
        where = ".".join(path)
        text = f"{where}: {message}" if where else message
        return InputError(self.shown, text, line_of(self.lines, path))

    def mapping(
        self, value: Any, path: tuple[str, ...], allowed: frozenset[str] | None = None
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, "must be a mapping")
        for key in value:
            if not isinstance(key, str):
                raise self.error(path, f"key {key!r} must be a string")
        if allowed is not None:
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise self.error(
                    (*path, unknown[0]),
                    f"unknown key; expected one of {', '.join(sorted(allowed))}",
                )
        return value

    def string(self, value: Any, path: tuple[str, ...]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(path, "must be a non-empty string")
        if "\n" in value or "\r" in value:
            raise self.error(path, "must be one line")
        return value

    def names(
        self, value: Any, path: tuple[str, ...], pattern: re.Pattern[str], kind: str
    ) -> dict[str, str]:
        """A rename mapping: distinct names of `kind` on both sides."""
        renames: dict[str, str] = {}
        for key, renamed in self.mapping(value, path).items():
            here = (*path, key)
            renamed = self.string(renamed, here)
            for name in (key, renamed):
                if not pattern.fullmatch(name):
                    raise self.error(here, f"{name!r} is not a valid {kind}")
            if key == renamed:
                raise self.error(here, "renames a name to itself")
            if renamed in renames.values():
                raise self.error(here, f"two names are renamed to {renamed}")
            renames[key] = renamed
        return renames
