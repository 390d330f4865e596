"""Scanning event files with the Sigma reference and every target's built artifacts.

The artifacts are read from `dist/` (what a SOC deploys), not converted again. Each input record
is a scan item (`converter.formats.base`); what it holds decides who evaluates it:

| item | evaluated by |
| --- | --- |
| `WindowsEvent` | the Sigma reference, and each target through its ingest model |
| `AuditdEvent`, `ZeekRecord` | the Sigma reference, and eql and spl (Defender stores neither) |
| `EcsRecord` (ECS document from Elasticsearch) | eql only, as it is |
| `DefenderRow` (advanced-hunting export) | kql only, as it is |

Another evaluator is one more `Evaluator`: `handles` says which items it takes, `evaluate` says
which rules match them.

Speed: items are evaluated in batches, each evaluator over the whole batch (the KQL engine loads its
rows into DuckDB once per table and batch, and plans each query again, so batches are large). A
Windows event that no evaluator can match is not parsed at all: the readers ask `Scanner.wants`
with its channel and event ID, which is true when a rule's log source has them (the Sigma
reference) or a target's ingest model stores such events and one of its queries can select them
(`converter.scan.reach`, read from the compiled queries: table, source, EventCode,
event.category, ...), or names the EventData fields the event must hold to be of use; a refused
event is counted as read by every evaluator, with no match, which is what evaluating it would
give. A batch's size counts the events some evaluator works on. When `ramp` asks (jsonl: results
start flowing at once) the first batch is small, batches double up to their size limits and a
batch also closes after `BATCH_SECONDS` of reading. Where a batch ends changes no result.

Within a batch, each query of an engine that runs queries one by one (EQL, SPL) gets only the
documents it can match: its own `reach` for the event's channel and ID (`TargetEvaluator.routes`).

Ctrl-C (`converter.core.interrupts.deferred`) is polled between records, documents, queries and
evaluators: the scan stops within one query's time, drops the batch it was on, and sets
`ScanSummary.interrupted`.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from converter.core import interrupts
from converter.core.errors import InputError
from converter.core.events import WindowsEvent
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.core.targets import TARGETS, TargetSpec, resolve
from converter.environment.runtimes import target_runtimes
from converter.execute.compile_cache import CompileCache
from converter.execute.engines.base import CompiledQuery, QueryError
from converter.execute.runtimes import by_event_type
from converter.formats.base import FILTERED, BadRecord, Filtered, Item
from converter.formats.readers import kind_names
from converter.publish.manifest import MANIFEST_NAME, read_manifest
from converter.reference import compile_reference, event_sources
from converter.scan.describe import EventFacts, facts
from converter.scan.evaluators import (
    KEY_CACHE,
    Evaluator,
    SigmaEvaluator,
    TargetEvaluator,
)
from converter.scan.reach import EVERY, Reach
from converter.scan.staleness import refuse_stale

# the targets an engine executes (`TargetSpec.engine`)
SCANNED: tuple[TargetSpec, ...] = tuple(target for target in TARGETS if target.engine is not None)
EVALUATORS = ("sigma", *(target.name for target in SCANNED))
# A batch closes at this many items to evaluate, this much event text held (each evaluator's
# documents for a batch are a few times that), or this many items in all: memory stays flat
# whatever the input, also for large events (PowerShell script blocks run to 32 KB each).
BATCH_EVALUATED = 20_000
# With `ramp`, the first batch is this small and each next one twice the last, up to
# BATCH_EVALUATED: the first results come out within a second or two.
FIRST_BATCH = 512
BATCH_TEXT = 32 << 20
BATCH_ITEMS = 200_000
# With `ramp` (jsonl), a batch also closes after this long, so that results come out steadily;
# without, batches stay large (each costs the KQL engine a query plan per query and table).
# Where a batch ends does not change a result: each item is evaluated on its own.
BATCH_SECONDS = 2.0
NATIVE_SIZE = 2048  # what a target's own document counts for, not measured
PROGRESS_EVERY = 1024  # records between progress calls (the callback itself limits its rate)


@dataclass(frozen=True)
class RuleInfo:
    rule_id: str
    name: str  # the rule's file name without .yml
    title: str
    level: str


@dataclass(frozen=True)
class EventResult:
    index: int
    source: str
    matches: dict[str, list[str]]  # evaluator -> rule ids, for the evaluators of this item
    facts: EventFacts  # time, host, key fields


@dataclass
class EvaluatorStats:
    events: int = 0  # items this evaluator read (refused Windows events included)
    seconds: float = 0.0  # time spent in its ingest model and engine
    matches: dict[str, int] = field(default_factory=dict)  # rule id -> matching events

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class ScanSummary:
    events: int = 0  # records read (items)
    bad: int = 0  # malformed records skipped
    kinds: dict[str, int] = field(default_factory=dict)  # item kind -> count
    evaluators: dict[str, EvaluatorStats] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # batches an engine refused (rare)
    seconds: float = 0.0
    interrupted: bool = False  # stopped by Ctrl-C: the last batch read was not evaluated

    @property
    def matches(self) -> dict[str, dict[str, int]]:
        return {name: stats.matches for name, stats in self.evaluators.items()}


def kind_of(payload: Any) -> str:
    # the kinds the input formats declare (`converter.formats.readers.FORMATS`)
    known = kind_names().get(type(payload))
    return known if known is not None else type(payload).__name__


# Python's cycle collector, while a scan runs: a batch allocates millions of small dicts and
# lists (events, documents), almost none in cycles, and the default thresholds (700, 10, 10)
# walk them over and over, with the compiled rules and queries: about a sixth of a whole scan's
# time. The objects alive when the scan starts are set aside (`gc.freeze`) and collections come
# less often; the same objects are freed, later.
GC_THRESHOLDS = (500_000, 20, 100)


@contextmanager
def _collector_for_batches() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def _raw_types(target: TargetSpec) -> frozenset[type]:
    """The raw event types other than Windows events that the target stores."""
    return frozenset(kind for kind in target.ingest_models() if kind is not WindowsEvent)


def fields_read(queries: Iterable[CompiledQuery[Any]]) -> frozenset[str] | None:
    """The fields the queries read together; None when one of them does not say
    (`fields()`: the EQL engine's compiled queries)."""
    found: set[str] = set()
    for compiled in queries:
        fields = getattr(compiled, "fields", None)
        known = fields() if fields is not None else None
        if known is None:
            return None
        found |= known
    return frozenset(found)


def _stores(target: TargetSpec) -> Callable[[str, int], bool]:
    return resolve(target.stores) if target.stores is not None else lambda channel, event_id: False


@dataclass
class Scanner:
    evaluators: list[Evaluator]
    rules: dict[str, RuleInfo]
    # what times the evaluators and the scan: wall time; a benchmark on a shared machine may
    # prefer the process's CPU time (time.process_time)
    clock: Callable[[], float] = time.perf_counter
    _keys: dict[tuple[str, int], bool | frozenset[str]] = field(default_factory=dict)
    _order: dict[str, int] = field(default_factory=dict)
    _reaches: dict[tuple[str, int], Reach] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # results list rule ids in rule-file order
        self._order = {rule_id: position for position, rule_id in enumerate(self.rules)}

    @classmethod
    def for_project(
        cls, project: Project, only: Sequence[str] | None = None, allow_stale: bool = False
    ) -> Scanner:
        """Every evaluator (or those named in `only`) over the project's rules and dist/;
        InputError when dist/ was built from other rule texts, unless `allow_stale`."""
        chosen = list(only) if only is not None else list(EVALUATORS)
        unknown = sorted(set(chosen) - set(EVALUATORS))
        if unknown:
            raise InputError(None, f"unknown evaluator(s): {', '.join(unknown)}")
        rule_files = load_rules(project)
        manifest_path = project.dist_dir / MANIFEST_NAME
        manifest = read_manifest(manifest_path, project.relative(manifest_path))
        if not allow_stale:
            refuse_stale(rule_files, manifest)
        targets = [target for target in SCANNED if target.name in chosen]
        runtimes = target_runtimes(targets=targets) if targets else {}
        cache = CompileCache.load()  # what compiling dist/ decided in earlier runs
        cache.attach(runtime.engine for runtime in runtimes.values())
        # every query is submitted first: an engine that finishes compiling in the background
        # (KQL's DuckDB bind check) overlaps the others' work and the reference's
        pending: dict[str, list[tuple[str, str, Callable[[], CompiledQuery[Any]]]]] = {}
        for spec in targets:
            name = spec.name
            pending[name] = []
            for entry in manifest.rules:
                target = entry.targets.get(name)
                if target is None or target.path is None:
                    continue
                query = (project.dist_dir / target.path).read_text(encoding="utf-8")
                try:
                    later = runtimes[name].compile_later(query)
                except QueryError as error:
                    raise InputError(f"dist/{target.path}", f"query rejected: {error}") from None
                pending[name].append((entry.id, target.path, later))
        evaluators: list[Evaluator] = []
        if "sigma" in chosen:
            parsed = [rule.parse() for rule in rule_files]
            evaluators.append(
                SigmaEvaluator([(compile_reference(r), event_sources(r)) for r in parsed])
            )
        for spec in targets:
            name = spec.name
            queries: list[tuple[str, CompiledQuery[Any]]] = []
            for rule_id, path, later in pending[name]:
                try:
                    queries.append((rule_id, later()))
                except QueryError as error:
                    raise InputError(f"dist/{path}", f"query rejected: {error}") from None
            # models that derive only what some query reads (`Ingest.lean`)
            read = fields_read(compiled for _, compiled in queries)
            lean = by_event_type(spec.ingest_models(read)) if read is not None else None
            native = resolve(spec.native) if spec.native is not None else None
            evaluators.append(
                TargetEvaluator(
                    runtimes[name], queries, _stores(spec), native, _raw_types(spec), lean
                )
            )
        cache.save()
        rules = {
            rule.id: RuleInfo(rule.id, rule.stem, rule.title, rule.level) for rule in rule_files
        }
        return cls(evaluators=evaluators, rules=rules)

    def wants(self, channel: str, event_id: int) -> bool | frozenset[str]:
        """Whether any evaluator can match a Windows event of this channel and ID; a set of names
        when it can only if the event's data holds one of them (`converter.scan.reach`)."""
        key = (channel, event_id)
        known = self._keys.get(key)
        if known is None:
            if not any(evaluator.wants(channel, event_id) for evaluator in self.evaluators):
                known = False
            else:
                found = self._reach(channel, event_id)
                known = True if found.any_event else found.guards
            if len(self._keys) < KEY_CACHE:
                self._keys[key] = known
        return known

    def _reach(self, channel: str, event_id: int) -> Reach:
        """The events of this channel and ID that some evaluator works on."""
        key = (channel, event_id)
        found = self._reaches.get(key)
        if found is None:
            each = [evaluator.reach(channel, event_id) for evaluator in self.evaluators]
            if any(reach.any_event for reach in each):
                found = EVERY
            else:
                found = Reach(any_event=False, guards=frozenset().union(*(r.guards for r in each)))
            if len(self._reaches) < KEY_CACHE:
                self._reaches[key] = found
        return found

    def _evaluate(
        self,
        payloads: Sequence[Any],
        summary: ScanSummary,
        on_step: Callable[[], None] | None = None,
        unheld: int = 0,
    ) -> dict[int, dict[str, list[str]]]:
        """(position in `payloads` -> evaluator -> rule ids) of the matches; `unheld` refused
        events of the batch are counted, not held."""
        found: dict[int, dict[str, list[str]]] = {}
        live = [(i, p) for i, p in enumerate(payloads) if type(p) is not Filtered]
        refused = len(payloads) - len(live) + unheld
        # the batch's figures, added to the summary once every evaluator is done: a batch that
        # Ctrl-C cut short counts nowhere
        done: list[tuple[EvaluatorStats, int, float, list[str]]] = []
        errors: list[str] = []
        for evaluator in self.evaluators:
            interrupts.check()
            if on_step is not None:
                on_step()  # progress goes on while a large batch is evaluated
            started = self.clock()
            batch = [item for item in live if evaluator.handles(item[1])]
            events = len(batch) + (refused if evaluator.handles(FILTERED) else 0)
            matched: list[str] = []
            try:
                for position, rule_id in evaluator.evaluate(batch):
                    found.setdefault(position, {}).setdefault(evaluator.name, []).append(rule_id)
                    matched.append(rule_id)
            except (QueryError, ValueError) as error:
                # an engine refusing a batch must not end a long scan; it is reported
                errors.append(f"{evaluator.name}: {error}")
            stats = summary.evaluators.setdefault(evaluator.name, EvaluatorStats())
            done.append((stats, events, self.clock() - started, matched))
        for stats, events, seconds, matched in done:
            stats.events += events
            stats.seconds += seconds
            for rule_id in matched:
                stats.matches[rule_id] = stats.matches.get(rule_id, 0) + 1
        summary.errors.extend(errors)
        return found

    def _result(
        self, index: int, source: str, payload: Any, matches: dict[str, list[str]]
    ) -> EventResult:
        order = self._order
        shown = {
            evaluator.name: sorted(matches.get(evaluator.name, ()), key=lambda r: order.get(r, 0))
            for evaluator in self.evaluators
            if evaluator.handles(payload)
        }
        return EventResult(index, source, shown, facts(payload))

    def scan(
        self,
        records: Iterable[Item | BadRecord],
        summary: ScanSummary,
        only_matches: bool = False,
        on_bad: Callable[[BadRecord], None] | None = None,
        on_batch: Callable[[ScanSummary], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        ramp: bool = False,
        batch: float = 1.0,
    ) -> Iterator[EventResult]:
        """Evaluate every item; yield a result per item (or only per matching item).

        `on_bad` gets each malformed record, `on_batch` the summary after each batch, and
        `on_progress` the number of records read, every `PROGRESS_EVERY` records and while a
        batch is evaluated; `ramp` starts with a small batch (`FIRST_BATCH`) and closes batches
        after `BATCH_SECONDS`; `batch` scales the batch limits (several processes scanning
        parts of one file, `converter.scan.sharding`, each take a share). On Ctrl-C
        (`converter.core.interrupts`) the scan stops, the batch being read or evaluated is
        dropped and `summary.interrupted` is set."""
        started = self.clock()
        sources: list[str] = []
        payloads: list[Any] = []
        # where each held item is in the batch: with `only_matches`, a refused event (which
        # cannot match) is counted, not held
        positions: list[int] = []
        items = 0  # in the batch, held or not
        hold_refused = not only_matches
        evaluated = 0
        held = 0  # characters of event text in the batch
        kinds = summary.kinds

        opened = self.clock()  # when the batch being read started
        # items to evaluate in this batch; each small batch costs the KQL engine a table load per
        # query (about 20% of kql's time on 150,000 baseline events), so only a reader waiting
        # for the first results (jsonl) gets the ramp
        most_evaluated = max(1, int(BATCH_EVALUATED * batch))
        most_text = max(1, int(BATCH_TEXT * batch))
        most_items = max(1, int(BATCH_ITEMS * batch))
        limit = min(FIRST_BATCH, most_evaluated) if ramp else most_evaluated

        def flush() -> Iterator[EventResult]:
            nonlocal evaluated, held, opened, limit, items
            limit = min(limit * 2, most_evaluated)
            start = summary.events
            step = (lambda: on_progress(read)) if on_progress is not None else None
            unheld = items - len(payloads)
            found = self._evaluate(payloads, summary, step, unheld)
            summary.events += items
            for payload in payloads:
                kind = kind_of(payload)
                kinds[kind] = kinds.get(kind, 0) + 1
            if unheld:
                kind = kind_of(FILTERED)
                kinds[kind] = kinds.get(kind, 0) + unheld
            chosen = sorted(found) if only_matches else range(len(payloads))
            for position in chosen:
                yield self._result(
                    start + positions[position],
                    sources[position],
                    payloads[position],
                    found.get(position, {}),
                )
            sources.clear()
            payloads.clear()
            positions.clear()
            evaluated = held = items = 0
            opened = self.clock()
            summary.seconds = opened - started
            if on_batch is not None:
                on_batch(summary)

        read = 0

        def loop() -> Iterator[EventResult]:
            nonlocal read, evaluated, held, items
            for record in records:
                read += 1
                if not read % PROGRESS_EVERY:
                    interrupts.check()
                    if on_progress is not None:
                        on_progress(read)
                    if ramp and items and self.clock() - opened >= BATCH_SECONDS:
                        yield from flush()
                if type(record) is BadRecord:
                    summary.bad += 1
                    if on_bad is not None:
                        on_bad(record)
                    continue
                payload = record.payload
                if type(payload) is Filtered and not hold_refused:
                    items += 1
                    if items >= most_items:
                        yield from flush()
                    continue
                positions.append(items)
                items += 1
                sources.append(record.source)
                payloads.append(payload)
                if type(payload) is WindowsEvent:
                    # an event no evaluator works on (parsed for a guard name, `reach`) costs
                    # only its memory: the batch's size counts the others (a batch costs the
                    # KQL engine a load and a query plan per table, whatever its size)
                    if self._reach(payload.channel, payload.event_id).admits(payload.data):
                        evaluated += 1
                    held += sum(map(len, payload.data.values()))
                elif type(payload) is not Filtered:
                    evaluated += 1
                    held += NATIVE_SIZE
                if evaluated >= limit or held >= most_text or items >= most_items:
                    yield from flush()
            if items:
                yield from flush()

        try:
            with _collector_for_batches():
                yield from loop()
        except interrupts.Interrupted:
            summary.interrupted = True
        summary.seconds = self.clock() - started
