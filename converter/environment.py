"""Environment overlays: where one organisation keeps the data the rules search.

The stock targets describe the vendors' defaults (Elastic Agent data streams, the Splunk add-ons'
sources, the Defender XDR tables). An environment file says how one SIEM differs:

```yaml
name: acme-prod                  # required: lowercase letters, digits and '-'
description: ...                 # optional
eql:
  index: ["logs-windows.sysmon_operational-acme-*"]  # Kibana `index`, or by log source:
                                 # {windows/ps_script: [...], windows: [...], ...}
  fields: {process.command_line: acme.cmdline}     # ECS name the target produces -> env's name
spl:
  index: acme_endpoint           # every search gets index="acme_endpoint"
  sources: {"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational": "WinEventLog:Sysmon"}
  macro: {name: acme_edr, definition: "index=acme_endpoint"}  # every search starts with `acme_edr`
  fields: {CommandLine: cmd_line}
kql:
  tables: {DeviceProcessEvents: AcmeProcessEvents_CL}
  fields: {ProcessCommandLine: CmdLine}
```

Every section is optional. The overlay is a pySigma processing pipeline at priority 100 (its YAML
is `Environment.pipeline_dict`, loadable by sigma-cli), so it runs after every pipeline of the
target (stock ones at 10, this project's at 5 to 30): a rename maps the name those pipelines
produce to the environment's. The Defender table is pysigma-backend-kusto's pipeline state
`query_table`, which `microsoft_xdr` sets and its query postprocessing writes in front of the
query; a `set_state` at priority 100 changes it before that postprocessing runs.

The same overlay is applied to the documents the engines run on (`Environment.document`: ECS
values move to the renamed nested keys, Splunk events get the renamed fields, sources and the
index, Defender rows the renamed table and columns), and the engines are given the environment's
Splunk macro and Defender tables, so the environment's queries are verified exactly as the stock
ones: a rename the documents do not get, an index the events are not in or an unknown table fails
the build. The SPL engine searches `index` only for an environment that sets `spl.index`: every
query is then ANDed with it, so a rule value can narrow the indexes a search reads, never widen
them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline

from converter.core.documents import DefenderRow, DocumentGroup, SplunkEvent
from converter.core.errors import InputError
from converter.core.textfiles import load_yaml, read_text
from converter.execute.engines.base import QueryError
from converter.execute.engines.defender_schema import DEFENDER_TABLES, DefenderTable

if TYPE_CHECKING:
    from converter.verify.build import BuildResult

# After every target pipeline (pipelines/*.yml use 5 to 30, pySigma's stock ones 10).
PRIORITY = 100

NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_NAME = 64
# Elasticsearch index names are lowercase and exclude \ / ? " < > | , # and spaces; patterns add
# `*`, a `-` exclusion and a `cluster:` prefix (Elasticsearch "Multi-target syntax").
INDEX_PATTERN_RE = re.compile(r"(?:[a-z0-9*][a-z0-9_*-]*:)?-?[a-z0-9*][a-z0-9._*+-]*")
ECS_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
# Splunk index names (indexes.conf.spec): lowercase letters, digits, '_' and '-', not starting
# with '_' or '-'. One concrete index: the documents are stored in it.
SPLUNK_INDEX_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
SPLUNK_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
SPLUNK_MACRO_RE = re.compile(r"[A-Za-z0-9_]+")
SPLUNK_DEFAULT_FIELDS = frozenset({"source", "sourcetype", "host", "index", "_raw"})
# Characters a source value cannot hold and still be one exact value in a quoted SPL string.
_SOURCE_FORBIDDEN = frozenset('"\\*`\n\r\t')
KQL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PRODUCT_RE = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)?")
# certdetect's registry value-name split (converter/convert/workarounds.py,
# docs/converter-defects.md)
# writes these two Defender columns by name, after the pipelines: a rename would not reach it.
KQL_FIXED_COLUMNS = frozenset({"RegistryKey", "RegistryValueName"})
ALL_PRODUCTS = "*"

_KEYS: dict[tuple[str, ...], frozenset[str]] = {
    (): frozenset({"name", "description", "eql", "spl", "kql"}),
    ("eql",): frozenset({"index", "fields"}),
    ("spl",): frozenset({"index", "sources", "macro", "fields"}),
    ("spl", "macro"): frozenset({"name", "definition"}),
    ("kql",): frozenset({"tables", "fields"}),
}


@dataclass(frozen=True)
class EqlOverlay:
    # logsource product, product/category or product/service (or "*" for all) -> patterns
    index: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SplunkMacro:
    name: str
    definition: str


@dataclass(frozen=True)
class SplOverlay:
    index: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)  # source or sourcetype value -> env's
    macro: SplunkMacro | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KqlOverlay:
    tables: Mapping[str, str] = field(default_factory=dict)  # Defender table -> env's table
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Environment:
    name: str
    path: str  # as messages show it
    description: str = ""
    eql: EqlOverlay = field(default_factory=EqlOverlay)
    spl: SplOverlay = field(default_factory=SplOverlay)
    kql: KqlOverlay = field(default_factory=KqlOverlay)
    # key path -> line in the file, for messages about values found wrong after loading
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict, compare=False, repr=False)

    # --- conversion ----------------------------------------------------------------------------

    def pipeline_dict(self, target: str) -> dict[str, Any]:
        """The overlay of one target as pySigma pipeline YAML (a dict), as sigma-cli loads it."""
        items: list[dict[str, Any]] = []
        postprocessing: list[dict[str, Any]] = []
        renames: Mapping[str, str] = {}
        if target == "eql":
            renames = self.eql.fields
        elif target == "spl":
            renames = self.spl.fields
            if self.spl.sources:
                items.append(
                    {
                        "id": "environment_sources",
                        "type": "map_string",
                        "mapping": dict(self.spl.sources),
                        "field_name_conditions": [
                            {"type": "include_fields", "fields": ["source", "sourcetype"]}
                        ],
                    }
                )
            if self.spl.macro is not None:
                postprocessing.append(
                    {
                        "id": "environment_macro",
                        "type": "embed",
                        "prefix": f"`{self.spl.macro.name}` ",
                    }
                )
        elif target == "kql":
            renames = self.kql.fields
            for table, renamed in self.kql.tables.items():
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
        if renames:
            items.append(
                {"id": "environment_fields", "type": "field_name_mapping", "mapping": dict(renames)}
            )
        if target == "spl" and self.spl.index is not None:
            items.append(
                {
                    "id": "environment_index",
                    "type": "add_condition",
                    "conditions": {"index": self.spl.index},
                }
            )
        pipeline: dict[str, Any] = {
            "name": f"certdetect environment {self.name} ({target})",
            "priority": PRIORITY,
            "transformations": items,
        }
        if postprocessing:
            pipeline["postprocessing"] = postprocessing
        return pipeline

    def pipeline(self, target: str) -> ProcessingPipeline:
        try:
            return ProcessingPipeline.from_dict(self.pipeline_dict(target))
        except SigmaError as error:  # pragma: no cover - load validates every value
            raise InputError(self.path, f"{target}: cannot build the pipeline: {error}") from None

    def pipeline_yaml(self, target: str) -> str:
        """`pipeline_dict` as a file for `sigma convert -p`, after the target's pipelines."""
        head = f"# certdetect environment {self.name}: the {target} overlay, priority {PRIORITY}.\n"
        return head + yaml.safe_dump(
            self.pipeline_dict(target), sort_keys=False, allow_unicode=True, width=100
        )

    def index_patterns(self, product: str, source: str = "") -> tuple[str, ...] | None:
        """The Kibana index patterns of a log source (`product/category` or `product/service`
        first, then the product); None keeps the stock ones."""
        index = self.eql.index
        return index.get(f"{product}/{source}") or index.get(product) or index.get(ALL_PRODUCTS)

    # --- verification --------------------------------------------------------------------------

    def splunk_macros(self) -> dict[str, str]:
        macro = self.spl.macro
        return {macro.name: macro.definition} if macro is not None else {}

    def kql_tables(self) -> Mapping[str, DefenderTable]:
        """The tables the environment's KQL reads: each Defender table under its name there,
        with its columns renamed."""
        if not self.kql.tables and not self.kql.fields:
            return DEFENDER_TABLES
        tables = {}
        for table in DEFENDER_TABLES.values():
            name = self.kql.tables.get(table.name, table.name)
            columns = {self.kql.fields.get(c, c): kind for c, kind in table.columns.items()}
            tables[name] = DefenderTable(name, MappingProxyType(columns))
        return MappingProxyType(tables)

    def stock_table(self, table: str) -> str:
        """The Defender table an environment's table name stands for."""
        for stock, renamed in self.kql.tables.items():
            if renamed == table:
                return stock
        return table

    def document(self, target: str, document: Any) -> Any:
        """A target's stored document (or group of them) as the environment stores it."""
        if document is None:
            return None
        if type(document) is DocumentGroup:
            return DocumentGroup(self.document(target, item) for item in document)
        if target == "eql" and self.eql.fields:
            return self._ecs(document)
        if target == "spl" and isinstance(document, SplunkEvent):
            return self._splunk(document)
        if target == "kql" and isinstance(document, DefenderRow):
            return self._defender(document)
        return document

    def ingest(self, target: str, ingest: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`ingest` followed by `document`: a target runtime's ingest for this environment."""

        def environment_ingest(event: Any) -> Any:
            return self.document(target, ingest(event))

        return environment_ingest

    def _ecs(self, document: dict[str, Any]) -> dict[str, Any]:
        moved = copy.deepcopy(document)
        values = []
        for source, target in self.eql.fields.items():
            found, value = _pop_path(moved, source.split("."))
            if found:
                values.append((source, target, value))
        for source, target, value in values:  # after every pop: renames may swap names
            if not _put_path(moved, target.split("."), value):
                raise InputError(
                    self.path,
                    f"eql.fields: cannot move {source} to {target}: a parent of {target} holds a "
                    "value in the ECS documents",
                    _line_of(self.lines, ("eql", "fields", source)),
                )
        return moved

    def _splunk(self, event: SplunkEvent) -> SplunkEvent:
        renames = self.spl.fields
        fields = {name: values for name, values in event.fields.items() if name not in renames}
        for name, renamed in renames.items():
            if name in event.fields:
                fields[renamed] = event.fields[name]  # the env's field means the renamed one
        sources = self.spl.sources
        return replace(
            event,
            fields=fields,
            source=sources.get(event.source, event.source),
            sourcetype=sources.get(event.sourcetype, event.sourcetype),
            index=self.spl.index or event.index,
        )

    def _defender(self, row: DefenderRow) -> DefenderRow:
        renames = self.kql.fields
        return DefenderRow(
            table=self.kql.tables.get(row.table, row.table),
            columns={renames.get(name, name): value for name, value in row.columns.items()},
        )

    # --- output --------------------------------------------------------------------------------

    def files(self) -> dict[str, bytes]:
        """Files the environment adds to its build tree: the overlays for sigma-cli and the
        Splunk macro the searches were verified with."""
        files = {
            f"environment/{target}.yml": self.pipeline_yaml(target).encode("utf-8")
            for target in ("eql", "spl", "kql")
        }
        macro = self.spl.macro
        if macro is not None:
            text = (
                f"# certdetect environment {self.name}: the macro every search in "
                "savedsearches.conf was verified with.\n"
                f"[{macro.name}]\ndefinition = {macro.definition}\n"
            )
            files["splunk/macros.conf"] = text.encode("utf-8")
        return files

    def manifest(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description or None,
            "pipelines": {t: f"environment/{t}.yml" for t in ("eql", "spl", "kql")},
        }

    def warnings(self, build: BuildResult) -> list[str]:
        """`unused` over the queries a build made for this environment."""
        queries: dict[str, list[str]] = {}
        for result in build.rules:
            for target, outcome in result.targets.items():
                if outcome.query is not None:
                    queries.setdefault(target, []).append(outcome.query)
        notes = self.unused(queries)
        known: set[str] = set()
        for result in build.rules:
            logsource = result.rule.rule.logsource
            known.add(str(logsource.product))
            known.add(f"{logsource.product}/{logsource.category or logsource.service}")
        for key in self.eql.index:
            if key != ALL_PRODUCTS and key not in known:
                notes.append(f"{self.path}: eql.index: no rule has log source {key}")
        return notes

    def unused(self, queries: Mapping[str, list[str]]) -> list[str]:
        """Names the environment sets that appear in none of a target's queries (a rename of a
        field no rule uses, a source no query names): warnings, not errors."""
        notes = []

        def check(section: str, names: list[str], target: str, what: str) -> None:
            texts = queries.get(target)
            if not texts:
                return
            for name in names:
                pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])")
                if not any(pattern.search(text) for text in texts):
                    notes.append(f"{self.path}: {section}: no {target} query {what} {name}")

        check("eql.fields", list(self.eql.fields.values()), "eql", "names the field")
        check("spl.fields", list(self.spl.fields.values()), "spl", "names the field")
        check("spl.sources", list(self.spl.sources.values()), "spl", "searches the source")
        check("kql.tables", list(self.kql.tables.values()), "kql", "reads the table")
        check("kql.fields", list(self.kql.fields.values()), "kql", "names the column")
        return notes


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


