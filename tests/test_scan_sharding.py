"""A large JSON-lines file scanned by several processes (`converter.scan.sharding`) gives what one
process gives: the same results, numbered the same, the same malformed records and counts."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.core.errors import InputError
from converter.core.project import Project
from converter.formats.base import BadRecord
from converter.formats.readers import detect, read_items
from converter.scan import sharding
from converter.scan.inputs import FileTally, expand, records
from converter.scan.scanner import EventResult, Scanner, ScanSummary

from .conftest import FILES, REPO, SHARED
from .test_formats_evtx_file import ACCESS, CERTUTIL, _event, write_evtx

MATCHING = (FILES / "formats" / "nxlog_sysmon.jsonl").read_bytes().splitlines(keepends=True)
MALFORMED = [b'{"EventID": \n', b'{"EventID": "ten", "Channel": "Security"}\n', b"[1, 2]\n"]


def _baseline_lines(shared: Path, count: int) -> list[bytes]:
    archive = sorted((shared / "real-logs" / "splunk-attack-data").glob("baseline_*.tgz"))[0]
    lines: list[bytes] = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            stream = tar.extractfile(member)
            if stream is None:
                continue
            for line in stream:
                if line.strip():
                    lines.append(line if line.endswith(b"\n") else line + b"\n")
                    if len(lines) >= count:
                        return lines
    return lines


def _mixed_file(path: Path, shared: Path, count: int = 6000) -> Path:
    """Real baseline events with matching events, malformed records and blank lines among them;
    the last line has no line end."""
    chooser = random.Random(15)
    lines = _baseline_lines(shared, count)
    for _ in range(60):
        lines.insert(chooser.randrange(len(lines)), chooser.choice(MATCHING))
    for extra in [*MALFORMED, b"\n", b"   \n"] * 5:
        lines.insert(chooser.randrange(len(lines)), extra)
    path.write_bytes(b"".join(lines) + MATCHING[0].rstrip(b"\n"))
    return path


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner.for_project(Project.at(REPO))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}); real recordings are not available")
    return _mixed_file(tmp_path_factory.mktemp("sharding") / "mixed.jsonl", SHARED)


def _one_process(scanner: Scanner, path: Path) -> tuple[list, ScanSummary, list]:
    summary, bad = ScanSummary(), []
    results = list(scanner.scan(read_items(path, scanner.wants), summary, True, bad.append))
    return results, summary, bad


def _sharded(
    scanner: Scanner,
    path: Path,
    jobs: int = 2,
    summary: ScanSummary | None = None,
    tally: FileTally | None = None,
    project: Project | None = None,
    **options: Any,
) -> list[EventResult]:
    """`scan_sharded` of `path` with the project's scanner, its results as a list."""
    files = [(detect(path), tally or FileTally(str(path)))]
    return list(
        sharding.scan_sharded(
            scanner, project or Project.at(REPO), files, summary or ScanSummary(), jobs, **options
        )
    )


def _key(result: EventResult) -> tuple:
    return (result.index, result.source, result.matches, result.facts)


def _counts(summary: ScanSummary) -> tuple:
    evaluators = {n: (s.events, s.matches) for n, s in summary.evaluators.items()}
    return (summary.events, summary.bad, summary.kinds, evaluators, summary.errors)


def test_ranges_hold_each_line_once_whatever_the_cut(tmp_path: Path) -> None:
    chooser = random.Random(7)
    lines = [b"x" * chooser.randrange(0, 40) + b"\n" for _ in range(500)] + [b"last"]
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join(lines))
    size = path.stat().st_size
    for chunk in (1, 2, 3, 17, 40, 41, 100, size - 1, size, size + 5):
        read = [
            line
            for start, end in sharding.ranges(size, chunk)
            for line in sharding.range_lines(path, start, end)
        ]
        assert read == lines, chunk
        for jobs in (1, 2, 3):
            cut = sharding.tapered(size, chunk, jobs)
            read = [line for start, end in cut for line in sharding.range_lines(path, start, end)]
            assert read == lines, (chunk, jobs)


