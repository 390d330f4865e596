"""An environment: its name, and one overlay section per target (`converter.environment.<target>`).

The overlay of a target is a pySigma processing pipeline at priority 100 (its YAML is
`Environment.pipeline_dict`, loadable by sigma-cli), so it runs after every pipeline of the
target (stock ones at 10, this project's at 5 to 30): a rename maps the name those pipelines
produce to the environment's. The same overlay rewrites the documents the engines run on
(`Environment.document`), so the environment's queries are verified exactly as the stock ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import yaml
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline

from converter.core.documents import DocumentGroup
from converter.core.errors import InputError
from converter.environment.reader import Reader, line_of

# After every target pipeline (pipelines/*.yml use 5 to 30, pySigma's stock ones 10).
PRIORITY = 100


class Overlay(Protocol):
    """What one target's section of an environment file means (`TargetSpec.overlay`).

    `section` is the target's name, the key of the section in the file and in messages.
    """

    KEYS: ClassVar[frozenset[str]]  # the keys the section may hold

    @classmethod
    def load(cls, reader: Reader, section: str, data: Mapping[str, Any]) -> Overlay:
        """The section from its mapping (empty when the file has none); refusals via `reader`."""
        ...

    def transformations(self) -> list[dict[str, Any]]:
        """The overlay pipeline's transformations, as pySigma pipeline YAML items."""
        ...

    def postprocessing(self) -> list[dict[str, Any]]: ...

    def document(self, document: Any, environment: Environment, section: str) -> Any:
        """One stored document (never a group, never None) as the environment stores it."""
        ...

    def named(self) -> list[tuple[str, list[str], str]]:
        """(key, names the environment sets, what a query does with one) for `unused`."""
        ...

    def stale(self, section: str, logsources: Collection[str]) -> list[str]:
        """Notes on keys naming a log source (`product` or `product/category`) no rule has."""
        ...

    def files(self, environment: Environment) -> dict[str, bytes]:
        """Files the section adds to the environment's build tree."""
        ...


OverlayType = TypeVar("OverlayType")


def field_renames(renames: Mapping[str, str]) -> list[dict[str, Any]]:
    """The field rename every section with `fields` ends its conversion items with."""
    if not renames:
        return []
    return [{"id": "environment_fields", "type": "field_name_mapping", "mapping": dict(renames)}]


@dataclass(frozen=True)
class Environment:
    name: str
    path: str  # as messages show it
    description: str = ""
    sections: Mapping[str, Overlay] = field(default_factory=dict)  # target name -> its overlay
    # key path -> line in the file, for messages about values found wrong after loading
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict, compare=False, repr=False)

    def overlay(self, target: str, kind: type[OverlayType]) -> OverlayType | None:
        """The target's section, when it is a `kind` (e.g. a deployer reading its own)."""
        section = self.sections.get(target)
        return section if isinstance(section, kind) else None

    # --- conversion ----------------------------------------------------------------------------

    def pipeline_dict(self, target: str) -> dict[str, Any]:
        """The overlay of one target as pySigma pipeline YAML (a dict), as sigma-cli loads it."""
        section = self.sections.get(target)
        pipeline: dict[str, Any] = {
            "name": f"certdetect environment {self.name} ({target})",
            "priority": PRIORITY,
            "transformations": section.transformations() if section is not None else [],
        }
        postprocessing = section.postprocessing() if section is not None else []
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

    # --- verification --------------------------------------------------------------------------

    def document(self, target: str, document: Any) -> Any:
        """A target's stored document (or group of them) as the environment stores it."""
        if document is None:
            return None
        if type(document) is DocumentGroup:
            return DocumentGroup(self.document(target, item) for item in document)
        section = self.sections.get(target)
        return document if section is None else section.document(document, self, target)

    def ingest(self, target: str, ingest: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`ingest` followed by `document`: a target runtime's ingest for this environment."""

        def environment_ingest(event: Any) -> Any:
            return self.document(target, ingest(event))

        return environment_ingest

    # --- output --------------------------------------------------------------------------------

    def files(self) -> dict[str, bytes]:
        """Files the environment adds to its build tree: the overlays for sigma-cli and what
        the sections add (the Splunk macro the searches were verified with)."""
        files = {
            f"environment/{target}.yml": self.pipeline_yaml(target).encode("utf-8")
            for target in self.sections
        }
        for section in self.sections.values():
            files.update(section.files(self))
        return files

    def manifest(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description or None,
            "pipelines": {t: f"environment/{t}.yml" for t in self.sections},
        }

    def warnings(
        self, queries: Mapping[str, Sequence[str]], logsources: Collection[str]
    ) -> list[str]:
        """`unused` over a build's queries (target -> queries), then keys naming a log source
        (`product`, `product/category` or `product/service`) no rule of the build has."""
        notes = self.unused(queries)
        for target, section in self.sections.items():
            notes.extend(f"{self.path}: {note}" for note in section.stale(target, logsources))
        return notes

    def unused_renames(self, queries: Mapping[str, Sequence[str]]) -> list[InputError]:
        """Field renames whose new name is in none of a target's queries: the source name is
        one no query uses after the target's pipelines (often misspelled), so the rename does
        nothing and the queries keep the stock name. Errors, naming the key's line."""
        errors = []
        for target, section in self.sections.items():
            texts = queries.get(target)
            fields: Mapping[str, str] = getattr(section, "fields", {})
            if not texts:
                continue
            for source, renamed in fields.items():
                if not any(_names(renamed).search(text) for text in texts):
                    errors.append(
                        InputError(
                            self.path,
                            f"{target}.fields.{source}: no {target} query names {source!r} after "
                            f"its pipelines, so the rename to {renamed!r} changes nothing; use a "
                            f"field name of dist/{target}/ (misspelled?)",
                            line_of(self.lines, (target, "fields", source)),
                        )
                    )
        return errors

    def unused(self, queries: Mapping[str, Sequence[str]]) -> list[str]:
        """Names the environment sets that appear in none of a target's queries (a rename of a
        field no rule uses, a source no query names): warnings, not errors."""
        notes = []
        for target, section in self.sections.items():
            texts = queries.get(target)
            if not texts:
                continue
            for key, names, what in section.named():
                for name in names:
                    if not any(_names(name).search(text) for text in texts):
                        notes.append(
                            f"{self.path}: {target}.{key}: no {target} query {what} {name}"
                        )
        return notes


def _names(name: str) -> re.Pattern[str]:
    """`name` as a whole field, table or source name inside a query."""
    return re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])")
