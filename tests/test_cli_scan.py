from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from converter.cli import main
from converter.project import Project

from .conftest import REPO

CERTUTIL = "17976649-cec8-47e5-9118-f95515f1123a"


def _events(project: Project, *case_ids: str) -> list[dict]:
    return [
        json.loads((project.cases_dir / f"{case_id}.json").read_text())["event"]
        for case_id in case_ids
    ]


def test_scan_jsonl_reports_every_evaluator(repo_project: Project, tmp_path: Path) -> None:
    events = _events(
        repo_project,
        "proc_creation_win_certutil_certificate_import/addstore_root",
        "proc_creation_win_certutil_certificate_import/urlcache_download",
    )
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in events) + "\n")
    result = CliRunner().invoke(
        main, ["scan", "--format", "jsonl", "--project", str(REPO), str(path)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [
        {
            "index": 0,
            "source": f"{path}:1",
            "matches": {
                "sigma": [CERTUTIL],
                "eql": [CERTUTIL],
                "spl": [CERTUTIL],
                "kql": [CERTUTIL],
            },
        },
        {
            "index": 1,
            "source": f"{path}:2",
            "matches": {"sigma": [], "eql": [], "spl": [], "kql": []},
        },
    ]


def test_scan_counts_across_files_and_skips_bad_records(
    repo_project: Project, tmp_path: Path
) -> None:
    first = tmp_path / "a.json"
    first.write_text(
        json.dumps(
            _events(repo_project, "proc_creation_win_certutil_certificate_import/addstore_root")
        )
    )
    second = tmp_path / "b.jsonl"
    second.write_text('{"not": "an event"}\n{broken\n')
    result = CliRunner().invoke(
        main, ["scan", "--format", "jsonl", "--project", str(REPO), str(first), str(second)]
    )
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(row["index"], row["source"]) for row in out] == [(0, f"{first}:[0]")]
    assert f'skipped {second}:1: expected an object with an "Event" key' in result.stderr
    assert f"skipped {second}:2: invalid JSON" in result.stderr


def test_scan_table_summarises_per_evaluator(repo_project: Project) -> None:
    cases = sorted(str(p) for p in repo_project.cases_dir.rglob("*.json"))
    result = CliRunner().invoke(main, ["scan", "--project", str(REPO), *cases])
    assert result.exit_code == 0, result.output
    expected = sum(len(json.loads(Path(path).read_text())["expect"]) for path in cases)
    for name in ("sigma", "eql", "spl", "kql"):
        assert f"{name:<6} {expected} match(es)" in result.output
    assert f"events read: {len(cases)}, skipped: 0" in result.output
