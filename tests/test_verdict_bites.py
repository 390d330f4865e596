"""The verdict's tests bite: each wrong change below, applied by monkeypatching, makes a named
test fail.

Every mutation here once passed the whole suite and `certdetect build` (issue 19): the four in
the logic that turns evaluator results into the project's promise (false positives, engine
rejections, the release gate, the atomic replace of dist/) and the ones that made tests pass
vacuously (a target refusing everything, a refused overlay, a Defender model without rows, the
KQL `has_all` correction undone). A test here calls the guarding test with the mutation in place
and expects it to fail, like the `test_table_bites_*` tests of tests/test_engines_eql.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import pytest
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

import converter.publish.bundle as bundle_module
import converter.verify.build as build_module
import converter.verify.compare as compare_module
from converter.convert.backends.kql import CertdetectKustoBackend
from converter.core.cases import Case
from converter.core.project import Project
from converter.core.status import Status
from converter.environment import Environment, load_environment
from converter.execute.runtimes import TargetRuntime
from converter.verify.build import Outcome, run_build
from converter.verify.compare import Mismatch

from . import (
    test_agreement,
    test_artifacts,
    test_build,
    test_bundle,
    test_compare,
    test_conversion,
    test_environment,
    test_filter_only,
    test_ingest_defender,
)
from .conftest import REPO
from .verdict_support import probe_project


def fails(test: Callable[..., None], *args: Any) -> str:
    """Run a guarding test with a mutation in place; the message it fails with."""
    with pytest.raises((AssertionError, pytest.fail.Exception)) as caught:
        test(*args)
    return str(caught.value)


# --- the four mutations in the verdict -----------------------------------------------------------


def only_missed_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """`compare` reporting `expected and not got` instead of `expected != got`."""
    original = compare_module.compare

    def compare(
        rule_id: str,
        rule_name: str,
        evaluator: str,
        cases: Sequence[Case],
        matched: Collection[int],
    ) -> list[Mismatch]:
        return [m for m in original(rule_id, rule_name, evaluator, cases, matched) if m.expected]

    for module in (compare_module, build_module, test_compare):
        monkeypatch.setattr(module, "compare", compare)


def test_false_positives_bite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    only_missed_matches(monkeypatch)
    # the mutation is live: the build itself now passes with a false positive in the cases
    probe = probe_project(tmp_path / "live")
    lookalike = probe.case(probe.lookalike)
    lookalike["event"] = probe.case(probe.match)["event"]
    probe.write_case(probe.lookalike, lookalike)
    assert run_build(probe.project).ok
    message = fails(
        test_build.test_a_false_positive_fails_the_build_and_names_the_case, tmp_path / "t"
    )
    assert "lookalike_example: expected no match, got match" in message
    message = fails(test_compare.test_a_case_declared_as_not_matching_that_matches_is_a_mismatch)
    assert "expected=False, got=True" in message


def rejections_become_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    """`evaluate_artifact` returning UNSUPPORTED for a query its engine rejects."""
    original = build_module.evaluate_artifact

    def evaluate_artifact(
        rule: Any,
        query: str,
        runtime: TargetRuntime | None,
        cases: Sequence[Case],
        documents: Sequence[object | None],
    ) -> Outcome:
        outcome = original(rule, query, runtime, cases, documents)
        if outcome.status == Status.FAILED and "query rejected" in (outcome.reason or ""):
            return Outcome(status=Status.UNSUPPORTED, reason=outcome.reason)
        return outcome

    monkeypatch.setattr(build_module, "evaluate_artifact", evaluate_artifact)


def test_engine_rejections_bite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rejections_become_unsupported(monkeypatch)
    message = fails(
        test_build.test_a_query_the_engine_rejects_fails_the_build_and_is_never_unsupported,
        tmp_path,
        monkeypatch,
    )
    assert "unsupported" in message


class ClaimsOk:
    """A build that says it is ok whatever failed: what `make_bundle` sees without its gate."""

    ok = True

    def __init__(self, build: build_module.BuildResult) -> None:
        self._build = build

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build, name)


def bundle_ignores_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make_bundle` not checking `build.ok`."""
    original = bundle_module.run_build
    monkeypatch.setattr(bundle_module, "run_build", lambda project: ClaimsOk(original(project)))


