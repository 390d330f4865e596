"""The evaluators a scan runs: the Sigma reference over the rules themselves, and one per target
over its built artifacts, each with what it reads (`handles`), which Windows events it can match
at all (`wants`, `reach`, read from the compiled queries: `converter.scan.reach`) and which rules
match a batch (`evaluate`). Another evaluator is one more class with these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from converter.core import interrupts
from converter.core.auditd import AuditdEvent
from converter.core.events import WindowsEvent
from converter.core.zeek import ZeekRecord
from converter.execute.engines.base import CompiledQuery
from converter.execute.runtimes import TargetRuntime, select, select_many
from converter.formats.base import Filtered
from converter.formats.ecs import EcsRecord
from converter.reference import EventSource, ReferenceRule, Source
from converter.scan.reach import EVERY, NONE, Reach, reach, selector

KEY_CACHE = 100_000  # distinct (channel, event ID) pairs remembered per evaluator


class Evaluator(Protocol):
    name: str

    def wants(self, channel: str, event_id: int) -> bool:
        """Whether a Windows event of this channel and ID can match (False: skip it unparsed)."""
        ...

    def handles(self, payload: Any) -> bool:
        """Whether this evaluator reads items holding `payload` (`FILTERED` included)."""
        ...

    def reach(self, channel: str, event_id: int) -> Reach:
        """Which parsed Windows events of this channel and ID this evaluator works on (what a
        batch's size counts)."""
        ...

    def evaluate(self, batch: Sequence[tuple[int, Any]]) -> Iterable[tuple[int, str]]:
        """(position, rule id) of each match among the (position, payload) pairs."""
        ...


class SigmaEvaluator:
    """The Sigma reference: each rule on the raw events of its log source."""

    name = "sigma"

    def __init__(self, rules: Sequence[tuple[ReferenceRule, tuple[Source, ...]]]) -> None:
        self._rules = rules
        self._by_key: dict[tuple[str, int], list[ReferenceRule]] = {}
        # rules of the log sources that are not Windows events (auditd records, Zeek logs)
        self._raw = [
            rule
            for rule, sources in rules
            if any(not isinstance(source, EventSource) for source in sources)
        ]

    def wants(self, channel: str, event_id: int) -> bool:
        return any(
            source.reads(channel, event_id) for _, sources in self._rules for source in sources
        )

    def _rules_for(self, event: WindowsEvent) -> list[ReferenceRule]:
        key = (event.channel, event.event_id)
        found = self._by_key.get(key)
        if found is None:
            found = [rule for rule, sources in self._rules if any(s.reads(*key) for s in sources)]
            if len(self._by_key) < KEY_CACHE:
                self._by_key[key] = found
        return found

    def handles(self, payload: Any) -> bool:
        return type(payload) in _RAW_KINDS

    def reach(self, channel: str, event_id: int) -> Reach:
        return EVERY if self.wants(channel, event_id) else NONE

    def evaluate(self, batch: Sequence[tuple[int, Any]]) -> Iterator[tuple[int, str]]:
        for position, event in batch:
            kind = type(event)
            if kind is WindowsEvent:
                for rule in self._rules_for(event):
                    if rule.matches(event):
                        yield position, rule.rule_id
            elif kind is not Filtered:
                for rule in self._raw:
                    if rule.matches(event):
                        yield position, rule.rule_id


class TargetEvaluator:
    """One target's artifacts, on the documents its ingest models make from raw events and on
    the target's own documents.

    A Windows event is skipped, with no document built, when the model does not store its kind
    or none of the queries can match it (`converter.scan.reach`), and documents are built by
    `lean` when given: the target's models leaving out what none of the queries reads
    (`Ingest.lean`). `shortcut = False` builds the whole document for every Windows event (what
    the tests compare the shortcuts with)."""

    def __init__(
        self,
        runtime: TargetRuntime,
        queries: Sequence[tuple[str, CompiledQuery[Any]]],
        stores: Callable[[str, int], bool],
        native: type | None,
        raw: frozenset[type] = frozenset(),
        lean: Callable[[Any], Any] | None = None,
    ) -> None:
        self.name = runtime.name
        self.runtime = runtime
        self.lean = lean
        self.queries = queries
        self.stores = stores
        self.native = native
        self.raw = raw  # raw event types other than Windows events that the target stores
        self.shortcut = True
        self._selectors = [selector(compiled) for _, compiled in queries]
        self._reach: dict[tuple[str, int], Reach] = {}
        self._routes: dict[tuple[str, int], tuple[tuple[int, frozenset[str] | None], ...]] = {}
        # an engine that runs a batch's queries together (KQL: one load per table) gets them
        # all; the others get each query with only the documents it can match (`_routes`)
        self._routed = not hasattr(runtime.engine, "run_many")

    def reach(self, channel: str, event_id: int) -> Reach:
        """What the queries can match among the stored events of this channel and ID."""
        if not self.shortcut:
            return EVERY
        key = (channel, event_id)
        found = self._reach.get(key)
        if found is None:
            if not self.stores(channel, event_id):
                found = NONE
            else:
                found = reach(channel, event_id, self._selectors, self.runtime.ingest)
            if len(self._reach) < KEY_CACHE:
                self._reach[key] = found
        return found

    def routes(self, channel: str, event_id: int) -> tuple[tuple[int, frozenset[str] | None], ...]:
        """The queries that can match a stored event of this channel and ID, as (position in
        `queries`, None when any such event may match, else the Data names one of which the
        event must hold): each query's own `reach`."""
        key = (channel, event_id)
        found = self._routes.get(key)
        if found is None:
            routes: list[tuple[int, frozenset[str] | None]] = []
            for position, chosen in enumerate(self._selectors):
                alone = reach(channel, event_id, [chosen], self.runtime.ingest)
                if alone.any_event:
                    routes.append((position, None))
                elif alone.guards:
                    routes.append((position, alone.guards))
            found = tuple(routes)
            if len(self._routes) < KEY_CACHE:
                self._routes[key] = found
        return found

    def wants(self, channel: str, event_id: int) -> bool:
        if not self.shortcut:
            return True
        found = self.reach(channel, event_id)
        return found.any_event or bool(found.guards)

    def handles(self, payload: Any) -> bool:
        kind = type(payload)
        return kind is WindowsEvent or kind is Filtered or kind is self.native or kind in self.raw

    def _document(self, payload: Any, ingest: Callable[[Any], Any]) -> Any:
        kind = type(payload)
        if kind is WindowsEvent:
            if not self.reach(payload.channel, payload.event_id).admits(payload.data):
                return None
            return ingest(payload)
        if kind is self.native:
            return payload.document if kind is EcsRecord else payload
        if kind in self.raw:
            return ingest(payload)
        return None

    def evaluate(self, batch: Sequence[tuple[int, Any]]) -> Iterator[tuple[int, str]]:
        positions: list[int] = []
        documents: list[Any] = []
        routed = self._routed and self.shortcut
        ingest = self.lean if self.lean is not None and self.shortcut else self.runtime.ingest
        # per query, the documents (indices in `documents`) it is run on
        chosen: list[list[int]] = [[] for _ in self.queries]
        every = range(len(self.queries))
        for position, payload in batch:
            if not position % 1024:
                interrupts.check()  # an ingest model's pass over a large batch takes a while
            document = self._document(payload, ingest)
            if document is None:
                continue
            index = len(documents)
            positions.append(position)
            documents.append(document)
            if not routed:
                continue
            if type(payload) is WindowsEvent:
                data = payload.data
                for query, guards in self.routes(payload.channel, payload.event_id):
                    if guards is None or not guards.isdisjoint(data):
                        chosen[query].append(index)
            else:
                for query in every:
                    chosen[query].append(index)
        if not documents:
            return
        # interrupts checked between queries: one query's time at most after Ctrl-C
        if not routed:
            compiled = [query for _, query in self.queries]
            found = select_many(compiled, documents, interrupts.check)
            for (rule_id, _), selected in zip(self.queries, found, strict=True):
                for index in sorted(selected):
                    yield positions[index], rule_id
            return
        for (rule_id, compiled), indices in zip(self.queries, chosen, strict=True):
            if not indices:
                continue
            interrupts.check()
            subset = indices if len(indices) < len(documents) else None
            picked = documents if subset is None else [documents[i] for i in subset]
            selected = select(compiled, picked)
            for index in sorted(selected):
                yield positions[index if subset is None else subset[index]], rule_id


_RAW_KINDS = frozenset({WindowsEvent, Filtered, AuditdEvent, ZeekRecord})
