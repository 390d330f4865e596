"""`load_yaml` reads with libyaml where it agrees with PyYAML's pure-Python reference, and gives
exactly the reference's value or error everywhere: every YAML file of the project, SigmaHQ's
rules, and texts built to find where the two implementations part."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from converter.core import textfiles
from converter.core.errors import InputError
from converter.core.textfiles import MAX_NESTING, load_yaml, load_yaml_reference

from .conftest import REPO, SHARED

pytestmark = pytest.mark.skipif(
    not yaml.__with_libyaml__, reason="PyYAML was built without libyaml: there is no fast path"
)


def _repository_yaml() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.yml", "*.yaml"], cwd=REPO, capture_output=True, text=True
    )
    if listed.returncode == 0 and listed.stdout.strip():
        return [REPO / name for name in listed.stdout.split()]
    skipped = {".git", ".venv", "node_modules"}
    return [
        path
        for pattern in ("*.yml", "*.yaml")
        for path in REPO.rglob(pattern)
        if not skipped & set(path.relative_to(REPO).parts)
    ]


def _nested_block(levels: int) -> str:
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(levels)) + "  " * levels + "v\n"


def _nested_list(levels: int) -> str:
    return "".join(f"{'  ' * level}-\n" for level in range(levels)) + "  " * levels + "- v\n"


RULE_HEAD = "title: t\nlogsource:\n  product: windows\ndetection:\n"

# Each class where libyaml and PyYAML are known or suspected to part, and what load_yaml refuses.
EDGE_TEXTS = {
    # line breaks YAML 1.1 knows and libyaml folds differently
    "nel in a plain scalar": "a: x\x85y\n",
    "nel between keys": "a: 1\x85b: 2\n",
    "line separator": "a: x\u2028y\n",
    "paragraph separator": "a: x\u2029 y\n",
    "line separator in double quotes": 'a: "x\u2028 y"\n',
    "crlf line ends": "a: x\r\nb:\r\n  - y\r\n",
    "lone carriage returns": "a: x\rb: y\r",
    "crlf in a folded scalar": "a: >\r\n  x\r\n  y\r\n",
    # byte order marks
    "bom at the start": "\ufeffa: 1\n",
    "bom starting a later line": "a: 1\n\ufeffb: 2\n",
    "bom in a value": "a: x\ufeffy\n",
    "bom alone on a later line": "---\n\ufeff",
    # tabs
    "tab inside a plain value": "a: b\tc\n",
    "tab after a colon": "a:\t1\n",
    "tab before a comment": "a: 1\t# c\n",
    "trailing tab": "a:\t\n  - 1\n",
    "tab indentation": "a:\n\tb: 1\n",
    "tab in a block scalar": "a: |\n  \tx\n",
    "tab after a dash": "-\tb\n",
    "tab in double quotes": 'a: "x\ty"\n',
    # what PyYAML's reader refuses
    "nul": "a: \x00\n",
    "bell": "a: x\x07\n",
    "delete": "a: x\x7f\n",
    "c1 control": "a: x\x90\n",
    "noncharacter fffe": "a: x\ufffe\n",
    "lone surrogate": "a: x\ud800\n",
    "escape": "a: \x1b[31m\n",
    # long keys: PyYAML gives up on a simple key past 1024 characters
    "key of 1024 characters": "k" * 1024 + ": v\n",
    "key of 1025 characters": "k" * 1025 + ": v\n",
    "key of 600 two-byte characters": "é" * 600 + ": v\n",
    "key of 1100 two-byte characters": "é" * 1100 + ": v\n",
    "key of 300 four-byte characters": "\U0001f600" * 300 + ": v\n",
    "long value": "a: " + "x" * 5000 + "\n",
    # libyaml is laxer than PyYAML here
    "comment glued to a block scalar header": "a: |#\n x\n",
    "comment glued to a chomped header": "a: >-#c\n x\n",
    "question mark in a flow sequence": "[\\?]\n",
    "colon in a flow mapping": "{a:test}\n",
    "flow mapping json style": '{"a":1, "b": [1, 2]}\n',
    "non-specific tag on nothing": "- !\n",
    "non-specific tag on a value": "a: ! 1\n",
    "tag": "a: !!str 1\n",
    "unknown tag": "a: !foo 1\n",
    "python tag": "a: !!python/name:os.system\n",
    "yaml 1.3 directive": "%YAML 1.3\n---\na: 1\n",
    "yaml 2.0 directive": "%YAML 2.0\n---\na: 1\n",
    "tag directive": "%TAG !e! tag:yaml.org,2002:\n---\na: !e!str 1\n",
    # aliases and anchors
    "alias": "a: &x 1\nb: *x\n",
    "alias bomb": "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "anchor without alias": "a: &x 1\n",
    "merge key": "a:\n  <<: {b: 1}\n  c: 2\n",
    # nesting around MAX_NESTING and the fast path's own limit
    "block nesting 16": _nested_block(15),
    "block nesting 17": _nested_block(16),
    "block nesting at the limit": _nested_block(MAX_NESTING - 1),
    "block nesting over the limit": _nested_block(MAX_NESTING + 1),
    "list nesting over the limit": _nested_list(MAX_NESTING + 1),
    "flow nesting over the limit": "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1) + "\n",
    "flow nesting far over the limit": "[" * 2000 + "\n",
    # repeated keys
    "repeated top key": "status: test\nlevel: high\nstatus: stable\n",
    "repeated selection": RULE_HEAD + "  selection:\n    a: 1\n  selection:\n    b: 2\n",
    "repeated field": RULE_HEAD + "  selection:\n    Image|endswith: x\n    Image|endswith: y\n",
    "repeated key in a list item": "- a: 1\n  a: 2\n",
    "repeated key after a different type": "1: a\n'1': b\n1: c\n",
    "repeated null key": "? \n: 1\n? \n: 2\n",
    "repeated key in flow": "{a: 1, a: 2}\n",
    "unhashable key": "? [a]\n: 1\n",
    # plainly malformed
    "unterminated double quote": 'a: "x\nb: 1\n',
    "unterminated single quote": "a: 'x\n",
    "unterminated flow sequence": "a: [1, 2\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "mapping in a plain value": "a: b: c\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "document end then junk": "a: 1\n...\n}\n",
    "bad escape": 'a: "\\q"\n',
    "bad hex escape": 'a: "\\xZZ"\n',
    "zero indentation indicator": "a: |0\n x\n",
    "backtick start": "a: `x`\n",
    "at start": "a: @x\n",
    "empty key": ": v\n",
    "invalid date": "a: 2001-02-30\n",
    # accepted oddities both must read alike
    "empty text": "",
    "only a comment": "# nothing\n",
    "only a document marker": "---\n",
    "escapes": 'a: "\\u00e9\\x41\\N\\_\\L\\P\\/\\e\\0"\n',
    "folded and literal scalars": "a: >+\n  x\n\n  y\n\nb: |2-\n   z\n",
    "complex key": "? a\n: b\n",
    "colons in plain scalars": "a:b: c\nd: http://x\n",
    "comment after quotes": "a: 'x'#c\n",
    "yaml 1.1 scalars": "a: yes\nb: On\nc: 0o7\nd: 0x1F\ne: 1_000\nf: .inf\ng: ~\nh: 2001-12-14\n",
    "sexagesimal": "a: 1:30:00\n",
    "non-breaking space": "a: x\u00a0y\n",
    "private use character": "a: \ue000\n",
}


def _outcome(load: object, text: str) -> tuple[str, str, int | None]:
    """What a loader made of `text`: the value with its types, or the error a user sees."""
    try:
        value = load(text, "rule.yml")  # type: ignore[operator]
    except InputError as error:
        return ("InputError", error.message, error.line)
    except Exception as error:  # noqa: BLE001 - today's traceback must stay today's traceback
        return (type(error).__name__, str(error), None)
    return ("value", _typed(value), None)


def _typed(value: object) -> str:
    """repr with every type spelled out: 1, 1.0 and True are equal in Python but not here."""
    if isinstance(value, dict):
        items = ", ".join(f"{_typed(k)}: {_typed(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_typed(item) for item in value) + "]"
    return f"{type(value).__name__}({value!r})"


def _differences(texts: dict[str, str]) -> list[str]:
    return [
        name
        for name, text in texts.items()
        if _outcome(load_yaml, text) != _outcome(load_yaml_reference, text)
    ]


def _files_as_texts(paths: list[Path]) -> Iterator[tuple[str, str]]:
    for path in paths:
        data = path.read_bytes()
        yield str(path), data.decode("utf-8", errors="surrogateescape")


def test_every_yaml_file_of_the_project_loads_alike_on_both_paths() -> None:
    texts = dict(_files_as_texts(_repository_yaml()))
    assert len(texts) >= 100
    assert _differences(texts) == []


def test_the_fast_path_itself_reads_every_rule_of_the_project() -> None:
    # otherwise the differential tests above would only compare the reference with itself
    loader = textfiles._FastUniqueKeyLoader
    rules = sorted((REPO / "sigma").rglob("*.yml"))
    assert rules
    for path in rules:
        text = path.read_text(encoding="utf-8")
        assert textfiles._load_fast(text, loader) == load_yaml_reference(text, path.name)


def test_sigmahq_rules_load_alike_on_both_paths() -> None:
    rules = SHARED / "conformance" / "sigmahq" / "rules"
    if not rules.is_dir():
        pytest.skip(f"SigmaHQ's rules are absent ({rules})")
    texts = dict(_files_as_texts(sorted(rules.rglob("*.yml"))))
    assert len(texts) >= 100
    assert _differences(texts) == []


@pytest.mark.parametrize("name", sorted(EDGE_TEXTS))
def test_edge_and_malformed_texts_load_alike_on_both_paths(name: str) -> None:
    text = EDGE_TEXTS[name]
    assert _outcome(load_yaml, text) == _outcome(load_yaml_reference, text)


def test_the_edge_texts_include_refusals_of_every_kind() -> None:
    messages = [_outcome(load_yaml, text)[1] for text in EDGE_TEXTS.values()]
    for expected in ("repeated key", "aliases", "nested more than", "invalid YAML"):
        assert any(expected in message for message in messages), expected


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("repeated top key", 3, "repeated key 'status' (first on line 1)"),
        ("repeated field", 7, "repeated key 'Image|endswith' (first on line 6)"),
        ("repeated key in a list item", 2, "repeated key 'a' (first on line 1)"),
        ("alias", 2, "YAML aliases (*name) are not allowed in rules"),
        ("block nesting over the limit", 33, f"YAML nested more than {MAX_NESTING} levels"),
        ("unterminated single quote", 1, "invalid YAML: found unexpected end of stream"),
        ("tab after a colon", 1, "invalid YAML: found character '\\t' that cannot start"),
        ("comment glued to a block scalar header", 1, "invalid YAML: expected chomping"),
        ("question mark in a flow sequence", 1, "invalid YAML: expected ',' or ']'"),
    ],
)
def test_load_yaml_reports_the_references_message_and_line(
    name: str, line: int, message: str
) -> None:
    with pytest.raises(InputError) as refused:
        load_yaml(EDGE_TEXTS[name], "rule.yml")
    assert refused.value.line == line
    assert refused.value.message.startswith(message)


def test_a_fast_path_that_keeps_the_last_repeated_key_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # libyaml's own loader, as PyYAML ships it, keeps the last of a repeated key silently
    monkeypatch.setattr(textfiles, "_FastUniqueKeyLoader", yaml.CSafeLoader)
    found = _differences(EDGE_TEXTS)
    assert "repeated top key" in found
    assert "repeated selection" in found
    assert "repeated field" in found


def test_without_libyaml_the_reference_reads_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textfiles, "_FastUniqueKeyLoader", None)
    assert load_yaml("a: [1, b]\n", "rule.yml") == {"a": [1, "b"]}
    with pytest.raises(InputError) as refused:
        load_yaml(EDGE_TEXTS["repeated selection"], "rule.yml")
    assert refused.value.line == 7
    assert _differences(EDGE_TEXTS) == []


PIECES = [
    "a", "1", "0x1F", "~", "yes", "2001-12-14", "-", "?", ":", "#", "'", '"', "\\", " ", "\n",
    "\n  ", "- ", ": ", "? ", "|", ">", "|-", ">+", "|1", "&x ", "*x", "!", "!!str ", "---",
    "...", '"\\u00e9"', '"\\x"', "é", "\t", "\r", "\x85", "\ufeff", "[", "]", "{", "}", ",",
    "%", "@", "`", "<<: ",
]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=14).map("".join))
def test_texts_built_from_yaml_pieces_load_alike_on_both_paths(text: str) -> None:
    assert _outcome(load_yaml, text) == _outcome(load_yaml_reference, text)
