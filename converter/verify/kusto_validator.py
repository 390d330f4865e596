"""Every KQL query parsed and semantically analysed by Microsoft's Kusto.Language.

Kusto.Language is Microsoft's parser and semantic analyser of KQL; Azure-Sentinel's CI validates
its hunting and detection queries with it (the NuGet package `Microsoft.Azure.Kusto.Language`).
Microsoft publishes the same library for JavaScript as the npm package
`@kusto/language-service-next`, which `kusto/validate.js` runs under node (pinned in
`kusto/package-lock.json`, installed by `scripts/install-test-tools`).

`KustoCode.ParseAndAnalyze` binds each query to a database holding the Defender XDR
advanced-hunting tables with their column types (`converter.core.defender_schema`, the one
source of them; an environment's renamed tables and columns for an environment build), so an
unknown table or column, an operator applied to the wrong type and a syntax error are errors.
The Sentinel rules carry the same text as the KQL artifacts
(`converter.publish.deploy.sentinel`), so one check covers both.

node runs once per build over the queries it has not seen: results are kept per process for the
same schema and text, so the many builds of the test suite pay for each query once, and with the
build's compiled-query cache (`converter.execute.compile_cache`) between runs, keyed by the
text, the schema, this module's script and the version of the package installed (a verdict is
never taken from the cache when the package cannot be found: the check then says it is skipped).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from converter.core.defender_schema import DEFENDER_TABLES, DefenderTable
from converter.core.errors import VerificationFailed
from converter.environment.kql import KqlOverlay
from converter.execute.compile_cache import CompileCache, fingerprint
from converter.verify.vendor_check import Finding, VendorCheck, skipped

TOOL = "Kusto.Language"
PACKAGE = "@kusto/language-service-next"
SCRIPT = Path(__file__).resolve().parent / "kusto" / "validate.js"
PACKAGE_DIR = SCRIPT.parent / "node_modules" / "@kusto" / "language-service-next"
NODE = "node"  # looked up on PATH
TIMEOUT_SECONDS = 300
_MISSING_PACKAGE = 3  # validate.js's exit code when the npm package is not installed

_cache: dict[tuple[str, str], tuple[Finding, ...]] = {}


def kusto_tables(overlay: KqlOverlay | None = None) -> dict[str, dict[str, str]]:
    """Table -> column -> Kusto type: the Defender XDR tables, as an environment names them."""
    tables: Mapping[str, DefenderTable] = (
        overlay.defender_tables() if overlay is not None else DEFENDER_TABLES
    )
    return {name: dict(table.columns) for name, table in tables.items()}


def position(text: str, utf16_offset: int) -> tuple[int, int]:
    """Line and column (1-based) of a Kusto.Language offset, which counts UTF-16 code units."""
    prefix = text.encode("utf-16-le")[: 2 * utf16_offset].decode("utf-16-le", errors="ignore")
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


def finding(text: str, diagnostic: Mapping[str, Any]) -> Finding:
    line, column = position(text, int(diagnostic["start"]))
    message = f"{diagnostic['code']} {diagnostic['message']} (line {line}, column {column})"
    # Kusto.Language's severities: Error, Warning, Suggestion, Information; only Error fails
    return Finding(error=diagnostic["severity"] == "Error", message=message)


def run_validator(tables: Mapping[str, Mapping[str, str]], texts: list[str]) -> dict[str, Any]:
    """validate.js's answer for `texts` (query ids are their indexes), or VendorCheck-ready
    `{"skipped": reason}` when node or the package is absent."""
    node = shutil.which(NODE)
    if node is None:
        return {"skipped": f"node ({NODE}) is not on PATH; install Node.js to check KQL"}
    request = {
        "tables": tables,
        "queries": [{"id": str(i), "text": t} for i, t in enumerate(texts)],
    }
    try:
        process = subprocess.run(
            [node, str(SCRIPT)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise VerificationFailed(f"{TOOL} check did not finish: {error}") from None
    if process.returncode == _MISSING_PACKAGE:
        return {"skipped": f"{PACKAGE} is not installed; run scripts/install-test-tools"}
    if process.returncode != 0:
        last = (process.stderr.strip().splitlines() or ["no message"])[-1]
        raise VerificationFailed(f"{TOOL} check failed (exit {process.returncode}): {last}")
    try:
        answer: dict[str, Any] = json.loads(process.stdout)
    except json.JSONDecodeError:
        raise VerificationFailed(f"{TOOL} check printed no JSON: {process.stdout[:80]!r}") from None
    return answer


def installed_version() -> str | None:
    """The version of the package validate.js loads, or None when it is not installed."""
    try:
        found = json.loads((PACKAGE_DIR / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = found.get("version") if isinstance(found, dict) else None
    return version if isinstance(version, str) else None


def validate(
    queries: Mapping[str, str],
    section: KqlOverlay | None = None,
    cache: CompileCache | None = None,
) -> VendorCheck:
    """Kusto.Language's diagnostics for each query (id -> text) over the Defender XDR tables of
    the environment section `section` (None: the stock tables); with `cache`, the verdicts of
    earlier runs with the same package, script and schema are taken from it."""
    tables = kusto_tables(section)
    schema = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()
    version = installed_version() if cache is not None else None
    key = fingerprint([version, schema], [SCRIPT]) if version is not None else None
    for text in set(queries.values()):
        if key is not None and (schema, text) not in _cache:
            kept = cache.get("kusto-language", key, text)  # type: ignore[union-attr]
            if isinstance(kept, list) and all(_is_finding(item) for item in kept):
                _cache[(schema, text)] = tuple(Finding(bool(e), str(m)) for e, m in kept)
    new = sorted({text for text in queries.values() if (schema, text) not in _cache})
    if new:
        answer = run_validator(tables, new)
        if "skipped" in answer:
            return skipped(TOOL, answer["skipped"])
        for result in answer["results"]:
            text = new[int(result["id"])]
            _cache[(schema, text)] = tuple(finding(text, d) for d in result["diagnostics"])
            if key is not None and answer.get("version") == version:
                verdict = [[f.error, f.message] for f in _cache[(schema, text)]]
                cache.put("kusto-language", key, text, verdict)  # type: ignore[union-attr]
    findings = {name: _cache[(schema, text)] for name, text in queries.items()}
    return VendorCheck(tool=TOOL, findings={k: v for k, v in findings.items() if v})


def _is_finding(item: Any) -> bool:
    return (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], bool)
        and isinstance(item[1], str)
    )
