"""`certdetect bundle`: the reproducible release archive, made only from an up-to-date dist/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from converter.cli.options import project_option
from converter.core.errors import VerificationFailed
from converter.core.outputs import check_writable, write_failed
from converter.core.project import Project
from converter.publish.bundle import DistOutOfDate, make_bundle, write_bundle


@click.command()
@project_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder to write certdetect-<version>.tar.gz into (created if missing).",
)
def bundle(project_dir: str, out_dir: str) -> None:
    """Write certdetect-<version>.tar.gz (rules, cases, dist/, documents, SHA256SUMS) and the
    Splunk app package certdetect-splunk-app-<version>.tgz."""
    project = Project.at(project_dir)
    out = Path(out_dir)
    check_writable(out, out_dir)
    try:
        made = make_bundle(project)
    except DistOutOfDate as error:
        for name in error.changed:
            click.echo(f"stale dist/{name}", err=True)
        raise VerificationFailed(str(error)) from None
    try:
        written = write_bundle(made, out)
    except OSError as error:
        raise write_failed(error, out_dir) from None
    for path, existed in written:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        verb = "already there, identical:" if existed else "wrote"
        what = f"{len(made.files)} files, " if path.name == made.filename else ""
        click.echo(f"{verb} {path} ({what}sha256 {digest})")
