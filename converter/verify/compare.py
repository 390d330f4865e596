"""Comparing what an evaluator matched with what the cases declare."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from converter.core.cases import Case


@dataclass(frozen=True)
class Mismatch:
    rule: str  # rule file stem
    evaluator: str  # "sigma", "eql", "spl", "kql" or "seed"
    case: str
    expected: bool
    got: bool

    def __str__(self) -> str:
        def word(matched: bool) -> str:
            return "match" if matched else "no match"

        return (
            f"{self.rule} [{self.evaluator}] case {self.case}: "
            f"expected {word(self.expected)}, got {word(self.got)}"
        )


def compare(
    rule_id: str,
    rule_name: str,
    evaluator: str,
    cases: Sequence[Case],
    matched: Collection[int],
) -> list[Mismatch]:
    """Every case must match exactly when it declares the rule."""
    mismatches = []
    for index, case in enumerate(cases):
        expected = rule_id in case.expect
        got = index in matched
        if expected != got:
            mismatches.append(Mismatch(rule_name, evaluator, case.id, expected, got))
    return mismatches
