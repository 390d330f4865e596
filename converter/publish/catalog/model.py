"""What the catalog shows, gathered from a build and its manifest into plain records.

The pages read these records only, so each fact has one source: statuses, paths and matched
cases come from the manifest entries (`converter.publish.manifest`), the text fields and ATT&CK
mapping from the rule's metadata (`converter.publish.deploy.metadata`), and the deployable form
of a query from the target's deployers, whichever of their files names the rule's id.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from converter.core.cases import Case
from converter.core.status import Status
from converter.core.targets import TargetSpec, resolve
from converter.publish.deploy.metadata import RuleMetadata
from converter.publish.manifest import Manifest, TargetEntry, manifest_of
from converter.verify.build import BuildResult


@dataclass(frozen=True)
class Deployment:
    """A file of dist/ that ships a rule's query in the form a SIEM imports."""

    path: str  # inside dist/
    form: str  # what the file is, from its deployer module's `FORM`


@dataclass(frozen=True)
class TargetView:
    name: str
    title: str
    entry: TargetEntry  # status, path, matched cases and reason, as the manifest says
    query: str | None  # the bytes of dist/<entry.path> as text; None without a path
    deployments: tuple[Deployment, ...]


@dataclass(frozen=True)
class CaseView:
    id: str
    title: str
    origin: str  # where the event comes from, one line
    expected: bool  # the case says the rule must match it


@dataclass(frozen=True)
class RuleView:
    meta: RuleMetadata
    text: str  # the Sigma rule file
    targets: tuple[TargetView, ...]  # in the build's target order
    cases: tuple[CaseView, ...]  # the rule's own folder, and any case a target matched
    other_cases: int  # cases outside `cases`: executed as well, matched on no target

    @property
    def page(self) -> str:
        """The rule's page, relative to the catalog folder."""
        return f"rules/{self.meta.stem}.html"

    @property
    def logsource(self) -> str:
        parts = (self.meta.product, self.meta.category, self.meta.service)
        return " / ".join(part for part in parts if part)


@dataclass(frozen=True)
class Catalog:
    version: str
    environment: str | None  # the overlay's name; None for the stock build
    targets: tuple[TargetSpec, ...]
    rules: tuple[RuleView, ...]  # in the build's (rule path) order


def origin_line(origin: Mapping[str, object]) -> str:
    """A case's origin as one line: what it was written from, or the recording and licence."""
    if origin.get("kind") == "recorded":
        return f"recorded: {origin.get('source')} ({origin.get('licence')})"
    return f"written from {origin.get('from')}"


def _form(deployer: str) -> str:
    module = importlib.import_module(deployer.partition(":")[0])
    return str(getattr(module, "FORM", module.__name__.rsplit(".", 1)[-1]))


def _deployed(build: BuildResult) -> dict[str, list[tuple[str, str, bytes]]]:
    """Target name -> (path, form, bytes) of every file its deployers write."""
    return {
        target.name: [
            (path, _form(ref), content)
            for ref in target.deployers
            for path, content in sorted(resolve(ref)(build).items())
        ]
        for target in build.targets
    }


def _case_views(
    rule_id: str, stem: str, entries: Mapping[str, TargetEntry], cases: list[Case]
) -> tuple[tuple[CaseView, ...], int]:
    """The cases a rule page lists, and how many others every executed query also ran on."""
    matched = {case_id for entry in entries.values() for case_id in entry.cases.matched}
    chosen = [
        case
        for case in cases
        if case.folder == stem or case.id in matched or rule_id in case.expect
    ]
    views = tuple(
        CaseView(case.id, case.title, origin_line(case.origin), rule_id in case.expect)
        for case in chosen
    )
    return views, len(cases) - len(chosen)


def catalog_of(build: BuildResult, manifest: Manifest | None = None) -> Catalog:
    manifest = manifest or manifest_of(build)
    deployed = _deployed(build)
    titles = {target.name: target.title for target in build.targets}
    rules = []
    for result, entry in zip(build.rules, manifest.rules, strict=True):
        meta = RuleMetadata.of(result.rule)
        targets = []
        for name, target_entry in entry.targets.items():
            outcome = result.targets[name]
            query = None
            if target_entry.path is not None and outcome.query is not None:
                query = outcome.query.rstrip("\n") + "\n"  # as `render` writes the file
            deployments = ()
            if target_entry.status == Status.VERIFIED:
                deployments = tuple(
                    Deployment(path, form)
                    for path, form, content in deployed[name]
                    if meta.id.encode("utf-8") in content
                )
            targets.append(TargetView(name, titles[name], target_entry, query, deployments))
        cases, others = _case_views(meta.id, meta.stem, entry.targets, build.cases)
        rules.append(RuleView(meta, result.rule.text, tuple(targets), cases, others))
    environment = manifest.environment.name if manifest.environment else None
    return Catalog(manifest.version, environment, tuple(build.targets), tuple(rules))
