"""`certdetect verify`: any Sigma rules on any event files, the reference against each target."""

from __future__ import annotations

import json
from pathlib import Path

import click

from converter.cli.options import project_option
from converter.core.errors import InputError, VerificationFailed
from converter.verify.conformance import (
    DISAGREES,
    Job,
    RuleReport,
    Verifier,
    load_rule_files,
    read_events,
    regression_jobs,
)

SHORT = {"verified": "ok", "disagrees": "DISAGREES", "unsupported": "unsupported"}


def _table(reports: list[RuleReport], names: list[str]) -> None:
    header = f"{'rule':<60} {'expect':>6} {'sigma':>5} " + " ".join(f"{n:>11}" for n in names)
    click.echo(header)
    for report in reports:
        expected = "-" if report.expected is None else str(report.expected)
        sigma = "-" if report.sigma is None else str(report.sigma)
        cells = []
        for name in names:
            verdict = report.targets[name]
            count = "" if verdict.matches is None else f"{verdict.matches} "
            cells.append(f"{count + SHORT[verdict.status]:>11}")
        flag = "  FEWER THAN EXPECTED" if report.short else ("  (more)" if report.over else "")
        click.echo(f"{report.title[:60]:<60} {expected:>6} {sigma:>5} {' '.join(cells)}{flag}")
    reasons = [
        f"{report.path}: {name} {report.targets[name].status}: {report.targets[name].reason}"
        for report in reports
        for name in names
        if report.targets[name].reason is not None
    ]
    for line in ["", *reasons] if reasons else []:
        click.echo(line)
    click.echo("")
    for name in names:
        counts: dict[str, int] = {}
        for report in reports:
            status = report.targets[name].status
            counts[status] = counts.get(status, 0) + 1
        shown = ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
        click.echo(f"{name}: {shown}")


@click.command()
@click.argument("event_files", nargs=-1, type=click.Path())
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    required=True,
    type=click.Path(),
    help="A Sigma rule file or a folder of them (repeatable); any rules, not only sigma/.",
)
@click.option(
    "--regression",
    "regression_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="SigmaHQ's regression_data folder: each rule runs on its own events, and the reference "
    "must match at least its match_count.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    help="table: a row per rule, the reasons, a summary per target; jsonl: one object per rule.",
)
@project_option
def verify(
    event_files: tuple[str, ...],
    rule_paths: tuple[str, ...],
    regression_dir: str | None,
    output_format: str,
    project_dir: str,
) -> None:
    """Check what each target's query does with Sigma rules on recorded events.

    Each rule is evaluated by the Sigma reference and converted afresh for every target; each
    query runs in its engine on the events as that SIEM stores them. A target is `verified` when
    it matches the same events as the reference, `disagrees` otherwise, or `unsupported` with the
    reason. Events come from EVENT_FILES (any format `certdetect scan` reads), or per rule from
    SigmaHQ's regression data (--regression). Exit 1 when a target disagrees or the reference
    matches fewer events than match_count; 2 on bad input.
    """
    root = Path(project_dir)
    if not (root / "pipelines").is_dir():
        raise InputError(
            project_dir, "no pipelines folder; run from the certdetect checkout or pass --project"
        )
    rules = load_rule_files(Path(path) for path in rule_paths)
    if regression_dir is not None:
        if event_files:
            raise InputError(None, "give event files or --regression, not both")
        directory = Path(regression_dir)
        if not directory.is_dir():
            raise InputError(regression_dir, "no such folder")
        jobs, missing = regression_jobs(directory, rules)
        if missing:
            click.echo(
                f"certdetect: {len(missing)} regression test(s) name rules not given with "
                "--rules; not run",
                err=True,
            )
    else:
        if not event_files:
            raise InputError(None, "no event files; give some, or --regression DIR")
        events = read_events(Path(path) for path in event_files)
        jobs = [Job(rule, events) for rule in rules]
    verifier = Verifier(root)
    reports = [verifier.verify(job) for job in jobs]
    if output_format == "jsonl":
        for report in reports:
            click.echo(json.dumps(report.as_json()))
    else:
        _table(reports, verifier.target_names)
    failed = [report for report in reports if report.failed]
    if failed:
        disagreeing = sum(1 for r in failed for v in r.targets.values() if v.status == DISAGREES)
        short = sum(1 for r in failed if r.short)
        raise VerificationFailed(
            f"{len(failed)} rule(s) failed: {disagreeing} target verdict(s) disagree with the "
            f"reference, {short} reference count(s) below match_count"
        )
