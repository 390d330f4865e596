"""`converter.checks`: the offline checks behind `certdetect check` (issue 7, item 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sigma.data.mitre_attack as mitre_attack
import sigma.data.mitre_d3fend as mitre_d3fend
import sigma.validators.sigmahq.data.base as sigmahq_data
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.exceptions import SigmaRuleLocation
from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator

from converter.checks import run_checks
from converter.checks.validators import (
    NETWORK_VALIDATORS,
    all_validators,
    load_validator,
    offline_validators,
    run_validators,
)
from converter.core.errors import InputError
from converter.core.logsources import LOG_SOURCES, WindowsEvents
from converter.core.project import Project
from converter.core.rules import RuleFile, load_rule, load_rules
from converter.core.targets import TARGETS, target_by_name
from converter.verify.fields import document_fields, unknown_fields
from converter.verify.specimens import SPECIMENS

from .conftest import FILES, REPO

CHECK_FILES = FILES / "check"
PROCESS = "sigma/windows/process_creation"


def lines(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(finding) for finding in report.findings]


@pytest.fixture
def project(project_copy: Project) -> Project:
    shutil.copy(REPO / "validation.yml", project_copy.root / "validation.yml")
    return project_copy


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Every download pySigma's validators can start fails, and is recorded."""
    attempts: list[str] = []

    def blocked(url: object, *args: object, **kwargs: object) -> None:
        attempts.append(str(url))
        raise OSError("network blocked by the test")

    for module in (sigmahq_data, mitre_attack, mitre_d3fend):
        monkeypatch.setattr(module, "urlopen", blocked)
    monkeypatch.setattr(sigmahq_data, "_DEFAULT_CACHE_DIR", tmp_path / "sigmahq-cache")
    return attempts


def test_the_project_passes_every_check(no_network: list[str]) -> None:
    report = run_checks(Project.at(REPO))
    assert lines(report) == []
    assert report.exit_code == 0
    assert report.rules == len(load_rules(Project.at(REPO)))
    assert no_network == []


def test_exactly_the_listed_validators_need_the_network(no_network: list[str]) -> None:
    rules = []
    for path in sorted((REPO / "sigma").rglob("*.yml")):
        rule = SigmaRule.from_yaml(path.read_text(encoding="utf-8"))
        rule.source = SigmaRuleLocation(path)  # the filename validators need it
        rules.append(rule)
    needs_network = set()
    for name, validator in sorted(all_validators().items()):
        before = len(no_network)
        try:
            SigmaValidator([validator]).validate_rules(iter(rules))
        except Exception:  # the blocked download surfaces as pySigma's own error
            pass
        if len(no_network) > before:
            needs_network.add(name)
    assert needs_network == set(NETWORK_VALIDATORS)
    assert (len(all_validators()), len(offline_validators())) == (80, 70)


def test_schema_problems_pysigma_accepts(project: Project) -> None:
    target = project.root / PROCESS / "proc_creation_win_schema_problems.yml"
    shutil.copy(CHECK_FILES / "schema_problems.yml", target)
    report = run_checks(project, [target])
    shown = f"{PROCESS}/proc_creation_win_schema_problems.yml"
    schema = [str(f) for f in report.findings if f.check == "schema"]
    assert schema == [
        f"{shown}:7: references lists 'https://www.openssl.org/docs/manmaster/man1/openssl-req.html'"
        " twice [schema]",
        f"{shown}:13: tags lists 'attack.t1587.003' twice [schema]",
        f"{shown}:14: tag 'attack.T1587' must be lowercase namespace.name (e.g. attack.t1587.003)"
        " [schema]",
        f"{shown}:25: fields lists 'CommandLine' twice [schema]",
        f"{shown}:27: a false positive must be a string of at least 2 characters [schema]",
    ]
    validators = {(f.line, f.check) for f in report.findings if f.check != "schema"}
    assert validators == {
        (2, "cases"),
        (6, "duplicate_references"),
        (12, "duplicate_tag"),
        (14, "tag_format"),
        (23, "sigmahq_fields_existence"),
        (27, "sigmahq_falsepositives_capital"),
    }
    assert report.exit_code == 1


