"""Options every certdetect command shares."""

from __future__ import annotations

import click

project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="The certdetect checkout: the folder holding sigma/, pipelines/, cases/ and dist/.",
)
