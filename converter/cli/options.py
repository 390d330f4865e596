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

env_option = click.option(
    "--env",
    "env_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="An environment overlay (YAML): the index patterns, Splunk index / sources / macro, "
    "Defender tables and field names of one SIEM (README, 'Environment overlays').",
)
