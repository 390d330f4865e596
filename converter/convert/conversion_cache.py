"""What converting each rule gave in an earlier build, kept between runs of `certdetect build`.

Why: once the engines' compiles and the vendor check are kept (`converter.execute.compile_cache`),
most of a build that changes nothing is pySigma's: resolving each target's pipelines, the field
check's pass of each rule through them, and the conversion of each rule for each target. Their
outcome depends on the rule's text and on nothing else that changes between two builds of one
checkout: the project's pipeline files, the installed pySigma distributions (pySigma, its
backends and pipelines) and PyYAML, Python, and this package's own code. A build keeps, per
target and rule text, the query or the reason the target cannot express the rule (`unsupported`)
and that the rule's fields passed the field check, in the build's file beside the compiled-query
cache (`converter.verify.build.BUILD_CACHE`), under a fingerprint of all of those: a change to
any of them (any edit under `converter/` or `pipelines/`, another version of any of those
packages) and nothing is taken from it. A rule that fails the field check is never kept (its
error is found again, with its message); an environment build does not use the cache.
`certdetect build` then verifies every query on every case, as always.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from typing import Any

from converter.core.rules import RuleFile
from converter.execute.compile_cache import CompileCache, fingerprint

PACKAGE = Path(__file__).resolve().parents[1]  # converter/
# False: never kept nor taken. The test suite's conftest sets it: tests change conversion code in
# the process (monkeypatch), which no fingerprint of the files can see.
ENABLED = True
# distributions whose code converts rules: pySigma and its plugins, and the YAML parser
DISTRIBUTIONS = ("pysigma", "pyyaml")


def conversion_fingerprint(root: Path) -> str:
    """A digest of everything but the rule that decides a conversion (the module docstring)."""
    versions = sorted(
        f"{name}=={dist.version}"
        for dist in importlib.metadata.distributions()
        if (name := (dist.metadata["Name"] or "").lower()).startswith(DISTRIBUTIONS)
    )
    sources = sorted(PACKAGE.rglob("*.py"))
    pipelines = root / "pipelines"
    if pipelines.is_dir():
        sources += sorted(path for path in pipelines.rglob("*") if path.is_file())
    names = [str(path.relative_to(root)) for path in sources if path.is_relative_to(root)]
    return fingerprint([*versions, sys.version, *names], sources)


class ConversionCache:
    """The converted queries and passed field checks of earlier builds, for one fingerprint."""

    CONVERTED = "converted"
    FIELDS_KNOWN = "fields-known"

    def __init__(self, cache: CompileCache, key: str) -> None:
        self.cache = cache
        self.key = key

    @classmethod
    def for_build(cls, cache: CompileCache | None, root: Path) -> ConversionCache | None:
        if cache is None or cache.path is None or not ENABLED:
            return None
        return cls(cache, conversion_fingerprint(root))

    def converted(self, target: str, rule: RuleFile) -> tuple[str, str] | None:
        """("query", text) or ("unsupported", reason), when kept."""
        entry: Any = self.cache.get(self.CONVERTED, f"{self.key}:{target}", _text(rule))
        if (
            isinstance(entry, list)
            and len(entry) == 2
            and entry[0] in ("query", "unsupported")
            and isinstance(entry[1], str)
        ):
            return entry[0], entry[1]
        return None

    def keep_converted(self, target: str, rule: RuleFile, kind: str, value: str) -> None:
        self.cache.put(self.CONVERTED, f"{self.key}:{target}", _text(rule), [kind, value])

    def fields_known(self, target: str, rule: RuleFile) -> bool:
        return self.cache.get(self.FIELDS_KNOWN, f"{self.key}:{target}", _text(rule)) is True

    def keep_fields_known(self, target: str, rule: RuleFile) -> None:
        self.cache.put(self.FIELDS_KNOWN, f"{self.key}:{target}", _text(rule), True)


def _text(rule: RuleFile) -> str:
    # the path too: a message may name the file
    return f"{rule.path}\0{rule.text}"
