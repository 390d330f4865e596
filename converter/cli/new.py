"""`certdetect new`: scaffold a rule and its match and look-alike cases."""

from __future__ import annotations

import datetime

import click

from converter.cli.options import project_option
from converter.core.logsources import LOG_SOURCES
from converter.core.project import Project
from converter.scaffold import LEVELS, new_rule, write_new_rule

# product/category, then product/service for the service log sources (linux/auditd, zeek/x509)
LOGSOURCES = tuple(source.name for source in LOG_SOURCES)


@click.command()
@click.option("--title", required=True, help="Title Case title, e.g. 'Keytool Generating Keys'.")
@click.option(
    "--logsource",
    type=click.Choice(LOGSOURCES),
    default="windows/process_creation",
    show_default=True,
    help="product/category (or product/service) of the events the rule reads.",
)
@click.option("--level", type=click.Choice(LEVELS), default="medium", show_default=True)
@click.option("--name", help="File name after the log source prefix (default: from the title).")
@click.option("--author", default="certdetect", show_default=True)
@click.option("--description", help='One line starting "Detects" (default: a TODO).')
@click.option("--reference", help="A link the rule is based on (default: a TODO).")
@click.option("--falsepositive", help="Legitimate activity that matches too (default: a TODO).")
@click.option(
    "--date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Creation date (default: today).",
)
@project_option
def new(
    title: str,
    logsource: str,
    level: str,
    name: str | None,
    author: str,
    description: str | None,
    reference: str | None,
    falsepositive: str | None,
    date: datetime.datetime | None,
    project_dir: str,
) -> None:
    """Write sigma/<product>/<category>/<prefix><name>.yml with a fresh id and today's date, and
    cases/<name>/ with an event it must match and a look-alike it must not. Never overwrites.

    Then replace the example detection and events and every TODO, and run `certdetect check`
    and `certdetect build`."""
    project = Project.at(project_dir)
    rule = new_rule(
        title,
        logsource,
        level,
        name=name,
        author=author,
        date=date.date() if date else None,
        description=description,
        reference=reference,
        falsepositive=falsepositive,
    )
    for path in write_new_rule(project, rule):
        click.echo(f"wrote {path}")
    click.echo(f"rule id {rule.rule_id}; next: fill the TODOs, then `certdetect check`", err=True)
