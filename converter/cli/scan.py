"""`certdetect scan`: run the Sigma reference and the built artifacts over event files.

Exit codes: 0 scanned; 1 a rule at or above `--fail-on` matched; 2 bad input (a missing path, a
named file of no known format, a stale `dist/`) or nothing readable; 130 interrupted (Ctrl-C),
after the summary of what was scanned.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

import click

from converter.cli.options import project_option
from converter.core import interrupts
from converter.core.errors import InputError
from converter.core.project import Project
from converter.formats.base import BadRecord
from converter.formats.readers import Reading
from converter.scan import report, sharding
from converter.scan.inputs import Inputs, expand, records
from converter.scan.scanner import EVALUATORS, EventResult, Scanner, ScanSummary

SHOWN_BAD = 100  # malformed records reported one by one; the rest are counted
EXIT_FINDINGS = 1
EXIT_NOTHING_READ = 2


class Progress:
    """A one-line progress bar on stderr, drawn by a thread of its own from half a second on,
    every quarter second, also while a batch is evaluated: records read and per second, events
    scanned and, for files, the bytes read."""

    FIRST = 0.5
    EVERY = 0.25

    def __init__(self, stream: TextIO, total_bytes: int, enabled: bool) -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False
        self.read = 0  # records read
        self.done_bytes = 0  # files already read
        self.reading: Reading | None = None
        self.summary: ScanSummary | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.close()

    def _run(self) -> None:
        if self._stop.wait(self.FIRST):
            return
        while True:
            self.draw()
            if self._stop.wait(self.EVERY):
                return

    def on_file(self, reading: Reading | None, done_bytes: int) -> None:
        self.reading = reading
        self.done_bytes = done_bytes

    def update(self, read: int) -> None:
        self.read = read

    def draw(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        reading = self.reading
        done = self.done_bytes + (reading.position() if reading is not None else 0)
        fraction = min(done / self.total, 1.0)
        bar = "#" * int(fraction * 20)
        scanned = f"  {self.summary.events:,} scanned" if self.summary is not None else ""
        with self._lock:
            self.stream.write(
                f"\r[{bar:<20}] {fraction:6.1%} {_size(done)}/{_size(self.total)}  "
                f"{self.read:,} read  {self.read / elapsed:,.0f}/s{scanned} "
            )
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        """Clear the bar (before other output goes to the terminal)."""
        with self._lock:
            if self.shown:
                self.stream.write("\r" + " " * 79 + "\r")
                self.stream.flush()
                self.shown = False


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


def _bad_reporter(summary: ScanSummary, progress: Progress) -> Callable[[BadRecord], None]:
    def report_bad(bad: BadRecord) -> None:
        progress.close()
        if bad.lost:
            click.echo(f"certdetect: {bad.source}: {bad.message}", err=True)
        elif summary.bad <= SHOWN_BAD:
            click.echo(f"certdetect: skipped {bad.source}: {bad.message}", err=True)
        elif summary.bad == SHOWN_BAD + 1:
            click.echo("certdetect: further malformed records are only counted", err=True)

    return report_bad


@click.command()
@click.argument("files", nargs=-1, required=True)
@project_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    help="table: matches by level, then per file, per target and per rule; jsonl: every event.",
)
@click.option(
    "--evaluator",
    "evaluators",
    multiple=True,
    type=click.Choice(EVALUATORS),
    help="Evaluate with these only (repeatable); default: all.",
)
@click.option(
    "--min-level",
    type=click.Choice(report.LEVELS),
    default="informational",
    help="Show matches of rules at this level or above only.",
)
@click.option(
    "--fail-on",
    type=click.Choice(report.LEVELS),
    default=None,
    help="Exit 1 when a rule at this level or above matched.",
)
@click.option(
    "--allow-stale",
    is_flag=True,
    help="Scan even when dist/ was built from other rule texts than sigma/ holds.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes reading the inputs (files whole, a JSON-lines file in byte ranges); "
    "default: the usable cores for inputs of 256 MB or more, else one. --format jsonl uses one.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr; default: when stderr is a terminal.",
)
def scan(
    files: tuple[str, ...],
    project_dir: str,
    output_format: str,
    evaluators: tuple[str, ...],
    min_level: str,
    fail_on: str | None,
    allow_stale: bool,
    jobs: int | None,
    progress: bool | None,
) -> None:
    """Scan event files, folders (recursively) or standard input (-) with the Sigma reference
    and every built query.

    Reads .evtx, Windows event XML and WinEventLog text, the EVTX JSON layout, flat (NXLog)
    Windows event JSON, ECS documents (EQL only), Defender XDR exports (KQL only), auditd and Zeek
    logs, each plain, gzipped or in a tar or zip archive; the format is detected per file.

    Exit codes: 0 scanned, 1 a match at or above --fail-on, 2 bad input or nothing readable,
    130 interrupted.
    """
    project = Project.at(project_dir)
    inputs = expand(files)  # Ctrl-C while standard input is copied: exit 130 at once
    pool: sharding.WorkerPool | None = None
    try:
        # asked for, the processes are used; by default only for inputs large enough to gain
        if output_format == "jsonl":
            workers = 1
        elif jobs is not None:
            workers = jobs
        else:
            workers = sharding.default_jobs() if sharding.worth_sharding(inputs.files) else 1
        if workers > 1:
            # started first: the workers compile dist/ while this process does
            pool = sharding.WorkerPool(project, evaluators or None, workers)
        scanner = Scanner.for_project(project, evaluators or None, allow_stale)
        with interrupts.deferred():
            summary = _run(scanner, project, inputs, output_format, min_level, progress, pool)
    finally:
        if pool is not None:
            pool.close()
        inputs.close()
    if summary.interrupted:
        dropped = sum(tally.read for tally in inputs.tallies) - summary.events
        click.echo(
            f"certdetect: interrupted; the summary covers the {summary.events:,} events scanned "
            f"({dropped:,} read after them were not evaluated)",
            err=True,
        )
        sys.exit(interrupts.EXIT_CODE)
    if not any(tally.read for tally in inputs.tallies):
        raise InputError(None, "nothing readable in the input (no event was read)")
    if report.fails(summary, scanner.rules, fail_on):
        sys.exit(EXIT_FINDINGS)


def _run(
    scanner: Scanner,
    project: Project,
    inputs: Inputs,
    output_format: str,
    min_level: str,
    progress: bool | None,
    pool: sharding.WorkerPool | None,
) -> ScanSummary:
    summary = ScanSummary()
    show = sys.stderr.isatty() if progress is None else progress
    matches = report.MatchList(scanner.rules, min_level)
    jsonl = output_format == "jsonl"
    started = scanner.clock()
    with Progress(sys.stderr, inputs.size, show) as bar:
        bar.summary = summary
        out = sys.stdout
        for result in _results(scanner, project, inputs, summary, bar, jsonl, pool):
            if jsonl:
                out.write(json.dumps(report.jsonl_row(result, scanner.rules, min_level)) + "\n")
                out.flush()  # record by record: a pipe's reader sees each event as scanned
            else:
                matches.add(result)
    summary.seconds = scanner.clock() - started
    if not jsonl or summary.interrupted:
        names = [evaluator.name for evaluator in scanner.evaluators]
        lines = [*matches.lines(), ""] if matches.rows else []
        lines += report.file_lines(inputs.tallies) + [""]
        lines += report.summary_lines(names, scanner.rules, summary, min_level)
        stream = sys.stderr if jsonl else sys.stdout
        for line in lines:
            stream.write(line + "\n")
        stream.flush()
    for error in summary.errors:
        click.echo(f"certdetect: evaluation error: {error}", err=True)
    return summary


def _results(
    scanner: Scanner,
    project: Project,
    inputs: Inputs,
    summary: ScanSummary,
    bar: Progress,
    jsonl: bool,
    pool: sharding.WorkerPool | None,
) -> Iterator[EventResult]:
    """Every file's results in order: by this process alone, or with worker processes
    (`converter.scan.sharding`) when there are several cores and enough input."""
    report_bad = _bad_reporter(summary, bar)
    if pool is not None and not jsonl:
        position = sharding.PieceProgress()
        bar.on_file(position, 0)  # type: ignore[arg-type]
        yield from sharding.scan_sharded(
            scanner,
            project,
            inputs.files,
            summary,
            pool.jobs,
            on_bad=report_bad,
            on_progress=bar.update,
            progress=position,
            workers=pool,
        )
        bar.on_file(None, inputs.size)
        return
    yield from scanner.scan(
        records(inputs, scanner.wants, bar.on_file),
        summary,
        only_matches=not jsonl,
        on_bad=report_bad,
        on_progress=bar.update,
        ramp=jsonl,  # the first rows come out at once
    )
