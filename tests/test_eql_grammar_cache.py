"""`eql` imported with lark's grammar cache (`converter.execute.engines.eql.grammar_cache`): the
file is written once, read by later processes, and the parser is the same with it, without it
and with a damaged one."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

VERSIONS = "-".join(
    [importlib.metadata.version("eql"), importlib.metadata.version("lark")]
    + [str(part) for part in sys.version_info[:2]]
)

# a fresh process each time: `eql` builds its parser once per process, when imported
PARSE = (
    "import lark, converter.execute.engines.eql\n"
    "from converter.execute.engines.eql.parsing import parse_event_query\n"
    "import eql.parser\n"
    "print(type(eql.parser.lark_parser.parser).__name__)\n"
    'print(parse_event_query("process where process.name : \\"certutil.exe\\" and '
    'process.args : (\\"-addstore\\", \\"root\\")"))\n'
)


def _run(cache: str) -> list[str]:
    environment = {**os.environ, "CERTDETECT_CACHE_DIR": cache}
    done = subprocess.run(
        [sys.executable, "-c", PARSE],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout.splitlines()


def test_the_grammar_is_cached_once_and_parses_as_without_the_cache(tmp_path: Path) -> None:
    plain = _run("")  # the cache turned off: eql imported as it is
    first = _run(str(tmp_path))
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [f"eql-grammar-{VERSIONS}"]
    (cached,) = files[0].iterdir()  # written in a folder of the process, then moved here
    written = cached.stat().st_mtime_ns
    second = _run(str(tmp_path))  # read from the file, not written again
    assert [cached] == list(files[0].iterdir()) and cached.stat().st_mtime_ns == written
    assert plain == first == second
    assert "process where" in plain[1]


def test_a_damaged_cache_file_is_rebuilt_and_the_parser_is_unchanged(tmp_path: Path) -> None:
    plain = _run("")
    _run(str(tmp_path))
    (cached,) = next(tmp_path.iterdir()).iterdir()
    cached.write_bytes(cached.read_bytes()[:100])
    assert _run(str(tmp_path)) == plain


def test_an_unusable_cache_folder_is_a_plain_import(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert _run(str(blocked / "cache")) == _run("")
