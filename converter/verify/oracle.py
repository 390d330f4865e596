"""The seed oracle: the reference Elastic detection, verbatim, judges the rules that replace it.

`oracle/seed.yml` holds the seed's EQL query and the ids of the rules that together stand for
it. The query runs through our EQL engine on every case's ECS document; it must match exactly
the cases that those rules are declared to match, except the cases marked `beyond_seed` (evasions
the rules cover on purpose), which it must not match. A broken rule, a wrong case, a wrong ECS
model or a wrong EQL semantic shows up here as a named case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from converter.core.cases import Case
from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.textfiles import load_yaml, read_text
from converter.execute.engines.base import QueryError
from converter.execute.runtimes import TargetRuntime, select

ORACLE_FILE = "oracle/seed.yml"


@dataclass(frozen=True)
class SeedOracle:
    title: str
    rule_ids: frozenset[str]
    query: str


def load_oracle(project: Project) -> SeedOracle | None:
    path: Path = project.root / ORACLE_FILE
    if not path.is_file():
        return None
    data = load_yaml(read_text(path, ORACLE_FILE), ORACLE_FILE)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("query"), str)
        or not isinstance(data.get("rules"), list)
    ):
        raise InputError(ORACLE_FILE, 'needs "title", "rules" (rule ids) and "query" (EQL)')
    return SeedOracle(
        title=str(data.get("title", "seed")),
        rule_ids=frozenset(str(rule_id) for rule_id in data["rules"]),
        query=data["query"],
    )


def check_oracle(
    oracle: SeedOracle,
    cases: Sequence[Case],
    eql: TargetRuntime,
    documents: Sequence[object | None],
    known_rule_ids: set[str],
) -> list[str]:
    """One line per disagreement between the seed and the rules' declared matches."""
    unknown = sorted(oracle.rule_ids - known_rule_ids)
    if unknown:
        return [f"{ORACLE_FILE}: names unknown rule id {unknown[0]}"]
    try:
        compiled = eql.compile(oracle.query)
    except QueryError as error:
        return [f"{ORACLE_FILE}: the seed query does not parse: {error}"]
    matched = select(compiled, documents)
    failures = []
    for index, case in enumerate(cases):
        union = bool(case.expect & oracle.rule_ids)
        seed = index in matched
        if case.beyond_seed:
            if seed:
                failures.append(
                    f"seed oracle: case {case.id} is marked beyond_seed but the seed matches it"
                )
            elif not union:
                failures.append(
                    f"seed oracle: case {case.id} is marked beyond_seed but no seed rule expects it"
                )
        elif seed != union:
            failures.append(
                f"seed oracle: case {case.id}: seed {'matches' if seed else 'does not match'}, "
                f"the seed rules {'match' if union else 'do not match'}"
            )
    return failures
