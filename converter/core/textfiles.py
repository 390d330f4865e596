"""Reading rule and case files defensively: size cap, strict UTF-8, YAML without aliases,
no repeated keys.

Rules and cases arrive by pull request, so every limit here is a limit on what a hostile file can
make the build do: read a device forever, expand into a huge document, or recurse until Python
gives up with a traceback.

YAML is read by two implementations when PyYAML was built with libyaml: PyYAML's pure-Python
scanner and parser are the reference (every message and line a user sees comes from them);
libyaml (`yaml.CSafeLoader`, about ten times quicker on the rules) is a fast path that only ever
answers "here is the value" or "ask the reference". libyaml accepts documents PyYAML refuses:
tabs as separators (`a:<TAB>1`, PyYAML issues #306 and #450), `[\\?]` (PyYAML issues #128 and
#753), a comment glued to a block scalar header (`a: |#`); and it reads some differently: a BOM
starting any line is skipped (PyYAML skips only the first), `- !` is '' (PyYAML: None). So the
fast path answers only texts with none of: a tab, a BOM, a block scalar header followed by `#`,
a tag, a directive, a flow collection (`[...]`, `{...}`, whose plain-scalar rules differ), and
(found alike by the tests, handed over all the same as cheap insurance) CR, NEL, LS, PS and any
character PyYAML's reader refuses. Any problem the fast path meets (a YAML error, an alias,
nesting past half the limit, a repeated key, anything raised) hands the text to the reference
too, which then refuses or accepts it as it always did. `tests/test_textfiles.py` runs both paths
over every YAML file of the project, SigmaHQ's rules and a list of malformed and edge texts.
"""

from __future__ import annotations

import json
import re
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


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


class _RefusingRepeatedKeys:
    """Constructor mixin that refuses a repeated mapping key.

    PyYAML keeps the last value of a repeated key without a word, while pySigma's
    `SigmaRule.from_yaml` refuses the file: a second `selection:` pasted below the first would
    otherwise change the detection silently here and crash there.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if first is not None:
                raise _DuplicateKey(key, key_node.start_mark.line + 1, first)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc, no-any-return]


class _UniqueKeyLoader(_RefusingRepeatedKeys, yaml.SafeLoader):
    """The reference: PyYAML's pure-Python SafeLoader, refusing repeated keys."""


# libyaml's loader when PyYAML was built with it; None falls back to the reference alone.
_C_SAFE_LOADER: type[Any] | None = getattr(yaml, "CSafeLoader", None)
_FastUniqueKeyLoader: type[Any] | None = (
    None
    if _C_SAFE_LOADER is None
    else type("_FastUniqueKeyLoader", (_RefusingRepeatedKeys, _C_SAFE_LOADER), {})
)

# Texts the fast path leaves to the reference (see the module docstring): tab, CR, BOM, NEL,
# LS, PS, what PyYAML's reader calls non-printable (`yaml.reader.Reader.NON_PRINTABLE`,
# surrogates included), and a block scalar header with `#` right after it.
_REFERENCE_ONLY = re.compile(
    "[\t\r\ufeff\x85\u2028\u2029]"
    "|[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    "|[|>][-+0-9]*#"
)
# Rules nest about five levels: the fast path hands anything near the limit to the reference.
_FAST_NESTING = MAX_NESTING // 2
# Aliases are refused anyway; a tag or directive (`- !` is '' to libyaml, None to PyYAML) and a
# flow collection are for the reference to read.
_FAST_REFUSED = (
    yaml.AliasToken,
    yaml.TagToken,
    yaml.DirectiveToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)


class _AskTheReference(Exception):
    """The fast path does not judge this text."""


def _load_fast(text: str, loader: type[Any]) -> Any:
    """The document as libyaml reads it, or _AskTheReference / any error for the reference."""
    if _REFERENCE_ONLY.search(text):
        raise _AskTheReference
    depth = 0
    for token in yaml.scan(text, Loader=loader):
        if isinstance(token, _FAST_REFUSED):
            raise _AskTheReference
        if isinstance(token, _OPENING):
            depth += 1
            if depth > _FAST_NESTING:
                raise _AskTheReference
        elif isinstance(token, _CLOSING):
            depth -= 1
    return yaml.load(text, Loader=loader)  # noqa: S506 - a CSafeLoader subclass


def _yaml_error_line(error: yaml.MarkedYAMLError, text: str) -> int | None:
    """The line to show: where the problem was found, unless that is past the end of the file
    (an unterminated quote or bracket), where the construct that was left open starts."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    problem, context = error.problem_mark, error.context_mark
    if problem is not None and (problem.line < lines or context is None):
        return min(problem.line + 1, max(lines, 1))
    return context.line + 1 if context is not None else None


def _yaml_error_message(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or error.context or "invalid YAML"
    context, mark = error.context, error.context_mark
    if error.problem and context and mark is not None:  # PyYAML's "while scanning ..." part
        return f"invalid YAML: {problem} ({context} started on line {mark.line + 1})"
    return f"invalid YAML: {problem}"


def load_yaml(text: str, shown: str) -> Any:
    """Parse YAML, refusing aliases (an anchor can expand a small file into a huge document),
    nesting deeper than MAX_NESTING and repeated keys: with libyaml where it is known to agree
    with PyYAML's pure-Python reference, with the reference for every other text."""
    if _FastUniqueKeyLoader is not None:
        try:
            return _load_fast(text, _FastUniqueKeyLoader)
        except Exception:  # noqa: BLE001 - whatever it is, the reference decides and reports
            pass
    return load_yaml_reference(text, shown)


def load_yaml_reference(text: str, shown: str) -> Any:
    """`load_yaml` on PyYAML's pure-Python scanner, parser and composer alone."""
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
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as duplicate:
        message = (
            f"repeated key {duplicate.key!r} (first on line {duplicate.first}); "
            "YAML keeps only one of them: merge or rename them"
        )
        raise InputError(shown, message, duplicate.line) from None
    except yaml.MarkedYAMLError as error:
        line = _yaml_error_line(error, text)
        raise InputError(shown, _yaml_error_message(error), line) from None
    except yaml.YAMLError as error:
        raise InputError(shown, f"invalid YAML: {error}") from None
    except RecursionError:
        raise InputError(shown, "YAML nested too deeply; flatten it") from None


class _DuplicateJsonKey(Exception):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of a repeated key silently: one recorded field would vanish from a case
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateJsonKey(key)
        result[key] = value
    return result


def _json_key_line(text: str, key: str) -> int | None:
    """The line of the second `"key":` (the json module reports no position for a pair)."""
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    found = list(pattern.finditer(text))
    if len(found) < 2:
        return None
    return text.count("\n", 0, found[1].start()) + 1


def load_json(text: str, shown: str) -> Any:
    """Parse JSON, refusing nesting deeper than MAX_NESTING and repeated keys in an object."""
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateJsonKey as duplicate:
        key = str(duplicate.args[0])
        message = f"repeated key {key!r} in one object; JSON keeps only one of them"
        raise InputError(shown, message, _json_key_line(text, key)) from None
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


# Where a text's lines hold something: for messages that name a file and line.


def line_of(text: str, needle: str) -> int | None:
    """First line (1-based) holding `needle`."""
    if not needle:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def lines_with(text: str, needle: str) -> list[int]:
    """Every line (1-based) holding `needle`."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if needle and needle in line]


def lines_matching(text: str, pattern: re.Pattern[str]) -> list[int]:
    """Every line (1-based) where `pattern` matches."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if pattern.search(line)]
