"""`certdetect verify`: any Sigma rules, on any raw events, through every target's fresh query.

The build checks the project's own rules on its recorded cases; this checks rules a team wrote
(or a peer's, such as SigmaHQ's) on the event files `certdetect scan` reads. Per rule, the Sigma
reference counts the events the rule matches; each target converts the rule through its corrected
backend and pipelines, stores the same events through its ingest model and executes the query in
its engine. A target is

- `verified` when its query matches exactly the events the reference matches,
- `disagrees` when it matches others, or its engine rejects the query (never passed silently),
- `unsupported`, with the reason, when it cannot express the rule: the backend refuses it, a
  field after the target's pipelines is not in its documents, or the SIEM stores no event of the
  rule's log source.

A rule whose log source the reference has no events for is `unsupported` on every target.

SigmaHQ's regression data (`tests/regression_tests_runner.py` in SigmaHQ/sigma): one folder per
rule with an `info.yml` naming the rule id (`rule_metadata`), its event files
(`regression_tests_info[].path`, relative to the repository root) and `match_count`; fewer
matches than `match_count` fail, more only warn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converter.convert.conversion import (
    ConversionError,
    TargetBackends,
    convert_for_target,
    target_backends,
)
from converter.core.auditd import AuditdEvent
from converter.core.errors import InputError
from converter.core.events import RawEvent, WindowsEvent
from converter.core.rules import RuleFile, load_rule
from converter.core.targets import TARGETS, TargetSpec, resolve
from converter.core.textfiles import load_yaml, read_text
from converter.core.zeek import ZeekRecord
from converter.environment.runtimes import target_runtimes
from converter.execute.engines.base import QueryError
from converter.execute.runtimes import TargetRuntime, select
from converter.formats.base import BadRecord, Filtered
from converter.formats.readers import detect, read_items
from converter.reference import UnsupportedRuleError, compile_reference, event_sources
from converter.verify.fields import (
    field_pipeline,
    not_stored,
    unknown_fields_message,
    unknown_in,
)

VERIFIED = "verified"
DISAGREES = "disagrees"
UNSUPPORTED = "unsupported"
RAW_EVENTS = (WindowsEvent, AuditdEvent, ZeekRecord)
# the targets an engine executes
EXECUTED: tuple[TargetSpec, ...] = tuple(target for target in TARGETS if target.engine is not None)


# Why a target is unsupported, for the conformance table
LOG_SOURCE = "log source"  # the reference has no events for the rule's log source
NOT_STORED = "not stored"  # the SIEM stores no event of the log source
UNKNOWN_FIELD = "field"  # a field after the target's pipelines is not in its documents
REFUSED = "refused"  # the backend or a certdetect refusal cannot express the rule
KINDS = (REFUSED, UNKNOWN_FIELD, NOT_STORED, LOG_SOURCE)


@dataclass(frozen=True)
class Verdict:
    status: str  # VERIFIED, DISAGREES or UNSUPPORTED
    matches: int | None = None  # events the query matched; None when it did not run
    reason: str | None = None
    kind: str | None = None  # one of KINDS when unsupported


@dataclass(frozen=True)
class RuleReport:
    rule_id: str
    title: str
    path: str
    logsource: str  # product/category|service
    expected: int | None  # SigmaHQ's match_count
    sigma: int | None  # events the reference matched; None when it cannot evaluate the rule
    targets: dict[str, Verdict]
    events: int = 0

    @property
    def short(self) -> bool:
        """The reference matched fewer events than `match_count` (SigmaHQ: a failure)."""
        return self.expected is not None and self.sigma is not None and self.sigma < self.expected

    @property
    def over(self) -> bool:
        """More matches than `match_count` (SigmaHQ: a warning)."""
        return self.expected is not None and self.sigma is not None and self.sigma > self.expected

    @property
    def failed(self) -> bool:
        return self.short or any(v.status == DISAGREES for v in self.targets.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "title": self.title,
            "logsource": self.logsource,
            "expected": self.expected,
            "matches": {"sigma": self.sigma, **{n: v.matches for n, v in self.targets.items()}},
            "status": {name: verdict.status for name, verdict in self.targets.items()},
            "reasons": {n: v.reason for n, v in self.targets.items() if v.reason is not None},
        }


@dataclass(frozen=True)
class Job:
    """One rule, the events it runs on, and SigmaHQ's `match_count` when there is one."""

    rule: RuleFile
    events: Sequence[RawEvent]
    expected: int | None = None


