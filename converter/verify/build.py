"""The build: rules -> pipelines -> backends -> artifacts, each artifact executed on the cases.

Nothing is written unless every evaluator agrees with every case; `converter.publish.artifacts`
then replaces `dist/` in one step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from converter.convert.conversion import (
    ConversionError,
    TargetBackends,
    convert_for_target,
    target_backends,
)
from converter.convert.conversion_cache import ConversionCache
from converter.core import interrupts
from converter.core.cases import Case, load_cases
from converter.core.project import Project
from converter.core.rules import RuleFile, load_rules
from converter.core.status import Status
from converter.core.targets import TARGETS, TargetSpec, resolve
from converter.environment import Environment
from converter.environment.runtimes import target_runtimes
from converter.execute.compile_cache import CompileCache
from converter.execute.engines.base import QueryError
from converter.execute.runtimes import TargetRuntime, select, select_many
from converter.reference import UnsupportedRuleError, compile_reference
from converter.verify.compare import Mismatch, compare
from converter.verify.fields import field_pipeline, not_stored, require_known_fields
from converter.verify.oracle import check_oracle, load_oracle
from converter.verify.vendor_check import PendingCheck, VendorCheck


@dataclass(frozen=True)
class Outcome:
    """One evaluator's verdict on one rule: the Sigma reference or a target's artifact."""

    status: Status
    query: str | None = None
    reason: str | None = None
    matched: tuple[str, ...] = ()  # case ids, in case order
    checked: int = 0
    mismatches: tuple[Mismatch, ...] = ()


@dataclass
class RuleResult:
    rule: RuleFile
    reference: Outcome
    targets: dict[str, Outcome]


@dataclass
class BuildResult:
    project: Project
    rules: list[RuleResult]
    cases: list[Case]
    errors: list[str] = field(default_factory=list)  # failures outside one rule (seed oracle)
    environment: Environment | None = None  # the overlay the queries were built for
    targets: Sequence[TargetSpec] = TARGETS  # the targets built, in manifest order
    warnings: list[str] = field(default_factory=list)  # reported, never failing (validators)

    @property
    def failures(self) -> list[str]:
        lines = list(self.errors)
        for result in self.rules:
            for outcome in (result.reference, *result.targets.values()):
                if outcome.status == Status.FAILED:
                    lines.extend(str(m) for m in outcome.mismatches)
                    if outcome.reason:  # a rejection, or a validator's error beside mismatches
                        lines.append(f"{result.rule.stem}: {outcome.reason}")
        return lines

    @property
    def ok(self) -> bool:
        return not self.failures


def _matched_ids(cases: Sequence[Case], matched: set[int]) -> tuple[str, ...]:
    return tuple(case.id for index, case in enumerate(cases) if index in matched)


def _outcome(
    rule: RuleFile,
    evaluator: str,
    cases: Sequence[Case],
    matched: set[int],
    query: str | None = None,
) -> Outcome:
    mismatches = compare(rule.id, rule.stem, evaluator, cases, matched)
    return Outcome(
        status=Status.FAILED if mismatches else Status.VERIFIED,
        query=query,
        matched=_matched_ids(cases, matched),
        checked=len(cases),
        mismatches=tuple(mismatches),
    )


def evaluate_reference(rule: RuleFile, cases: Sequence[Case]) -> Outcome:
    try:
        reference = compile_reference(rule.parse())
    except UnsupportedRuleError as error:
        return Outcome(
            status=Status.FAILED, reason=f"Sigma reference cannot evaluate the rule: {error}"
        )
    matched = {index for index, case in enumerate(cases) if reference.matches(case.event)}
    return _outcome(rule, "sigma", cases, matched)


def evaluate_artifact(
    rule: RuleFile,
    query: str,
    runtime: TargetRuntime | None,
    cases: Sequence[Case],
    documents: Sequence[object | None],
) -> Outcome:
    if runtime is None:
        return Outcome(
            status=Status.CONVERTED, query=query, reason="no engine executes this target"
        )
    try:
        compiled = runtime.compile(query)
    except QueryError as error:
        return Outcome(
            status=Status.FAILED, query=query, reason=f"[{runtime.name}] query rejected: {error}"
        )
    try:
        matched = select(compiled, documents)
    except Exception as error:  # noqa: BLE001 - the engine failed running it: the query fails
        if interrupts.requested():  # Ctrl-C, which DuckDB reports as "Query interrupted"
            raise interrupts.Interrupted from None
        reason = f"[{runtime.name}] query failed on the cases: {type(error).__name__}: {error}"
        return Outcome(status=Status.FAILED, query=query, reason=reason)
    return _outcome(rule, runtime.name, cases, matched, query)


# the file, beside the compiled-query cache's, of what only a build reads
BUILD_CACHE = "build-results.json"


def evaluate_artifacts(
    artifacts: Sequence[tuple[RuleFile, str | Outcome]],
    runtime: TargetRuntime,
    cases: Sequence[Case],
    documents: Sequence[object | None],
) -> list[Outcome]:
    """`evaluate_artifact` for each (rule, query) of one target, the compiled queries run
    together (`select_many`); an artifact that is an outcome already stays as it is. When the
    engine fails on the queries together, each runs alone, so that the failure is the failing
    query's only."""
    outcomes: list[Outcome | None] = []
    compiled: list[tuple[int, Any]] = []
    for position, (rule, query) in enumerate(artifacts):
        if not isinstance(query, str):
            outcomes.append(query)
            continue
        try:
            compiled.append((position, runtime.compile(query)))
            outcomes.append(None)
        except QueryError:  # its verdict, as `evaluate_artifact` gives it
            outcomes.append(evaluate_artifact(rule, query, runtime, cases, documents))
    try:
        found = select_many([query for _, query in compiled], documents, interrupts.check)
    except interrupts.Interrupted:
        raise
    except Exception:  # noqa: BLE001 - one of them failed: each alone says which
        found = None
    for number, (position, _) in enumerate(compiled):
        rule, query = artifacts[position]
        assert isinstance(query, str)
        if found is None:
            outcomes[position] = evaluate_artifact(rule, query, runtime, cases, documents)
        else:
            matched = found[number]
            outcomes[position] = _outcome(rule, runtime.name, cases, matched, query)
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(artifacts)
    return done


