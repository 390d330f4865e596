"""`certdetect scan`: run the Sigma reference and the built artifacts over raw event files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click

from converter.project import Project
from converter.readers import BadRecord, Record, read_records
from converter.scan import EVALUATORS, Scanner, ScanSummary


def _records(paths: tuple[str, ...]) -> Iterator[Record | BadRecord]:
    for path in paths:
        yield from read_records(Path(path))


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--project", "project_dir", type=click.Path(file_okay=False), default=".")
@click.option("--format", "output_format", type=click.Choice(["table", "jsonl"]), default="table")
def scan(files: tuple[str, ...], project_dir: str, output_format: str) -> None:
    """Scan raw events (EVTX JSON layout, one per line or a JSON array) with every evaluator."""
    scanner = Scanner.for_project(Project.at(project_dir))
    summary = ScanSummary()
    for result in scanner.scan(_records(files), summary):
        if output_format == "jsonl":
            click.echo(
                json.dumps(
                    {"index": result.index, "source": result.source, "matches": result.matches}
                )
            )
        elif any(result.matches.values()):
            found = "  ".join(
                f"{name}={','.join(ids) or '-'}" for name, ids in result.matches.items()
            )
            click.echo(f"{result.index:>6}  {result.source}  {found}")
    for bad in summary.bad_records:
        click.echo(f"certdetect: skipped {bad.source}: {bad.message}", err=True)
    if output_format == "table":
        click.echo(f"events read: {summary.events}, skipped: {len(summary.bad_records)}")
        for name in EVALUATORS:
            counts = summary.matches.get(name, {})
            total = sum(counts.values())
            click.echo(f"{name:<6} {total} match(es) over {len(counts)} rule(s)")