# --- loading -----------------------------------------------------------------------------------


def _line_of(lines: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of the deepest key of `path` found in the environment file."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:  # pragma: no cover - load_yaml parsed it already
        return lines

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    here = (*path, str(key.value))
                    lines.setdefault(here, key.start_mark.line + 1)
                    walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                here = (*path, str(index))
                lines.setdefault(here, item.start_mark.line + 1)
                walk(item, here)

    if root is not None:
        walk(root, ())
    return lines


class _Reader:
    """Typed access to the parsed file; every refusal names the file and the key's line."""

    def __init__(self, shown: str, lines: Mapping[tuple[str, ...], int]) -> None:
        self.shown = shown
        self.lines = lines

    def error(self, path: tuple[str, ...], message: str) -> InputError:
        where = ".".join(path)
        text = f"{where}: {message}" if where else message
        return InputError(self.shown, text, _line_of(self.lines, path))

    def mapping(self, value: Any, path: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, "must be a mapping")
        for key in value:
            if not isinstance(key, str):
                raise self.error(path, f"key {key!r} must be a string")
        allowed = _KEYS.get(path)
        if allowed is not None:
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise self.error(
                    (*path, unknown[0]),
                    f"unknown key; expected one of {', '.join(sorted(allowed))}",
                )
        return value

    def string(self, value: Any, path: tuple[str, ...]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(path, "must be a non-empty string")
        if "\n" in value or "\r" in value:
            raise self.error(path, "must be one line")
        return value

    def names(
        self, value: Any, path: tuple[str, ...], pattern: re.Pattern[str], kind: str
    ) -> dict[str, str]:
        """A rename mapping: distinct names of `kind` on both sides."""
        renames: dict[str, str] = {}
        for key, renamed in self.mapping(value, path).items():
            here = (*path, key)
            renamed = self.string(renamed, here)
            for name in (key, renamed):
                if not pattern.fullmatch(name):
                    raise self.error(here, f"{name!r} is not a valid {kind}")
            if key == renamed:
                raise self.error(here, "renames a name to itself")
            if renamed in renames.values():
                raise self.error(here, f"two names are renamed to {renamed}")
            renames[key] = renamed
        return renames


def load_environment(path: Path, shown: str | None = None) -> Environment:
    """Read and check an environment file; any problem is one `InputError` with its line."""
    shown = shown or str(path)
    text = read_text(path, shown)
    data = load_yaml(text, shown)
    lines = _key_lines(text)
    reader = _Reader(shown, lines)
    if not isinstance(data, dict):
        raise InputError(shown, "an environment file must be a YAML mapping with a `name`", 1)
    data = reader.mapping(data, ())
    if "name" not in data:
        raise InputError(shown, "name: missing; name the environment (e.g. name: acme-prod)", 1)
    name = reader.string(data["name"], ("name",))
    if not NAME_RE.fullmatch(name) or len(name) > MAX_NAME:
        raise reader.error(
            ("name",), f"{name!r} must be lowercase letters, digits and '-' (at most {MAX_NAME})"
        )
    description = data.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise reader.error(("description",), "must be a string")
        description = " ".join(description.split())
    return Environment(
        name=name,
        path=shown,
        description=description or "",
        eql=_eql(reader, data.get("eql")),
        spl=_spl(reader, data.get("spl")),
        kql=_kql(reader, data.get("kql")),
        lines=MappingProxyType(lines),
    )


def _section(reader: _Reader, value: Any, name: str) -> dict[str, Any]:
    return {} if value is None else reader.mapping(value, (name,))


def _eql(reader: _Reader, value: Any) -> EqlOverlay:
    data = _section(reader, value, "eql")
    index: dict[str, tuple[str, ...]] = {}
    if "index" in data:
        raw = data["index"]
        if isinstance(raw, dict):
            products = reader.mapping(raw, ("eql", "index"))
            for product, patterns in products.items():
                if not PRODUCT_RE.fullmatch(product):
                    raise reader.error(
                        ("eql", "index", product),
                        "is not a Sigma logsource product, or product/category (or service)",
                    )
                index[product] = _patterns(reader, patterns, ("eql", "index", product))
        else:
            index[ALL_PRODUCTS] = _patterns(reader, raw, ("eql", "index"))
    fields: dict[str, str] = {}
    if "fields" in data:
        fields = reader.names(data["fields"], ("eql", "fields"), ECS_FIELD_RE, "ECS field name")
        targets = sorted(fields.values())
        for shorter, longer in zip(targets, targets[1:], strict=False):
            if longer.startswith(shorter + "."):
                raise reader.error(
                    ("eql", "fields"), f"{shorter} and {longer} cannot both be fields"
                )
    return EqlOverlay(index=MappingProxyType(index), fields=MappingProxyType(fields))


def _patterns(reader: _Reader, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
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


def _spl(reader: _Reader, value: Any) -> SplOverlay:
    from converter.execute.engines.spl.pipeline import parse_pipeline
    from converter.execute.engines.spl.syntax import named_fields

    data = _section(reader, value, "spl")
    index = None
    if "index" in data:
        index = reader.string(data["index"], ("spl", "index"))
        if not SPLUNK_INDEX_RE.fullmatch(index):
            raise reader.error(
                ("spl", "index"),
                f"{index!r} is not a Splunk index name (lowercase letters, digits, '_' and '-', "
                "not first '_' or '-'; one index, no wildcard)",
            )
    sources: dict[str, str] = {}
    if "sources" in data:
        for key, renamed in reader.mapping(data["sources"], ("spl", "sources")).items():
            here = ("spl", "sources", key)
            renamed = reader.string(renamed, here)
            for text in (key, renamed):
                if not text or _SOURCE_FORBIDDEN.intersection(text):
                    raise reader.error(
                        here, f"{text!r}: a source holds no quote, backslash, '*' or backtick"
                    )
            sources[key] = renamed
    macro = None
    if "macro" in data:
        macro = _macro(reader, data["macro"])
        if index is None and "index" in named_fields(parse_pipeline(macro.definition)):
            raise reader.error(
                ("spl", "macro", "definition"),
                "names index: set spl.index too, the index the events are stored in",
            )
    fields: dict[str, str] = {}
    if "fields" in data:
        fields = reader.names(data["fields"], ("spl", "fields"), SPLUNK_FIELD_RE, "Splunk field")
        for name, renamed in fields.items():
            if name in SPLUNK_DEFAULT_FIELDS or renamed in SPLUNK_DEFAULT_FIELDS:
                raise reader.error(
                    ("spl", "fields", name),
                    "source, sourcetype, host and index are set with spl.sources and spl.index",
                )
    return SplOverlay(
        index=index,
        sources=MappingProxyType(sources),
        macro=macro,
        fields=MappingProxyType(fields),
    )


def _macro(reader: _Reader, value: Any) -> SplunkMacro:
    from converter.execute.engines.spl.pipeline import split_pipeline
    from converter.execute.engines.spl.search import parse_search

    path = ("spl", "macro")
    data = reader.mapping(value, path)
    for key in ("name", "definition"):
        if key not in data:
            raise reader.error(path, f"needs a {key}")
    name = reader.string(data["name"], (*path, "name"))
    if not SPLUNK_MACRO_RE.fullmatch(name):
        raise reader.error((*path, "name"), f"{name!r}: a macro name is letters, digits and '_'")
    definition = reader.string(data["definition"], (*path, "definition")).strip()
    # The macro starts every search: only a search expression keeps each query one filter.
    try:
        if "`" in definition:
            raise QueryError("it calls another macro")
        if len(split_pipeline(definition)) != 1:
            raise QueryError("it holds a '|'")
        parse_search(definition)
    except QueryError as error:
        raise reader.error(
            (*path, "definition"), f"must be a search expression the SPL engine runs: {error}"
        ) from None
    return SplunkMacro(name, definition)


def _kql(reader: _Reader, value: Any) -> KqlOverlay:
    data = _section(reader, value, "kql")
    tables: dict[str, str] = {}
    if "tables" in data:
        tables = reader.names(data["tables"], ("kql", "tables"), KQL_NAME_RE, "KQL table name")
        for table, renamed in tables.items():
            here = ("kql", "tables", table)
            if table not in DEFENDER_TABLES:
                raise reader.error(here, f"{table} is not a Defender XDR advanced-hunting table")
            if renamed in DEFENDER_TABLES:
                raise reader.error(here, f"{renamed} is a Defender XDR table already")
    fields: dict[str, str] = {}
    if "fields" in data:
        fields = reader.names(data["fields"], ("kql", "fields"), KQL_NAME_RE, "KQL column name")
        for column in fields:
            here = ("kql", "fields", column)
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
                        ("kql", "fields", column if column in fields else seen[renamed]),
                        f"two columns of {table.name} would be named {renamed}",
                    )
                seen[renamed] = column
    return KqlOverlay(tables=MappingProxyType(tables), fields=MappingProxyType(fields))
