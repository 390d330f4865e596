"""Sigma values compared with Defender columns of another type: a number on a string column
(`Details: 0`, as SigmaHQ writes for a REG_SZ "0") and digits on a numeric column (`ProcessId:
'4242'`). Kusto refuses both comparisons as the stock backend writes them (`RegistryValueData ==
0`, `ProcessId =~ "4242"`: a semantic error, so the query fails in Defender); Sigma compares the
text. And a Sigma `null` on a string column: Kusto strings are never null, so stock `isnull()`
never holds. Each test runs `certdetect verify`'s verifier: the reference against the KQL query
executed on the rows the Defender model stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.backends.kusto import KustoBackend
from sigma.rule import SigmaRule

from converter.convert.backends.kql import CertdetectKustoBackend
from converter.core.events import WindowsEvent
from converter.core.rules import RuleFile
from converter.verify.conformance import DISAGREES, UNSUPPORTED, VERIFIED, Job, Verifier

REPO = Path(__file__).resolve().parents[1]
SYSMON = "Microsoft-Windows-Sysmon/Operational"
ETW = "HKLM\\System\\CurrentControlSet\\Control\\Session Manager\\Environment\\COMPlus_ETWEnabled"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(REPO)


def sysmon(event_id: int, **fields: str) -> WindowsEvent:
    return WindowsEvent(
        SYSMON, event_id, SYSMON, "wks-7.corp.example", "2026-11-20T10:00:00Z", 1, fields
    )


def set_value(details: str) -> WindowsEvent:
    return sysmon(
        13,
        EventType="SetValue",
        TargetObject=ETW,
        Details=details,
        Image="C:\\Windows\\System32\\reg.exe",
    )


def process(pid: str) -> WindowsEvent:
    return sysmon(
        1,
        ProcessId=pid,
        Image="C:\\Windows\\System32\\whoami.exe",
        CommandLine="whoami",
        ParentImage="C:\\Windows\\System32\\cmd.exe",
    )


def rule(detection: dict[str, Any], category: str) -> RuleFile:
    text = yaml.safe_dump(
        {
            "title": f"typed values on {category}",
            "id": "0b6c8a8e-3a43-4c55-9d44-6f1d2b7f8c21",
            "logsource": {"product": "windows", "category": category},
            "detection": detection,
        },
        sort_keys=False,
    )
    return RuleFile("typed.yml", text, SigmaRule.from_yaml(text))


ETW_RULE = {
    "sel": {"TargetObject|endswith": "\\COMPlus_ETWEnabled", "Details": [0, "DWORD (0x00000000)"]},
    "condition": "sel",
}


def test_a_number_on_a_string_column_is_compared_as_its_text(verifier: Verifier) -> None:
    events = (set_value("0"), set_value("DWORD (0x00000000)"), set_value("1"))
    report = verifier.verify(Job(rule(ETW_RULE, "registry_set"), events))
    verdict = report.targets["kql"]
    assert verdict.status == VERIFIED, verdict.reason
    assert report.sigma == verdict.matches == 2


def test_digits_on_a_numeric_column_are_compared_as_a_number(verifier: Verifier) -> None:
    the_rule = rule({"sel": {"ProcessId": ["4242", "77"]}, "condition": "sel"}, "process_creation")
    report = verifier.verify(Job(the_rule, (process("4242"), process("4243"))))
    verdict = report.targets["kql"]
    assert verdict.status == VERIFIED, verdict.reason
    assert report.sigma == verdict.matches == 1


def test_a_wildcard_on_a_numeric_column_is_refused_with_the_reason(verifier: Verifier) -> None:
    the_rule = rule({"sel": {"ProcessId|startswith": "42"}, "condition": "sel"}, "process_creation")
    verdict = verifier.verify(Job(the_rule, (process("4242"),))).targets["kql"]
    assert verdict.status == UNSUPPORTED
    assert "ProcessId is a number column" in verdict.reason


def test_the_stock_number_comparison_fails_so_the_correction_bites(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        CertdetectKustoBackend,
        "convert_condition_field_eq_val_num",
        KustoBackend.convert_condition_field_eq_val_num,
    )
    events = (set_value("0"), set_value("1"))
    verdict = verifier.verify(Job(rule(ETW_RULE, "registry_set"), events)).targets["kql"]
    assert verdict.status == DISAGREES


def absent_image(image: str | None) -> WindowsEvent:
    event = set_value("1")
    fields = {k: v for k, v in event.data.items() if k != "Image"}
    if image is not None:
        fields["Image"] = image
    return sysmon(13, **fields)


NULL_FILTER = {
    "sel": {"TargetObject|endswith": "\\COMPlus_ETWEnabled"},
    "filter_optional_null": {"Image": None},
    "condition": "sel and not filter_optional_null",
}


def test_a_null_filter_on_a_string_column_excludes_the_rows_without_the_value(
    verifier: Verifier,
) -> None:
    events = (absent_image(None), absent_image("C:\\Windows\\System32\\reg.exe"))
    report = verifier.verify(Job(rule(NULL_FILTER, "registry_set"), events))
    verdict = report.targets["kql"]
    assert verdict.status == VERIFIED, verdict.reason
    assert report.sigma == verdict.matches == 1


def test_the_stock_isnull_never_holds_on_a_string_so_the_correction_bites(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CertdetectKustoBackend, "field_null_expression", "isnull({field})")
    events = (absent_image(None), absent_image("C:\\Windows\\System32\\reg.exe"))
    verdict = verifier.verify(Job(rule(NULL_FILTER, "registry_set"), events)).targets["kql"]
    assert verdict.status == DISAGREES
