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
    """The runtimes of the targets that have an engine; the others stay `converted`."""
    return {}
