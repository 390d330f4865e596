"""What executes each target's artifacts: an ingest model (raw event -> stored document) and the
engine for the target's query language. The Sigma reference evaluates the rules themselves.

Which model and engine each target has is declared in `converter.core.targets`; the runtimes of
the targets, stock or for an environment, are made in `converter.environment.runtimes`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converter.core.documents import DocumentGroup
from converter.core.events import RawEvent
from converter.execute.engines.base import CompiledQuery, Engine, QueryError


@dataclass
class TargetRuntime:
    name: str
    ingest: Callable[[RawEvent], Any | None]
    engine: Engine[Any]

    def documents(self, events: Sequence[RawEvent]) -> list[Any | None]:
        return [self.ingest(event) for event in events]

    def compile(self, query: str) -> CompiledQuery[Any]:
        """The engine's compiled query; any failure of the engine is a QueryError (one line)."""
        return self.compile_later(query)()

    def compile_later(self, query: str) -> Callable[[], CompiledQuery[Any]]:
        """`compile`, where the engine can finish it in the background (`compile_later` of the
        KQL engine): the function returned gives the compiled query or raises its QueryError."""
        later = getattr(self.engine, "compile_later", None)
        if later is None:
            compiled = self._guarded(lambda: self.engine.compile(query))
            return lambda: compiled
        pending = self._guarded(lambda: later(query))
        return lambda: self._guarded(pending)

    def _guarded(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except QueryError:
            raise
        except Exception as error:  # noqa: BLE001 - an engine defect fails the query, never the run
            raise QueryError(
                f"the {self.name} engine failed: {type(error).__name__}: {error}"
            ) from error


def _stored(documents: Sequence[Any | None]) -> tuple[list[int], list[Any]]:
    """The documents stored, each with the index of the event it came from."""
    owners: list[int] = []
    stored: list[Any] = []
    for index, document in enumerate(documents):
        if type(document) is DocumentGroup:
            owners.extend([index] * len(document))
            stored.extend(document)
        elif document is not None:
            owners.append(index)
            stored.append(document)
    return owners, stored


def select(compiled: CompiledQuery[Any], documents: Sequence[Any | None]) -> set[int]:
    """Indices of the documents that match; an event the SIEM would not store never matches, and
    an event stored as a `DocumentGroup` matches when one of its documents does."""
    owners, stored = _stored(documents)
    return {owners[position] for position in compiled.select(stored)}


def select_many(
    queries: Sequence[CompiledQuery[Any]],
    documents: Sequence[Any | None],
    between: Callable[[], None] | None = None,
) -> list[set[int]]:
    """`select` for each query. Queries of one engine that runs several on one load of the
    documents (`run_many`: the KQL engine loads a table's rows into DuckDB once) are given to it
    together; `between` is called before each query (an interrupt check)."""
    owners, stored = _stored(documents)
    engines = {id(getattr(compiled, "engine", None)) for compiled in queries}
    engine = getattr(queries[0], "engine", None) if queries else None
    if len(engines) == 1 and hasattr(engine, "run_many"):
        found = engine.run_many(queries, stored, between)
    else:
        found = []
        for compiled in queries:
            if between is not None:
                between()
            found.append(compiled.select(stored))
    return [{owners[position] for position in selected} for selected in found]


def by_event_type(
    models: Mapping[type, Callable[[Any], Any | None]],
) -> Callable[[RawEvent], Any]:
    """One ingest function over every raw event type: each type has its own model module, and a
    type the SIEM has no model for is not stored (None)."""

    def ingest(event: RawEvent) -> Any | None:
        model = models.get(type(event))
        return model(event) if model is not None else None

    return ingest