@pytest.mark.parametrize("way", sorted(test_bundle.BUILD_FAILURES))
def test_the_release_gate_bites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str) -> None:
    bundle_ignores_the_build(monkeypatch)
    message = fails(
        test_bundle.test_no_bundle_is_made_from_a_build_that_is_not_ok, tmp_path, monkeypatch, way
    )
    if way in ("oracle", "reference"):
        # dist/ holds only the targets' outcomes, which these leave as they were: it ships
        assert "exit_code" in message and (tmp_path / "out").is_dir()
    else:  # the failing outcomes change dist/: refused, but as stale, not as a failed build
        assert message.startswith("stale dist/")


def dist_removed_instead_of_renamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`write_dist` removing dist/ where it renames it to `.dist.old-*`."""
    rename, remove = os.rename, shutil.rmtree

    def rename_or_remove(source: Any, destination: Any) -> None:
        if Path(destination).name.startswith(".dist.old-"):
            remove(source)
        else:
            rename(source, destination)

    monkeypatch.setattr(os, "rename", rename_or_remove)


def test_atomic_replace_bites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist_removed_instead_of_renamed(monkeypatch)
    message = fails(
        test_artifacts.test_dist_holds_the_old_or_the_new_tree_whatever_step_fails,
        tmp_path,
        monkeypatch,
        False,
    )
    assert "None in" in message  # no dist/ at all once the final rename failed


# --- the mutations the weak tests let through ----------------------------------------------------


def kql_refuses_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: CertdetectKustoBackend, rule: Any, *args: Any, **kwargs: Any) -> list[Any]:
        raise SigmaFeatureNotSupportedByBackendError("KQL refuses every rule (an injected defect)")

    monkeypatch.setattr(CertdetectKustoBackend, "convert_rule", refuse)


def test_a_target_refusing_everything_bites_the_field_name_property(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    kql_refuses_every_rule(monkeypatch)
    message = fails(
        test_filter_only.test_any_loadable_field_name_yields_only_a_filter, tmp_path_factory
    )
    assert "'kql'" not in message.split("Counter(")[-1]  # KQL kept no filter at all


def test_a_target_refusing_everything_bites_the_agreement_property(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kql_refuses_every_rule(monkeypatch)
    message = fails(
        test_agreement.test_target_agrees_with_the_sigma_reference,
        test_agreement.make_harness(),
        "kql",
        "process_creation",
    )
    assert "'converted'" not in message and "'unsupported'" in message


def test_a_refused_overlay_bites_the_sigma_cli_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = load_environment(test_environment.ACME, "acme.yml")
    acme_build = run_build(Project.at(REPO), environment=acme)
    original = Environment.pipeline_dict

    def refusing(self: Environment, target: str) -> dict[str, Any]:
        layer = original(self, target)
        failure = {"id": "refuse", "type": "rule_failure", "message": "refused (injected)"}
        return {**layer, "transformations": [*layer["transformations"], failure]}

    monkeypatch.setattr(Environment, "pipeline_dict", refusing)
    for target in ("eql", "spl", "kql"):
        message = fails(
            test_environment.test_sigma_cli_reproduces_the_overlay,
            acme,
            acme_build,
            tmp_path,
            target,
        )
        assert "and set() >= " in message  # the overlay refused every rule: nothing compared


def test_a_defender_model_without_rows_bites_the_schema_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(test_ingest_defender, "to_defender", lambda event: None)
    message = fails(
        test_ingest_defender.test_rows_stay_inside_the_documented_schema,
        "sysmon_1_certutil_addstore.json",
    )
    assert "None is not None" in message


def test_undoing_the_kql_has_all_correction_bites(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CertdetectKustoBackend, "convert_and_as_in", True)
    message = fails(
        test_conversion.test_kql_compares_all_linked_values_each_never_as_has_all_terms,
        Project.at(REPO),
    )
    assert "has_all" in message
