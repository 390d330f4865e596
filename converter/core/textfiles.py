"""Reading rule and case files defensively: size cap, strict UTF-8, YAML without aliases.

Rules and cases arrive by pull request, so every limit here is a limit on what a hostile file can
make the build do: read a device forever, expand into a huge document, or recurse until Python
gives up with a traceback.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import yaml

from converter.core.errors import InputError

# Rules and cases are small hand-written files; anything larger is a mistake or an attack.
MAX_FILE_BYTES = 1024 * 1024
# Sigma rules nest about five levels deep and EVTX JSON about six; PyYAML and json recurse once
# per level (PyYAML's scanner also slows down quadratically with flow depth).
MAX_NESTING = 32

_OPENING = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSING = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def read_text(path: Path, shown: str | None = None) -> str:
    name = shown or str(path)
    try:
        info = path.stat()
    except OSError as error:
        raise InputError(name, f"cannot read file: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        # a symlink to /dev/zero or a FIFO would never finish reading
        raise InputError(name, "not a regular file; commit the file itself, not a link to one")
    if info.st_size > MAX_FILE_BYTES:
        message = f"file is {info.st_size} bytes, over the {MAX_FILE_BYTES}-byte limit"
        raise InputError(name, message)
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # grew between stat and read
        raise InputError(name, f"file is over the {MAX_FILE_BYTES}-byte limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(name, "not valid UTF-8 text; save the file as UTF-8", line) from None


def load_yaml(text: str, shown: str) -> Any:
    """Parse YAML, refusing aliases (an anchor can expand a small file into a huge document) and
    nesting deeper than MAX_NESTING."""
    try:
        depth = 0
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.AliasToken):
                raise InputError(
                    shown,
                    "YAML aliases (*name) are not allowed in rules; write the values out",
                    token.start_mark.line + 1,
                )
            if isinstance(token, _OPENING):
                depth += 1
                if depth > MAX_NESTING:
                    raise InputError(
                        shown,
                        f"YAML nested more than {MAX_NESTING} levels deep; flatten it",
                        token.start_mark.line + 1,
                    )
            elif isinstance(token, _CLOSING):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = error.problem or error.context or "invalid YAML"
        raise InputError(shown, f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as error:
        raise InputError(shown, f"invalid YAML: {error}") from None
    except RecursionError:
        raise InputError(shown, "YAML nested too deeply; flatten it") from None


def load_json(text: str, shown: str) -> Any:
    """Parse JSON, refusing nesting deeper than MAX_NESTING."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(shown, f"invalid JSON: {error.msg}", error.lineno) from None
    except RecursionError:
        raise InputError(shown, f"JSON nested more than {MAX_NESTING} levels deep") from None
    if nesting(data) > MAX_NESTING:
        raise InputError(shown, f"JSON nested more than {MAX_NESTING} levels deep")
    return data


def nesting(value: Any) -> int:
    """How deeply lists and mappings nest in `value` (0 for a scalar); iterative, never recurses."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            return depth
        stack.extend((child, depth) for child in children)
    return deepest


def shown_path(path: Path, root: Path) -> str:
    """`path` as messages show it: relative to the project root, a link not followed."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def within(path: Path, root: Path, shown: str) -> None:
    """Refuse a file whose real path leaves the project (a committed symlink to a secret)."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        raise InputError(
            shown, "a link to a file outside the project; commit the file itself"
        ) from None