# --- Reading rules and events --------------------------------------------------------------------


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files of `paths`: files as given, folders searched recursively, in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml")))
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(str(path), "no such rule file or folder")
    return found


def load_rule_files(paths: Iterable[Path]) -> list[RuleFile]:
    rules: list[RuleFile] = []
    seen: dict[str, str] = {}
    for path in rule_files(paths):
        rule = load_rule(path, str(path))
        if rule.id in seen:
            raise InputError(str(path), f"duplicate rule id {rule.id} (also in {seen[rule.id]})")
        seen[rule.id] = rule.path
        rules.append(rule)
    if not rules:
        raise InputError(None, "no Sigma rules (*.yml) found in the given paths")
    return rules


def read_events(paths: Iterable[Path]) -> list[RawEvent]:
    """The raw events of event files in any format `scan` reads; a bad record is an InputError."""
    events: list[RawEvent] = []
    for path in paths:
        detect(path)  # InputError for a missing file or an unknown format
        for record in read_items(path):
            if isinstance(record, BadRecord):
                name, _, line = record.source.rpartition(":")
                number = int(line) if line.isdigit() else None
                raise InputError(name if number else record.source, record.message, number)
            payload = record.payload
            if isinstance(payload, RAW_EVENTS):
                events.append(payload)
            elif not isinstance(payload, Filtered):
                raise InputError(
                    record.source,
                    f"holds {type(payload).__name__} records, a SIEM's own documents; "
                    "verify needs raw events (EVTX, event XML or JSON, auditd, Zeek)",
                )
    return events


def regression_jobs(directory: Path, rules: Sequence[RuleFile]) -> tuple[list[Job], list[str]]:
    """One job per SigmaHQ regression test whose rule is among `rules`; and the tests' rule ids
    that are not (reported, not run)."""
    by_id = {rule.id: rule for rule in rules}
    jobs: list[Job] = []
    missing: list[str] = []
    root = directory.parent  # the paths in info.yml start with `regression_data/`
    for info_path in sorted(directory.rglob("info.yml")):
        shown = str(info_path)
        info = load_yaml(read_text(info_path, shown), shown)
        try:
            rule_id = str(info["rule_metadata"][0]["id"])
            # a test SigmaHQ commented out leaves no regression_tests_info: no events
            tests = list(info.get("regression_tests_info") or ())
        except (KeyError, IndexError, TypeError):
            raise InputError(
                shown, "not a SigmaHQ regression info.yml (rule_metadata, regression_tests_info)"
            ) from None
        rule = by_id.get(rule_id)
        if rule is None:
            missing.append(rule_id)
            continue
        events: list[RawEvent] = []
        expected: int | None = None
        for test in tests:
            if not isinstance(test, dict) or "path" not in test:
                raise InputError(shown, "a regression test without a path")
            relative = Path(str(test["path"]))
            event_file = root / relative
            if not event_file.exists():
                event_file = info_path.parent / relative.name
            events.extend(read_events([event_file]))
            count = test.get("match_count")
            if count is not None:
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    raise InputError(shown, f"match_count {count!r} is not a count of events")
                expected = (expected or 0) + count
        jobs.append(Job(rule, events, expected))
    return jobs, missing


# --- Running ------------------------------------------------------------------------------------


def logsource_name(rule: RuleFile) -> str:
    logsource = rule.rule.logsource
    kind = logsource.category or logsource.service or ""
    return f"{logsource.product or ''}/{kind}"


@dataclass
class _Target:
    spec: TargetSpec
    backends: TargetBackends
    runtime: TargetRuntime
    fields: Any  # the field check's pipeline


