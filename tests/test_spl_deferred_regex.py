"""SPL for a regex inside an OR on a log source whose pipeline writes its selector as a group
(`(sourcetype="sysmon:linux" EventID=1)`): the stock backend left the group after the deferred
`| rex ... | eval ...`, so the search began with a pipe, which Splunk rejects (seen on SigmaHQ's
`proc_creation_lnx_file_and_directory_discovery`). The verifier runs the reference
against the SPL query in the SPL engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sigma.backends.splunk import SplunkBackend
from sigma.rule import SigmaRule

from converter.convert.backends.splunk import CertdetectSplunkBackend
from converter.core.events import WindowsEvent
from converter.core.rules import RuleFile
from converter.verify.conformance import DISAGREES, VERIFIED, Job, Verifier

REPO = Path(__file__).resolve().parents[1]
LINUX = "Linux-Sysmon/Operational"


def linux_process(image: str, command_line: str) -> WindowsEvent:
    data = {"Image": image, "CommandLine": command_line, "User": "root"}
    return WindowsEvent("Linux-Sysmon", 1, LINUX, "web-1", "2026-11-20T10:00:00Z", 1, data)


RULE_TEXT = yaml.safe_dump(
    {
        "title": "regex inside an OR on Linux",
        "id": "3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b",
        "logsource": {"product": "linux", "category": "process_creation"},
        "detection": {
            "selection_long": {"Image|endswith": "/file", "CommandLine|re": "(.){40,}"},
            "selection_ls": {"Image|endswith": "/ls", "CommandLine|contains": "-R"},
            "condition": "1 of selection_*",
        },
    },
    sort_keys=False,
)
EVENTS = (
    linux_process("/usr/bin/file", "file " + "/etc/*/* " * 6),
    linux_process("/usr/bin/file", "file a"),
    linux_process("/usr/bin/ls", "ls -R /home"),
    linux_process("/usr/bin/cat", "cat " + "x" * 60),
)


def verify_spl() -> object:
    rule = RuleFile("deferred.yml", RULE_TEXT, SigmaRule.from_yaml(RULE_TEXT))
    report = Verifier(REPO).verify(Job(rule, EVENTS))
    assert report.sigma == 2
    return report.targets["spl"]


def test_the_selector_group_comes_before_the_deferred_commands() -> None:
    verdict = verify_spl()
    assert verdict.status == VERIFIED, verdict.reason  # type: ignore[attr-defined]
    assert verdict.matches == 2  # type: ignore[attr-defined]


def test_a_query_that_begins_with_a_pipe_is_rejected_so_the_correction_bites(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        CertdetectSplunkBackend, "finalize_query_default", SplunkBackend.finalize_query_default
    )
    verdict = verify_spl()
    assert verdict.status == DISAGREES  # type: ignore[attr-defined]
    assert "must start with a search" in verdict.reason  # type: ignore[attr-defined]
