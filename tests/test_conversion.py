from __future__ import annotations

from dataclasses import replace

import pytest
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from converter.convert import conversion
from converter.convert.conversion import (
    ConversionError,
    convert,
    convert_for_target,
    make_backend,
    resolve_pipeline,
    target_backends,
)
from converter.core.cases import load_cases
from converter.core.project import Project
from converter.core.rules import RuleFile, load_rules, rule_collection
from converter.core.targets import TARGETS, target_by_name
from converter.environment.runtimes import target_runtimes
from converter.execute.runtimes import select
from converter.verify.build import run_build
from converter.verify.fields import document_fields


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
    # table of script blocks, auditd records or Zeek logs; Elastic stores script blocks as
    # analysed text, EXECVE arguments without positions and Zeek's certificate names only split
    # into parts.
    queries = _queries(repo_project, target)
    missing = {r.stem for r in load_rules(repo_project)} - set(queries)
    prefixes = {
        "kql": ("posh_ps_", "lnx_auditd_", "zeek_"),
        "eql": ("posh_ps_", "lnx_auditd_", "zeek_x509_"),
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


def test_script_block_rules_are_unsupported_on_elastic_eql_with_the_reason(
    repo_project: Project,
) -> None:
    target = target_by_name("eql")
    backend = make_backend(target, resolve_pipeline(target, repo_project.root))
    posh = [r for r in load_rules(repo_project) if r.stem.startswith("posh_ps_")]
    assert len(posh) >= 2  # every script-block rule
    for rule in posh:
        with pytest.raises(ConversionError) as info:
            convert(backend, rule)
        reason = str(info.value)
        assert reason.startswith("Elastic maps powershell.file.script_block_text as text")
        assert "powershell_script_analyzer" in reason and "KQL query rules" in reason
        assert "while converting" not in reason  # pySigma's suffix is not part of the reason


def test_an_eql_artifact_comparing_a_text_field_fails_naming_the_target(
    repo_project: Project,
) -> None:
    from converter.verify.build import evaluate_artifact

    rule = next(r for r in load_rules(repo_project) if r.stem.startswith("posh_ps_"))
    runtime = target_runtimes(targets=[target_by_name("eql")])["eql"]
    query = 'process where powershell.file.script_block_text : "*New-SelfSignedCertificate*"'
    outcome = evaluate_artifact(rule, query, runtime, [], [])
    assert outcome.reason is not None
    assert outcome.reason.startswith(
        '[eql] query rejected: [powershell.file.script_block_text : "*New-SelfSignedCertificate*"]'
        " cannot operate on field of data type [text]"
    )
    assert "No keyword/multi-field defined exact matches" in outcome.reason


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


# --- SPL: windows process_creation searches Sysmon 1 OR Security 4688 -------------------------
# The Sigma taxonomy reads process_creation on both (converter/core/logsources.py); the
# Splunk Add-on for Microsoft Windows indexes 4688 as XmlWinEventLog:Security under the Security
# auditing manifest's EventData names.

CERTUTIL_4688 = "proc_creation_win_certutil_certificate_import/security_4688_addstore_root"
CERTUTIL_SYSMON = "proc_creation_win_certutil_certificate_import/addstore_root"


def _rule(text: str) -> RuleFile:
    return RuleFile(path="sigma/x.yml", text=text, rule=SigmaRule.from_yaml(text))


def _process_rule(selection: str) -> RuleFile:
    return _rule(
        "title: T\nid: 6c0c7d1e-5b0a-4a53-9f0e-1d7f2f0a9b12\nlogsource:\n"
        "    category: process_creation\n    product: windows\ndetection:\n"
        f"    selection:\n        {selection}\n    condition: selection\n"
    )


def _spl_query(project: Project, rule: RuleFile) -> str:
    return convert_for_target(target_backends(target_by_name("spl"), project.root), rule).query


def test_spl_certutil_artifact_matches_the_security_4688_case(repo_project: Project) -> None:
    rules = {rule.stem: rule for rule in load_rules(repo_project)}
    query = _spl_query(repo_project, rules["proc_creation_win_certutil_certificate_import"])
    sysmon, security = query.split(") OR (source=")
    assert sysmon.startswith('(source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"')
    assert security.startswith('"XmlWinEventLog:Security" (EventCode=4688 ')
    assert '(NewProcessName="*\\\\certutil.exe" OR OriginalFileName="CertUtil.exe")' in security
    cases = {
        case.id: case
        for case in load_cases(repo_project, [rule.id for rule in rules.values()])
        if case.id in (CERTUTIL_4688, CERTUTIL_SYSMON)
    }
    spl = target_runtimes()["spl"]
    documents = spl.documents([cases[CERTUTIL_SYSMON].event, cases[CERTUTIL_4688].event])
    assert select(spl.compile(query), documents) == {0, 1}
    # the Sysmon search alone misses the 4688 event: the second search is what reads it
    assert select(spl.compile(sysmon + ")"), documents) == {0}


def test_build_fails_on_the_4688_case_without_the_alternative(project_copy: Project) -> None:
    sysmon_only = replace(target_by_name("spl"), alternatives=())
    failures = run_build(project_copy, targets=(sysmon_only,)).failures
    assert (
        f"proc_creation_win_certutil_certificate_import [spl] case {CERTUTIL_4688}: "
        "expected match, got no match"
    ) in failures
    assert all("security_4688_" in line for line in failures)


def test_spl_security_4688_maps_user_to_the_subject(repo_project: Project) -> None:
    query = _spl_query(repo_project, _process_rule("User: 'alice'"))
    security = '(source="XmlWinEventLog:Security" (EventCode=4688 SubjectUserName="alice"))'
    assert query.endswith(f") OR {security}")


def test_spl_security_4688_refusal_leaves_the_sysmon_search(repo_project: Project) -> None:
    # 4688's ProcessId is the creator's, in hex: the Security search is refused, not wrong
    query = _spl_query(repo_project, _process_rule("ProcessId: 4242"))
    assert query == (
        'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" (EventCode=1 ProcessId=4242)'
    )


def test_spl_alternative_needs_one_search_command(repo_project: Project) -> None:
    # a `|` inside a quoted value is text; a pipeline of commands cannot be ORed, so a regex
    # rule is refused rather than reading Sysmon 1 only
    quoted = _spl_query(repo_project, _process_rule("CommandLine|contains: 'a|b'"))
    assert "XmlWinEventLog:Security" in quoted
    with pytest.raises(ConversionError, match="cannot be ORed with the Security 4688 search"):
        _spl_query(repo_project, _process_rule("CommandLine|re: 'open[s]sl'"))


def test_spl_documents_know_the_security_4688_field_names() -> None:
    fields = document_fields("spl", "windows", "process_creation")
    assert fields is not None
    assert {"NewProcessName", "ParentProcessName", "SubjectUserName", "SubjectLogonId"} <= fields


def test_kql_compares_all_linked_values_each_never_as_has_all_terms(
    repo_project: Project,
) -> None:
    # `|all` links the values with AND: the command line is "a" and is "b". Stock Kusto writes
    # `has_all ("a", "b")`, a term search that "a b" passes although it equals neither
    # (tests/files/agreement/examples/kql_all_values_are_not_terms.yml).
    text = (
        "title: All Values\nid: 0b0f6a39-6f3e-4d35-9a3e-2d6d2b1a0c42\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  selection:\n    CommandLine|all: [a, b]\n  condition: selection\n"
    )
    rule = RuleFile("sigma/all_values.yml", text, SigmaRule.from_yaml(text))
    target = target_by_name("kql")
    query = convert(make_backend(target, resolve_pipeline(target, repo_project.root)), rule).query
    assert query == (
        'DeviceProcessEvents\n| where ActionType =~ "ProcessCreated" and '
        '(ProcessCommandLine =~ "a" and ProcessCommandLine =~ "b")'
    )


# --- one YAML read per rule: each conversion still gets a collection of its own ---------------


def test_a_pipelines_changes_for_one_target_do_not_reach_the_next_targets_query(
    repo_project: Project,
) -> None:
    # every pipeline renames the rule's fields in place: converting for kql, spl and eql one
    # after the other must give each target's query as converting for it alone does
    rules = load_rules(repo_project)
    alone = {name: _queries(repo_project, name) for name in ("kql", "spl", "eql")}
    backends = {
        name: make_backend(
            target_by_name(name), resolve_pipeline(target_by_name(name), repo_project.root)
        )
        for name in alone
    }
    for rule in rules:
        for name, backend in backends.items():
            try:
                query = convert(backend, rule).query
            except ConversionError:
                assert rule.stem not in alone[name]
                continue
            assert query == alone[name][rule.stem], (rule.stem, name)


def test_the_independence_test_bites_when_conversions_share_a_collection(
    repo_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared: dict[str, SigmaCollection] = {}

    def one_per_text(text: str) -> SigmaCollection:
        return shared.setdefault(text, rule_collection(text))

    monkeypatch.setattr(conversion, "rule_collection", one_per_text)
    with pytest.raises(AssertionError):
        test_a_pipelines_changes_for_one_target_do_not_reach_the_next_targets_query(repo_project)