def run_build(
    project: Project,
    targets: Sequence[TargetSpec] = TARGETS,
    environment: Environment | None = None,
    cache: CompileCache | None = None,
) -> BuildResult:
    """Convert every rule for every target and execute each query on the cases. With `cache`
    (`converter.execute.compile_cache`), what compiling a query decided in an earlier run of the
    same code, libraries and schema is taken from it; the queries still run on every case. What
    only a build reads (each rule's conversion, the vendor checks' verdicts) is kept in a file of
    its own beside it (`BUILD_CACHE`), which `certdetect scan` never loads."""
    rules = load_rules(project)
    built = cache.beside(BUILD_CACHE) if cache is not None else None
    # what converting each rule gave in an earlier build of the same code, pipelines and libraries
    kept = ConversionCache.for_build(built, project.root) if environment is None else None
    # A field no target document has would convert to a query that silently never matches.
    for target in targets:
        fields = None
        for rule in rules:
            if kept is not None and kept.fields_known(target.name, rule):
                continue
            if fields is None:
                fields = field_pipeline(target, project.root)
            require_known_fields(rule, target, fields)
            if kept is not None:
                kept.keep_fields_known(target.name, rule)
    cases = load_cases(project, (rule.id for rule in rules))
    runtimes = target_runtimes(environment, targets)
    if cache is not None:
        cache.attach(runtime.engine for runtime in runtimes.values())
    events = [case.event for case in cases]
    oracle = load_oracle(project)
    results = [RuleResult(rule, evaluate_reference(rule, cases), {}) for rule in rules]
    build = BuildResult(
        project=project, rules=results, cases=cases, environment=environment, targets=targets
    )
    # Convert for every target first: the vendor validators (a node process) then run while the
    # engines execute the queries. Conversion and execution are independent of each other, and
    # every verdict is applied in the order it was before.
    converted = {
        target.name: convert_all(target, results, project, environment, kept) for target in targets
    }
    pending: dict[str, PendingCheck] = {}
    for target in targets:
        if target.validator is not None:
            section = environment.sections.get(target.name) if environment else None
            queries = {
                result.rule.stem: query
                for result, query in zip(results, converted[target.name], strict=True)
                if isinstance(query, str)
            }
            pending[target.name] = PendingCheck(resolve(target.validator), queries, section, built)
    for target in targets:
        runtime = runtimes.get(target.name)
        documents = runtime.documents(events) if runtime else []
        # The seed names the stock fields: it is checked by the stock build only.
        if runtime is not None and target.seed_oracle and oracle is not None and not environment:
            known = {rule.id for rule in rules}
            build.errors.extend(check_oracle(oracle, cases, runtime, documents, known))
        together = runtime is not None and hasattr(runtime.engine, "run_many")
        if together:
            # one load of the cases' rows for every query (`run_many`: KQL), not one per query
            assert runtime is not None
            outcomes = evaluate_artifacts(
                [(r.rule, q) for r, q in zip(results, converted[target.name], strict=True)],
                runtime,
                cases,
                documents,
            )
            for result, outcome in zip(results, outcomes, strict=True):
                result.targets[target.name] = outcome
        else:
            for result, query in zip(results, converted[target.name], strict=True):
                result.targets[target.name] = (
                    evaluate_artifact(result.rule, query, runtime, cases, documents)
                    if isinstance(query, str)
                    else query
                )
        if target.name in pending:
            apply_check(build, target, pending[target.name].result())
    for kept_cache in (cache, built):
        if kept_cache is not None:
            kept_cache.save()
    return build


