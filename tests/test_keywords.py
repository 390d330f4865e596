"""Sigma keywords (values without a field) on EQL: the stock backend writes a bare string
(`any where "truncate"`), which Elasticsearch's EQL rejects ("Expected boolean not string"), as
on SigmaHQ's auditd keyword rules. EQL refuses them with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sigma.rule import SigmaRule

from converter.convert.backends.eql import CertdetectEqlBackend
from converter.core.events import WindowsEvent
from converter.core.rules import RuleFile
from converter.verify.conformance import DISAGREES, UNSUPPORTED, Job, Verifier

REPO = Path(__file__).resolve().parents[1]
SYSMON = "Microsoft-Windows-Sysmon/Operational"

RULE_TEXT = yaml.safe_dump(
    {
        "title": "keywords",
        "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "logsource": {"product": "windows", "category": "process_creation"},
        "detection": {"keywords": ["vssadmin"], "condition": "keywords"},
    },
    sort_keys=False,
)
EVENTS = (
    WindowsEvent(
        "Microsoft-Windows-Sysmon",
        1,
        SYSMON,
        "h",
        "2026-11-20T10:00:00Z",
        1,
        {"Image": "C:\\Windows\\System32\\vssadmin.exe", "CommandLine": "vssadmin list shadows"},
    ),
)


def eql_verdict() -> object:
    rule = RuleFile("keywords.yml", RULE_TEXT, SigmaRule.from_yaml(RULE_TEXT))
    return Verifier(REPO).verify(Job(rule, EVENTS)).targets["eql"]


def test_eql_refuses_a_keyword_with_the_reason() -> None:
    verdict = eql_verdict()
    assert verdict.status == UNSUPPORTED  # type: ignore[attr-defined]
    assert "is a keyword" in verdict.reason  # type: ignore[attr-defined]


def test_without_the_refusal_the_engine_rejects_the_bare_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CertdetectEqlBackend, "refusals", CertdetectEqlBackend.refusals[1:])
    verdict = eql_verdict()
    assert verdict.status == DISAGREES  # type: ignore[attr-defined]
    assert "Expected boolean not string" in verdict.reason  # type: ignore[attr-defined]
