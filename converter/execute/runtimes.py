"""What executes each target's artifacts: an ingest model (raw event -> stored document) and the
engine for the target's query language. The Sigma reference evaluates the rules themselves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from converter.core.documents import DocumentGroup
from converter.core.events import RawEvent, WindowsEvent
from converter.execute.engines.base import CompiledQuery, Engine

if TYPE_CHECKING:
    from converter.environment import Environment


@dataclass
class TargetRuntime:
    name: str
    ingest: Callable[[RawEvent], Any | None]
    engine: Engine[Any]

    def documents(self, events: Sequence[RawEvent]) -> list[Any | None]:
        return [self.ingest(event) for event in events]

    def compile(self, query: str) -> CompiledQuery[Any]:
        return self.engine.compile(query)


def select(compiled: CompiledQuery[Any], documents: Sequence[Any | None]) -> set[int]:
    """Indices of the documents that match; an event the SIEM would not store never matches, and
    an event stored as a `DocumentGroup` matches when one of its documents does."""
    owners: list[int] = []
    stored: list[Any] = []
    for index, document in enumerate(documents):
        if type(document) is DocumentGroup:
            owners.extend([index] * len(document))
            stored.extend(document)
        elif document is not None:
            owners.append(index)
            stored.append(document)
    return {owners[position] for position in compiled.select(stored)}


def by_event_type(models: dict[type, Callable[[Any], Any | None]]) -> Callable[[RawEvent], Any]:
    """One ingest function over every raw event type: each type has its own model module, and a
    type the SIEM has no model for is not stored (None)."""

    def ingest(event: RawEvent) -> Any | None:
        model = models.get(type(event))
        return model(event) if model is not None else None

    return ingest


def ingest_models() -> dict[str, dict[type, Callable[[Any], Any | None]]]:
    """Per target: raw event type -> the ingest model that stores it."""
    from converter.core.auditd import AuditdEvent
    from converter.core.zeek import ZeekRecord
    from converter.execute.ingest import ecs_auditd, ecs_zeek, splunk_auditd, splunk_zeek
    from converter.execute.ingest.defender import to_defender
    from converter.execute.ingest.ecs import to_ecs
    from converter.execute.ingest.splunk import to_splunk

    return {
        "eql": {
            WindowsEvent: to_ecs,
            AuditdEvent: ecs_auditd.to_ecs,
            ZeekRecord: ecs_zeek.to_ecs,
        },
        "spl": {
            WindowsEvent: to_splunk,
            AuditdEvent: splunk_auditd.to_splunk,
            ZeekRecord: splunk_zeek.to_splunk,
        },
        # Defender XDR has no table for auditd records or Zeek logs.
        "kql": {WindowsEvent: to_defender},
    }


def target_runtimes(environment: Environment | None = None) -> dict[str, TargetRuntime]:
    """The runtimes of the stock targets, or of an environment overlay: its documents (renamed
    fields, index, sources, tables), its Splunk macro and its Defender tables."""
    # Imported here: each engine pulls in its own libraries (eql, duckdb).
    from converter.execute.engines.eql import EqlEngine
    from converter.execute.engines.kql import KqlEngine
    from converter.execute.engines.spl import SplEngine

    models = ingest_models()
    macros = environment.splunk_macros() if environment else None
    tables = environment.kql_tables() if environment else None
    # `index` only where every query is ANDed with the environment's own (SplEngine docstring)
    spl = SplEngine(macros, model_index=bool(environment and environment.spl.index))
    runtimes = {
        "eql": TargetRuntime("eql", by_event_type(models["eql"]), EqlEngine()),
        "spl": TargetRuntime("spl", by_event_type(models["spl"]), spl),
        "kql": TargetRuntime("kql", by_event_type(models["kql"]), KqlEngine(tables)),
    }
    if environment is not None:
        for runtime in runtimes.values():
            runtime.ingest = environment.ingest(runtime.name, runtime.ingest)
    return runtimes
