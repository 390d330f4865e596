"""Converting rules with the pySigma backends, through each target's pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sigma.backends.elasticsearch import EqlBackend
from sigma.backends.kusto import KustoBackend
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.conversion.base import Backend
from sigma.exceptions import SigmaError
from sigma.plugins import InstalledSigmaPlugins
from sigma.processing.pipeline import ProcessingPipeline

from converter.errors import InputError
from converter.rules import RuleFile
from converter.targets import Target

BACKENDS: dict[str, type[Backend]] = {
    "eql": EqlBackend,
    "splunk": SplunkBackend,
    "kusto": KustoBackend,
}


class ConversionError(Exception):
    """The backend cannot express the rule: the artifact is `unsupported`, with this reason."""


@dataclass(frozen=True)
class Converted:
    query: str


@cache
def _resolver() -> Any:
    # Plugin autodiscovery imports every installed backend and pipeline: do it once.
    return InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()


def resolve_pipeline(target: Target, root: Path) -> ProcessingPipeline:
    specs = []
    for spec in target.pipelines:
        if spec.endswith((".yml", ".yaml")):
            path = root / spec
            if not path.is_file():
                raise InputError(spec, f"pipeline file of target {target.name} is missing")
            specs.append(str(path))
        else:
            specs.append(spec)
    try:
        return _resolver().resolve(specs)
    except SigmaError as error:
        raise InputError(", ".join(target.pipelines), f"cannot load pipelines: {error}") from None


def make_backend(target: Target, pipeline: ProcessingPipeline) -> Backend:
    backend = BACKENDS[target.backend](pipeline)
    if target.parenthesize:
        backend.parenthesize = True  # type: ignore[misc]
    return backend


def convert(backend: Backend, rule: RuleFile) -> Converted:
    """Convert one rule; pipelines change rules in place, so every call parses the YAML anew."""
    try:
        queries = backend.convert(SigmaCollection.from_yaml(rule.text))
    except (SigmaError, NotImplementedError) as error:
        reason = str(error) or type(error).__name__
        raise ConversionError(reason.split(" in /")[0]) from None
    if len(queries) != 1 or not isinstance(queries[0], str):
        raise ConversionError(f"backend produced {len(queries)} queries, expected one")
    return Converted(query=queries[0])
