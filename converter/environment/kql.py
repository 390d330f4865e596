"""The `kql:` section of an environment file: Defender XDR tables and columns renamed.

```yaml
kql:
  tables: {DeviceProcessEvents: AcmeProcessEvents_CL}
  fields: {ProcessCommandLine: CmdLine}
```

The Defender table is pysigma-backend-kusto's pipeline state `query_table`, which `microsoft_xdr`
sets and its query postprocessing writes in front of the query; a `set_state` at priority 100
changes it before that postprocessing runs. The rows get the renamed table and columns, and the
engine the renamed tables, so an unknown table fails the build.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from converter.core.defender_schema import DEFENDER_TABLES, DefenderTable
from converter.core.documents import DefenderRow
from converter.environment.overlay import Environment, field_renames
from converter.environment.reader import Reader
from converter.execute.engines.base import Engine

KQL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# certdetect's registry value-name split (converter/convert/backends/kql.py,
# docs/converter-defects.md)
# writes these two Defender columns by name, after the pipelines: a rename would not reach it.
KQL_FIXED_COLUMNS = frozenset({"RegistryKey", "RegistryValueName"})


@dataclass(frozen=True)
class KqlOverlay:
    KEYS: ClassVar[frozenset[str]] = frozenset({"tables", "fields"})

    tables: Mapping[str, str] = field(default_factory=dict)  # Defender table -> env's table
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, reader: Reader, section: str, data: Mapping[str, Any]) -> KqlOverlay:
        tables: dict[str, str] = {}
        if "tables" in data:
            path = (section, "tables")
            tables = reader.names(data["tables"], path, KQL_NAME_RE, "KQL table name")
            for table, renamed in tables.items():
                here = (*path, table)
                if table not in DEFENDER_TABLES:
                    raise reader.error(
                        here, f"{table} is not a Defender XDR advanced-hunting table"
                    )
                if renamed in DEFENDER_TABLES:
                    raise reader.error(here, f"{renamed} is a Defender XDR table already")
        fields: dict[str, str] = {}
        if "fields" in data:
            path = (section, "fields")
            fields = reader.names(data["fields"], path, KQL_NAME_RE, "KQL column name")
            for column in fields:
                here = (*path, column)
                if column in KQL_FIXED_COLUMNS:
                    raise reader.error(
                        here,
                        f"{column} cannot be renamed: certdetect's registry value-name correction "
                        "writes it by name (docs/converter-defects.md)",
                    )
                if not any(column in table.columns for table in DEFENDER_TABLES.values()):
                    raise reader.error(here, f"{column} is a column of no Defender XDR table")
            for table in DEFENDER_TABLES.values():
                seen: dict[str, str] = {}
                for column in table.columns:
                    renamed = fields.get(column, column)
                    if renamed in seen:
                        raise reader.error(
                            (*path, column if column in fields else seen[renamed]),
                            f"two columns of {table.name} would be named {renamed}",
                        )
                    seen[renamed] = column
        return cls(tables=MappingProxyType(tables), fields=MappingProxyType(fields))

    # --- conversion ----------------------------------------------------------------------------

    def transformations(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for table, renamed in self.tables.items():
            # Renamed tables are never Defender table names (load checks), so no chaining.
            items.append(
                {
                    "id": f"environment_table_{table}",
                    "type": "set_state",
                    "key": "query_table",
                    "val": renamed,
                    "rule_conditions": [
                        {"type": "processing_state", "key": "query_table", "val": table}
                    ],
                }
            )
        items.extend(field_renames(self.fields))
        return items

    def postprocessing(self) -> list[dict[str, Any]]:
        return []

    # --- verification --------------------------------------------------------------------------

    def defender_tables(self) -> Mapping[str, DefenderTable]:
        """The tables the environment's KQL reads: each Defender table under its name there,
        with its columns renamed."""
        if not self.tables and not self.fields:
            return DEFENDER_TABLES
        tables = {}
        for table in DEFENDER_TABLES.values():
            name = self.tables.get(table.name, table.name)
            columns = {self.fields.get(c, c): kind for c, kind in table.columns.items()}
            tables[name] = DefenderTable(name, MappingProxyType(columns))
        return MappingProxyType(tables)

    def stock_table(self, table: str) -> str:
        """The Defender table an environment's table name stands for."""
        for stock, renamed in self.tables.items():
            if renamed == table:
                return stock
        return table

    def document(self, document: Any, environment: Environment, section: str) -> Any:
        if not isinstance(document, DefenderRow):
            return document
        renames = self.fields
        return DefenderRow(
            table=self.tables.get(document.table, document.table),
            columns={renames.get(name, name): value for name, value in document.columns.items()},
        )

    # --- output --------------------------------------------------------------------------------

    def named(self) -> list[tuple[str, list[str], str]]:
        return [
            ("tables", list(self.tables.values()), "reads the table"),
        ]

    def stale(self, section: str, logsources: Collection[str]) -> list[str]:
        return []

    def files(self, environment: Environment) -> dict[str, bytes]:
        return {}


def engine(overlay: KqlOverlay | None) -> Engine[Any]:
    """The KQL engine over the environment's tables (the stock Defender tables without one)."""
    from converter.execute.engines.kql import KqlEngine  # imports duckdb: loaded on use

    return KqlEngine(overlay.defender_tables() if overlay is not None else None)