def convert_all(
    target: TargetSpec,
    results: Sequence[RuleResult],
    project: Project,
    environment: Environment | None,
    kept: ConversionCache | None = None,
) -> list[str | Outcome]:
    """Each rule's query for the target, or its `unsupported` outcome, in rule order; with
    `kept`, what an earlier build gave for the same rule text is taken from it."""
    backends: TargetBackends | None = None  # made for the first rule not kept
    converted: list[str | Outcome] = []
    for result in results:
        earlier = kept.converted(target.name, result.rule) if kept is not None else None
        if earlier is not None:
            kind, value = earlier
            if kind == "query":
                converted.append(value)
            else:
                converted.append(Outcome(status=Status.UNSUPPORTED, reason=value))
            continue
        if backends is None:
            # The field check of run_build runs without the overlay: its renames are the env's.
            backends = target_backends(target, project.root, environment)
        outcome = _converted(target, backends, result.rule)
        if kept is not None:
            if isinstance(outcome, str):
                kept.keep_converted(target.name, result.rule, "query", outcome)
            elif outcome.reason is not None:
                kept.keep_converted(target.name, result.rule, "unsupported", outcome.reason)
        converted.append(outcome)
    return converted


def _converted(target: TargetSpec, backends: TargetBackends, rule: RuleFile) -> str | Outcome:
    try:
        query = convert_for_target(backends, rule).query
    except ConversionError as error:
        return Outcome(status=Status.UNSUPPORTED, reason=str(error))
    stored = not_stored(target, rule)
    if stored is not None:
        return Outcome(status=Status.UNSUPPORTED, reason=stored)
    return query


def apply_check(build: BuildResult, target: TargetSpec, check: VendorCheck) -> None:
    """A validator's verdict on the target's queries: an error fails the artifact (whatever the
    engine said), a warning is reported; a validator that cannot run is said once."""
    if check.skipped is not None:
        build.warnings.append(
            f"{check.tool} check skipped: {check.skipped}; the {target.name} queries were "
            "executed by the engine but not checked by the vendor's validator"
        )
        return
    for result in build.rules:
        stem, outcome = result.rule.stem, result.targets[target.name]
        for message in check.warnings(stem):
            build.warnings.append(f"{stem} [{target.name}] {check.tool}: {message}")
        errors = check.errors(stem)
        if errors:
            reason = f"[{target.name}] {check.tool}: " + "; ".join(errors)
            if outcome.reason and outcome.status == Status.FAILED:
                reason = f"{outcome.reason}; {reason}"
            result.targets[target.name] = replace(outcome, status=Status.FAILED, reason=reason)
