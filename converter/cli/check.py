"""`certdetect check`: offline validation of rules and cases, fast enough for pre-commit."""

from __future__ import annotations

import json
from pathlib import Path

import click

from converter.checks import run_checks
from converter.cli.options import project_option
from converter.core.project import Project


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@project_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one `file:line: message` per finding; json: for CI.",
)
@click.pass_context
def check(ctx: click.Context, paths: tuple[str, ...], project_dir: str, output_format: str) -> None:
    """Check rules and cases: Sigma schema, pySigma and SigmaHQ validators (offline ones),
    project conventions, cases for every rule, fields every target knows.

    The whole project is checked; PATHS (files or folders) limit which findings are shown.
    Exit code 1 when there are findings, 2 when a file cannot be read at all.
    """
    project = Project.at(project_dir)
    selected = [Path(p).resolve() for p in paths]
    for path in selected:
        if path != project.root and project.root not in path.parents:
            raise click.UsageError(f"{path} is not inside the project {project.root}")
    report = run_checks(project, selected or None)
    if output_format == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for finding in report.findings:
            click.echo(str(finding))
        skipped = ", ".join(report.skipped)
        click.echo(
            f"checked {report.rules} rules and {report.cases} cases: "
            f"{len(report.findings)} finding(s); skipped (need the network): {skipped}",
            err=True,
        )
    ctx.exit(report.exit_code)
