"""Elastic's `eql` imported with lark's grammar cache.

Why: `eql` (pinned) builds its LALR parser with lark when `eql.parser` is imported, about 0.3 s:
a third of the start of `certdetect scan` with every evaluator, paid again by each of its
worker processes, and by every `certdetect build`. lark can keep the analysed grammar in a file
(its documented `cache` option, keyed by the grammar, the options, lark's version and Python's),
but `eql` does not ask for it. `import_eql` imports `eql` with `cache=True` added to its one
`Lark(...)` call and the temporary folder, where lark then writes the file, set to a folder of
certdetect's cache (`converter.execute.compile_cache.cache_folder`): a path given as the option
would be part of the key, so it could not be renamed into place. With the cache turned off,
`eql` is imported as it is. Nothing else about the parser changes: lark rebuilds it whenever the
file is missing, unreadable or for another grammar.

lark reads the file with `pickle`: like every cache in the user's cache folder, it is trusted as
much as the folder is. A new file is written in a folder of this process, then renamed, so that
two processes starting together (a sharded scan) never read a half-written one.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from converter.execute.compile_cache import cache_folder

# the files lark's `cache=True` writes in the temporary folder
LARK_FILES = ".lark_cache_*"


def import_eql() -> None:
    """Import `eql` (once), with lark's grammar cache when the cache folder is on."""
    if "eql.parser" in sys.modules:
        return
    folder = cache_folder()
    try:
        versions = "-".join(
            [importlib.metadata.version("eql"), importlib.metadata.version("lark")]
            + [str(part) for part in sys.version_info[:2]]
        )
    except importlib.metadata.PackageNotFoundError:  # not installed as distributions
        folder = None
    if folder is None:
        import eql  # noqa: F401

        return
    with _lark_cache(folder / f"eql-grammar-{versions}"):
        import eql  # noqa: F401


@contextmanager
def _lark_cache(shared: Path) -> Iterator[None]:
    """lark's `cache=True` for the `Lark(...)` calls made meanwhile: lark names the file by the
    grammar's digest in the temporary folder, here `shared` (one folder per version of eql, lark
    and Python, so it holds eql's grammar only). A file not there yet is written in a folder of
    this process and renamed into `shared`."""
    import lark

    try:
        shared.mkdir(parents=True, exist_ok=True)
        staging = None if any(shared.glob(LARK_FILES)) else tempfile.mkdtemp(dir=shared)
    except OSError:
        yield  # an unusable cache folder: the plain import
        return
    original, previous = lark.Lark.__init__, tempfile.tempdir

    def cached(self: Any, grammar: Any, **options: Any) -> None:
        options.setdefault("cache", True)
        original(self, grammar, **options)

    lark.Lark.__init__ = cached  # type: ignore[method-assign]
    tempfile.tempdir = str(shared) if staging is None else staging
    try:
        yield
    finally:
        lark.Lark.__init__ = original  # type: ignore[method-assign]
        tempfile.tempdir = previous
        if staging is not None:
            for written in Path(staging).glob(LARK_FILES):
                try:
                    os.replace(written, shared / written.name)
                except OSError:
                    pass
            shutil.rmtree(staging, ignore_errors=True)
