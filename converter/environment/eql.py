"""The `eql:` section of an environment file: Kibana index patterns and ECS field renames.

```yaml
eql:
  index: ["logs-windows.sysmon_operational-acme-*"]  # Kibana `index`, or by log source:
                                 # {windows/ps_script: [...], windows: [...], ...}
  fields: {process.command_line: acme.cmdline}     # ECS name the target produces -> env's name
```

The documents move each renamed value to its new nested key, so a query naming the new field is
verified on documents that have it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from converter.core.elastic_fields import ELASTIC_FIELDS, renamed
from converter.core.errors import InputError
from converter.environment.overlay import Environment, field_renames
from converter.environment.reader import Reader, line_of
from converter.execute.engines.base import Engine

# Elasticsearch index names are lowercase and exclude \ / ? " < > | , # and spaces; patterns add
# `*`, a `-` exclusion and a `cluster:` prefix (Elasticsearch "Multi-target syntax").
INDEX_PATTERN_RE = re.compile(r"(?:[a-z0-9*][a-z0-9_*-]*:)?-?[a-z0-9*][a-z0-9._*+-]*")
ECS_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
PRODUCT_RE = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)?")
ALL_PRODUCTS = "*"


@dataclass(frozen=True)
class EqlOverlay:
    KEYS: ClassVar[frozenset[str]] = frozenset({"index", "fields"})

    # logsource product, product/category or product/service (or "*" for all) -> patterns
    index: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, reader: Reader, section: str, data: Mapping[str, Any]) -> EqlOverlay:
        index: dict[str, tuple[str, ...]] = {}
        if "index" in data:
            raw = data["index"]
            if isinstance(raw, dict):
                products = reader.mapping(raw, (section, "index"))
                for product, patterns in products.items():
                    if not PRODUCT_RE.fullmatch(product):
                        raise reader.error(
                            (section, "index", product),
                            "is not a Sigma logsource product, or product/category (or service)",
                        )
                    index[product] = _patterns(reader, patterns, (section, "index", product))
            else:
                index[ALL_PRODUCTS] = _patterns(reader, raw, (section, "index"))
        fields: dict[str, str] = {}
        if "fields" in data:
            fields = reader.names(
                data["fields"], (section, "fields"), ECS_FIELD_RE, "ECS field name"
            )
            targets = sorted(fields.values())
            for shorter, longer in zip(targets, targets[1:], strict=False):
                if longer.startswith(shorter + "."):
                    raise reader.error(
                        (section, "fields"), f"{shorter} and {longer} cannot both be fields"
                    )
        return cls(index=MappingProxyType(index), fields=MappingProxyType(fields))

    # --- conversion ----------------------------------------------------------------------------

    def transformations(self) -> list[dict[str, Any]]:
        return field_renames(self.fields)

    def postprocessing(self) -> list[dict[str, Any]]:
        return []

    def index_patterns(self, product: str, source: str = "") -> tuple[str, ...] | None:
        """The Kibana index patterns of a log source (`product/category` or `product/service`
        first, then the product); None keeps the stock ones."""
        index = self.index
        return index.get(f"{product}/{source}") or index.get(product) or index.get(ALL_PRODUCTS)

    # --- verification --------------------------------------------------------------------------

    def document(self, document: Any, environment: Environment, section: str) -> Any:
        if not self.fields:
            return document
        moved = copy.deepcopy(document)
        values = []
        for source, target in self.fields.items():
            found, value = _pop_path(moved, source.split("."))
            if found:
                values.append((source, target, value))
        for source, target, value in values:  # after every pop: renames may swap names
            if not _put_path(moved, target.split("."), value):
                raise InputError(
                    environment.path,
                    f"{section}.fields: cannot move {source} to {target}: a parent of {target} "
                    "holds a value in the ECS documents",
                    line_of(environment.lines, (section, "fields", source)),
                )
        return moved

    # --- output --------------------------------------------------------------------------------

    def named(self) -> list[tuple[str, list[str], str]]:
        return []  # field renames no query uses are errors (`Environment.unused_renames`)

    def stale(self, section: str, logsources: Collection[str]) -> list[str]:
        return [
            f"{section}.index: no rule has log source {key}"
            for key in self.index
            if key != ALL_PRODUCTS and key not in logsources
        ]

    def files(self, environment: Environment) -> dict[str, bytes]:
        return {}


def engine(overlay: EqlOverlay | None) -> Engine[Any]:
    """The EQL engine, checking fields against Elastic's mappings; field renames reach the
    documents by moving values, and the schema by giving each new name its source's mapping."""
    from converter.execute.engines.eql import EqlEngine  # imports eql: loaded on use

    schema = ELASTIC_FIELDS if overlay is None else renamed(ELASTIC_FIELDS, overlay.fields)
    return EqlEngine(schema)


def _patterns(reader: Reader, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise reader.error(path, "must be an index pattern or a non-empty list of them")
    patterns = []
    for position, pattern in enumerate(value):
        here = (*path, str(position))
        pattern = reader.string(pattern, here)
        if not INDEX_PATTERN_RE.fullmatch(pattern):
            raise reader.error(
                here, f"{pattern!r} is not an Elasticsearch index pattern (lowercase, no spaces)"
            )
        patterns.append(pattern)
    return tuple(patterns)


def _pop_path(document: dict[str, Any], keys: list[str]) -> tuple[bool, Any]:
    """Remove the value at the nested path; prune objects the removal leaves empty."""
    parents = []
    node: Any = document
    for key in keys[:-1]:
        child = node.get(key) if type(node) is dict else None
        if type(child) is not dict:
            return False, None
        parents.append((node, key))
        node = child
    if type(node) is not dict or keys[-1] not in node:
        return False, None
    value = node.pop(keys[-1])
    for parent, key in reversed(parents):
        if parent[key]:
            break
        del parent[key]
    return True, value


def _put_path(document: dict[str, Any], keys: list[str], value: Any) -> bool:
    node = document
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if type(child) is not dict:
            return False
        node = child
    node[keys[-1]] = value
    return True
