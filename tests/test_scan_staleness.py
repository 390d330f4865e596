from __future__ import annotations

from dataclasses import replace

from click.testing import CliRunner

from converter.cli import main
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.publish.manifest import read_manifest
from converter.scan.staleness import stale_rules

from .conftest import FILES

CERTUTIL_RULE = "proc_creation_win_certutil_certificate_import"


def _edit(project: Project, stem: str) -> None:
    [path] = project.rules_dir.rglob(f"{stem}.yml")
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")


def test_the_built_dist_matches_the_rules(repo_project: Project) -> None:
    manifest = read_manifest(repo_project.dist_dir / "manifest.json")
    assert stale_rules(load_rules(repo_project), manifest) == []


def test_an_edited_rule_makes_scan_refuse_with_one_line(project_copy: Project) -> None:
    _edit(project_copy, CERTUTIL_RULE)
    log = str(FILES / "formats" / "nxlog_sysmon.jsonl")
    result = CliRunner().invoke(main, ["scan", "--project", str(project_copy.root), log])
    assert result.exit_code == 2
    assert result.stderr == (
        "certdetect: error: dist/manifest.json: dist/ is stale for 1 rule(s): "
        f"{CERTUTIL_RULE}; run `certdetect build`, or scan anyway with --allow-stale\n"
    )
    assert result.stdout == ""
    allowed = CliRunner().invoke(
        main, ["scan", "--allow-stale", "--project", str(project_copy.root), log]
    )
    assert allowed.exit_code == 0, allowed.output
    assert CERTUTIL_RULE in allowed.stdout


def test_a_rule_added_or_removed_since_the_build_is_stale(repo_project: Project) -> None:
    manifest = read_manifest(repo_project.dist_dir / "manifest.json")
    rules = load_rules(repo_project)
    assert stale_rules(rules[1:], manifest) == [f"{rules[0].id} (removed)"]
    unbuilt = [entry for entry in manifest.rules if entry.id != rules[0].id]
    assert stale_rules(rules, replace(manifest, rules=tuple(unbuilt))) == [rules[0].stem]
