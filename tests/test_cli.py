from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from converter.cli import COMMANDS, main

from .conftest import REPO

# What `scan --evaluator sigma` must not import: pySigma's backends and plugin discovery (build,
# convert), the EQL parser and DuckDB (the eql and kql engines), the other commands' modules.
_HEAVY = ("sigma.backends", "sigma.plugins", "eql", "duckdb", "duckdb_kql", "requests")

_PROBE = """
import json, sys
from click.testing import CliRunner
from converter.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
print(json.dumps({"code": result.exit_code, "modules": sorted(sys.modules)}))
"""


def _modules_after(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    event = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "C:\\a.exe"}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(event) + "\n")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args, "--project", str(REPO), "--no-progress", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    return found["code"], set(found["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in _HEAVY))


def test_scan_with_the_reference_alone_imports_no_backend_engine_or_other_command(
    tmp_path: Path,
) -> None:
    code, modules = _modules_after(tmp_path, "scan", "--evaluator", "sigma")
    assert code == 0
    assert _heavy(modules) == []
    commands = {m for m in modules if m.startswith("converter.cli.")} - {"converter.cli.options"}
    assert commands == {"converter.cli.scan"}


def test_scan_with_every_evaluator_imports_the_engines_but_not_the_converting_backends(
    tmp_path: Path,
) -> None:
    code, modules = _modules_after(tmp_path, "scan")
    assert code == 0
    assert {"eql", "duckdb_kql"} <= modules  # the engines do run
    assert not any(m.startswith(("sigma.backends", "sigma.plugins")) for m in modules)
    # the Defender tables are read from their module alone, not through the XDR pipeline
    assert not any(m.startswith("sigma.pipelines.microsoftxdr") for m in modules)


def test_every_command_is_listed_in_help_and_loads_under_its_name() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output
        command = main.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
    assert main.get_command(None, "no-such-command") is None  # type: ignore[arg-type]
