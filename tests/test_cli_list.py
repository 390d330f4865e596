from __future__ import annotations

import json

from click.testing import CliRunner

from converter.cli import main

from .conftest import REPO


def test_list_json_has_id_name_title_level_tags() -> None:
    result = CliRunner().invoke(main, ["list", "--format", "json", "--project", str(REPO)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) >= 7
    assert all(set(row) == {"id", "name", "title", "level", "tags"} for row in rows)
    certutil = next(row for row in rows if row["id"] == "17976649-cec8-47e5-9118-f95515f1123a")
    assert certutil["level"] == "medium"
    # the file stem dist/ names the artifacts by, and scan lists matches by
    assert certutil["name"] == "proc_creation_win_certutil_certificate_import"
    assert "attack.t1587.003" in certutil["tags"]


def test_list_table_prints_one_line_per_rule() -> None:
    result = CliRunner().invoke(main, ["list", "--project", str(REPO)])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(
        json.loads(
            CliRunner().invoke(main, ["list", "--format", "json", "--project", str(REPO)]).output
        )
    )
    assert any(line.startswith("17976649-cec8-47e5-9118-f95515f1123a  medium") for line in lines)
