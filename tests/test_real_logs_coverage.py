"""The rules beyond the seed on real recordings (../shared/real-logs, skipped when absent)."""

from __future__ import annotations

from pathlib import Path

from sigma.rule import SigmaRule

from converter.core.project import Project
from converter.core.rules import load_rules
from converter.formats.base import Item
from converter.formats.readers import read_items
from converter.reference import compile_reference
from converter.scan.scanner import Scanner, ScanSummary

REGISTRY_RULE = "2835b93a-5cc2-4730-8d4b-686293a1a6e8"
AUTHROOT = "real-logs/otrf/sysmon12_13_authroot_certificate_blob_svchost_benign.jsonl"


def test_windows_root_update_raises_nothing_above_low(
    shared_dir: Path, repo_project: Project
) -> None:
    scanner = Scanner.for_project(repo_project)
    records = list(read_items(shared_dir / AUTHROOT, scanner.wants))
    summary = ScanSummary()
    results = list(scanner.scan(records, summary))
    assert summary.events == 2
    levels = {rule.id: rule.level for rule in load_rules(repo_project)}
    for result in results:
        for evaluator, rule_ids in result.matches.items():
            assert [r for r in rule_ids if levels[r] != "low"] == [], (evaluator, result.source)


def test_the_root_update_is_excluded_by_the_filter_not_missed(
    shared_dir: Path, repo_project: Project
) -> None:
    # The Sysmon 13 AuthRoot blob write is in the registry rule's log source and matches its
    # selections; only the svchost filter keeps it out.
    events = [
        item.payload
        for item in read_items(shared_dir / AUTHROOT)
        if isinstance(item, Item) and getattr(item.payload, "event_id", None) == 13
    ]
    assert len(events) == 1
    rule = next(r for r in load_rules(repo_project) if r.id == REGISTRY_RULE)
    reference = compile_reference(rule.parse())
    assert reference.applies_to(events[0])
    assert not reference.matches(events[0])
    unfiltered = rule.text.replace(
        "condition: all of selection_* and not 1 of filter_main_*", "condition: all of selection_*"
    )
    assert unfiltered != rule.text
    assert compile_reference(SigmaRule.from_yaml(unfiltered)).matches(events[0])
