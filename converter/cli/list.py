"""`certdetect list`: the rules of the project."""

from __future__ import annotations

import json

import click

from converter.cli.options import project_option
from converter.core.project import Project
from converter.core.rules import load_rules


@click.command("list")
@project_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def list_rules(project_dir: str, output_format: str) -> None:
    """List rules: id, level, name (the file stem dist/ and scan results use), title, tags."""
    rules = load_rules(Project.at(project_dir))
    rows = [
        {
            "id": rule.id,
            "name": rule.stem,
            "title": rule.title,
            "level": rule.level,
            "tags": rule.tags,
        }
        for rule in rules
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    title_width = max(len(row["title"]) for row in rows)
    name_width = max(len(row["name"]) for row in rows)
    for row in rows:
        click.echo(
            f"{row['id']}  {row['level']:<8}  {row['name']:<{name_width}}  "
            f"{row['title']:<{title_width}}  "
            f"{','.join(row['tags'])}"
        )
