"""Converting rules with the pySigma backends, through each target's pipelines."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sigma.conversion.base import Backend
from sigma.exceptions import SigmaError
from sigma.plugins import InstalledSigmaPlugins
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from converter.convert.backends.refusals import UnsupportedShape, check_rule
from converter.core.errors import InputError
from converter.core.rules import RuleFile, rule_collection
from converter.core.targets import Alternative, TargetSpec, resolve
from converter.environment import Environment


class ConversionError(Exception):
    """The backend cannot express the rule: the artifact is `unsupported`, with this reason."""


@dataclass(frozen=True)
class Converted:
    query: str


@cache
def _resolver() -> Any:
    # Plugin autodiscovery imports every installed backend and pipeline: do it once.
    return InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()


def resolve_pipeline(target: TargetSpec, root: Path) -> ProcessingPipeline:
    return resolve_pipelines(target.pipelines, root, target.name)


def resolve_pipelines(names: Sequence[str], root: Path, owner: str) -> ProcessingPipeline:
    """Stock pipeline names and project YAML files (relative to `root`), as sigma-cli's `-p`."""
    specs = []
    for spec in names:
        if spec.endswith((".yml", ".yaml")):
            path = root / spec
            if not path.is_file():
                raise InputError(spec, f"pipeline file of target {owner} is missing")
            specs.append(str(path))
        else:
            specs.append(spec)
    try:
        return _resolver().resolve(specs)
    except SigmaError as error:
        raise InputError(", ".join(names), f"cannot load pipelines: {error}") from None


def target_pipeline(
    target: TargetSpec, root: Path, environment: Environment | None = None
) -> ProcessingPipeline:
    """The target's pipelines, then the environment's overlay (priority 100, after them all)."""
    return _with_overlay(resolve_pipeline(target, root), target, environment)


def _with_overlay(
    pipeline: ProcessingPipeline, target: TargetSpec, environment: Environment | None
) -> ProcessingPipeline:
    return pipeline if environment is None else pipeline + environment.pipeline(target.name)


@dataclass(frozen=True)
class TargetBackends:
    """A target's backend, and one per alternative store of a log source (`alternatives`)."""

    main: Backend
    alternatives: tuple[tuple[Alternative, Backend], ...] = ()


def target_backends(
    target: TargetSpec, root: Path, environment: Environment | None = None
) -> TargetBackends:
    alternatives = []
    for alternative in target.alternatives:
        pipeline = resolve_pipelines(alternative.pipelines, root, target.name)
        alternatives.append(
            (alternative, make_backend(target, _with_overlay(pipeline, target, environment)))
        )
    main = make_backend(target, target_pipeline(target, root, environment))
    return TargetBackends(main, tuple(alternatives))


# A quoted SPL value, where `|` is text, not the start of a command.
_SPL_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _one_command(query: str) -> bool:
    return "|" not in _SPL_QUOTED.sub("", query)


def convert_for_target(backends: TargetBackends, rule: RuleFile) -> Converted:
    """Convert through the target's pipelines; OR in each alternative store of the log source.

    An alternative the backend refuses is left out: the query then reads the main store only,
    and the cases of the other store fail. A rule whose queries need more than one search command
    (SPL's `| regex`) is refused: both stores can express it, but a pipeline cannot be ORed, and
    a query reading one store silently would look verified on the other store's cases' absence.
    """
    converted = convert(backends.main, rule)
    logsource = rule.rule.logsource
    for alternative, backend in backends.alternatives:
        if (logsource.product, logsource.category) != (alternative.product, alternative.category):
            continue
        try:
            other = convert(backend, rule)
        except ConversionError:
            continue
        if not (_one_command(converted.query) and _one_command(other.query)):
            raise ConversionError(
                f"the query needs a second command (a regular expression), which cannot be ORed"
                f" with the {alternative.title} search: it would read one of the two stores only"
            )
        converted = Converted(query=f"({converted.query}) OR ({other.query})")
    return converted


def make_backend(target: TargetSpec, pipeline: ProcessingPipeline) -> Backend:
    # the stock backend, corrected where it emits wrong queries (docs/converter-defects.md)
    backend: Backend = resolve(target.backend)(pipeline)
    if target.parenthesize:
        backend.parenthesize = True  # type: ignore[misc]
    return backend


def convert(backend: Backend, rule: RuleFile) -> Converted:
    """Convert one rule; pipelines change rules in place, so every call builds a new collection."""
    try:
        collection = rule_collection(rule.text)
        for parsed in collection.rules:
            if isinstance(parsed, SigmaRule):
                check_rule(backend, parsed)
        queries = backend.convert(collection)
    except UnsupportedShape as error:
        raise ConversionError(error.reason) from None
    except (SigmaError, NotImplementedError) as error:
        reason = str(error) or type(error).__name__
        raise ConversionError(reason.split(" in /")[0]) from None
    except Exception as error:  # noqa: BLE001 - a backend or pipeline crash on a rule value
        # pySigma's pipelines assume value types (e.g. microsoft_xdr splits User values as
        # strings); a crash there means this backend cannot express the rule, not a build bug.
        raise ConversionError(
            f"the {type(backend).__name__} conversion failed: {type(error).__name__}: {error}"
        ) from None
    if len(queries) != 1 or not isinstance(queries[0], str):
        raise ConversionError(f"backend produced {len(queries)} queries, expected one")
    return Converted(query=queries[0])