def test_project_conventions(project: Project) -> None:
    target = project.root / "sigma/windows/file_event/proc_creation_win_Misplaced.yml"
    shutil.copy(CHECK_FILES / "convention_problems.yml", target)
    report = run_checks(project, [target])
    shown = "sigma/windows/file_event/proc_creation_win_Misplaced.yml"
    assert [str(f) for f in report.findings if f.check == "convention"] == [
        f"{shown}:1: file name must be lowercase letters, digits and _ with the .yml extension"
        " [convention]",
        f"{shown}:1: rule belongs in sigma/windows/process_creation/ [convention]",
        f'{shown}:4: description must start with "Detects" and say why the level fits [convention]',
        f"{shown}:7: add tag attack.resource-development: every rule here detects T1587.003"
        " [convention]",
        f"{shown}:7: add tag attack.t1587.003: every rule here detects T1587.003 [convention]",
        f"{shown}:17: name the legitimate activity that also matches under falsepositives"
        " [convention]",
        f"{shown}:19: level must be one of low, medium, high, critical [convention]",
    ]
    title_case = [str(f) for f in report.findings if f.check == "sigmahq_title_case"]
    assert title_case == [
        f"{shown}:1: Rule has a title with invalid casing (word=execution) [sigmahq_title_case]",
        f"{shown}:1: Rule has a title with invalid casing (word=keytool) [sigmahq_title_case]",
    ]


def test_wrong_filename_prefix_and_unsupported_log_source(project: Project) -> None:
    source = project.root / PROCESS / "proc_creation_win_certutil_certificate_import.yml"
    renamed = source.with_name("file_event_win_certutil_certificate_import.yml")
    source.rename(renamed)
    network = project.root / PROCESS / "proc_tampering_win_example.yml"
    network.write_text(
        renamed.read_text()
        .replace("17976649-cec8-47e5-9118-f95515f1123a", "5b9ab1c4-3c0a-4a43-9b0f-3f3c3e7b4b11")
        .replace("category: process_creation", "category: process_tampering")
    )
    report = run_checks(project, [renamed, network])
    conventions = [str(f) for f in report.findings if f.check == "convention"]
    assert conventions == [
        f"{PROCESS}/file_event_win_certutil_certificate_import.yml:1: file name must start with"
        " 'proc_creation_win_' for this log source [convention]",
        f"{PROCESS}/proc_tampering_win_example.yml:30: log source windows/process_tampering has"
        " no recorded-event model, so its cases cannot verify it; use one of: "
        "windows/process_creation, windows/image_load, windows/process_access,"
        " windows/file_event, windows/pipe_created, windows/network_connection,"
        " windows/dns_query, windows/create_remote_thread, windows/driver_load,"
        " windows/file_delete, windows/raw_access_thread, windows/process_termination,"
        " windows/create_stream_hash, windows/file_change,"
        " windows/registry_add, windows/registry_delete,"
        " windows/registry_set, windows/registry_event, windows/ps_script,"
        " linux/process_creation, linux/auditd (service), zeek/x509 (service),"
        " zeek/ssl (service), windows/security (service), windows/taskscheduler (service),"
        " windows/wmi (service), windows/sysmon (service), windows/windefend (service)"
        " [convention]",
    ]


def test_every_rule_needs_a_matching_case_and_a_look_alike(project: Project) -> None:
    folder = project.cases_dir / "proc_creation_win_certutil_certificate_import"
    look_alikes = (
        "exportpfx_is_not_import",
        "urlcache_download",
        "security_4688_verify_is_not_import",
        "exportpfx_empty_password",
        "dump_quoted_path",
        "benign_nss_certutil_firefox_profile",
    )
    for name in look_alikes:
        (folder / f"{name}.json").unlink()  # the look-alikes
    stray = project.cases_dir / "no_such_rule"
    stray.mkdir()
    shutil.copy(folder / "addstore_root.json", stray / "addstore_root.json")
    report = run_checks(project)
    rule = f"{PROCESS}/proc_creation_win_certutil_certificate_import.yml"
    assert lines(report) == [
        "cases/no_such_rule/addstore_root.json:1: folder 'no_such_rule' names no rule in sigma/;"
        " put the case in cases/<rule file name without .yml>/ [cases]",
        f"{rule}:2: no look-alike case; add one under"
        " cases/proc_creation_win_certutil_certificate_import/ that must not match"
        ' ("expect" without this rule\'s id) [cases]',
    ]
    for case in folder.glob("*.json"):
        case.unlink()
    for case in stray.glob("*.json"):
        case.unlink()
    for case in project.cases_dir.rglob("*.json"):  # other rules' cases that expect it too
        if "17976649-cec8-47e5-9118-f95515f1123a" in case.read_text():
            case.unlink()
    report = run_checks(project, [project.root / rule])
    assert [f.message.split(";")[0] for f in report.findings] == [
        "no case expects this rule",
        "no look-alike case",
    ]


def test_a_case_naming_an_unknown_rule(project: Project) -> None:
    case = (
        project.cases_dir / "proc_creation_win_certutil_certificate_import" / "addstore_root.json"
    )
    data = json.loads(case.read_text())
    data["expect"].append("00000000-0000-4000-8000-000000000000")
    case.write_text(json.dumps(data, indent=2))
    report = run_checks(project, [case])
    assert lines(report) == [
        "cases/proc_creation_win_certutil_certificate_import/addstore_root.json:6: expects unknown"
        " rule id 00000000-0000-4000-8000-000000000000; use the id of a rule in sigma/ [cases]"
    ]
    assert report.exit_code == 1


