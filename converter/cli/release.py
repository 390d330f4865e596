"""`certdetect release VERSION`: the changelog and the package take the version, dist/ is rebuilt
with it, and the command prints the commit and tag that publish it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone

import click

from converter.cli.options import project_option
from converter.core.errors import InputError, VerificationFailed
from converter.core.project import Project
from converter.publish.release import plan_release, write_release


@click.command()
@project_option
@click.argument("version")
@click.option(
    "--date",
    "day",
    help="Release date, YYYY-MM-DD (default: today, UTC); every bundled file carries it.",
)
def release(project_dir: str, version: str, day: str | None) -> None:
    """Move CHANGELOG.md's [Unreleased] into VERSION, set the package version, rebuild dist/."""
    project = Project.at(project_dir)
    try:
        when = date.fromisoformat(day) if day else datetime.now(timezone.utc).date()
    except ValueError:
        raise InputError("--date", f"{day!r} is not a date YYYY-MM-DD") from None
    planned = plan_release(project.root, version, when)
    write_release(project.root, planned)
    click.echo(f"version {planned.previous} -> {version}, CHANGELOG.md section dated {when}")
    # A new interpreter: the running one holds the old version in every module that imported it.
    done = subprocess.run(
        [sys.executable, "-m", "converter", "build", "--project", str(project.root)],
        cwd=project.root,
    )
    if done.returncode != 0:
        raise VerificationFailed(
            "the build failed after the version changed; fix it, then run `certdetect build`"
        )
    click.echo(
        "next: git commit -am 'update: release "
        f"{version}' && git tag v{version} && git push --follow-tags"
    )
