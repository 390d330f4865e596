"""Loading an environment file: its name, then one section per target that has an overlay."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

from converter.core.errors import InputError
from converter.core.targets import TARGETS, TargetSpec, resolve
from converter.core.textfiles import load_yaml, read_text
from converter.environment.overlay import Environment, Overlay
from converter.environment.reader import Reader, key_lines

NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_NAME = 64


def load_environment(
    path: Path, shown: str | None = None, targets: Sequence[TargetSpec] = TARGETS
) -> Environment:
    """Read and check an environment file; any problem is one `InputError` with its line.

    Every target with an overlay gets its section, empty where the file has none."""
    shown = shown or str(path)
    text = read_text(path, shown)
    data = load_yaml(text, shown)
    lines = key_lines(text)
    reader = Reader(shown, lines)
    if not isinstance(data, dict):
        raise InputError(shown, "an environment file must be a YAML mapping with a `name`", 1)
    overlays: dict[str, type[Overlay]] = {
        target.name: resolve(target.overlay) for target in targets if target.overlay is not None
    }
    data = reader.mapping(data, (), frozenset({"name", "description", *overlays}))
    if "name" not in data:
        raise InputError(shown, "name: missing; name the environment (e.g. name: acme-prod)", 1)
    name = reader.string(data["name"], ("name",))
    if not NAME_RE.fullmatch(name) or len(name) > MAX_NAME:
        raise reader.error(
            ("name",), f"{name!r} must be lowercase letters, digits and '-' (at most {MAX_NAME})"
        )
    description = data.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise reader.error(("description",), "must be a string")
        description = " ".join(description.split())
    sections = {}
    for section, overlay in overlays.items():
        value = data.get(section)
        found = {} if value is None else reader.mapping(value, (section,), overlay.KEYS)
        sections[section] = overlay.load(reader, section, found)
    return Environment(
        name=name,
        path=shown,
        description=description or "",
        sections=MappingProxyType(sections),
        lines=MappingProxyType(lines),
    )
