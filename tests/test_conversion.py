from __future__ import annotations

import pytest
from sigma.rule import SigmaRule

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
    # What each target cannot express, with the reasons in the tests below: Defender XDR has no
    # table of script blocks, auditd records or Zeek logs; Elastic stores EXECVE arguments
    # without positions and Zeek's certificate names only split into parts.
    queries = _queries(repo_project, target)
    missing = {r.stem for r in load_rules(repo_project)} - set(queries)
    prefixes = {
        "kql": ("posh_ps_", "lnx_auditd_", "zeek_"),
        "eql": ("lnx_auditd_", "zeek_x509_"),
        "spl": (),
    }[target]
    assert all(stem.startswith(prefixes) for stem in missing), missing
    assert {prefix for prefix in prefixes if any(s.startswith(prefix) for s in missing)} == set(
        prefixes
    )
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


@pytest.mark.parametrize(
    ("target_name", "prefix", "reason"),
    [
        ("kql", "lnx_auditd_", r"no table of Linux audit \(auditd\) records"),
        ("kql", "zeek_", "no table of Zeek logs"),
        ("eql", "lnx_auditd_", "unordered set of keywords"),
        ("eql", "zeek_x509_", "does not store x509.log's certificate.subject"),
    ],
)
def test_log_sources_a_target_cannot_express_are_refused_with_the_reason(
    repo_project: Project, target_name: str, prefix: str, reason: str
) -> None:
    target = target_by_name(target_name)
    backend = make_backend(target, resolve_pipeline(target, repo_project.root))
    rules = [r for r in load_rules(repo_project) if r.stem.startswith(prefix)]
    assert rules
    for rule in rules:
        with pytest.raises(ConversionError, match=reason):
            convert(backend, rule)


@pytest.mark.parametrize(
    ("condition", "refused"),
    [
        ("selection and other", False),
        ("other and not selection", True),
        ("not (selection and other)", True),
        ("not 1 of oth*", True),  # a selector under NOT: refused without resolving it
        ("selection and not other", False),
    ],
)
def test_splunk_refuses_a_field_reference_under_not(
    repo_project: Project, condition: str, refused: bool
) -> None:
    # docs/converter-defects.md, "`|fieldref` under a negated group"
    text = f"""
title: Field Reference Shapes
id: 0b0e1a43-6c7f-4b57-9d55-4f1e7a1b2c3d
status: test
description: Detects the shapes of a field reference the Splunk backend converts.
logsource: {{product: zeek, service: x509}}
detection:
    selection: {{certificate.issuer|fieldref: certificate.subject}}
    other: {{host_cert: true}}
    condition: {condition}
level: low
"""
    target = target_by_name("spl")
    backend = make_backend(target, resolve_pipeline(target, repo_project.root))
    rule = RuleFile("sigma/network/zeek/zeek_x509_shapes.yml", text, SigmaRule.from_yaml(text))
    if refused:
        with pytest.raises(ConversionError, match=r"\|fieldref under NOT"):
            convert(backend, rule)
    else:
        assert "| where 'certificate.issuer'='certificate.subject'" in convert(backend, rule).query