def test_unreadable_files_are_errors_and_the_rest_is_still_checked(project: Project) -> None:
    shutil.copy(FILES / "rules/alias_bomb.yml", project.root / PROCESS / "proc_creation_win_a.yml")
    bad_case = project.cases_dir / "proc_creation_win_certutil_certificate_import" / "bad.json"
    shutil.copy(FILES / "bad_input/invalid_json.json", bad_case)
    source = project.root / PROCESS / "proc_creation_win_certutil_certificate_import.yml"
    shutil.copy(source, project.root / PROCESS / "proc_creation_win_certutil_copy.yml")
    report = run_checks(project)
    assert lines(report) == [
        "cases/proc_creation_win_certutil_certificate_import/bad.json:3: invalid JSON: Expecting"
        " ',' delimiter [input]",
        f"{PROCESS}/proc_creation_win_a.yml:8: YAML aliases (*name) are not allowed in rules;"
        " write the values out [input]",
        f"{PROCESS}/proc_creation_win_certutil_copy.yml:2: duplicate rule id"
        f" 17976649-cec8-47e5-9118-f95515f1123a (also in {PROCESS}/"
        "proc_creation_win_certutil_certificate_import.yml); give it a new UUID [convention]",
    ]
    assert [f.error for f in report.findings] == [True, True, False]
    assert report.exit_code == 2


def test_no_rules_at_all_is_an_input_error(project: Project) -> None:
    for path in project.rules_dir.rglob("*.yml"):
        path.unlink()
    with pytest.raises(InputError, match="no Sigma rules"):
        run_checks(project)


# --- unknown fields ---------------------------------------------------------------------------


def rule_file(path: Path, shown: str) -> RuleFile:
    return load_rule(path, shown)


def test_project_rules_name_only_fields_every_target_has() -> None:
    for rule in load_rules(Project.at(REPO)):
        for target in TARGETS:
            assert unknown_fields(rule, target, REPO) == [], (rule.path, target.name)


def test_a_misspelled_field_is_unknown_to_every_target() -> None:
    rule = rule_file(FILES / "bad_input/unknown_field.yml", "sigma/unknown_field.yml")
    found = {t.name: unknown_fields(rule, t, REPO) for t in TARGETS}
    assert found == {
        "eql": ["winlog.event_data.CommandLines"],
        "spl": ["CommandLines"],
        "kql": ["CommandLines"],
    }


def test_fields_a_linux_document_lacks() -> None:
    rule = rule_file(CHECK_FILES / "linux_fields.yml", "sigma/linux_fields.yml")
    found = {t.name: unknown_fields(rule, t, REPO) for t in TARGETS}
    # Elastic's sysmon_linux documents have no PE metadata and no user.name (no DOMAIN\ part);
    # Splunk extracts every Sysmon field; Defender's process table has both columns
    assert found == {"eql": ["OriginalFileName", "user.name"], "spl": [], "kql": []}


def test_unknown_fields_are_reported_with_their_line(project: Project) -> None:
    target = project.root / PROCESS / "proc_creation_win_keytool_misspelled.yml"
    shutil.copy(FILES / "bad_input/unknown_field.yml", target)
    report = run_checks(project, [target])
    fields = [str(f) for f in report.findings if f.check == "fields"]
    shown = f"{PROCESS}/proc_creation_win_keytool_misspelled.yml"
    assert fields == [
        f"{shown}:18: eql: field(s) 'winlog.event_data.CommandLines' after the Elastic EQL"
        " pipelines are not in its documents; use a field of the log source, or map it in"
        " pipelines/ [fields]",
        f"{shown}:18: kql: field(s) 'CommandLines' after the Microsoft Defender XDR KQL pipelines"
        " are not in its documents; use a field of the log source, or map it in pipelines/"
        " [fields]",
        f"{shown}:18: spl: field(s) 'CommandLines' after the Splunk SPL pipelines are not in its"
        " documents; use a field of the log source, or map it in pipelines/ [fields]",
    ]


def test_every_log_source_has_specimens_for_each_of_its_events() -> None:
    for log_source in LOG_SOURCES:
        if log_source.category is None:
            continue
        key = (log_source.product, log_source.category)
        for carrier in log_source.carriers:
            assert isinstance(carrier, WindowsEvents)
            for channel, event_id in carrier.keys:
                assert (channel, event_id) in SPECIMENS, (key, channel, event_id)
        for target in ("eql", "spl"):
            assert document_fields(target, *key), (target, key)


