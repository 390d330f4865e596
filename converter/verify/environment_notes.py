"""What an environment overlay sets that a build's queries never use: warnings, not errors."""

from __future__ import annotations

from converter.environment import Environment
from converter.verify.build import BuildResult


def environment_warnings(environment: Environment, build: BuildResult) -> list[str]:
    """`Environment.warnings` over the queries a build made and the log sources of its rules."""
    queries: dict[str, list[str]] = {}
    for result in build.rules:
        for target, outcome in result.targets.items():
            if outcome.query is not None:
                queries.setdefault(target, []).append(outcome.query)
    logsources: set[str] = set()
    for result in build.rules:
        logsource = result.rule.rule.logsource
        logsources.add(str(logsource.product))
        logsources.add(f"{logsource.product}/{logsource.category or logsource.service}")
    return environment.warnings(queries, logsources)
