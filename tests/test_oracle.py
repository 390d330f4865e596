from __future__ import annotations

import json

from converter.core.project import Project
from converter.verify.build import run_build
from converter.verify.oracle import ORACLE_FILE, load_oracle


def _edit_case(project: Project, case_id: str, **changes: object) -> None:
    path = project.cases_dir / f"{case_id}.json"
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def test_seed_query_is_kept_verbatim(repo_project: Project) -> None:
    oracle = load_oracle(repo_project)
    assert oracle is not None
    assert oracle.query.startswith('any where\n(\nevent.category == "process"')
    assert '"* -selfsign*")' in oracle.query
    assert oracle.query.rstrip().endswith('"*\\\\Windows\\\\Temp\\\\*")\n)')
    assert len(oracle.rule_ids) == 9


def test_seed_agrees_with_the_rules_on_every_case(project_copy: Project) -> None:
    result = run_build(project_copy)
    assert result.errors == []
    assert result.ok


def test_a_case_the_seed_misses_must_be_declared(project_copy: Project) -> None:
    _edit_case(
        project_copy,
        "proc_creation_win_certutil_certificate_import/importpfx_slash_form",
        beyond_seed=None,
    )
    assert run_build(project_copy).errors == [
        "seed oracle: case proc_creation_win_certutil_certificate_import/importpfx_slash_form: "
        "seed does not match, the seed rules match"
    ]


def test_a_beyond_seed_case_the_seed_matches_fails(project_copy: Project) -> None:
    _edit_case(
        project_copy,
        "proc_creation_win_certutil_certificate_import/addstore_root",
        beyond_seed="claimed evasion",
    )
    assert run_build(project_copy).errors == [
        "seed oracle: case proc_creation_win_certutil_certificate_import/addstore_root is "
        "marked beyond_seed but the seed matches it"
    ]


def test_seed_catches_a_rule_that_drops_a_seed_branch(project_copy: Project) -> None:
    # Dropping powershell.exe from the rule: the Sigma reference and every target agree with
    # the edited cases, but the seed still matches the PowerShell events.
    rule = next(project_copy.rules_dir.rglob("proc_creation_win_powershell_certificate_api.yml"))
    text = rule.read_text().replace("'New-SelfSignedCertificate'", "'New-NeverUsedCmdlet'")
    rule.write_text(text)
    for case in (
        "new_selfsignedcertificate_export_pfx",
        "art_t1553_004_5_prereq",
        "lowercase_cmdlet",
    ):
        _edit_case(project_copy, f"proc_creation_win_powershell_certificate_api/{case}", expect=[])
    errors = run_build(project_copy).errors
    assert len(errors) == 3
    assert all("seed matches, the seed rules do not match" in error for error in errors)


def test_oracle_file_is_optional(project_copy: Project) -> None:
    (project_copy.root / ORACLE_FILE).unlink()
    assert load_oracle(project_copy) is None
    assert run_build(project_copy).ok
