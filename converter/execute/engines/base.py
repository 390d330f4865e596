"""The interface every query engine implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

Doc = TypeVar("Doc")
Doc_contra = TypeVar("Doc_contra", contravariant=True)


class QueryError(ValueError):
    """A query the engine cannot parse, or that lies outside what it can execute faithfully.

    An artifact whose query raises this is never verified: it fails.
    """


class CompiledQuery(Protocol[Doc_contra]):
    query: str

    def select(self, documents: Sequence[Doc_contra]) -> list[int]:
        """Indices (ascending) of the documents the query matches."""
        ...


class Engine(Protocol, Generic[Doc]):
    language: str

    def compile(self, query: str) -> CompiledQuery[Doc]:
        """Parse and compile once; raises QueryError."""
        ...
