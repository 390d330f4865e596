"""The build: rules -> pipelines -> backends -> artifacts, each artifact executed on the cases.

Nothing is written unless every evaluator agrees with every case; `converter.publish.artifacts`
then replaces `dist/` in one step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from converter.convert.conversion import ConversionError, convert_for_target, target_backends
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
from converter.execute.runtimes import TargetRuntime, select
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


def run_build(
    project: Project,
    targets: Sequence[TargetSpec] = TARGETS,
    environment: Environment | None = None,
    cache: CompileCache | None = None,
) -> BuildResult:
    """Convert every rule for every target and execute each query on the cases. With `cache`
    (`converter.execute.compile_cache`), what compiling a query decided in an earlier run of the
    same code, libraries and schema is taken from it; the queries still run on every case."""
    rules = load_rules(project)
    # A field no target document has would convert to a query that silently never matches.
    for target in targets:
        fields = field_pipeline(target, project.root)
        for rule in rules:
            require_known_fields(rule, target, fields)
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
        target.name: convert_all(target, results, project, environment) for target in targets
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
            pending[target.name] = PendingCheck(resolve(target.validator), queries, section, cache)
    for target in targets:
        runtime = runtimes.get(target.name)
        documents = runtime.documents(events) if runtime else []
        # The seed names the stock fields: it is checked by the stock build only.
        if runtime is not None and target.seed_oracle and oracle is not None and not environment:
            known = {rule.id for rule in rules}
            build.errors.extend(check_oracle(oracle, cases, runtime, documents, known))
        for result, query in zip(results, converted[target.name], strict=True):
            result.targets[target.name] = (
                evaluate_artifact(result.rule, query, runtime, cases, documents)
                if isinstance(query, str)
                else query
            )
        if target.name in pending:
            apply_check(build, target, pending[target.name].result())
    if cache is not None:
        cache.save()
    return build


def convert_all(
    target: TargetSpec,
    results: Sequence[RuleResult],
    project: Project,
    environment: Environment | None,
) -> list[str | Outcome]:
    """Each rule's query for the target, or its `unsupported` outcome, in rule order."""
    # The field check of run_build runs without the overlay: its renames are the env's names.
    backends = target_backends(target, project.root, environment)
    converted: list[str | Outcome] = []
    for result in results:
        try:
            query = convert_for_target(backends, result.rule).query
        except ConversionError as error:
            converted.append(Outcome(status=Status.UNSUPPORTED, reason=str(error)))
            continue
        stored = not_stored(target, result.rule)
        if stored is not None:
            converted.append(Outcome(status=Status.UNSUPPORTED, reason=stored))
            continue
        converted.append(query)
    return converted


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
