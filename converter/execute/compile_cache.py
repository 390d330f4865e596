"""What compiling a query decided, kept between runs of `certdetect scan`.

Why: `certdetect scan` compiles every query of dist/ before it reads an event, and most of its
start is two steps whose outcome depends only on their inputs: duckdb-kql's pure-Python ANTLR
parse and translation of each KQL query with its checks and DuckDB's bind check of the SQL, and
Elastic's `eql` check of each EQL query against the field schema. A query that passed them once
passes them again as long as nothing they read has changed, so their outcome is kept, keyed by
the query's text and a fingerprint of everything else they read: the versions of the libraries,
the source of the modules that make the decision, and the schema. Anything else is looked up
afresh; a query that failed is never kept (its error is found again, with its message).

The file is `compiled-queries.json` in `$CERTDETECT_CACHE_DIR`, else `$XDG_CACHE_HOME/certdetect`,
else `~/.cache/certdetect`; `CERTDETECT_CACHE_DIR=` (empty) turns it off. A file that cannot be
read or written is ignored: the cache only ever saves time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENVIRONMENT = "CERTDETECT_CACHE_DIR"
FILE_NAME = "compiled-queries.json"
FORMAT = 1
MAX_ENTRIES = 4096  # the oldest go first: dist/ holds a few dozen queries per target


def cache_folder() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "certdetect"


def fingerprint(parts: Iterable[str], sources: Iterable[Path] = ()) -> str:
    """A digest of `parts` (versions, a schema) and of the `sources` (the deciding modules)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    for source in sources:
        digest.update(source.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class CompileCache:
    path: Path | None
    entries: dict[str, Any] = field(default_factory=dict)
    changed: bool = False
    # a build's vendor check writes from its own thread (`converter.verify.vendor_check`)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def load(cls, folder: Path | None = None, name: str = FILE_NAME) -> CompileCache:
        """The cache in `folder` (default: `cache_folder()`), in the file `name`; empty if it
        cannot be read."""
        folder = cache_folder() if folder is None else folder
        if folder is None:
            return cls(None)
        path = folder / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return cls(path)
        entries = data.get("entries")
        return cls(path, entries if isinstance(entries, dict) else {})

    @staticmethod
    def _key(kind: str, print_: str, text: str) -> str:
        return hashlib.sha256(f"{kind}\0{print_}\0{text}".encode()).hexdigest()

    def get(self, kind: str, print_: str, text: str) -> Any | None:
        if self.path is None:
            return None
        with self._lock:
            return self.entries.get(self._key(kind, print_, text))

    def put(self, kind: str, print_: str, text: str, value: Any) -> None:
        if self.path is None:
            return
        key = self._key(kind, print_, text)
        with self._lock:
            if self.entries.get(key) == value:
                return
            self.entries.pop(key, None)
            self.entries[key] = value  # the newest last
            while len(self.entries) > MAX_ENTRIES:
                del self.entries[next(iter(self.entries))]
            self.changed = True

    def beside(self, name: str) -> CompileCache:
        """The cache in the file `name` of this one's folder (off when this one is)."""
        if self.path is None:
            return CompileCache(None)
        return CompileCache.load(self.path.parent, name)

    def attach(self, engines: Iterable[Any]) -> None:
        """Give the cache to every engine that reads one (an engine with a `cache` attribute)."""
        for engine in engines:
            if hasattr(engine, "cache"):
                engine.cache = self

    def save(self) -> None:
        """Write the cache if it changed (whole, or not at all)."""
        if self.path is None or not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".compiled-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out, self._lock:
                    json.dump({"format": FORMAT, "entries": self.entries}, out)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            return
        self.changed = False
