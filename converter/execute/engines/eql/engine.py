"""The EQL engine: `converter.execute.engines.base.Engine` for Elasticsearch EQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import eql
from eql import ast

from converter.core import elastic_fields
from converter.core.documents import EcsDocument
from converter.execute.compile_cache import CompileCache, fingerprint
from converter.execute.engines.base import QueryError
from converter.execute.engines.eql import vendor_schema
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

    def fields(self) -> frozenset[str] | None:
        """The fields the query reads, dotted (an array index as a part), the event category
        included; None when not known."""
        if self.event_query is None:
            return None
        found: set[str] = set()
        if self.event_query.event_type != "any":
            found.add("event.category")
        stack: list[object] = [self.event_query]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Field):
                found.add(".".join([node.base, *(str(part) for part in node.path)]))
            if isinstance(node, ast.BaseNode):
                stack.extend(value for _, value in node.iter_slots())
            elif isinstance(node, (list, tuple)):
                stack.extend(node)
        return frozenset(found)

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
        # what earlier runs decided (`converter.execute.compile_cache`); set by the caller
        self.cache: CompileCache | None = None
        self._fingerprint: str | None = None

    def compile(self, query: str) -> CompiledEql:
        event_query = parse_event_query(query)
        predicate = compile_event_query(event_query, self.schema)
        if self.schema is not None and not self._passed(query):
            error = eql_schema_error(query, self.schema)
            if error is not None:
                raise QueryError(f"Elastic's eql validation with the field schema: {error}")
            if self.cache is not None:
                self.cache.put("eql-schema", self._cache_key(), query, True)
        return CompiledEql(
            query=query,
            category=event_query.event_type,
            predicate=predicate,
            event_query=event_query,
        )

    def _cache_key(self) -> str:
        if self._fingerprint is None:
            schema = repr(sorted(self.schema.items())) if self.schema is not None else ""
            sources = [Path(vendor_schema.__file__), Path(elastic_fields.__file__)]
            self._fingerprint = fingerprint([eql.__version__, schema], sources)
        return self._fingerprint

    def _passed(self, query: str) -> bool:
        """Whether Elastic's check accepted this query in an earlier run of the same code,
        `eql` and schema."""
        return (
            self.cache is not None
            and self.cache.get("eql-schema", self._cache_key(), query) is True
        )