def test_the_last_ranges_are_smaller() -> None:
    chunk = 256 << 20
    cut = sharding.tapered(2_764_637_747, chunk, 2)  # the benchmark's 1,000,000 events
    sizes = [end - start for start, end in cut]
    assert sizes[:8] == [chunk] * 8 and len(sizes) == 12
    assert all(size < chunk for size in sizes[8:])
    assert cut[-1][1] == 2_764_637_747


def test_a_sharded_scan_gives_what_one_process_gives(scanner: Scanner, mixed: Path) -> None:
    expected, expected_summary, expected_bad = _one_process(scanner, mixed)
    assert len(expected) >= 15 and len(expected_bad) == 15  # the test has something to compare
    for jobs, chunk in ((2, 1 << 20), (3, 3 << 20), (2, 1 << 30)):
        summary, bad = ScanSummary(), []
        tally = FileTally(str(mixed))
        results = _sharded(
            scanner, mixed, jobs, summary=summary, tally=tally, on_bad=bad.append, chunk=chunk
        )
        assert [_key(r) for r in results] == [_key(r) for r in expected]
        assert _counts(summary) == _counts(expected_summary)
        assert [(b.source, b.message) for b in bad] == [(b.source, b.message) for b in expected_bad]
        assert (tally.read, tally.skipped) == (expected_summary.events, len(expected_bad))


def test_malformed_records_are_reported_with_the_counts_one_process_had(
    scanner: Scanner, mixed: Path
) -> None:
    # the scan command prints the first malformed records one by one, judged by summary.bad
    seen: list[int] = []
    summary = ScanSummary()
    _sharded(
        scanner,
        mixed,
        2,
        summary=summary,
        on_bad=lambda bad: seen.append(summary.bad),
        chunk=2 << 20,
    )
    assert seen == list(range(1, 16))


def test_only_plain_json_lines_files_are_cut_into_ranges_and_only_large_inputs_sharded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = tmp_path / "events.jsonl"
    lines.write_bytes(b"".join(MATCHING) * 40)
    assert sharding.splittable(detect(lines))
    assert not sharding.splittable(detect(FILES / "formats" / "xmlwineventlog.xml"))
    gzipped = tmp_path / "events.jsonl.gz"
    subprocess.run(["gzip", "-k", str(lines)], check=True)
    assert not sharding.splittable(detect(gzipped))
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + b"".join(MATCHING))
    assert not sharding.splittable(detect(bom))
    files = [(detect(path), FileTally(str(path))) for path in (lines, gzipped, bom)]
    assert not sharding.worth_sharding(files)  # small
    monkeypatch.setattr(sharding, "MIN_BYTES", 1)
    assert sharding.worth_sharding(files)
    cut = sharding.pieces(files, 2, chunk=1000)
    ranged = [piece for piece in cut if piece.start is not None]
    assert len(ranged) > 4 and {piece.files[0][0] for piece in ranged} == {0}
    whole = [piece for piece in cut if piece.start is None]
    assert [number for piece in whole for number, _ in piece.files] == [1, 2]
    # small files go together: a piece costs the KQL engine its query plans
    assert len(sharding.pieces(files[1:], 2, chunk=1 << 20)) == 1


