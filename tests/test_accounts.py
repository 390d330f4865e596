"""A Windows `User` on targets that store its domain and name apart (`convert/backends/accounts`):
SigmaHQ's `User|contains: 'AUTHORI'` tested only `user.name` / `AccountName`, which never hold
the domain, so the queries missed every SYSTEM process (seen on a real Splunk attack-data event,
`Elevated System Shell Spawned From Uncommon Parent Location`). Each test runs `certdetect
verify`'s verifier: the reference against each target's query on the documents its model
stores, for Sysmon 1 (`DOMAIN\\name`) and Security 4688 (SubjectUserName, no domain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.rule import SigmaRule

from converter.convert.backends import eql, kql
from converter.core.events import WindowsEvent
from converter.core.rules import RuleFile
from converter.verify.conformance import DISAGREES, UNSUPPORTED, VERIFIED, Job, Verifier

REPO = Path(__file__).resolve().parents[1]
SYSMON = "Microsoft-Windows-Sysmon/Operational"
LINUX = "Linux-Sysmon/Operational"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(REPO)


def sysmon_1(user: str, channel: str = SYSMON) -> WindowsEvent:
    image = "/usr/bin/id" if channel == LINUX else "C:\\Windows\\System32\\cmd.exe"
    data = {"Image": image, "CommandLine": "cmd", "User": user, "ParentImage": image}
    provider = "Linux-Sysmon" if channel == LINUX else "Microsoft-Windows-Sysmon"
    return WindowsEvent(provider, 1, channel, "h", "2026-11-20T10:00:00Z", 1, data)


def security_4688(domain: str, name: str) -> WindowsEvent:
    data = {
        "SubjectDomainName": domain,
        "SubjectUserName": name,
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "CommandLine": "cmd",
        "ParentProcessName": "C:\\Windows\\explorer.exe",
    }
    return WindowsEvent(
        "Microsoft-Windows-Security-Auditing",
        4688,
        "Security",
        "h",
        "2026-11-20T10:00:00Z",
        2,
        data,
    )


def rule(selection: dict[str, Any], product: str = "windows") -> RuleFile:
    text = yaml.safe_dump(
        {
            "title": "account values",
            "id": "7c3f5d0e-2b1a-4c8d-9e6f-1a2b3c4d5e6f",
            "logsource": {"product": product, "category": "process_creation"},
            "detection": {"sel": selection, "condition": "sel"},
        },
        sort_keys=False,
    )
    return RuleFile("accounts.yml", text, SigmaRule.from_yaml(text))


EVENTS = (
    sysmon_1("NT AUTHORITY\\SYSTEM"),
    sysmon_1("AUTORITE NT\\Système"),
    sysmon_1("CORP\\svc-backup"),
    security_4688("NT AUTHORITY", "SYSTEM"),
    security_4688("CORP", "alice"),
)


@pytest.mark.parametrize(
    "selection",
    [
        {"User|contains": ["AUTHORI", "AUTORI"]},
        {"User": "NT AUTHORITY\\SYSTEM"},
        {"User|endswith": "\\SYSTEM"},
        {"User|startswith": "CORP\\"},
        {"User": "SYSTEM"},
        {"User|re": "^NT AUTHORITY"},
    ],
    ids=["contains", "whole", "domain-and-name-suffix", "domain-prefix", "bare-name", "regex"],
)
def test_values_that_span_the_domain_are_refused_with_the_reason(
    verifier: Verifier, selection: dict[str, Any]
) -> None:
    report = verifier.verify(Job(rule(selection), EVENTS))
    for target in ("eql", "kql"):
        verdict = report.targets[target]
        assert verdict.status == UNSUPPORTED, (target, verdict.status, verdict.reason)
        assert "domain and name apart" in (verdict.reason or "")
    # Splunk keeps Sysmon's User whole (and reads SubjectUserName for 4688); a process_creation
    # regex is refused there for another reason (it cannot be ORed with the 4688 search)
    spl = report.targets["spl"]
    assert spl.status == (UNSUPPORTED if "User|re" in selection else VERIFIED), spl.reason


def test_a_name_suffix_is_verified_on_sysmon_and_security_events(verifier: Verifier) -> None:
    report = verifier.verify(Job(rule({"User|endswith": ["SYSTEM", "backup"]}), EVENTS))
    assert report.sigma == 3
    for target in ("eql", "spl", "kql"):
        verdict = report.targets[target]
        assert verdict.status == VERIFIED, (target, verdict.reason)
        assert verdict.matches == 3


def test_linux_user_names_have_no_domain_and_are_not_refused(verifier: Verifier) -> None:
    events = (sysmon_1("root", LINUX), sysmon_1("www-data", LINUX))
    report = verifier.verify(Job(rule({"User|contains": "data"}, "linux"), events))
    assert report.sigma == 1
    assert report.targets["kql"].status == VERIFIED
    assert report.targets["kql"].matches == 1


def test_without_the_refusal_the_queries_miss_so_the_check_bites(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eql, "check_account_value", lambda *args: None)
    monkeypatch.setattr(kql, "check_account_value", lambda *args: None)
    report = verifier.verify(Job(rule({"User|contains": ["AUTHORI", "AUTORI"]}), EVENTS))
    assert report.targets["eql"].status == DISAGREES
    assert report.targets["kql"].status == DISAGREES
