"""`certdetect convert`: print one target's verified queries, for the stock targets or an
environment overlay, as `sigma convert` prints queries; nothing is written.

Every query is verified first, exactly as `certdetect build` does (the whole rule set is built:
a rule's verdict depends on every case, including the other rules' cases). Text output gives each
query after a `# <rule file>` line; `--format jsonl` one JSON object per rule, whatever its
status. A rule the target cannot express is reported on stderr with the reason; any verification
failure exits with code 1, after the verified queries are printed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from converter.cli.options import env_option, project_option
from converter.core.errors import InputError, VerificationFailed
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.core.status import Status
from converter.core.targets import TARGET_NAMES, target_by_name
from converter.environment import load_environment
from converter.verify.build import RuleResult, run_build
from converter.verify.environment_notes import environment_warnings, require_used_renames


def selected_paths(project: Project, given: Sequence[str]) -> set[str] | None:
    """The project's rule paths named by `given` (files or folders); None for every rule."""
    if not given:
        return None
    rules = {(project.root / rule.path).resolve(): rule.path for rule in load_rules(project)}
    chosen: set[str] = set()
    for name in given:
        path = Path(name).resolve()
        if path.is_dir():
            inside = {shown for real, shown in rules.items() if path in real.parents}
            if not inside:
                raise InputError(name, "holds no rule of the project's sigma/ folder")
            chosen.update(inside)
        elif path in rules:
            chosen.add(rules[path])
        elif not path.exists():
            raise InputError(name, "no such file")
        else:
            raise InputError(
                name, "not a rule in the project's sigma/ folder: only those have cases to run on"
            )
    return chosen


@click.command()
@project_option
@click.option(
    "--target",
    "-t",
    "target_name",
    type=click.Choice(TARGET_NAMES),
    required=True,
    help="The query language to print.",
)
@env_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "jsonl"]),
    default="text",
    show_default=True,
    help="text: each verified query after a `# <rule file>` line; jsonl: one object per rule.",
)
@click.argument("rule_files", nargs=-1, type=click.Path())
def convert(
    project_dir: str,
    target_name: str,
    env_file: str | None,
    output_format: str,
    rule_files: tuple[str, ...],
) -> None:
    """Print the verified TARGET queries of RULE_FILES (default: every rule)."""
    project = Project.at(project_dir)
    environment = load_environment(Path(env_file)) if env_file else None
    chosen = selected_paths(project, rule_files)
    target = target_by_name(target_name)
    build = run_build(project, targets=(target,), environment=environment)
    if environment is not None:
        require_used_renames(environment, build)
    for note in environment_warnings(environment, build) if environment else []:
        click.echo(f"warning: {note}", err=True)
    for note in build.warnings:
        click.echo(f"warning: {note}", err=True)
    failures = list(build.errors)
    first = True
    for result in build.rules:
        if chosen is not None and result.rule.path not in chosen:
            continue
        outcome = result.targets[target.name]
        failures.extend(_failures(result, target.name))
        if output_format == "jsonl":
            record = {
                "rule": result.rule.path,
                "id": result.rule.id,
                "target": target.name,
                "environment": environment.name if environment else None,
                "status": (
                    Status.FAILED if result.reference.status == Status.FAILED else outcome.status
                ).value,
                "query": outcome.query if outcome.status == Status.VERIFIED else None,
                "reason": None if outcome.status == Status.VERIFIED else outcome.reason,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        elif outcome.status == Status.VERIFIED and outcome.query is not None:
            if not first:
                click.echo("")
            click.echo(f"# {result.rule.path}")
            click.echo(outcome.query.rstrip("\n"))
            first = False
        if outcome.status == Status.UNSUPPORTED:
            reason = f"unsupported for {target.name}: {outcome.reason}"
            click.echo(f"{result.rule.path}: {reason}", err=True)
    if failures:
        for line in failures:
            click.echo(f"FAIL {line}", err=True)
        raise VerificationFailed(f"{len(failures)} disagreement(s) with the cases")


def _failures(result: RuleResult, target: str) -> list[str]:
    lines = []
    for outcome in (result.reference, result.targets[target]):
        if outcome.status == Status.FAILED:
            lines.extend(str(mismatch) for mismatch in outcome.mismatches)
            if outcome.reason:
                lines.append(f"{result.rule.stem}: {outcome.reason}")
    return lines