@dataclass
class Verifier:
    """Every executed target, built once, for the rules of one run."""

    root: Path  # where the project's pipelines are
    _targets: list[_Target] = field(default_factory=list)

    def __post_init__(self) -> None:
        runtimes = target_runtimes(targets=EXECUTED)
        for spec in EXECUTED:
            self._targets.append(
                _Target(
                    spec,
                    target_backends(spec, self.root),
                    runtimes[spec.name],
                    field_pipeline(spec, self.root),
                )
            )

    @property
    def target_names(self) -> list[str]:
        return [target.spec.name for target in self._targets]

    def verify(self, job: Job) -> RuleReport:
        rule = job.rule
        report = RuleReport(
            rule_id=rule.id,
            title=rule.title,
            path=rule.path,
            logsource=logsource_name(rule),
            expected=job.expected,
            sigma=None,
            targets={},
            events=len(job.events),
        )
        try:
            reference = compile_reference(rule.parse())
            event_sources(rule.rule)
        except UnsupportedRuleError as error:
            reason = f"the Sigma reference cannot evaluate the rule: {error}"
            for name in self.target_names:
                report.targets[name] = Verdict(UNSUPPORTED, reason=reason, kind=LOG_SOURCE)
            return report
        expected = {i for i, event in enumerate(job.events) if reference.matches(event)}
        for target in self._targets:
            report.targets[target.spec.name] = self._verdict(target, job, expected)
        return dataclasses.replace(report, sigma=len(expected))

    def _verdict(self, target: _Target, job: Job, expected: set[int]) -> Verdict:
        rule = job.rule
        # the most specific reason first: the backend's or a refusal's own words
        try:
            query = convert_for_target(target.backends, rule).query
        except ConversionError as error:
            return Verdict(UNSUPPORTED, reason=str(error), kind=REFUSED)
        stored = not_stored(target.spec, rule) or _unstored_matches(target.spec, job, expected)
        if stored is not None:
            return Verdict(UNSUPPORTED, reason=stored, kind=NOT_STORED)
        unknown = unknown_in(rule, target.spec, target.fields)
        if unknown:
            message = unknown_fields_message(target.spec, unknown)
            return Verdict(UNSUPPORTED, reason=message, kind=UNKNOWN_FIELD)
        try:
            compiled = target.runtime.compile(query)
            documents = target.runtime.documents(job.events)
            matched = select(compiled, documents)
        except QueryError as error:
            return Verdict(DISAGREES, reason=f"the engine rejects the query: {error}")
        except RecursionError:
            return Verdict(DISAGREES, reason="the engine rejects the query: nested too deeply")
        if matched == expected:
            return Verdict(VERIFIED, len(matched))
        extra = sorted(matched - expected)
        missed = sorted(expected - matched)
        return Verdict(
            DISAGREES,
            len(matched),
            f"matches events {extra} the reference does not, misses {missed}; "
            f"query: {_shortened(query)}",
        )


def _shortened(query: str, limit: int = 400) -> str:
    flat = " ".join(query.split())
    return flat if len(flat) <= limit else flat[:limit] + " ..."


def _unstored_matches(spec: TargetSpec, job: Job, expected: set[int]) -> str | None:
    """Why the target cannot hold events the reference matched: a service log source reads its
    whole channel, and the SIEM (as modelled) keeps only some of its event IDs."""
    if spec.stores is None:
        return None
    stores = resolve(spec.stores)
    missing = sorted(
        {
            (event.channel, event.event_id)
            for index in expected
            if isinstance(event := job.events[index], WindowsEvent)
            and not stores(event.channel, event.event_id)
        }
    )
    if not missing:
        return None
    named = ", ".join(f"{channel} {event_id}" for channel, event_id in missing)
    return f"{spec.title} stores no {named} events, which the rule matches"


def run_regression(rules: Path, regression: Path, root: Path) -> list[RuleReport]:
    """Every SigmaHQ regression test under `regression` whose rule is under `rules`."""
    jobs, _ = regression_jobs(regression, load_rule_files([rules]))
    verifier = Verifier(root)
    return [verifier.verify(job) for job in jobs]
