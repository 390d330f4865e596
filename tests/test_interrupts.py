"""Ctrl-C, as a terminal sends it: SIGINT to a child process running certdetect."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from converter.core.project import Project

from .conftest import FILES, REPO

CERTDETECT = [sys.executable, "-m", "converter"]


def _wait_for(condition, seconds: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the child never got there")
        time.sleep(0.05)


def test_an_interrupted_scan_prints_its_summary_streams_jsonl_and_leaves_no_temp_file(
    tmp_path: Path,
) -> None:
    lines = (FILES / "formats" / "nxlog_sysmon.jsonl").read_text().splitlines()
    log = tmp_path / "day.jsonl"
    log.write_text("\n".join(lines * 20_000) + "\n")  # 100,000 events, all of them evaluated
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "out.jsonl"
    with out.open("w") as stdout:
        child = subprocess.Popen(
            [*CERTDETECT, "scan", "--format", "jsonl", "--project", str(REPO), str(log)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(temp)},
        )
        # jsonl reaches a file record by record, long before the end of the scan
        _wait_for(lambda: out.stat().st_size > 0 or child.poll() is not None)
        assert child.poll() is None
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130
    assert "Traceback" not in stderr
    assert "events read: " in stderr  # the partial summary (on stderr: stdout holds the rows)
    assert "certdetect: interrupted; the summary covers the " in stderr.splitlines()[-1]
    rows = [json.loads(line) for line in out.read_text().splitlines()]  # whole lines only
    assert 0 < len(rows) < 100_000
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("command", [["build"], ["check"]])
def test_build_and_check_end_with_one_line_on_ctrl_c(
    project_copy: Project, command: list[str]
) -> None:
    interrupted = 0
    for delay in (0.5, 1.0, 1.5, 2.5):
        child = subprocess.Popen(
            [*CERTDETECT, *command, "--project", str(project_copy.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
        assert "Traceback" not in stderr and "Aborted!" not in stderr
        # 130, or -2 when DuckDB's interrupt handling re-delivers the signal after the one line
        # was written (a shell reports $? = 130 for both); the line is what the user sees
        if child.returncode in (130, -signal.SIGINT):
            interrupted += 1
            assert stderr == "certdetect: interrupted\n"
        else:
            assert child.returncode == 0, stderr  # it was done before the signal
    assert interrupted