def test_document_fields_come_from_the_ingest_models() -> None:
    eql = document_fields("eql", "windows", "file_event")
    spl = document_fields("spl", "windows", "file_event")
    assert {"file.path", "file.name", "file.extension", "process.executable"} <= eql
    assert "TargetFilename" not in eql  # renamed by the integration's pipeline
    assert {"TargetFilename", "Image", "file_path", "source", "sourcetype", "_raw"} <= spl
    assert document_fields("eql", "windows", "process_tampering") is None
    assert target_by_name("kql").name == "kql"


# --- validation configuration -------------------------------------------------------------------


def test_exclusions_excuse_one_rule_from_one_validator(project: Project) -> None:
    rule = project.root / PROCESS / "proc_creation_win_certutil_certificate_import.yml"
    rule.write_text(
        rule.read_text().replace(
            "references:\n", "references:\n    - https://attack.mitre.org/techniques/T1553/004/\n"
        )
    )
    report = run_checks(project)
    assert [(f.check, f.line) for f in report.findings] == [("sigmahq_mitre_link", 20)]
    (project.root / "validation.yml").write_text(
        "validators:\n    - all\nexclusions:\n"
        "    17976649-cec8-47e5-9118-f95515f1123a: sigmahq_mitre_link\n"
    )
    assert run_checks(project).findings == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "validation_unknown.yml",
            "validation.yml:4: unknown validator 'sigmahq_no_such_validator'",
        ),
        (
            "validation_network.yml",
            "validation.yml:3: 'attacktag': list validators to remove as -name; all offline ones"
            " run",
        ),
    ],
)
def test_a_bad_validation_config_is_an_input_error(
    project: Project, config: str, message: str
) -> None:
    shutil.copy(CHECK_FILES / config, project.root / "validation.yml")
    with pytest.raises(InputError) as caught:
        load_validator(project)
    assert str(caught.value) == message


def test_removing_a_validator_for_every_rule(project: Project) -> None:
    (project.root / "validation.yml").write_text(
        "validators:\n    - all\n    - -sigmahq_mitre_link\n"
    )
    validator = load_validator(project)
    assert run_validators(validator, load_rules(project)) == []


# --- robustness --------------------------------------------------------------------------------

FUZZ_FIELDS = ["CommandLine", "Image", "OriginalFileName", "TargetFilename", "User", "FooBar"]
FUZZ_MODIFIERS = ["", "|contains", "|endswith", "|re", "|all", "|windash", "|cidr", "|gt",
                  "|exists", "|base64offset|contains", "|cased", "|fieldref", "|re|i"]  # fmt: skip
scalars = st.one_of(st.text(max_size=6), st.integers(-3, 3), st.booleans(), st.none())
selections = st.one_of(
    st.dictionaries(
        st.builds(
            lambda f, m: f + m, st.sampled_from(FUZZ_FIELDS), st.sampled_from(FUZZ_MODIFIERS)
        ),
        st.one_of(scalars, st.lists(scalars, max_size=3)),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.text(max_size=6), min_size=1, max_size=3),
)


def test_a_pipeline_crash_on_an_odd_value_is_no_check_crash(project: Project) -> None:
    shutil.copy(
        FILES / "bad_input/user_number.yml", project.root / PROCESS / "proc_creation_win_u.yml"
    )
    report = run_checks(project)
    assert {f.check for f in report.findings} == {
        "cases",
        "convention",
        "sigmahq_author_existence",
        "sigmahq_date_existence",
    }  # and no "fields" finding: the Defender pipeline's crash is left to the build


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    selection=selections,
    condition=st.sampled_from(["sel", "not sel", "1 of sel*", "all of them", "sel or filter"]),
    logsource=st.sampled_from(
        sorted((s.product, s.category) for s in LOG_SOURCES if s.category)
        + [("windows", "process_tampering")]
    ),
)
def test_check_never_crashes_on_a_loadable_rule(
    project: Project, selection: object, condition: str, logsource: tuple[str, str]
) -> None:
    document = {
        "title": "Generated Rule",
        "id": "0b0f6a39-6f3e-4d35-9a3e-2d6d2b1a0c77",
        "logsource": {"product": logsource[0], "category": logsource[1]},
        "detection": {"sel": selection, "filter": {"Image": "x"}, "condition": condition},
        "level": "low",
    }
    path = project.root / PROCESS / "proc_creation_win_generated.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    report = run_checks(project, [path])  # findings or errors, never an exception
    assert report.exit_code in (1, 2)
    assert all(
        finding.path == f"{PROCESS}/proc_creation_win_generated.yml" for finding in report.findings
    )
