"""The `spl:` section of an environment file: the Splunk index, sources, search macro and field
renames.

```yaml
spl:
  index: acme_endpoint           # every search gets index="acme_endpoint"
  sources: {"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational": "WinEventLog:Sysmon"}
  macro: {name: acme_edr, definition: "index=acme_endpoint"}  # every search starts with `acme_edr`
  fields: {CommandLine: cmd_line}
```

The events get the renamed fields, sources and the index; the engine gets the macro. The SPL
engine searches `index` only for an environment that sets `spl.index`: every query is then ANDed
with the index selection, so a rule value can narrow the indexes a search reads, never widen them.

How `index` and `macro` compose: Splunk ANDs every term of a search, so `index="a"` beside a macro
selecting `(index=a OR index=b)` would never read `b`. A macro whose definition names `index` is
therefore the search's index selection: searches get no `index="..."` of their own, and
`spl.index` says only which index the recorded events are stored in (verification then fails
unless the macro selects it). A macro that names no index leaves `index="..."` on every search.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from converter.core.documents import SplunkEvent
from converter.environment.overlay import Environment, field_renames
from converter.environment.reader import Reader
from converter.execute.engines.base import Engine, QueryError

# Splunk index names (indexes.conf.spec): lowercase letters, digits, '_' and '-', not starting
# with '_' or '-'. One concrete index: the documents are stored in it.
SPLUNK_INDEX_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
SPLUNK_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
SPLUNK_MACRO_RE = re.compile(r"[A-Za-z0-9_]+")
SPLUNK_DEFAULT_FIELDS = frozenset({"source", "sourcetype", "host", "index", "_raw"})
MACRO_KEYS = frozenset({"name", "definition"})
# Characters a source value cannot hold and still be one exact value in a quoted SPL string.
_SOURCE_FORBIDDEN = frozenset('"\\*`\n\r\t')


@dataclass(frozen=True)
class SplunkMacro:
    name: str
    definition: str


@dataclass(frozen=True)
class SplOverlay:
    KEYS: ClassVar[frozenset[str]] = frozenset({"index", "sources", "macro", "fields"})

    index: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)  # source or sourcetype value -> env's
    macro: SplunkMacro | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, reader: Reader, section: str, data: Mapping[str, Any]) -> SplOverlay:
        # the engine's parser checks the macro: imported on use, as the engines are
        from converter.execute.engines.spl.pipeline import parse_pipeline
        from converter.execute.engines.spl.syntax import named_fields

        index = None
        if "index" in data:
            index = reader.string(data["index"], (section, "index"))
            if not SPLUNK_INDEX_RE.fullmatch(index):
                raise reader.error(
                    (section, "index"),
                    f"{index!r} is not a Splunk index name (lowercase letters, digits, '_' and "
                    "'-', not first '_' or '-'; one index, no wildcard)",
                )
        sources: dict[str, str] = {}
        if "sources" in data:
            for key, renamed in reader.mapping(data["sources"], (section, "sources")).items():
                here = (section, "sources", key)
                renamed = reader.string(renamed, here)
                for text in (key, renamed):
                    if not text or _SOURCE_FORBIDDEN.intersection(text):
                        raise reader.error(
                            here, f"{text!r}: a source holds no quote, backslash, '*' or backtick"
                        )
                sources[key] = renamed
        macro = None
        if "macro" in data:
            macro = _macro(reader, data["macro"], (section, "macro"))
            if index is None and "index" in named_fields(parse_pipeline(macro.definition)):
                raise reader.error(
                    (section, "macro", "definition"),
                    f"names index: set {section}.index too, the index the events are stored in",
                )
        fields: dict[str, str] = {}
        if "fields" in data:
            fields = reader.names(
                data["fields"], (section, "fields"), SPLUNK_FIELD_RE, "Splunk field"
            )
            for name, renamed in fields.items():
                if name in SPLUNK_DEFAULT_FIELDS or renamed in SPLUNK_DEFAULT_FIELDS:
                    raise reader.error(
                        (section, "fields", name),
                        f"source, sourcetype, host and index are set with {section}.sources and "
                        f"{section}.index",
                    )
        return cls(
            index=index,
            sources=MappingProxyType(sources),
            macro=macro,
            fields=MappingProxyType(fields),
        )

    # --- conversion ----------------------------------------------------------------------------

    def transformations(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.sources:
            items.append(
                {
                    "id": "environment_sources",
                    "type": "map_string",
                    "mapping": dict(self.sources),
                    "field_name_conditions": [
                        {"type": "include_fields", "fields": ["source", "sourcetype"]}
                    ],
                }
            )
        items.extend(field_renames(self.fields))
        if self.index is not None and not self.macro_selects_index:
            items.append(
                {
                    "id": "environment_index",
                    "type": "add_condition",
                    "conditions": {"index": self.index},
                }
            )
        return items

    @property
    def macro_selects_index(self) -> bool:
        """Whether the macro's definition names `index` (then it is the index selection)."""
        from converter.execute.engines.spl.pipeline import parse_pipeline
        from converter.execute.engines.spl.syntax import named_fields

        if self.macro is None:
            return False
        return "index" in named_fields(parse_pipeline(self.macro.definition))

    def postprocessing(self) -> list[dict[str, Any]]:
        if self.macro is None:
            return []
        return [{"id": "environment_macro", "type": "embed", "prefix": f"`{self.macro.name}` "}]

    # --- verification --------------------------------------------------------------------------

    def macros(self) -> dict[str, str]:
        macro = self.macro
        return {macro.name: macro.definition} if macro is not None else {}

    def document(self, document: Any, environment: Environment, section: str) -> Any:
        if not isinstance(document, SplunkEvent):
            return document
        renames = self.fields
        fields = {name: values for name, values in document.fields.items() if name not in renames}
        for name, renamed in renames.items():
            if name in document.fields:
                fields[renamed] = document.fields[name]  # the env's field means the renamed one
        sources = self.sources
        return document.replace(
            fields=fields,
            source=sources.get(document.source, document.source),
            sourcetype=sources.get(document.sourcetype, document.sourcetype),
            index=self.index or document.index,
        )

    # --- output --------------------------------------------------------------------------------

    def named(self) -> list[tuple[str, list[str], str]]:
        return [
            ("sources", list(self.sources.values()), "searches the source"),
        ]

    def stale(self, section: str, logsources: Collection[str]) -> list[str]:
        return []

    def files(self, environment: Environment) -> dict[str, bytes]:
        """The macro every search was verified with, for the Splunk app."""
        macro = self.macro
        if macro is None:
            return {}
        text = (
            f"# certdetect environment {environment.name}: the macro every search in "
            "savedsearches.conf was verified with.\n"
            f"[{macro.name}]\ndefinition = {macro.definition}\n"
        )
        return {"splunk/certdetect/default/macros.conf": text.encode("utf-8")}


def engine(overlay: SplOverlay | None) -> Engine[Any]:
    """The SPL engine with the environment's macro; it searches `index` only where every query
    is ANDed with the environment's own (`SplEngine` docstring)."""
    from converter.execute.engines.spl import SplEngine

    if overlay is None:
        return SplEngine(None, model_index=False)
    return SplEngine(overlay.macros(), model_index=bool(overlay.index))


def _macro(reader: Reader, value: Any, path: tuple[str, ...]) -> SplunkMacro:
    from converter.execute.engines.spl.pipeline import split_pipeline
    from converter.execute.engines.spl.search import parse_search

    data = reader.mapping(value, path, MACRO_KEYS)
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