def test_a_folder_of_every_input_format_gives_what_one_process_gives(
    scanner: Scanner, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    shutil.copytree(FILES / "formats", folder)
    nxlog = (folder / "nxlog_sysmon.jsonl").read_bytes()
    packed = gzip.compress(nxlog * 3)
    (folder / "day.jsonl.gz").write_bytes(packed)
    (folder / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])  # unreadable after a point
    for number in range(3):  # .evtx files, each with a matching Sysmon 1 event
        write_evtx(folder / f"Sysmon{number}.evtx", [_event(1, CERTUTIL), _event(10, ACCESS)])
    with tarfile.open(folder / "both.tgz", "w:gz") as archive:
        archive.add(folder / "audit.log", "a/audit.log")
        archive.add(folder / "nxlog_sysmon.jsonl", "b/nxlog.jsonl")
    inputs = expand([str(folder)])
    summary, bad = ScanSummary(), []
    expected = list(scanner.scan(records(inputs, scanner.wants), summary, True, bad.append))
    assert len(expected) > 5 and len(inputs.files) > 8
    assert any(t.unreadable for t in inputs.tallies) and any(
        "both.tgz/" in r.source for r in expected
    )
    assert sum(".evtx:record=" in result.source for result in expected) == 3
    expected_tallies = [(t.name, t.read, t.skipped, t.unreadable) for t in inputs.tallies]
    again = expand([str(folder)])
    sharded_summary, sharded_bad = ScanSummary(), []
    # files whole, dealt between this process and two workers
    results = list(
        sharding.scan_sharded(
            scanner,
            Project.at(REPO),
            again.files,
            sharded_summary,
            3,
            on_bad=sharded_bad.append,
            chunk=4096,  # pieces of one to a few files
        )
    )
    assert [_key(r) for r in results] == [_key(r) for r in expected]
    assert _counts(sharded_summary) == _counts(summary)
    assert [(b.source, b.message, b.lost) for b in sharded_bad] == [
        (b.source, b.message, b.lost) for b in bad
    ]
    assert [(t.name, t.read, t.skipped, t.unreadable) for t in again.tallies] == expected_tallies


def _table(output: str) -> list[str]:
    # without what differs from run to run: the scan's time and rate, each evaluator's rate
    lines = [line for line in output.splitlines() if not line.endswith(" events/s")]
    return [" ".join(re.sub(r"^(\w+ +[\d,]+ +)[\d,]+ ", r"\1- ", line).split()) for line in lines]


def test_scan_command_with_jobs_gives_the_same_output(
    mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sharding, "MIN_CHUNK", 2 << 20)  # --jobs asks: sharded whatever the size
    runner = CliRunner()
    base = ["scan", "--project", str(REPO), "--no-progress", str(mixed)]
    one = runner.invoke(main, [*base, "--jobs", "1"])
    two = runner.invoke(main, [*base, "--jobs", "2"])
    assert one.exit_code == two.exit_code == 0, two.output
    assert _table(two.output) == _table(one.output)
    assert "proc_creation_win_certificate_trusted_root_install" in one.output
    assert f"{mixed}:" in one.output


def test_by_default_only_large_inputs_get_worker_processes(
    mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = sharding.scan_sharded
    monkeypatch.setattr(sharding, "default_jobs", lambda: 2)
    monkeypatch.setattr(
        sharding, "scan_sharded", lambda *a, **k: calls.append(a[4]) or real(*a, **k)
    )
    command = ["scan", "--project", str(REPO), "--no-progress", str(mixed)]
    assert CliRunner().invoke(main, command).exit_code == 0
    assert calls == []  # 16 MB: one process
    monkeypatch.setattr(sharding, "MIN_BYTES", 1 << 20)
    assert CliRunner().invoke(main, command).exit_code == 0
    assert calls == [2]


def test_ctrl_c_stops_a_sharded_scan_with_its_summary_and_no_worker_or_temp_file_left(
    shared_dir: Path, tmp_path: Path
) -> None:
    # large enough for the interrupt to come while the processes work
    lines = _baseline_lines(shared_dir, 5000)
    big = tmp_path / "big.jsonl"
    with big.open("wb") as out:
        while out.tell() < 64 << 20:
            out.writelines(lines)
    temp = tmp_path / "tmp"
    temp.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-m", "converter", "scan", "--project", str(REPO), "--no-progress"]
        + ["--jobs", "2", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    deadline = time.monotonic() + 60
    while not list(temp.glob("certdetect-scan-*")):  # the workers' folder: sharding started
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    workers = _children(child.pid)
    assert workers, "no worker process started"
    child.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    stdout, stderr = child.communicate(timeout=60)
    assert time.monotonic() - stopped < 5
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "events read: " in stdout
    assert "certdetect: interrupted; the summary covers the " in stderr
    assert list(temp.iterdir()) == []
    gone = time.monotonic() + 5  # an exiting process takes a moment to be reaped
    while [pid for pid in workers if _alive(pid)] and time.monotonic() < gone:
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)], [_describe(p) for p in workers]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


