"""`certdetect scan`: run the Sigma reference and the built artifacts over event files."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import click

from converter.cli.options import project_option
from converter.core.project import Project
from converter.formats.base import BadRecord, Item
from converter.formats.readers import InputFile, Reading, detect
from converter.scan.scanner import EVALUATORS, Scanner, ScanSummary

LEVELS = ("informational", "low", "medium", "high", "critical")
SHOWN_BAD = 100  # malformed records reported one by one; the rest are counted


class Progress:
    """A one-line progress bar on a terminal, for scans longer than a second."""

    def __init__(self, stream: TextIO, total_bytes: int, enabled: bool) -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False
        self.done_bytes = 0  # files already read
        self.reading: Reading | None = None

    def update(self, read: int) -> None:
        """Show how far reading got, after `read` records."""
        elapsed = time.monotonic() - self.started
        if not self.enabled or elapsed < 1.0:
            return
        current = self.reading.position() if self.reading is not None else 0
        fraction = min((self.done_bytes + current) / self.total, 1.0)
        bar = "#" * int(fraction * 30)
        self.stream.write(
            f"\r[{bar:<30}] {fraction:6.1%}  {read:,} events  {read / elapsed:,.0f}/s "
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()


def _records(
    files: Sequence[InputFile], scanner: Scanner, progress: Progress
) -> Iterator[Item | BadRecord]:
    for file in files:
        reading = Reading(file, scanner.wants)
        progress.reading = reading
        yield from reading
        progress.done_bytes += file.size
    progress.reading = None


def _bad_reporter(summary: ScanSummary) -> Callable[[BadRecord], None]:
    def report(bad: BadRecord) -> None:
        if summary.bad <= SHOWN_BAD:
            click.echo(f"certdetect: skipped {bad.source}: {bad.message}", err=True)
        elif summary.bad == SHOWN_BAD + 1:
            click.echo("certdetect: further malformed records are only counted", err=True)

    return report


def _rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f}" if seconds > 0 else "-"


def _rules_table(scanner: Scanner, summary: ScanSummary) -> None:
    names = [evaluator.name for evaluator in scanner.evaluators]
    counts = {
        name: summary.evaluators[name].matches for name in names if name in summary.evaluators
    }
    matched = {rule_id for found in counts.values() for rule_id in found}
    if not matched:
        return
    rank = {level: position for position, level in enumerate(LEVELS)}

    def row(rule_id: str) -> tuple[str, str]:
        info = scanner.rules.get(rule_id)
        return (info.level, info.name) if info is not None else ("?", rule_id)

    click.echo("")
    click.echo(f"{'level':<13} {'rule':<52} " + " ".join(f"{name:>6}" for name in names))
    for rule_id in sorted(matched, key=lambda r: (-rank.get(row(r)[0], -1), row(r)[1])):
        level, name = row(rule_id)
        cells = " ".join(f"{counts.get(n, {}).get(rule_id, 0):>6}" for n in names)
        click.echo(f"{level:<13} {name:<52} {cells}")


def _summary(scanner: Scanner, summary: ScanSummary) -> None:
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.kinds.items()))
    click.echo(
        f"events read: {summary.events}, skipped: {summary.bad}" + (f" ({kinds})" if kinds else "")
    )
    click.echo(f"{summary.seconds:.1f} s, {_rate(summary.events, summary.seconds)} events/s")
    click.echo("")
    click.echo(f"{'target':<6} {'events':>10} {'eval events/s':>14}  matches")
    for evaluator in scanner.evaluators:
        stats = summary.evaluators.get(evaluator.name)
        if stats is None:
            continue
        total = sum(stats.matches.values())
        click.echo(
            f"{evaluator.name:<6} {stats.events:>10} {_rate(stats.events, stats.seconds):>14}  "
            f"{total} match(es) over {len(stats.matches)} rule(s)"
        )
    _rules_table(scanner, summary)
    for error in summary.errors:
        click.echo(f"certdetect: evaluation error: {error}", err=True)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@project_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    help="table: matching events, then a summary per target and per rule; jsonl: every event.",
)
@click.option(
    "--evaluator",
    "evaluators",
    multiple=True,
    type=click.Choice(EVALUATORS),
    help="Evaluate with these only (repeatable); default: all.",
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
    progress: bool | None,
) -> None:
    """Scan event files with the Sigma reference and every built query.

    Reads .evtx, Windows event XML and WinEventLog text, the EVTX JSON layout, flat (NXLog)
    Windows event JSON, ECS documents (EQL only), Defender XDR exports (KQL only), auditd and Zeek
    logs, each plain, gzipped or in a tar archive; the format is detected per file.
    """
    inputs = [detect(Path(path)) for path in files]
    scanner = Scanner.for_project(Project.at(project_dir), evaluators or None)
    summary = ScanSummary()
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(sys.stderr, sum(f.size for f in inputs), show)
    results = scanner.scan(
        _records(inputs, scanner, bar),
        summary,
        only_matches=output_format == "table",
        on_bad=_bad_reporter(summary),
        on_progress=bar.update,
    )
    for result in results:
        if output_format == "jsonl":
            line = {"index": result.index, "source": result.source, "matches": result.matches}
            click.echo(json.dumps(line))
        else:
            bar.close()
            found = "  ".join(
                f"{name}={','.join(ids) or '-'}" for name, ids in result.matches.items()
            )
            click.echo(f"{result.index:>6}  {result.source}  {found}")
    bar.close()
    if output_format == "table":
        _summary(scanner, summary)
