"""Fields a rule names that a target's documents never carry.

A field no pipeline maps passes through under its Sigma name: in an EQL rule `FooBar` stays
`FooBar` (Linux) or becomes `winlog.event_data.FooBar` (Windows), in SPL it stays `FooBar`. The
query is valid and never matches, and the build can only notice if a case happens to need that
field. This module applies the target's pipelines to the rule, as its backend does, and compares
every field name that comes out with the fields the target's documents have:

- eql: the ECS fields the ingest model (`converter.execute.ingest.ecs`) produces for the rule's
  log source (`ecs_names`);
- spl: the fields Splunk extracts for the documents' data sources, as declared in
  `converter.core.splunk_fields` (a field the Splunk model writes without a declaration does
  not count), plus `source`, `sourcetype`, `host` and `_raw` (`splunk_names`);
- kql: the columns of the Defender XDR table the pipeline chose
  (`converter.core.defender_schema`, `defender_columns`).

Each target names its function in its spec (`TargetSpec.document_fields` or `state_fields`).

The documents of a log source come from `converter.verify.specimens`. A log source without
specimens, or a rule the pipelines refuse, yields no findings here: the build reports those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import DetectionItemFailureTransformation
from sigma.rule import SigmaRule
from sigma.types import SigmaFieldReference

from converter.convert.conversion import make_backend, resolve_pipeline
from converter.core.auditd import AuditdEvent
from converter.core.defender_schema import DEFENDER_TABLES
from converter.core.documents import DocumentGroup, SplunkEvent
from converter.core.errors import InputError
from converter.core.logsources import AuditdRecords, WindowsEvents, find_log_source
from converter.core.rules import RuleFile, detection_items, rule_collection
from converter.core.splunk_fields import data_source, declared_names, splunk_field
from converter.core.targets import TargetSpec, resolve, target_by_name
from converter.core.textfiles import line_of
from converter.core.zeek import ZeekRecord
from converter.reference import sources_of
from converter.verify.specimens import specimen_events

SPLUNK_DEFAULT_FIELDS = frozenset({"source", "sourcetype", "host", "_raw"})


def field_pipeline(target: TargetSpec, root: Path) -> ProcessingPipeline:
    """The pipeline the target's backend applies, without the steps that reject a field.

    Those steps (`DetectionItemFailureTransformation`, e.g. microsoft_xdr's for a field with no
    Defender column) would stop at the first unknown field; here every field is listed.
    """
    backend = make_backend(target, resolve_pipeline(target, root))
    full = (
        backend.backend_processing_pipeline
        + backend.processing_pipeline
        + backend.output_format_processing_pipeline[backend.default_format]
    )
    kept = [
        item
        for item in full.items
        if not isinstance(item.transformation, DetectionItemFailureTransformation)
    ]
    full._clear_pipeline()  # items belong to one pipeline at a time; pySigma's `+` does the same
    return ProcessingPipeline(items=kept, vars=dict(full.vars))


def processed_fields(text: str, pipeline: ProcessingPipeline) -> tuple[list[str], dict[str, Any]]:
    """Field names of the rule after the pipeline (document order, unique) and the pipeline state.

    Raises SigmaError when the pipeline refuses the rule.
    """
    rule = rule_collection(text).rules[0]
    assert isinstance(rule, SigmaRule)
    pipeline.apply(rule)
    names: dict[str, None] = {}
    for item in detection_items(rule):
        if item.field is not None:
            names[item.field] = None
        for value in item.value:
            if isinstance(value, SigmaFieldReference):
                names[value.field] = None
    return list(names), dict(pipeline.state)


def _flatten(node: Any, prefix: str, out: set[str]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(node, list) and any(isinstance(item, Mapping) for item in node):
        for item in node:
            _flatten(item, prefix, out)
    elif prefix:
        out.add(prefix)


def ecs_names(document: Mapping[str, Any]) -> set[str]:
    """The dotted names of an ECS document's values."""
    names: set[str] = set()
    _flatten(document, "", names)
    return names


def splunk_names(event: SplunkEvent) -> set[str]:
    """The fields Splunk extracts for the event's data source (`core.splunk_fields`: those
    declared by name, and the event's own fields a declared pattern covers, such as auditd's
    `a<n>`), and the default fields every event has."""
    source = data_source(event)
    covered = {name for name in event.fields if splunk_field(source, name) is not None}
    return {*declared_names(source), *covered, *SPLUNK_DEFAULT_FIELDS}


