"""The KQL registry corrections (K1-K5): one-line rules on Sysmon registry events, each checked by
`certdetect verify`'s verifier (the Sigma reference against the KQL query executed on the rows
the Defender model stores). The events have the shape of SigmaHQ's regression events for the
rules named in each test; the values are written here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.rule import SigmaRule

from converter.convert.conversion import convert_for_target
from converter.core.events import WindowsEvent
from converter.core.rules import RuleFile
from converter.execute.ingest.defender import to_defender
from converter.verify.conformance import DISAGREES, UNSUPPORTED, VERIFIED, Job, Verifier
from converter.verify.kusto_validator import validate
from converter.verify.vendor_check import require_validators

REPO = Path(__file__).resolve().parents[1]
SYSMON = "Microsoft-Windows-Sysmon/Operational"
USER_KEY = "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001"


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(REPO)


def registry(event_id: int, target: str, details: str | None = None, **data: str) -> WindowsEvent:
    fields = {"EventType": "SetValue" if event_id == 13 else "CreateKey", "TargetObject": target}
    if details is not None:
        fields["Details"] = details
    fields["Image"] = "C:\\Windows\\System32\\reg.exe"
    fields.update(data)
    return WindowsEvent(
        SYSMON, event_id, SYSMON, "wks-7.corp.example", "2026-11-20T10:00:00Z", 1, fields
    )


def rule(detection: dict[str, Any], category: str = "registry_set") -> RuleFile:
    text = yaml.safe_dump(
        {
            "title": f"one-line {category} rule",
            "id": "5d0c7c1e-8a51-4f0c-9a55-0b6f1f2e7a10",
            "logsource": {"product": "windows", "category": category},
            "detection": detection,
        },
        sort_keys=False,
    )
    return RuleFile("one-line.yml", text, SigmaRule.from_yaml(text))


def kql(verifier: Verifier, the_rule: RuleFile, *events: WindowsEvent) -> tuple[int | None, Any]:
    report = verifier.verify(Job(the_rule, events))
    verdict = report.targets["kql"]
    assert verdict.status == VERIFIED, verdict.reason
    return report.sigma, verdict


AMSI = f"{USER_KEY}\\Software\\Microsoft\\Windows Script\\Settings\\AmsiEnable"


def test_k1_a_key_and_value_name_are_split_once(verifier: Verifier) -> None:
    # AMSI Disabled via Registry Modification: `\Settings\AmsiEnable` was tested as two value
    # names, "Settings" and "AmsiEnable", and never matched
    the_rule = rule(
        {"sel": {"TargetObject|endswith": "\\Settings\\AmsiEnable"}, "condition": "sel"}
    )
    sigma, verdict = kql(verifier, the_rule, registry(13, AMSI, "DWORD (0x00000000)"))
    assert sigma == verdict.matches == 1


def test_k1_a_negated_filter_on_a_key_and_value_name_still_excludes(verifier: Verifier) -> None:
    the_rule = rule(
        {
            "sel": {"TargetObject|contains": "\\Windows Script\\"},
            "filter": {"TargetObject|endswith": "\\Settings\\AmsiEnable"},
            "condition": "sel and not filter",
        }
    )
    kept = registry(13, AMSI.replace("AmsiEnable", "Other"), "DWORD (0x00000001)")
    sigma, verdict = kql(verifier, the_rule, registry(13, AMSI, "DWORD (0x00000000)"), kept)
    assert sigma == verdict.matches == 1


def test_k2_dword_details_are_compared_as_the_decimal_defender_stores(
    verifier: Verifier,
) -> None:
    the_rule = rule({"sel": {"Details": "DWORD (0x00000000)"}, "condition": "sel"})
    other = registry(13, AMSI, "DWORD (0x00000001)")
    sigma, verdict = kql(verifier, the_rule, registry(13, AMSI, "DWORD (0x00000000)"), other)
    assert sigma == verdict.matches == 1
    assert to_defender(registry(13, AMSI, "DWORD (0x00000d3d)")).columns["RegistryValueData"] == (
        "3389"
    )


def test_k2_a_wildcard_over_typed_details_is_refused_with_the_reason(verifier: Verifier) -> None:
    the_rule = rule({"sel": {"Details|startswith": "DWORD (0x0000"}, "condition": "sel"})
    verdict = verifier.verify(Job(the_rule, [registry(13, AMSI, "DWORD (0x00000000)")]))
    assert verdict.targets["kql"].status == UNSUPPORTED
    assert "decimal text" in str(verdict.targets["kql"].reason)


TASK = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\Updater"


def test_k3_contains_spanning_key_and_value_name_on_registry_delete(verifier: Verifier) -> None:
    # Removal Of Index Value to Hide Schedule Task: `contains` is not split, and the value name
    # "Index" is never in RegistryKey
    the_rule = rule(
        {
            "sel": {
                "TargetObject|contains|all": ["\\TaskCache\\Tree\\", "Index"],
            },
            "condition": "sel",
        },
        "registry_delete",
    )
    deleted = registry(12, f"{TASK}\\Index", EventType="DeleteValue")
    created = registry(12, f"{TASK}\\Index", EventType="CreateKey")
    sigma, verdict = kql(verifier, the_rule, deleted, created)
    assert sigma == verdict.matches == 1


def test_k3_registry_delete_queries_filter_the_delete_actions(verifier: Verifier) -> None:
    the_rule = rule({"sel": {"Image|endswith": "\\reg.exe"}, "condition": "sel"}, "registry_delete")
    deleted = registry(12, f"{TASK}\\SD", EventType="DeleteValue")
    key_deleted = registry(12, TASK, EventType="DeleteKey")
    created = registry(12, TASK, EventType="CreateKey")
    sigma, verdict = kql(verifier, the_rule, deleted, key_deleted, created)
    assert sigma == verdict.matches == 2


def test_k3_registry_event_reads_key_events_and_renames(verifier: Verifier) -> None:
    the_rule = rule(
        {"sel": {"TargetObject|endswith": "\\Tree\\Updater"}, "condition": "sel"}, "registry_event"
    )
    created = registry(12, TASK, EventType="CreateKey")
    renamed = registry(14, TASK, EventType="RenameKey", NewName=f"{TASK}2")
    value = registry(13, f"{TASK}\\Index", "DWORD (0x00000001)")
    sigma, verdict = kql(verifier, the_rule, created, renamed, value)
    assert sigma == verdict.matches == 2


def test_k4_the_default_value_is_the_empty_value_name(verifier: Verifier) -> None:
    # Bypass UAC Using Event Viewer: `...\shell\open\command\(Default)`
    command = f"{USER_KEY}_Classes\\mscfile\\shell\\open\\command\\(Default)"
    the_rule = rule(
        {"sel": {"TargetObject|endswith": "\\shell\\open\\command\\(Default)"}, "condition": "sel"}
    )
    named = registry(13, command.replace("(Default)", "Other"), "x")
    sigma, verdict = kql(verifier, the_rule, registry(13, command, "C:\\x.exe"), named)
    assert sigma == verdict.matches == 1
    assert to_defender(registry(13, command, "x")).columns["RegistryValueName"] == ""


def test_k5_user_hives_are_spelled_as_defender_stores_them(verifier: Verifier) -> None:
    # Potential COM Object Hijacking Via TreatAs Subkey: `HKU\` became `HKEY_USERS\`, which no
    # Defender row holds (they read HKEY_CURRENT_USER\<SID>\)
    treat_as = f"{USER_KEY}_Classes\\CLSID\\{{0F87369F-A4E5-4CFC-BD3E-73E6154572DD}}\\TreatAs"
    the_rule = rule(
        {"sel": {"TargetObject|contains|all": ["HKU\\", "\\TreatAs"]}, "condition": "sel"}
    )
    event = registry(13, f"{treat_as}\\(Default)", "{00000000-0000-0000-0000-000000000001}")
    sigma, verdict = kql(verifier, the_rule, event)
    assert sigma == verdict.matches == 1
    stored = to_defender(event).columns["RegistryKey"]
    assert stored.startswith("HKEY_CURRENT_USER\\S-1-5-21-")


def test_a_field_the_target_lacks_makes_it_unsupported_not_a_failure(verifier: Verifier) -> None:
    # E-H: the ECS model drops winlog.event_data.Hashes; Defender has no imphash column
    the_rule = rule(
        {
            "sel": {"Hashes|contains": "IMPHASH=0123456789ABCDEF0123456789ABCDEF"},
            "condition": "sel",
        },
        "process_creation",
    )
    event = WindowsEvent(
        SYSMON, 1, SYSMON, "wks", "2026-11-20T10:00:00Z", 1,
        {"Image": "C:\\x.exe", "Hashes": "IMPHASH=0123456789ABCDEF0123456789ABCDEF"},
    )  # fmt: skip
    report = verifier.verify(Job(the_rule, [event]))
    assert report.sigma == 1
    assert report.targets["eql"].status == UNSUPPORTED
    assert "winlog.event_data.Hashes" in str(report.targets["eql"].reason)
    assert report.targets["kql"].status == UNSUPPORTED
    assert not report.failed


def test_a_thousand_value_list_executes_in_the_kql_engine(verifier: Verifier) -> None:
    # Shai-Hulud 2.0 Malicious NPM Package Installation lists a thousand packages
    names = [f"npm install pkg-{n}@1.0.{n}" for n in range(1100)]
    the_rule = rule(
        {"sel": {"CommandLine|contains": names}, "condition": "sel"}, "process_creation"
    )
    event = WindowsEvent(
        SYSMON, 1, SYSMON, "wks", "2026-11-20T10:00:00Z", 1,
        {"Image": "C:\\node.exe", "CommandLine": "npm install pkg-1099@1.0.1099 --save"},
    )  # fmt: skip
    sigma, verdict = kql(verifier, the_rule, event)
    assert sigma == verdict.matches == 1


def test_the_old_double_split_disagrees_so_the_check_bites(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Swap in K1's wrong semantics: every key segment tested as a value name.
    from converter.convert.backends import kql_registry

    def double_split(value: Any, category: Any, test: Any) -> str:
        segments = [s for s in str(value).strip("*").split("\\") if s]
        return " and ".join(f'RegistryValueName =~ "{s}"' for s in segments)

    monkeypatch.setattr("converter.convert.backends.kql.target_object_test", double_split)
    assert kql_registry.target_object_test is not double_split
    the_rule = rule(
        {"sel": {"TargetObject|endswith": "\\Settings\\AmsiEnable"}, "condition": "sel"}
    )
    report = verifier.verify(Job(the_rule, [registry(13, AMSI, "DWORD (0x00000000)")]))
    assert report.targets["kql"].status == DISAGREES
    assert report.failed


# --- Values the split cannot test exactly: the path Sysmon writes, rebuilt (SYSMON_PATH) --------
# Shapes written here for the boundary between key and value name, each run on events built for
# it: value events whose names and keys share text, the default value, and key-only actions.

RUN = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run"
OPEN = "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001_Classes\\ms-x\\shell\\open\\command"
BOUNDARY_EVENTS = (
    registry(13, f"{RUN}\\Evil", "C:\\evil.exe"),
    registry(13, f"{RUN}\\(Default)", "C:\\default.exe"),
    registry(13, f"{RUN}Once\\Sub\\Evil", "C:\\evil.exe"),
    registry(13, f"{RUN}\\Ev\\il", "x"),  # key ...\Run\Ev, value il
    registry(13, f"{OPEN}\\(Default)", "C:\\open.exe"),
    registry(13, f"{OPEN}\\DelegateExecute", ""),
    registry(12, f"{RUN}\\Eval", EventType="DeleteValue"),
    registry(12, f"{RUN}\\(Default)", EventType="DeleteValue"),
    registry(12, f"{RUN}\\Evil", EventType="CreateKey"),
    registry(12, f"{RUN}\\Ev1l", EventType="DeleteKey"),
    registry(14, f"{RUN}\\Evxl", EventType="RenameKey", NewName=f"{RUN}\\Renamed"),
)

# (id, detection, the query tests the rebuilt path)
SHAPES = [
    ("star-in-value-name", {"s": {"TargetObject|endswith": "\\Run\\Ev*l"}}, True),
    ("question-mark-in-value-name", {"s": {"TargetObject": "*\\Run\\Ev?l"}}, True),
    ("star-spans-the-boundary", {"s": {"TargetObject|contains": "Run*Evil"}}, True),
    ("question-mark-is-the-boundary", {"s": {"TargetObject|endswith": "Run?Evil"}}, True),
    ("star-before-the-name", {"s": {"TargetObject|endswith": "*Evil"}}, False),
    ("star-in-the-key", {"s": {"TargetObject": "HKLM\\SOFTWARE\\Micro*\\Run\\Evil"}}, False),
    ("star-at-the-boundary", {"s": {"TargetObject": "*\\Run*\\Evil"}}, False),
    ("star-in-key-and-trailing", {"s": {"TargetObject": "*\\Run*\\Ev*"}}, False),
    ("star-in-key-and-name", {"s": {"TargetObject": "*\\Run*\\E*l"}}, True),
    ("default-value-split", {"s": {"TargetObject|endswith": "\\command\\(Default)"}}, False),
    ("default-value-prefix-star", {"s": {"TargetObject|endswith": "\\command\\(Def*"}}, False),
    ("default-value-star", {"s": {"TargetObject|endswith": "\\command\\(De*lt)"}}, True),
    ("default-value-spans", {"s": {"TargetObject|contains": "command?(Default)"}}, True),
    ("default-value-prefix", {"s": {"TargetObject|endswith": "Run\\(Default)"}}, False),
    ("trailing-backslash", {"s": {"TargetObject|endswith": "\\Run\\"}}, True),
    ("trailing-backslash-contains", {"s": {"TargetObject|contains": "\\Run\\"}}, False),
    ("trailing-backslash-startswith", {"s": {"TargetObject|startswith": f"{RUN}\\"}}, False),
    (
        "negated-filter-with-a-wildcard-name",
        {
            "s": {"TargetObject|contains": "\\CurrentVersion\\Run"},
            "f": {"TargetObject|endswith": "\\Ev*l"},
            "condition": "s and not f",
        },
        True,
    ),
    (
        "negated-filter-spanning",
        {
            "s": {"TargetObject|contains": "\\Run"},
            "f": {"TargetObject|contains": "Run*Evil"},
            "condition": "s and not f",
        },
        True,
    ),
    ("all-with-a-spanning-part", {"s": {"TargetObject|contains|all": ["Run*Ev", "il"]}}, True),
    ("all-split-and-rebuilt", {"s": {"TargetObject|endswith|all": ["Evil", "\\E*l"]}}, True),
    ("regex-across-the-boundary", {"s": {"TargetObject|re": r"\\Run\\Ev.l$"}}, True),
    ("regex-default-value", {"s": {"TargetObject|re": r"(?i)command\\\(default\)$"}}, True),
    (
        "negated-regex-filter",
        {
            "s": {"TargetObject|contains": "\\Run"},
            "f": {"TargetObject|re": r"Run.Ev"},
            "condition": "s and not f",
        },
        True,
    ),
    ("list-of-wildcard-names", {"s": {"TargetObject|endswith": ["\\Ev?l", "\\Eva*"]}}, True),
]
CATEGORIES = ("registry_set", "registry_add", "registry_delete", "registry_event")


def kql_query(verifier: Verifier, the_rule: RuleFile) -> str:
    (target,) = [t for t in verifier._targets if t.spec.name == "kql"]
    return convert_for_target(target.backends, the_rule).query


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize(
    ("detection", "rebuilt"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES]
)
def test_a_value_across_the_boundary_agrees_with_the_reference(
    verifier: Verifier, category: str, detection: dict[str, Any], rebuilt: bool
) -> None:
    the_rule = rule({"condition": "s", **detection}, category)
    report = verifier.verify(Job(the_rule, BOUNDARY_EVENTS))
    verdict = report.targets["kql"]
    assert verdict.status == VERIFIED, verdict.reason
    assert ("strcat(" in kql_query(verifier, the_rule)) is rebuilt


def test_every_shape_selects_some_events_and_not_all(verifier: Verifier) -> None:
    # a shape that matches nothing, or everything, would pass against any query
    counts = {}
    for name, detection, _ in SHAPES:
        the_rule = rule({"condition": "s", **detection}, "registry_event")
        counts[name] = verifier.verify(Job(the_rule, BOUNDARY_EVENTS)).sigma
    outside = {n: c for n, c in counts.items() if not 0 < c < len(BOUNDARY_EVENTS)}
    # a Sysmon path never ends with `\`: what that shape checks is that no (Default) row matches
    assert outside == {"trailing-backslash": 0}


def test_the_rebuilt_path_without_the_default_name_disagrees_so_the_check_bites(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Swap in the path without iff(): the default value's row would end with `\`, not
    # `\(Default)`, and the reference's match is missed.
    from converter.convert.backends import kql, kql_registry

    wrong = 'strcat(RegistryKey, "\\\\", RegistryValueName)'
    monkeypatch.setattr(kql_registry, "SYSMON_PATH", wrong)
    monkeypatch.setattr(kql, "SYSMON_PATH", wrong)
    the_rule = rule({"s": {"TargetObject|contains": "command?(Default)"}, "condition": "s"})
    report = verifier.verify(Job(the_rule, BOUNDARY_EVENTS))
    assert report.sigma == 1
    assert report.targets["kql"].status == DISAGREES


def test_kusto_language_accepts_the_rebuilt_path(verifier: Verifier) -> None:
    queries = {
        f"{name}/{category}": kql_query(verifier, rule({"condition": "s", **detection}, category))
        for name, detection, rebuilt in SHAPES
        if rebuilt
        for category in ("registry_set", "registry_event")
    }
    check = validate(queries)
    if check.skipped is not None:
        if require_validators():
            pytest.fail(f"CI=true needs Kusto.Language: {check.skipped}")
        pytest.skip(check.skipped)
    assert {name: check.errors(name) for name in queries if check.errors(name)} == {}
