"""What executes each target's artifacts: an ingest model (raw event -> stored document) and the
engine for the target's query language. The Sigma reference evaluates the rules themselves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from converter.engines.base import CompiledQuery, Engine
from converter.events import WindowsEvent


@dataclass
class TargetRuntime:
    name: str
    ingest: Callable[[WindowsEvent], Any | None]
    engine: Engine[Any]

    def documents(self, events: Sequence[WindowsEvent]) -> list[Any | None]:
        return [self.ingest(event) for event in events]

    def compile(self, query: str) -> CompiledQuery[Any]:
        return self.engine.compile(query)


def select(compiled: CompiledQuery[Any], documents: Sequence[Any | None]) -> set[int]:
    """Indices of the documents that match; an event the SIEM would not store never matches."""
    present = [index for index, document in enumerate(documents) if document is not None]
    chosen = compiled.select([documents[index] for index in present])
    return {present[position] for position in chosen}


def target_runtimes() -> dict[str, TargetRuntime]:
    # Imported here: each engine pulls in its own libraries (eql, duckdb).
    from converter.engines.eql import EqlEngine
    from converter.engines.kql import KqlEngine
    from converter.engines.spl import SplEngine
    from converter.ingest.defender import to_defender
    from converter.ingest.ecs import to_ecs
    from converter.ingest.splunk import to_splunk

    return {
        "eql": TargetRuntime("eql", to_ecs, EqlEngine()),
        "spl": TargetRuntime("spl", to_splunk, SplEngine()),
        "kql": TargetRuntime("kql", to_defender, KqlEngine()),
    }