def defender_columns(state: Mapping[str, Any]) -> frozenset[str] | None:
    """The columns of the Defender table the pipeline chose (`query_table`)."""
    table = DEFENDER_TABLES.get(str(state.get("query_table")))
    return frozenset(table.columns) if table is not None else None


def _stored(target: TargetSpec, event: Any) -> list[Any]:
    model = target.ingest_models().get(type(event))
    document = model(event) if model is not None else None
    if document is None:
        return []
    return list(document) if type(document) is DocumentGroup else [document]


def document_fields(
    target_name: str, product: str, category: str | None, service: str | None = None
) -> frozenset[str] | None:
    """Fields the target's documents of the log source carry; None when that is not known."""
    return stored_fields(target_by_name(target_name), product, category, service)


@cache
def stored_fields(
    target: TargetSpec, product: str, category: str | None, service: str | None = None
) -> frozenset[str] | None:
    """`document_fields` of a target spec."""
    sources = sources_of(product, category, service)
    if sources is None or target.document_fields is None:
        return None
    events = [event for source in sources for event in specimen_events(source)]
    if not events:
        return None
    names_of = resolve(target.document_fields)
    fields: set[str] = set()
    stored = False
    for event in events:
        for document in _stored(target, event):
            stored = True
            fields.update(names_of(document))
    # a SIEM that keeps none of the log source's events (Elastic and Task Scheduler) knows no
    # field of it: that is "not stored", decided where the query runs, not an unknown field
    return frozenset(fields) if stored else None


def not_stored(spec: TargetSpec, rule: RuleFile) -> str | None:
    """Why the target's SIEM keeps no event of the rule's log source; None when it keeps some."""
    logsource = rule.rule.logsource
    source = find_log_source(logsource.product, logsource.category, logsource.service)
    if source is None:
        return None
    models = spec.ingest_models()
    stores = resolve(spec.stores) if spec.stores is not None else None
    if stores is None and not models:
        return None  # a target that models no SIEM storage (no engine runs it)
    for carrier in source.carriers:
        if isinstance(carrier, WindowsEvents):
            if stores is not None and any(stores(c, e) for c, e in carrier.keys):
                return None
        elif (AuditdEvent if isinstance(carrier, AuditdRecords) else ZeekRecord) in models:
            return None
    return f"{spec.title} stores no {source.name} events"


def known_fields(
    target: TargetSpec, rule: SigmaRule, state: Mapping[str, Any]
) -> frozenset[str] | None:
    if target.state_fields is not None:
        known: frozenset[str] | None = resolve(target.state_fields)(state)
        return known
    logsource = rule.logsource
    if not logsource.product:
        return None
    return stored_fields(target, logsource.product, logsource.category, logsource.service)


def unknown_in(rule: RuleFile, target: TargetSpec, pipeline: ProcessingPipeline) -> list[str]:
    """`unknown_fields` with a pipeline made once by `field_pipeline` (one per target and build)."""
    try:
        names, state = processed_fields(rule.text, pipeline)
    except Exception:  # pySigma's pipelines raise anything on odd values (`User: 0`)
        return []  # the conversion reports why the pipelines refuse the rule
    known = known_fields(target, rule.rule, state)
    if known is None:
        return []
    return [name for name in names if name not in known]


def unknown_fields(rule: RuleFile, target: TargetSpec, root: Path) -> list[str]:
    """Field names of `rule`, after the target's pipelines, that the target's documents lack."""
    return unknown_in(rule, target, field_pipeline(target, root))


def field_line(text: str, name: str) -> int | None:
    """The rule line naming the field; a mapped name (winlog.event_data.FooBar) by its last part."""
    return line_of(text, name) or line_of(text, name.split(".")[-1])


def require_known_fields(rule: RuleFile, target: TargetSpec, pipeline: ProcessingPipeline) -> None:
    """Raise InputError (one line, exit code 2) when the rule names fields the target lacks.

    For the build: make `pipeline = field_pipeline(target, project.root)` once per target, then
    call this for each rule before converting it.
    """
    unknown = unknown_in(rule, target, pipeline)
    if unknown:
        message = unknown_fields_message(target, unknown)
        raise InputError(rule.path, message, field_line(rule.text, unknown[0]))


def unknown_fields_message(target: TargetSpec, names: Iterable[str]) -> str:
    listed = ", ".join(repr(name) for name in names)
    return (
        f"{target.name}: field(s) {listed} after the {target.title} pipelines are not in its "
        "documents; use a field of the log source, or map it in pipelines/"
    )
