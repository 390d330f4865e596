from __future__ import annotations

import json
from pathlib import Path

import pytest

from converter.core.auditd import AuditdEvent
from converter.core.cases import load_case, load_cases
from converter.core.errors import InputError
from converter.core.project import Project
from converter.core.rules import load_rules
from converter.core.zeek import ZeekRecord


def test_every_rule_has_a_matching_case_and_a_look_alike(repo_project: Project) -> None:
    rules = load_rules(repo_project)
    cases = load_cases(repo_project, (rule.id for rule in rules))
    for rule in rules:
        own = [case for case in cases if case.folder == rule.stem]
        assert any(rule.id in case.expect for case in own), f"{rule.stem}: no matching case"
        assert any(rule.id not in case.expect for case in own), f"{rule.stem}: no look-alike"


def test_every_case_says_where_it_comes_from(repo_project: Project) -> None:
    rules = load_rules(repo_project)
    for case in load_cases(repo_project, (rule.id for rule in rules)):
        assert case.origin["kind"] in {"written", "recorded"}
        if isinstance(case.event, AuditdEvent):
            assert {record.type for record in case.event.records} & {"EXECVE", "SYSCALL"}
            continue
        if isinstance(case.event, ZeekRecord):
            assert case.event.log in {"x509", "ssl"}
            continue
        assert (case.event.channel, case.event.event_id) in {
            ("Microsoft-Windows-Sysmon/Operational", 1),
            ("Microsoft-Windows-Sysmon/Operational", 11),
            ("Microsoft-Windows-Sysmon/Operational", 12),
            ("Microsoft-Windows-Sysmon/Operational", 13),
            ("Microsoft-Windows-PowerShell/Operational", 4104),
            ("Security", 4688),
            ("Linux-Sysmon/Operational", 1),
        }


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


GOOD_EVENT = {
    "Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
            "EventID": 1,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
        },
        "EventData": {"Image": "C:\\x.exe"},
    }
}


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ('{\n  "title": "x",\n  "expect": [],,\n}', "invalid JSON", 3),
        (
            {
                "title": "x",
                "expect": "abc",
                "origin": {"kind": "written", "from": "y"},
                "event": GOOD_EVENT,
            },
            '"expect" must be a list',
            None,
        ),
        (
            {
                "title": "x",
                "expect": [],
                "origin": {"kind": "recorded", "source": "y"},
                "event": GOOD_EVENT,
            },
            'origin needs "licence"',
            None,
        ),
        (
            {
                "title": "x",
                "expect": [],
                "origin": {"kind": "written", "from": "y"},
                "event": {"System": {}},
            },
            'expected an object with an "Event" key',
            None,
        ),
        (
            {
                "title": "x",
                "expect": [],
                "origin": {"kind": "written", "from": "y"},
                "event": GOOD_EVENT,
                "extra": 1,
            },
            "unknown case keys: extra",
            None,
        ),
    ],
)
def test_bad_cases_are_named_errors(
    tmp_path: Path, content: object, message: str, line: int | None
) -> None:
    path = _write(tmp_path / "bad.json", content)
    with pytest.raises(InputError) as caught:
        load_case(path, "cases/x/bad.json", "x/bad")
    assert message in str(caught.value)
    assert caught.value.line == line
    assert str(caught.value).startswith("cases/x/bad.json:")


def test_case_naming_an_unknown_rule_is_refused(project_copy: Project) -> None:
    folder = project_copy.cases_dir / "extra"
    folder.mkdir()
    _write(
        folder / "c.json",
        {
            "title": "x",
            "expect": ["00000000-0000-0000-0000-000000000000"],
            "origin": {"kind": "written", "from": "y"},
            "event": GOOD_EVENT,
        },
    )
    rules = load_rules(project_copy)
    with pytest.raises(InputError, match="unknown rule id 00000000"):
        load_cases(project_copy, (rule.id for rule in rules))
