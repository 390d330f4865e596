"""The SPL engine: `converter.execute.engines.base.Engine` for Splunk SPL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from converter.core.documents import SplunkEvent
from converter.execute.engines.base import QueryError
from converter.execute.engines.spl.compiler import compile_pipeline
from converter.execute.engines.spl.macros import expand_macros
from converter.execute.engines.spl.matching import Extra, Pred
from converter.execute.engines.spl.pipeline import parse_pipeline
from converter.execute.engines.spl.syntax import Command, named_fields


@dataclass(frozen=True)
class CompiledSpl:
    query: str
    commands: tuple[Command, ...]
    stages: tuple[Pred, ...]

    def select(self, documents: Sequence[SplunkEvent]) -> list[int]:
        if len(self.stages) == 1:  # a lone search never writes to `extra`: share one
            only, none = self.stages[0], {}
            return [i for i, ev in enumerate(documents) if only(ev, none)]
        stages = self.stages
        hits: list[int] = []
        for i, ev in enumerate(documents):
            extra: Extra = {}
            for stage in stages:
                if not stage(ev, extra):
                    break
            else:
                hits.append(i)
        return hits


class SplEngine:
    """`converter.execute.engines.base.Engine` for Splunk SPL over `SplunkEvent`s.

    `macros` are the search macros defined where the queries run (macros.conf: name ->
    definition); a query calling any other macro is a `QueryError`. `model_index` lets queries
    filter on `index` (see `compiler`).
    """

    language = "spl"

    def __init__(self, macros: Mapping[str, str] | None = None, model_index: bool = False) -> None:
        self.macros: Mapping[str, str] = dict(macros or {})
        self.model_index = model_index

    def compile(self, query: str) -> CompiledSpl:
        commands = parse_pipeline(expand_macros(query, self.macros))
        if not self.model_index and "index" in named_fields(commands):
            raise QueryError("field 'index' is only searched for an environment that sets one")
        return CompiledSpl(query, commands, tuple(compile_pipeline(commands)))
