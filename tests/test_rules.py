from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sigma.collection import SigmaCollection

from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.rules import detection_items, load_rule, load_rules, rule_collection
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


# --- rule_collection: pySigma's from_yaml without reading the YAML again ----------------------


def test_a_rule_collection_equals_pysigmas_from_yaml_for_every_project_rule(
    repo_project: Project,
) -> None:
    for rule in load_rules(repo_project):
        ours, pysigma = rule_collection(rule.text), SigmaCollection.from_yaml(rule.text)
        assert [r.to_dict() for r in ours.rules] == [r.to_dict() for r in pysigma.rules]
        assert ours.rules[0].detection.detections == pysigma.rules[0].detection.detections


def test_each_rule_collection_is_a_new_one_that_a_change_to_another_does_not_reach(
    repo_project: Project,
) -> None:
    text = load_rules(repo_project)[0].text
    first, second = rule_collection(text), rule_collection(text)
    assert first is not second and first.rules[0] is not second.rules[0]
    detection_items(first.rules[0])[
        0
    ].field = "Changed"  # what a field-mapping pipeline does to the rule in place
    first.rules[0].custom_attributes["changed"] = True
    first.rules[0].references.append("changed")  # pySigma keeps the document's own list here
    third = rule_collection(text)
    for later in (second, third):
        assert later.rules[0].to_dict() == SigmaCollection.from_yaml(text).rules[0].to_dict()


@pytest.mark.parametrize(
    "text",
    [
        # an alias and a repeated key: load_yaml refuses them, pySigma reads them as before
        "title: &t T\ndescription: *t\nlogsource: {product: windows}\n"
        "detection: {s: {a: 1}, condition: s}\n",
        "title: T\ntitle: U\nlogsource:\n  product: windows\n"
        "detection:\n  s:\n    a: 1\n  condition: s\n",
    ],
)
def test_a_text_load_yaml_refuses_is_read_by_pysigma_as_before(text: str) -> None:
    ours, pysigma = rule_collection(text), SigmaCollection.from_yaml(text)
    assert [r.to_dict() for r in ours.rules] == [r.to_dict() for r in pysigma.rules]
