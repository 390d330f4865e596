"""What an environment overlay sets that a build's queries never use: a field rename is an error
(the queries keep the stock name: a misspelled field), anything else a warning."""

from __future__ import annotations

from converter.core.errors import InputError
from converter.environment import Environment
from converter.verify.build import BuildResult


def _queries(build: BuildResult) -> dict[str, list[str]]:
    queries: dict[str, list[str]] = {}
    for result in build.rules:
        for target, outcome in result.targets.items():
            if outcome.query is not None:
                queries.setdefault(target, []).append(outcome.query)
    return queries


def environment_errors(environment: Environment, build: BuildResult) -> list[InputError]:
    """`Environment.unused_renames` over the queries a build made."""
    return environment.unused_renames(_queries(build))


def require_used_renames(environment: Environment, build: BuildResult) -> None:
    """Refuse the build of an environment with a field rename no query uses (the first, and
    how many more)."""
    errors = environment_errors(environment, build)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(first.path, first.message + more, first.line)


def environment_warnings(environment: Environment, build: BuildResult) -> list[str]:
    """`Environment.warnings` over the queries a build made and the log sources of its rules."""
    queries = _queries(build)
    logsources: set[str] = set()
    for result in build.rules:
        logsource = result.rule.rule.logsource
        logsources.add(str(logsource.product))
        logsources.add(f"{logsource.product}/{logsource.category or logsource.service}")
    return environment.warnings(queries, logsources)
