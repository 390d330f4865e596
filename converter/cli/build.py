"""`certdetect build`: convert, verify, and only then replace dist/."""

from __future__ import annotations

import click

from converter.artifacts import differences, render, write_dist
from converter.build import run_build
from converter.cli.options import project_option
from converter.errors import VerificationFailed
from converter.project import Project
from converter.report import matrix


@click.command()
@project_option
@click.option("--check", is_flag=True, help="Fail when dist/ is not what a build would write.")
def build(project_dir: str, check: bool) -> None:
    """Convert every rule for every target, verify each artifact on the cases, write dist/."""
    project = Project.at(project_dir)
    result = run_build(project)
    click.echo(matrix(result))
    if not result.ok:
        click.echo("", err=True)
        for line in result.failures:
            click.echo(f"FAIL {line}", err=True)
        raise VerificationFailed(
            f"{len(result.failures)} disagreement(s) with the cases; dist/ left unchanged"
        )
    files = render(result)
    if check:
        changed = differences(project.dist_dir, files)
        if changed:
            for name in changed:
                click.echo(f"stale dist/{name}", err=True)
            raise VerificationFailed("dist/ is out of date; run `certdetect build` and commit it")
        click.echo(f"dist/ is up to date ({len(files)} files)")
        return
    write_dist(project.dist_dir, files)
    click.echo(f"wrote dist/ ({len(files)} files, {len(result.rules)} rules)")
