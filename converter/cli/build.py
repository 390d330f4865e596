"""`certdetect build`: convert, verify, and only then replace dist/ (or, for an environment
overlay, its own folder: `build/env/<name>/` unless `--out` says otherwise)."""

from __future__ import annotations

from pathlib import Path

import click

from converter.cli.options import env_option, project_option
from converter.core.errors import InputError, VerificationFailed
from converter.core.outputs import check_writable, write_failed
from converter.core.project import Project
from converter.environment import Environment, load_environment
from converter.execute.compile_cache import CompileCache
from converter.publish.artifacts import differences, render, write_dist
from converter.publish.report import matrix
from converter.verify.build import run_build
from converter.verify.environment_notes import environment_warnings, require_used_renames


def environment_output(project: Project, environment: Environment, out: str | None) -> Path:
    """Where an environment's tree goes; never dist/, never a folder of something else.

    The tree replaces the folder as a whole, so a folder that holds files but no manifest.json
    of an earlier build is refused rather than emptied.
    """
    output = Path(out).resolve() if out else project.root / "build" / "env" / environment.name
    shown = out or project.relative(output)
    dist = project.dist_dir.resolve()
    for protected in (dist, project.root.resolve()):
        if output == protected or output in protected.parents or dist in output.parents:
            raise InputError(shown, "an environment build never writes dist/ or the project root")
    if output.exists():
        if not output.is_dir():
            raise InputError(shown, "not a folder")
        if any(output.iterdir()) and not (output / "manifest.json").is_file():
            raise InputError(
                shown, "holds files but no manifest.json of a certdetect build; choose a new folder"
            )
    return output


@click.command()
@project_option
@click.option(
    "--check",
    is_flag=True,
    help="Fail when dist/ (with --env, its folder) is not what a build would write.",
)
@env_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="With --env: the folder to write instead of build/env/<name>/.",
)
def build(project_dir: str, check: bool, env_file: str | None, out_dir: str | None) -> None:
    """Convert every rule for every target, verify each artifact on the cases, write dist/.

    With --env, the queries and deployable files are the environment's, verified on the cases
    stored as that environment stores them, and written to build/env/<name>/; dist/ is left alone.
    """
    project = Project.at(project_dir)
    environment = load_environment(Path(env_file)) if env_file else None
    if environment is None:
        if out_dir is not None:
            raise click.UsageError("--out needs --env: a build without one always writes dist/")
        output, shown = project.dist_dir, "dist/"
    else:
        output = environment_output(project, environment, out_dir)
        shown = (out_dir or project.relative(output)).rstrip("/") + "/"
        if not check:
            check_writable(output, shown)
    result = run_build(project, environment=environment, cache=CompileCache.load())
    if environment is not None:
        require_used_renames(environment, result)
    click.echo(matrix(result))
    for note in environment_warnings(environment, result) if environment else []:
        click.echo(f"warning: {note}", err=True)
    for note in result.warnings:
        click.echo(f"warning: {note}", err=True)
    if not result.ok:
        click.echo("", err=True)
        for line in result.failures:
            click.echo(f"FAIL {line}", err=True)
        raise VerificationFailed(
            f"{len(result.failures)} disagreement(s) with the cases; {shown} left unchanged"
        )
    files = render(result)
    if check:
        changed = differences(output, files)
        if changed:
            for name in changed:
                click.echo(f"stale {shown}{name}", err=True)
            if environment is None:
                raise VerificationFailed(
                    "dist/ is out of date; run `certdetect build` and commit it"
                )
            raise VerificationFailed(f"{shown} is out of date; run `certdetect build --env ...`")
        click.echo(f"{shown} is up to date ({len(files)} files)")
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_dist(output, files)
    except OSError as error:
        raise write_failed(error, shown) from None
    click.echo(f"wrote {shown} ({len(files)} files, {len(result.rules)} rules)")
