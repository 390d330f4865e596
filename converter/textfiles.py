"""Reading rule and case files defensively: size cap, strict UTF-8, YAML without aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from converter.errors import InputError

# Rules and cases are small hand-written files; anything larger is a mistake or an attack.
MAX_FILE_BYTES = 1024 * 1024


def read_text(path: Path, shown: str | None = None) -> str:
    name = shown or str(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError(name, f"cannot read file: {error.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise InputError(name, f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(name, "not valid UTF-8 text; save the file as UTF-8", line) from None


def load_yaml(text: str, shown: str) -> Any:
    """Parse YAML, refusing aliases: an anchor can expand a small file into a huge document."""
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.AliasToken):
                raise InputError(
                    shown,
                    "YAML aliases (*name) are not allowed in rules; write the values out",
                    token.start_mark.line + 1,
                )
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = error.problem or error.context or "invalid YAML"
        raise InputError(shown, f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as error:
        raise InputError(shown, f"invalid YAML: {error}") from None
