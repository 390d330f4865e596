"""ECS documents exported from Elasticsearch (NDJSON of `_source`, or of search hits with
`_source`): already what the EQL target executes on, so they go to the EQL engine as they are,
and to no other evaluator (the raw event they came from is gone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from converter.core.documents import EcsDocument


@dataclass(frozen=True)
class EcsRecord:
    document: EcsDocument


def is_search_hit(record: Mapping[str, Any]) -> bool:
    """An Elasticsearch hit (`_index`, `_id`, `_source`) as elasticdump and the search API write."""
    return isinstance(record.get("_source"), Mapping) and ("_index" in record or "_id" in record)


def is_ecs(record: Mapping[str, Any]) -> bool:
    # Every ECS event has an `event` object (`event.kind`, `event.category`, ...) or `ecs.version`.
    return isinstance(record.get("event"), Mapping) or isinstance(record.get("ecs"), Mapping)
