"""Long value lists: a Sigma list of 5,000 values converts and verifies on every target, and an
engine that fails reaches the user as one line naming the target, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sigma.collection import SigmaCollection

from converter.convert.conversion import convert, make_backend, resolve_pipeline
from converter.core.events import WindowsEvent
from converter.core.logsources import SYSMON_CHANNEL
from converter.core.rules import RuleFile
from converter.core.status import Status
from converter.core.targets import TARGETS
from converter.environment.runtimes import target_runtimes
from converter.execute.engines import deep_stack
from converter.execute.engines.base import QueryError
from converter.execute.runtimes import TargetRuntime, select
from converter.verify.build import evaluate_artifact

REPO = Path(__file__).resolve().parent.parent
VALUES = 5_000


def long_rule(count: int) -> RuleFile:
    values = "\n".join(f"            - 'tool{i}.exe'" for i in range(count))
    text = f"""title: Long value list
id: 6f0c6b9e-2d55-4a53-9a8b-1b2c3d4e5f60
status: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        CommandLine|contains:
{values}
    condition: selection
level: low
"""
    return RuleFile("sigma/long.yml", text, SigmaCollection.from_yaml(text).rules[0])


def sysmon_process(command_line: str) -> WindowsEvent:
    return WindowsEvent(
        provider="Microsoft-Windows-Sysmon",
        event_id=1,
        channel=SYSMON_CHANNEL,
        computer="host.example.com",
        time_created="2026-01-01T00:00:00.000Z",
        record_id=1,
        data={"Image": "C:\\x\\a.exe", "CommandLine": command_line, "ProcessId": "1"},
    )


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_an_or_of_5000_values_converts_and_runs_on_every_target(target: Any) -> None:
    rule = long_rule(VALUES)
    query = convert(make_backend(target, resolve_pipeline(target, REPO)), rule).query
    runtime = target_runtimes(targets=[target])[target.name]
    compiled = runtime.compile(query)
    events = [
        sysmon_process(f"run tool{VALUES - 1}.exe now"),
        sysmon_process("run nothing.exe"),
        sysmon_process("tool0.exe"),
    ]
    assert select(compiled, runtime.documents(events)) == {0, 2}


def test_the_recursion_limit_is_restored_after_a_deep_call() -> None:
    before = sys.getrecursionlimit()
    assert deep_stack.call_with_deep_stack(sys.getrecursionlimit) >= deep_stack.RECURSION_LIMIT
    assert sys.getrecursionlimit() == before


def test_a_deep_call_hands_back_its_error() -> None:
    def fail() -> None:
        raise QueryError("refused")

    with pytest.raises(QueryError, match="refused"):
        deep_stack.call_with_deep_stack(fail)


class _CrashingEngine:
    language = "kql"

    def compile(self, query: str) -> Any:
        raise RecursionError("maximum recursion depth exceeded")


def test_an_engine_crash_is_a_one_line_query_error_naming_the_target() -> None:
    runtime = TargetRuntime("kql", lambda event: None, _CrashingEngine())
    with pytest.raises(QueryError) as info:
        runtime.compile("DeviceProcessEvents | where true")
    assert str(info.value) == (
        "the kql engine failed: RecursionError: maximum recursion depth exceeded"
    )


def test_the_build_fails_the_artifact_of_a_crashing_engine_with_the_reason() -> None:
    runtime = TargetRuntime("kql", lambda event: None, _CrashingEngine())
    outcome = evaluate_artifact(long_rule(2), "DeviceProcessEvents | where true", runtime, [], [])
    assert outcome.status is Status.FAILED
    assert outcome.reason is not None and "\n" not in outcome.reason
    assert outcome.reason.startswith("[kql] query rejected: the kql engine failed: RecursionError")