def _describe(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_bad_record_sources_count_lines_as_one_reading_does(
    scanner: Scanner, tmp_path: Path
) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join([MATCHING[0], b"\n", MALFORMED[0], MATCHING[1], MALFORMED[0]]))
    bad: list[BadRecord] = []
    _sharded(scanner, path, 2, on_bad=bad.append, chunk=len(MATCHING[0]) + 1)
    assert [b.source for b in bad] == [f"{path}:3", f"{path}:5"]


def test_progress_counts_what_every_process_reads_while_it_reads(
    scanner: Scanner, mixed: Path
) -> None:
    seen: list[int] = []
    position = sharding.PieceProgress()
    # two ranges
    _sharded(scanner, mixed, 2, on_progress=seen.append, progress=position, chunk=8 << 20)
    lines = mixed.read_bytes().count(b"\n") + 1
    assert seen == sorted(seen) and seen[-1] == lines
    assert len(set(seen)) > 3  # not only once a range is done
    assert position.position() == mixed.stat().st_size


def test_a_worker_that_cannot_start_is_one_line_not_a_hang(
    scanner: Scanner, mixed: Path, tmp_path: Path
) -> None:
    summary = ScanSummary()
    # no rules, no dist/: the worker's scanner fails
    workers = sharding.WorkerPool(Project(tmp_path), None, 2)
    real = sharding.scan_piece

    def after_the_start(*args: Any, **kwargs: Any) -> Any:
        # whatever the machine's speed, the worker's start has failed before this process reads
        workers.ready[0].exception(timeout=120)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sharding, "scan_piece", after_the_start)
        with pytest.raises(InputError, match="a scan worker failed: .*could not start"):
            _sharded(scanner, mixed, summary=summary, chunk=4 << 20, workers=workers)
    assert workers.closed


def test_each_range_is_read_by_one_process_only(scanner: Scanner, mixed: Path) -> None:
    position = sharding.PieceProgress()
    _sharded(scanner, mixed, 2, progress=position, chunk=1 << 20)
    # every process counts the lines it reads: a range read twice would count twice
    assert position.records() == mixed.read_bytes().count(b"\n") + 1


def test_a_scan_for_matches_only_counts_what_a_scan_of_every_event_counts(
    scanner: Scanner, mixed: Path
) -> None:
    # for matches only, refused events (most of a real log) are counted, not held
    every_summary = ScanSummary()
    every = list(scanner.scan(read_items(mixed, scanner.wants), every_summary, only_matches=False))
    only, only_summary = _one_process(scanner, mixed)[:2]
    assert len(every) == every_summary.events > len(only) > 0
    matching = [r for r in every if any(r.matches.values())]
    assert [_key(r) for r in only] == [_key(r) for r in matching]
    assert _counts(only_summary) == _counts(every_summary)


def test_the_workers_start_before_this_process_compiles(
    mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alive: list[int] = []
    real = Scanner.for_project.__func__  # type: ignore[attr-defined]

    def compiling(cls: type[Scanner], *args: Any, **kwargs: Any) -> Scanner:
        alive.append(len(multiprocessing.active_children()))
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Scanner, "for_project", classmethod(compiling))
    monkeypatch.setattr(sharding, "MIN_CHUNK", 2 << 20)
    command = ["scan", "--project", str(REPO), "--no-progress", "--jobs", "3", str(mixed)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert alive == [2]  # both workers were started when this process began compiling


def test_a_worker_gets_its_next_piece_while_this_process_is_busy(
    scanner: Scanner, mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, _, _ = _one_process(scanner, mixed)
    workers = sharding.WorkerPool(Project.at(REPO), None, 2)
    real = sharding.scan_piece

    def busy(*args: Any, **kwargs: Any) -> Any:
        # this process reports no progress until the worker has scanned two pieces: only the
        # dealer thread can give it the second
        deadline = time.monotonic() + 60
        while sum(f.done() for f in workers.pending) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sum(f.done() for f in workers.pending) >= 3, "the worker was given one piece"
        return real(*args, **kwargs)

    monkeypatch.setattr(sharding, "scan_piece", busy)
    results = _sharded(scanner, mixed, chunk=1 << 20, workers=workers)
    assert [_key(r) for r in results] == [_key(r) for r in expected]
    assert workers.closed
