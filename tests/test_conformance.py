"""SigmaHQ's regression data as a conformance suite: every rule of a supported log source agrees
with the reference on every target or is unsupported with a reason, and the reference meets each
`match_count`. The counts are pinned; a change that moves one must say why (and regenerate
docs/conformance.md). Measured: about 30 s for the 203 tests on one core."""

from __future__ import annotations

from collections import Counter

import pytest

from converter.verify.conformance import (
    DISAGREES,
    UNSUPPORTED,
    VERIFIED,
    RuleReport,
    run_regression,
)
from converter.verify.conformance_table import render

from .conftest import REPO, SHARED

SIGMAHQ = SHARED / "conformance" / "sigmahq"

# target -> (verified, unsupported by reason)
PINNED = {
    "eql": (187, {"refused": 8, "field": 5, "not stored": 2, "log source": 1}),
    # spl: two curl rules with |re are refused, a regex cannot be ORed with the 4688 search
    "spl": (189, {"refused": 11, "field": 1, "not stored": 1, "log source": 1}),
    "kql": (186, {"refused": 16, "log source": 1}),
}


@pytest.fixture(scope="module")
def reports() -> list[RuleReport]:
    if not SIGMAHQ.is_dir():
        pytest.skip(f"{SIGMAHQ} is absent; SigmaHQ's regression data is not available")
    return run_regression(SIGMAHQ / "rules", SIGMAHQ / "regression_data", REPO)


def test_every_regression_test_of_sigmahq_is_run(reports: list[RuleReport]) -> None:
    assert len(reports) == 203


def test_no_target_disagrees_with_the_reference(reports: list[RuleReport]) -> None:
    disagreeing = [
        f"{report.title}: {name}: {verdict.reason}"
        for report in reports
        for name, verdict in report.targets.items()
        if verdict.status == DISAGREES
    ]
    assert disagreeing == []


def test_the_reference_meets_every_match_count(reports: list[RuleReport]) -> None:
    assert [report.title for report in reports if report.short] == []
    # PROVENANCE.md: four tests hold more genuine matches than their count says
    assert sum(1 for report in reports if report.over) == 4


@pytest.mark.parametrize("target", sorted(PINNED))
def test_per_target_counts_are_pinned(reports: list[RuleReport], target: str) -> None:
    verified, unsupported = PINNED[target]
    statuses = Counter(report.targets[target].status for report in reports)
    kinds = Counter(
        report.targets[target].kind
        for report in reports
        if report.targets[target].status == UNSUPPORTED
    )
    assert (statuses[VERIFIED], dict(kinds)) == (verified, unsupported)


def test_every_unsupported_verdict_has_a_reason(reports: list[RuleReport]) -> None:
    for report in reports:
        for verdict in report.targets.values():
            if verdict.status == UNSUPPORTED:
                assert verdict.reason and verdict.kind


def test_every_rule_of_a_supported_log_source_reaches_the_reference(
    reports: list[RuleReport],
) -> None:
    unsupported_sources = {r.logsource for r in reports if r.sigma is None}
    assert "windows/process_creation" not in unsupported_sources
    # only cisco/aaa, whose test SigmaHQ keeps commented out (a raw syslog line, no events)
    assert unsupported_sources == {"cisco/aaa"}


def test_the_conformance_page_is_what_the_suite_renders(reports: list[RuleReport]) -> None:
    page = (REPO / "docs" / "conformance.md").read_text(encoding="utf-8")
    assert page == render(reports), (
        "docs/conformance.md is stale: python -m converter.verify.conformance_table "
        "../shared/conformance/sigmahq > docs/conformance.md"
    )
