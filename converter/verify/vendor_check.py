"""A vendor's own validator run over a target's queries after the engines (`TargetSpec.validator`).

An engine executes a query as the engine's authors read the vendor's documentation; the vendor's
own parser and analyser see what that reading may miss (an unknown column, a syntax the engine is
lenient about). A validator takes every query of one target at once, keyed by rule file stem, and
says per query what is wrong: an error fails the artifact (`failed`, never `unsupported`), a
warning is reported. A validator that cannot run on this machine says why (`skipped`) and the
build says so once; in CI it must run (`require_validators`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from converter.core.errors import VerificationFailed


@dataclass(frozen=True)
class Finding:
    """One diagnostic of a validator on one query."""

    error: bool  # False: a warning
    message: str  # the validator's words, with its code and the position in the query


@dataclass(frozen=True)
class VendorCheck:
    """What a validator said about each query (query id -> findings; no entry: nothing found)."""

    tool: str  # the validator, as messages name it: "Kusto.Language"
    findings: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)
    skipped: str | None = None  # why the validator did not run, when it did not

    def errors(self, query_id: str) -> tuple[str, ...]:
        return tuple(f.message for f in self.findings.get(query_id, ()) if f.error)

    def warnings(self, query_id: str) -> tuple[str, ...]:
        return tuple(f.message for f in self.findings.get(query_id, ()) if not f.error)


class Validator(Protocol):
    """`TargetSpec.validator`: every query of the target, and the environment's section of it;
    with `cache` (`converter.execute.compile_cache`), the verdicts the validator gave the same
    texts in earlier runs of the same validator and schema may be taken from it."""

    def __call__(
        self, queries: Mapping[str, str], section: Any | None, cache: Any | None = None
    ) -> VendorCheck: ...


def require_validators() -> bool:
    """CI (`CI=true`, as GitHub Actions and most CI services set it) never skips a validator."""
    return os.environ.get("CI", "").lower() == "true"


def skipped(tool: str, reason: str) -> VendorCheck:
    """The check of a validator that cannot run here; in CI, a failure instead."""
    if require_validators():
        raise VerificationFailed(f"{tool} check cannot run and CI=true requires it: {reason}")
    return VendorCheck(tool=tool, skipped=reason)


class PendingCheck:
    """A validator running on a thread of its own, started as soon as the queries are known.

    Kusto.Language runs in a node child process for about a second and a half of wall time, in
    which this process only waits: started before the engines run, it overlaps them. The thread
    calls the same validator with the same arguments, and `result` returns its check or raises
    its exception, so verdicts and messages are those of a call made at the end. A daemon
    thread: an interrupted build does not wait for it.
    """

    def __init__(
        self,
        validator: Validator,
        queries: Mapping[str, str],
        section: Any,
        cache: Any | None = None,
    ) -> None:
        self._check: VendorCheck | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(validator, dict(queries), section, cache), daemon=True
        )
        self._thread.start()

    def _run(
        self, validator: Validator, queries: Mapping[str, str], section: Any, cache: Any
    ) -> None:
        try:
            self._check = validator(queries, section, cache)
        except BaseException as error:  # noqa: BLE001 - handed to the caller of result()
            self._error = error

    def result(self) -> VendorCheck:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._check is not None
        return self._check
