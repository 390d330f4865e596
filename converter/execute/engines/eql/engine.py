"""The EQL engine: `converter.execute.engines.base.Engine` for Elasticsearch EQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eql import ast

from converter.core.documents import EcsDocument
from converter.execute.engines.base import QueryError
from converter.execute.engines.eql.compiler import Predicate, compile_event_query
from converter.execute.engines.eql.parsing import parse_event_query
from converter.execute.engines.eql.schema_checks import Schema
from converter.execute.engines.eql.vendor_schema import eql_schema_error


@dataclass(frozen=True)
class CompiledEql:
    query: str
    category: str
    predicate: Predicate
    event_query: ast.EventQuery | None = None  # the parsed query (what scan reads selectors from)

    def matches(self, document: EcsDocument) -> bool:
        return self.predicate(document)

    def select(self, documents: Sequence[EcsDocument]) -> list[int]:
        predicate = self.predicate
        return [i for i, document in enumerate(documents) if predicate(document)]


class EqlEngine:
    """Elasticsearch EQL event queries (`<category> where <condition>`) over ECS documents.

    With `schema` (`converter.core.elastic_fields`), fields are checked and evaluated by their
    mappings as Elasticsearch does, and the query must also pass Elastic's own check, `eql` with
    that schema (`vendor_schema`); without, every field is dynamically mapped.
    """

    language = "eql"

    def __init__(self, schema: Schema | None = None) -> None:
        self.schema = schema

    def compile(self, query: str) -> CompiledEql:
        event_query = parse_event_query(query)
        predicate = compile_event_query(event_query, self.schema)
        if self.schema is not None:
            error = eql_schema_error(query, self.schema)
            if error is not None:
                raise QueryError(f"Elastic's eql validation with the field schema: {error}")
        return CompiledEql(
            query=query,
            category=event_query.event_type,
            predicate=predicate,
            event_query=event_query,
        )
