from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.rules import load_rule, load_rules
from converter.core.textfiles import MAX_FILE_BYTES

from .conftest import FILES

SEED_TAGS = {"attack.resource-development", "attack.t1587.003"}


def test_project_rules_load_with_metadata(repo_project: Project) -> None:
    rules = load_rules(repo_project)
    assert len(rules) >= 7
    for rule in rules:
        assert SEED_TAGS <= set(rule.tags), rule.path
        assert rule.level in {"low", "medium", "high", "critical"}
        assert rule.rule.description.startswith("Detects"), rule.path
        assert rule.rule.falsepositives, rule.path
        assert len(rule.sha256) == 64


def test_rule_filenames_carry_their_logsource_prefix(repo_project: Project) -> None:
    prefixes = {
        ("windows", "process_creation"): "proc_creation_win_",
        ("linux", "process_creation"): "proc_creation_lnx_",
        ("windows", "file_event"): "file_event_win_",
        ("windows", "registry_set"): "registry_set_",
        ("windows", "ps_script"): "posh_ps_",
        ("linux", "auditd"): "lnx_auditd_",
        ("zeek", "x509"): "zeek_x509_",
        ("zeek", "ssl"): "zeek_ssl_",
    }
    for rule in load_rules(repo_project):
        logsource = rule.rule.logsource
        prefix = prefixes[(logsource.product, logsource.category or logsource.service)]
        assert rule.stem.startswith(prefix), rule.path


def test_certutil_rule_is_tagged_as_root_certificate_install(repo_project: Project) -> None:
    rule = next(r for r in load_rules(repo_project) if "certutil" in r.stem)
    assert "attack.t1553.004" in rule.tags


@pytest.mark.parametrize(
    ("name", "message", "line"),
    [
        ("malformed_yaml.yml", "invalid YAML", 9),
        ("unknown_modifier.yml", "contians", 10),
        ("alias_bomb.yml", "YAML aliases", 8),
        ("not_utf8.yml", "not valid UTF-8", 1),
    ],
)
def test_bad_rule_files_give_one_line_errors(name: str, message: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        load_rule(FILES / "rules" / name, f"sigma/{name}")
    error = caught.value
    assert message in str(error)
    assert error.line == line
    assert str(error).startswith(f"sigma/{name}:{line}: ")
    assert "\n" not in str(error)


def test_oversized_rule_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    path.write_text("title: x\n" + "#" * MAX_FILE_BYTES)
    with pytest.raises(InputError, match="over the"):
        load_rule(path, "sigma/huge.yml")


def test_duplicate_ids_name_both_files(project_copy: Project) -> None:
    source = next(project_copy.rules_dir.rglob("proc_creation_win_certutil_certificate_import.yml"))
    shutil.copy(source, source.with_name("proc_creation_win_certutil_copy.yml"))
    with pytest.raises(InputError) as caught:
        load_rules(project_copy)
    text = str(caught.value)
    assert "duplicate rule id 17976649-cec8-47e5-9118-f95515f1123a" in text
    assert "proc_creation_win_certutil_c" in text
    assert caught.value.line == 2


def test_missing_rules_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no rules folder"):
        Project.at(tmp_path)
