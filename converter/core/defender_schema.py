"""The Defender XDR advanced-hunting tables, as DuckDB tables.

A KQL query over a table with too few columns fails, and over a table with a made-up column
silently matches nothing, so the KQL engine creates every table with its full schema. The schema
is the one pySigma's kusto backend ships (`sigma.pipelines.microsoftxdr.tables`), read at import
time so that both sides of a conversion agree on what a Defender table holds.

Kusto types map to DuckDB types as follows (Kusto "Scalar data types" page):

| Kusto            | DuckDB    | why                                                          |
| ---------------- | --------- | ------------------------------------------------------------ |
| string           | VARCHAR   | never NULL: Kusto strings have no null value, a missing one  |
|                  |           | is "" (Kusto "Null values" page), so the column defaults to "" |
| long, int        | BIGINT    | int is 32-bit in Kusto; no value of ours needs the narrower  |
|                  |           | range, and one integer type keeps comparisons simple         |
| real             | DOUBLE    | 64-bit floating point in both                                |
| bool, boolean    | BOOLEAN   |                                                              |
| datetime         | TIMESTAMP | UTC, without zone, as Kusto stores it                        |
| dynamic          | JSON      | duckdb-kql reads JSON columns as dynamic values (`->> '$'`)  |
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

TABLES_MODULE = "sigma.pipelines.microsoftxdr.tables"


def _xdr_tables() -> dict[str, dict[str, Any]]:
    """pySigma's `MICROSOFT_XDR_TABLES`, read from its module alone: importing it the usual way
    runs the package's `__init__`, which builds the whole Microsoft XDR pipeline (about 0.1 s of
    `certdetect scan`'s startup) for a module that is one generated dict."""
    loaded = sys.modules.get(TABLES_MODULE)
    if loaded is None:
        package = importlib.util.find_spec("sigma")
        # the first `sigma` folder on the path that holds it (a project's rule folder named
        # sigma/ in the working directory can come first)
        locations = package.submodule_search_locations if package is not None else None
        found = [
            path
            for location in locations or ()
            if (path := Path(location) / "pipelines" / "microsoftxdr" / "tables.py").is_file()
        ]
        spec = importlib.util.spec_from_file_location(TABLES_MODULE, found[0]) if found else None
        if spec is None or spec.loader is None:
            raise ImportError(f"{TABLES_MODULE} not found: is pySigma installed?")
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
    return loaded.MICROSOFT_XDR_TABLES


MICROSOFT_XDR_TABLES = _xdr_tables()


KUSTO_TO_DUCKDB: Mapping[str, str] = MappingProxyType(
    {
        "string": "VARCHAR",
        "long": "BIGINT",
        "int": "BIGINT",
        "real": "DOUBLE",
        "bool": "BOOLEAN",
        "boolean": "BOOLEAN",
        "datetime": "TIMESTAMP",
        "dynamic": "JSON",
    }
)


def quote_identifier(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class DefenderTable:
    """One advanced-hunting table: column name -> Kusto type, in schema order."""

    name: str
    columns: Mapping[str, str]

    def duckdb_type(self, column: str) -> str:
        return KUSTO_TO_DUCKDB[self.columns[column]]

    def ddl(
        self, name: str, extra_columns: Mapping[str, str] | None = None, temp: bool = False
    ) -> str:
        """`CREATE TABLE` for this table; string columns default to "" (never null in Kusto)."""
        parts = []
        for column, kusto_type in self.columns.items():
            default = " DEFAULT ''" if kusto_type == "string" else ""
            parts.append(f"{quote_identifier(column)} {KUSTO_TO_DUCKDB[kusto_type]}{default}")
        for column, duckdb_type in (extra_columns or {}).items():
            parts.append(f"{quote_identifier(column)} {duckdb_type}")
        kind = "TEMP TABLE" if temp else "TABLE"
        return f"CREATE {kind} {quote_identifier(name)} ({', '.join(parts)})"


# pySigma's table data is scraped from Microsoft's pages and a few names carry debris: a leading
# space (DeviceEvents) or a markdown footnote ("Tags` [*](#mdi-only)" in IdentityInfo). The
# column is the identifier the name starts with.
_IDENTIFIER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")


def _column_name(table: str, raw: str) -> str:
    match = _IDENTIFIER.match(raw)
    if match is None:
        raise RuntimeError(f"Defender table {table}: no column name in {raw!r}")
    return match.group(1)


def _load() -> Mapping[str, DefenderTable]:
    tables = {}
    for name, columns in MICROSOFT_XDR_TABLES.items():
        types = {_column_name(name, column): spec["data_type"] for column, spec in columns.items()}
        if len(types) != len(columns):
            raise RuntimeError(f"Defender table {name}: column names collide once cleaned")
        unknown = {t for t in types.values() if t not in KUSTO_TO_DUCKDB}
        if unknown:
            # a newer pySigma with a type we never mapped: fail loudly, not with a wrong column
            raise RuntimeError(f"Defender table {name}: unmapped Kusto types {sorted(unknown)}")
        tables[name] = DefenderTable(name, MappingProxyType(types))
    return MappingProxyType(tables)


DEFENDER_TABLES: Mapping[str, DefenderTable] = _load()
