"""What converting each rule gave, kept between builds (`converter.convert.conversion_cache`): a
build that takes it gives what a build without it gives, and anything that decides a conversion
makes it ask again."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import converter.verify.build as build_module
from converter.convert import conversion_cache
from converter.convert.conversion_cache import ConversionCache, conversion_fingerprint
from converter.core.errors import InputError
from converter.core.project import Project
from converter.execute.compile_cache import CompileCache
from converter.publish.artifacts import render
from converter.verify.build import BUILD_CACHE, run_build

from .conftest import REPO
from .verdict_support import probe_project


@pytest.fixture(autouse=True)
def enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversion_cache, "ENABLED", True)  # the conftest turns it off


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The rules converted (by pySigma) and field-checked from now on, by stem."""
    seen: list[str] = []
    convert, check = build_module.convert_for_target, build_module.require_known_fields

    def counting_convert(backends: Any, rule: Any) -> Any:
        seen.append(f"convert {rule.stem}")
        return convert(backends, rule)

    def counting_check(rule: Any, target: Any, pipeline: Any) -> None:
        seen.append(f"fields {rule.stem}")
        check(rule, target, pipeline)

    monkeypatch.setattr(build_module, "convert_for_target", counting_convert)
    monkeypatch.setattr(build_module, "require_known_fields", counting_check)
    return seen


def test_a_build_from_the_cache_gives_what_a_build_without_it_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project.at(REPO)
    without = render(run_build(project))
    cache = CompileCache.load(tmp_path)
    first = run_build(project, cache=cache)
    # in a file of the build's own: `certdetect scan` never loads it
    assert len(CompileCache.load(tmp_path, BUILD_CACHE).entries) >= 2 * len(first.rules)
    seen = _counted(monkeypatch)
    again = run_build(project, cache=CompileCache.load(tmp_path))
    assert seen == []  # nothing converted or field-checked again
    assert render(first) == render(again) == without
    statuses = {o.status for r in again.rules for o in r.targets.values()}
    assert {"verified", "unsupported"} <= {str(s) for s in statuses}  # both kinds were kept


def test_an_edited_rule_is_converted_again_and_the_others_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = probe_project(tmp_path / "project")
    cache = CompileCache.load(tmp_path / "cache")
    run_build(probe.project, cache=cache)
    second = probe_project(tmp_path / "other")  # a second rule, then the first one edited
    shutil.copy(next(second.project.rules_dir.rglob("*.yml")), probe.project.rules_dir / "b.yml")
    (path,) = [p for p in probe.project.rules_dir.rglob("*.yml") if p.name != "b.yml"]
    path.write_text(path.read_text().replace("level: medium", "level: high"))
    seen = _counted(monkeypatch)
    build = run_build(probe.project, cache=cache)
    assert build.ok, build.failures
    # the edited rule and the new file; the copy's text is the first rule's, at another path
    assert sorted(set(seen)) == sorted(
        {f"{kind} {stem}" for kind in ("convert", "fields") for stem in (probe.stem, "b")}
    )


def test_a_changed_pipeline_file_or_package_makes_every_rule_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = probe_project(tmp_path / "project")
    before = conversion_fingerprint(probe.project.root)
    pipeline = sorted((probe.project.root / "pipelines").glob("*.yml"))[0]
    pipeline.write_text(pipeline.read_text() + "\n# edited\n")
    assert conversion_fingerprint(probe.project.root) != before
    edited = conversion_fingerprint(probe.project.root)
    source = conversion_cache.PACKAGE / "core" / "targets.py"
    monkeypatch.setattr(conversion_cache, "PACKAGE", tmp_path / "converter")
    shutil.copytree(source.parents[1], tmp_path / "converter")
    assert conversion_fingerprint(probe.project.root) == edited  # the same code elsewhere
    copied = tmp_path / "converter" / "core" / "targets.py"
    copied.write_text(copied.read_text() + "\n# edited\n")
    assert conversion_fingerprint(probe.project.root) != edited
    monkeypatch.setattr(conversion_cache, "DISTRIBUTIONS", ("pysigma-backend-kusto",))
    assert conversion_fingerprint(probe.project.root) != edited


def test_a_field_check_failure_is_never_kept(tmp_path: Path) -> None:
    probe = probe_project(tmp_path / "project")
    (path,) = probe.project.rules_dir.rglob("*.yml")
    path.write_text(path.read_text().replace("CommandLine|", "CommandLinez|", 1))
    for _ in range(2):
        with pytest.raises(InputError, match="CommandLinez"):
            run_build(probe.project, cache=CompileCache.load(tmp_path / "cache"))
    kept = CompileCache.load(tmp_path / "cache", BUILD_CACHE)
    assert not any(value is True for value in kept.entries.values())


def test_no_cache_without_the_compiled_query_cache_or_when_turned_off(tmp_path: Path) -> None:
    assert ConversionCache.for_build(None, REPO) is None
    assert ConversionCache.for_build(CompileCache(None), REPO) is None
    assert ConversionCache.for_build(CompileCache.load(tmp_path), REPO) is not None
    conversion_cache.ENABLED = False
    try:
        assert ConversionCache.for_build(CompileCache.load(tmp_path), REPO) is None
    finally:
        conversion_cache.ENABLED = True
