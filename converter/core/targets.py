"""The query targets, one `TargetSpec` each: every registry of the project is read from `TARGETS`.

A target has one name (`eql`, `spl`, `kql`): the folder under `dist/`, the manifest key, the CLI's
`--target`, the environment file's section and the evaluator name of `certdetect scan`. Pipelines
are given as sigma-cli takes them (stock pipeline names, then this project's YAML layers from
`pipelines/`), so `sigma convert -t <sigma_cli_backend> -p ... sigma/` reproduces an artifact (an
artifact joining an alternative is the two conversions, each reproduced so, ORed).

Why the declaration lives in `core` and names code by import path: a spec gathers parts of every
stage (the backend of `convert`, the engine and ingest models of `execute`, the overlay section
of `environment`, the deployers of `publish`, the field check of `checks`), and every stage reads
the specs, down to `environment` (which sections a file may hold) and `execute`. Held as objects,
the specs would sit at the top of the stack and the lower stages could not read them; held as
`"module:attribute"` paths (`Ref`), the specs are plain data at the bottom, each stage resolves
only the parts it uses, and imports point one way: `core` imports no other stage. Resolving on use
also keeps heavy libraries lazy (the engines import eql and duckdb; pySigma backends load plugins).

How to add a target
-------------------
(Laid out as the implementation notes of pySigma's `Backend` class, `sigma/conversion/base.py`.)

1. Backend: a pySigma backend for the query language (an installed plugin, or a subclass of
   `TextQueryBackend`), corrected where it emits wrong queries, with `refusals` for values it
   cannot express (`converter.convert.backends`, one module per target).
2. Pipelines: stock pipeline names and project layers `pipelines/<name>_*.yml` mapping Sigma
   fields to the names the SIEM stores.
3. Ingest models: per raw event type (`converter.core.events.WindowsEvent`,
   `converter.core.auditd.AuditdEvent`, `converter.core.zeek.ZeekRecord`) a function
   returning the document the SIEM stores, a `DocumentGroup`, or None when it stores no such
   event; and `stores(channel, event_id)`, which Windows events it keeps
   (`converter.execute.ingest.<model>`).
4. Engine: an `converter.execute.engines.base.Engine` compiling the query language and selecting
   the matching documents, its semantics table citing the vendor's documentation; and a factory
   `engine(overlay) -> Engine` taking the target's environment section, or None.
5. Environment section (optional): `converter.environment.<name>` with the overlay class (the
   `converter.environment.Overlay` protocol: keys, load, pipeline items, document rewrite,
   names to warn about, files) and the engine factory.
6. Deployers (optional): `render(build) -> {path in dist/: bytes}` in
   `converter.publish.deploy.<format>`, writing the files the SIEM imports.
7. Declare its `TargetSpec` in `TARGETS` below. Nothing else names the target: the build, `dist/`,
   the manifest, the report, `certdetect convert -t`, `scan`, `check` and environment files read
   the specs.
8. Tests: `tests/test_engines_<name>.py` (the semantics table, and a test that swaps in wrong
   semantics and sees the table catch it), `tests/test_ingest_<model>.py` (documents as the
   vendor's ingest stores them), cases under `cases/` so the build verifies every artifact (the
   agreement tests in `tests/test_agreement.py` run over every spec). `tests/test_targets.py`
   walks this guide with a toy target declared inline.

The fields of a `TargetSpec`:

- `name`: the one name: `dist/<name>/`, the manifest key, `--target`, the environment section,
  the evaluator of `certdetect scan`. `title`: for people (messages).
- `backend`: the backend class; `sigma_cli_backend`: sigma-cli's `-t` for the stock backend, to
  reproduce an artifact by hand (documentation only). `pipelines`: step 2. `extension`: of the
  artifacts. `parenthesize`: wrap the query in parentheses (the backend option).
  `alternatives`: a second store of one log source, converted once more and ORed (`Alternative`).
- `engine`: step 4; None leaves the artifacts `converted`, never verified.
- `ingest`, `stores`: step 3. `native`: the scan record type the target evaluates as it is
  (ECS documents exported from Elasticsearch for eql, advanced-hunting rows for kql).
- `overlay`: step 5. `deployers`: step 6.
- `document_fields`: the field names one stored document carries; `state_fields`: the names the
  pipeline state allows (Defender: the chosen table's columns). `certdetect check` and the build
  refuse a rule naming a field outside them; neither set: fields are not checked.
- `validator`: the vendor's own parser and analyser, run over every query of the target after the
  engine (`converter.verify.vendor_check`); its errors fail the artifact.
- `seed_oracle`: the seed oracle (`oracle/`) is written in this target's language and is checked
  on its documents by the stock build.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

# A "module:attribute" import path, resolved on use by the stage that needs it (module docstring).
Ref = str


@cache
def resolve(ref: Ref) -> Any:
    """The object a `Ref` names."""
    module, _, attribute = ref.partition(":")
    value: Any = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


@dataclass(frozen=True)
class Alternative:
    """A second way the target's data stores one Sigma log source, with its own pipelines.

    A rule of that log source is converted once more through `pipelines` and the two queries are
    joined with OR, so one search reads both stores (e.g. Sysmon 1 and Security 4688 events).
    """

    product: str
    category: str
    title: str  # names the stored events in reasons and docs
    pipelines: tuple[str, ...]


@dataclass(frozen=True)
class Ingest:
    """The SIEM stores raw events of type `event` as `model(event)` returns them (None: not at
    all)."""

    event: Ref  # a raw event type
    model: Ref  # Callable[[event], document | DocumentGroup | None]
    # Callable[[fields read | None], model]: the model for queries that read only these fields,
    # which may leave the others out (`certdetect scan`: what no query reads is not derived)
    lean: Ref | None = None


@dataclass(frozen=True)
class TargetSpec:
    """Everything the project knows about one target (the guide is in the module docstring)."""

    name: str  # the ONE name: dist folder, manifest key, --target, environment section
    title: str  # for people: matrix headers, messages
    backend: Ref  # the corrected pySigma backend class, built with the target's pipelines
    sigma_cli_backend: str  # `sigma convert -t` of the stock backend: documentation only
    pipelines: tuple[str, ...]  # stock pipeline names, or files relative to the project root
    extension: str  # of the artifacts in dist/<name>/
    # factory: Callable[[overlay section | None], Engine]; None: artifacts stay `converted`
    engine: Ref | None = None
    ingest: tuple[Ingest, ...] = ()  # the raw event types the SIEM stores, each with its model
    stores: Ref | None = None  # Callable[[channel, event_id], bool]: Windows events it keeps
    overlay: Ref | None = None  # the environment section class (`converter.environment.Overlay`)
    native: Ref | None = None  # scan record type this target evaluates as it is, unconverted
    deployers: tuple[Ref, ...] = ()  # Callable[[BuildResult], dict[str, bytes]] each
    # `verify.fields`: the field names one stored document carries, or the names the pipeline
    # state allows (Defender: the table's columns); neither: fields are not checked
    document_fields: Ref | None = None
    state_fields: Ref | None = None
    # SPL: OR binds tighter than AND only in the `search` command; parentheses make the query
    # mean the same wherever it is pasted (pysigma-findings.md, finding 6).
    parenthesize: bool = False
    alternatives: tuple[Alternative, ...] = ()
    seed_oracle: bool = False  # the seed oracle's queries are this target's, checked on its docs
    # `converter.verify.vendor_check.Validator`: the vendor's validator over every query
    validator: Ref | None = None

    def ingest_models(
        self, fields: frozenset[str] | None = None
    ) -> Mapping[type, Callable[[Any], Any | None]]:
        """Raw event type -> the ingest model that stores it; with `fields`, the model for
        queries that read only these (`Ingest.lean`, else the whole model)."""
        return {
            resolve(item.event): (
                resolve(item.lean)(fields)
                if fields is not None and item.lean is not None
                else resolve(item.model)
            )
            for item in self.ingest
        }


_WINDOWS = "converter.core.events:WindowsEvent"
_AUDITD = "converter.core.auditd:AuditdEvent"
_ZEEK = "converter.core.zeek:ZeekRecord"
_INGEST = "converter.execute.ingest"

TARGETS: tuple[TargetSpec, ...] = (
    TargetSpec(
        name="eql",
        title="Elastic EQL",
        backend="converter.convert.backends.eql:CertdetectEqlBackend",
        sigma_cli_backend="eql",
        pipelines=(
            "ecs_windows",
            "pipelines/ecs_elastic_agent.yml",
            "pipelines/ecs_linux_auditd.yml",
            "pipelines/ecs_zeek.yml",
        ),
        extension=".eql",
        engine="converter.environment.eql:engine",
        ingest=(
            Ingest(_WINDOWS, f"{_INGEST}.ecs:to_ecs", lean=f"{_INGEST}.ecs:model_for"),
            Ingest(_AUDITD, f"{_INGEST}.ecs_auditd:to_ecs"),
            Ingest(_ZEEK, f"{_INGEST}.ecs_zeek:to_ecs"),
        ),
        stores=f"{_INGEST}.ecs:stores",
        overlay="converter.environment.eql:EqlOverlay",
        native="converter.formats.ecs:EcsRecord",  # ECS documents exported from Elasticsearch
        deployers=("converter.publish.deploy.kibana:render",),
        document_fields="converter.verify.fields:ecs_names",
        seed_oracle=True,
    ),
    TargetSpec(
        name="spl",
        title="Splunk SPL",
        backend="converter.convert.backends.splunk:CertdetectSplunkBackend",
        sigma_cli_backend="splunk",
        pipelines=(
            "sysmon",
            "splunk_windows",
            "pipelines/splunk_sysmon_xml.yml",
            "pipelines/splunk_linux_audit.yml",
            "pipelines/splunk_zeek.yml",
        ),
        extension=".spl",
        engine="converter.environment.spl:engine",
        ingest=(
            Ingest(_WINDOWS, f"{_INGEST}.splunk:to_splunk"),
            Ingest(_AUDITD, f"{_INGEST}.splunk_auditd:to_splunk"),
            Ingest(_ZEEK, f"{_INGEST}.splunk_zeek:to_splunk"),
        ),
        stores=f"{_INGEST}.splunk:stores",
        overlay="converter.environment.spl:SplOverlay",
        deployers=(
            "converter.publish.deploy.splunk_conf:render",
            "converter.publish.deploy.splunk_app:render",
        ),
        document_fields="converter.verify.fields:splunk_names",
        parenthesize=True,
        # The Sigma taxonomy reads process_creation on Sysmon 1 and on Security 4688 (the
        # reference's SECURITY_4688); the Splunk Add-on for Windows indexes 4688 under its
        # EventData names, which `windows-audit` and the project layer map to.
        alternatives=(
            Alternative(
                product="windows",
                category="process_creation",
                title="Security 4688",
                pipelines=(
                    "windows-audit",
                    "splunk_windows",
                    "pipelines/splunk_sysmon_xml.yml",
                    "pipelines/splunk_security_4688.yml",
                ),
            ),
        ),
    ),
    TargetSpec(
        name="kql",
        title="Microsoft Defender XDR KQL",
        backend="converter.convert.backends.kql:CertdetectKustoBackend",
        sigma_cli_backend="kusto",
        pipelines=(
            "pipelines/defender_xdr_scope.yml",
            "microsoft_xdr",
            "pipelines/defender_xdr.yml",
        ),
        extension=".kql",
        engine="converter.environment.kql:engine",
        # Defender XDR has no table for auditd records or Zeek logs.
        ingest=(Ingest(_WINDOWS, f"{_INGEST}.defender:to_defender"),),
        stores=f"{_INGEST}.defender:stores",
        overlay="converter.environment.kql:KqlOverlay",
        native="converter.core.documents:DefenderRow",  # advanced-hunting exports
        deployers=("converter.publish.deploy.sentinel:render",),
        state_fields="converter.verify.fields:defender_columns",
        validator="converter.verify.kusto_validator:validate",
    ),
)

TARGET_NAMES: tuple[str, ...] = tuple(target.name for target in TARGETS)


def target_by_name(name: str) -> TargetSpec:
    for target in TARGETS:
        if target.name == name:
            return target
    raise KeyError(name)
