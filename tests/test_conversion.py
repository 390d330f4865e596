from __future__ import annotations

import pytest

from converter.conversion import ConversionError, convert, make_backend, resolve_pipeline
from converter.project import Project
from converter.rules import RuleFile, load_rules
from converter.targets import TARGETS, target_by_name


def _queries(project: Project, target_name: str) -> dict[str, str]:
    target = target_by_name(target_name)
    backend = make_backend(target, resolve_pipeline(target, project.root))
    queries = {}
    for rule in load_rules(project):
        try:
            queries[rule.stem] = convert(backend, rule).query
        except ConversionError:
            continue
    return queries


@pytest.mark.parametrize("target", [t.name for t in TARGETS])
def test_every_rule_converts_for_every_target(repo_project: Project, target: str) -> None:
    # Only Defender XDR lacks a log source: it has no table of PowerShell script blocks.
    queries = _queries(repo_project, target)
    missing = {r.stem for r in load_rules(repo_project)} - set(queries)
    if target == "kql":
        assert missing and all(stem.startswith("posh_ps_") for stem in missing)
    else:
        assert missing == set()
    assert all(query.strip() for query in queries.values())


def test_script_block_rules_are_unsupported_on_defender_with_the_reason(
    repo_project: Project,
) -> None:
    target = target_by_name("kql")
    backend = make_backend(target, resolve_pipeline(target, repo_project.root))
    rule = next(r for r in load_rules(repo_project) if r.stem.startswith("posh_ps_"))
    with pytest.raises(ConversionError, match="no table holding PowerShell script block"):
        convert(backend, rule)


def test_defender_registry_queries_use_the_value_name_column(repo_project: Project) -> None:
    query = _queries(repo_project, "kql")["registry_set_win_root_certificate_install"]
    assert query.startswith('DeviceRegistryEvents\n| where ActionType =~ "RegistryValueSet" and ')
    assert 'RegistryValueName =~ "Blob"' in query
    assert 'RegistryKey endswith "\\\\Blob"' not in query
    # the trailing backslash of `contains` keeps its wildcard (pysigma-findings.md, finding 1)
    assert 'RegistryKey contains "\\\\SystemCertificates\\\\Root\\\\Certificates\\\\"' in query
    assert "Certificates*" not in query


def test_eql_uses_agent_fields_and_event_filters(repo_project: Project) -> None:
    queries = _queries(repo_project, "eql")
    certutil = queries["proc_creation_win_certutil_certificate_import"]
    assert ".caseless" not in certutil
    assert 'event.category:"process" and event.type:"start"' in certutil
    assert 'process.executable:"*\\\\certutil.exe"' in certutil
    staging = queries["file_event_win_certificate_file_staging"]
    assert 'event.category:"file" and event.type:"creation"' in staging
    linux = queries["proc_creation_lnx_openssl_key_generation"]
    assert 'process.executable:"*/openssl"' in linux
    assert "Image" not in linux and "CommandLine" not in linux


def test_spl_uses_xml_rendered_sysmon_source_and_parentheses(repo_project: Project) -> None:
    queries = _queries(repo_project, "spl")
    certutil = queries["proc_creation_win_certutil_certificate_import"]
    assert certutil.startswith('source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"')
    assert "(EventCode=1 " in certutil
    assert 'sourcetype="sysmon:linux"' in queries["proc_creation_lnx_openssl_key_generation"]


def test_kql_filters_defender_action_types(repo_project: Project) -> None:
    queries = _queries(repo_project, "kql")
    assert queries["proc_creation_win_powershell_certificate_api"].startswith(
        'DeviceProcessEvents\n| where ActionType =~ "ProcessCreated" and '
    )
    assert queries["file_event_win_certificate_file_staging"].startswith(
        'DeviceFileEvents\n| where ActionType =~ "FileCreated" and '
    )


def test_backend_refusal_becomes_a_conversion_error(repo_project: Project) -> None:
    text = """
title: Cased Wildcard
id: 6c0c7d1e-5b0a-4a53-9f0e-1d7f2f0a9b11
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        CommandLine|cased|contains: 'Genrsa'
    condition: selection
"""
    from sigma.rule import SigmaRule

    rule = RuleFile(path="sigma/x.yml", text=text, rule=SigmaRule.from_yaml(text))
    target = target_by_name("spl")
    backend = make_backend(target, resolve_pipeline(target, repo_project.root))
    with pytest.raises(ConversionError):
        convert(backend, rule)
