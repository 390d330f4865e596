"""Scanning raw events with the Sigma reference and every target's built artifacts.

The artifacts are read from `dist/` (what a SOC deploys), not converted again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from converter.engines.base import CompiledQuery, QueryError
from converter.errors import InputError
from converter.events import EventFormatError, WindowsEvent, parse_windows_event
from converter.project import Project
from converter.readers import BadRecord, Record
from converter.reference import ReferenceRule, compile_reference
from converter.rules import load_rules
from converter.runtimes import TargetRuntime, select, target_runtimes
from converter.targets import TARGET_NAMES

EVALUATORS = ("sigma", *TARGET_NAMES)
BATCH = 5000


@dataclass(frozen=True)
class EventResult:
    index: int
    source: str
    matches: dict[str, list[str]]  # evaluator -> rule ids


@dataclass
class ScanSummary:
    events: int = 0
    bad_records: list[BadRecord] = field(default_factory=list)
    matches: dict[str, dict[str, int]] = field(default_factory=dict)  # evaluator -> rule -> n


@dataclass
class Scanner:
    reference: list[ReferenceRule]
    artifacts: dict[str, list[tuple[str, CompiledQuery[Any]]]]  # target -> (rule id, query)
    runtimes: dict[str, TargetRuntime]

    @classmethod
    def for_project(cls, project: Project) -> Scanner:
        rules = load_rules(project)
        manifest_path = project.dist_dir / "manifest.json"
        if not manifest_path.is_file():
            raise InputError(manifest_path, "no built artifacts; run `certdetect build` first")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        runtimes = target_runtimes()
        artifacts: dict[str, list[tuple[str, CompiledQuery[Any]]]] = {n: [] for n in runtimes}
        for entry in manifest["rules"]:
            for name, target in entry["targets"].items():
                if name not in runtimes or not target.get("path"):
                    continue
                query = (project.dist_dir / target["path"]).read_text(encoding="utf-8")
                try:
                    artifacts[name].append((entry["id"], runtimes[name].compile(query)))
                except QueryError as error:
                    raise InputError(f"dist/{target['path']}", f"query rejected: {error}") from None
        reference = [compile_reference(rule.parse()) for rule in rules]
        return cls(reference=reference, artifacts=artifacts, runtimes=runtimes)

    def scan_batch(self, events: Sequence[WindowsEvent | None]) -> list[dict[str, list[str]]]:
        results: list[dict[str, list[str]]] = [{name: [] for name in EVALUATORS} for _ in events]
        for position, event in enumerate(events):
            if event is None:
                continue
            for rule in self.reference:
                if rule.matches(event):
                    results[position]["sigma"].append(rule.rule_id)
        for name, compiled_queries in self.artifacts.items():
            runtime = self.runtimes[name]
            documents = [runtime.ingest(e) if e is not None else None for e in events]
            for rule_id, compiled in compiled_queries:
                for position in sorted(select(compiled, documents)):
                    results[position][name].append(rule_id)
        return results

    def scan(
        self, records: Iterable[Record | BadRecord], summary: ScanSummary
    ) -> Iterator[EventResult]:
        batch: list[tuple[str, WindowsEvent | None]] = []

        def flush() -> Iterator[EventResult]:
            matches = self.scan_batch([event for _, event in batch])
            for (source, _), found in zip(batch, matches, strict=True):
                for evaluator, rule_ids in found.items():
                    counts = summary.matches.setdefault(evaluator, {})
                    for rule_id in rule_ids:
                        counts[rule_id] = counts.get(rule_id, 0) + 1
                yield EventResult(summary.events, source, found)
                summary.events += 1
            batch.clear()

        for record in records:
            if isinstance(record, BadRecord):
                summary.bad_records.append(record)
                continue
            try:
                event: WindowsEvent | None = parse_windows_event(record.data)
            except EventFormatError as error:
                summary.bad_records.append(BadRecord(record.source, str(error)))
                continue
            batch.append((record.source, event))
            if len(batch) >= BATCH:
                yield from flush()
        if batch:
            yield from flush()
