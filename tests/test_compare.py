"""`compare`: a case disagrees whichever way it misses, a false positive as much as a miss."""

from __future__ import annotations

from converter.core.cases import Case
from converter.verify.compare import Mismatch, compare

RULE = "1c43a6a1-0000-4000-8000-000000000001"
OTHER = "1c43a6a1-0000-4000-8000-000000000002"


def case(name: str, *expect: str) -> Case:
    return Case(
        id=f"probe/{name}",
        path=f"cases/probe/{name}.json",
        title=name,
        expect=frozenset(expect),
        origin={"kind": "written", "from": "test"},
        record={},
        event=None,  # type: ignore[arg-type] - compare reads only ids and expectations
    )


CASES = [case("match", RULE), case("lookalike"), case("other_rule", OTHER)]


def test_matching_exactly_the_declared_cases_is_no_mismatch() -> None:
    assert compare(RULE, "probe", "eql", CASES, {0}) == []


def test_a_case_declared_as_not_matching_that_matches_is_a_mismatch() -> None:
    assert compare(RULE, "probe", "spl", CASES, {0, 1, 2}) == [
        Mismatch("probe", "spl", "probe/lookalike", expected=False, got=True),
        Mismatch("probe", "spl", "probe/other_rule", expected=False, got=True),
    ]


def test_a_declared_case_that_does_not_match_is_a_mismatch() -> None:
    assert compare(RULE, "probe", "kql", CASES, set()) == [
        Mismatch("probe", "kql", "probe/match", expected=True, got=False)
    ]


def test_a_mismatch_names_rule_evaluator_case_and_both_verdicts() -> None:
    false_positive = Mismatch("probe", "sigma", "probe/lookalike", expected=False, got=True)
    assert str(false_positive) == "probe [sigma] case probe/lookalike: expected no match, got match"
    missed = Mismatch("probe", "eql", "probe/match", expected=True, got=False)
    assert str(missed) == "probe [eql] case probe/match: expected match, got no match"
