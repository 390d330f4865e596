"""Elastic's own check of an EQL query: `eql`'s parser with a schema of the index's fields.

elastic/detection-rules validates each EQL rule by parsing it with the `eql` package inside an
`eql.Schema` built from the ECS and integration mappings (`detection_rules/ecs.py`,
`rule_validators.py`): a field whose Elasticsearch type has no EQL type (`text`, or a field that
no mapping defines) is "Field not recognized", and a literal of the wrong type is a type
mismatch. This module builds the same kind of schema from `converter.core.elastic_fields` and
runs that check; the schema class and the type table are written here, not copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import eql
from eql.errors import EqlError, EqlParseError
from eql.parser import elasticsearch_syntax, ignore_missing_functions
from eql.types import TypeHint

from converter.core.elastic_fields import ElasticField, elastic_field

# Elasticsearch type family -> EQL type; text and match_only_text have none ("not recognized").
_TYPE_HINTS = {
    "string": TypeHint.String,
    "ip": TypeHint.String,
    "date": TypeHint.String,
    "numeric": TypeHint.Numeric,
    "boolean": TypeHint.Boolean,
}


class ElasticEqlSchema(eql.Schema):  # type: ignore[misc]
    """An `eql.Schema` answering from Elastic field mappings, for every event category."""

    def __init__(self, fields: Mapping[str, ElasticField]) -> None:
        super().__init__({}, allow_any=True, allow_generic=True, allow_missing=False)
        self.fields = fields

    def validate_event_type(self, event_type: str) -> bool:
        return True  # categories are `event.category` values, not schema keys

    def get_event_type_hint(self, event_type: str, path: Sequence[Any]) -> Any:
        mapping = elastic_field(".".join(str(part) for part in path), self.fields)
        if mapping is None or (mapping.family == "string" and not mapping.exact):
            return None
        hint = _TYPE_HINTS.get(mapping.family)
        return (hint, None) if hint is not None else None


def eql_schema_error(query: str, fields: Mapping[str, ElasticField]) -> str | None:
    """Why `eql` with the Elastic schema rejects `query`, in one line; None if it accepts it."""
    with ElasticEqlSchema(fields), elasticsearch_syntax, ignore_missing_functions:
        try:
            eql.parse_query(query)
        except EqlParseError as error:
            return f"{error.error_msg} (line {error.line + 1}, column {error.column + 1})"
        except EqlError as error:
            return str(error).splitlines()[0]
    return None
