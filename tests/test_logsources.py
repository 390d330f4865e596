"""`converter.core.logsources`: one table of log sources and channels, read by every stage.

The toy tests follow the guides "How to add a log source" (`converter/core/logsources.py`) and
"How to add an ingest field" (`converter/execute/ingest/__init__.py`) with a made-up log source
and field, and find them where the guides say they arrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sigma.pipelines.common import windows_logsource_mapping
from sigma.rule import SigmaRule

from converter.checks.conventions import check_conventions
from converter.core import logsources
from converter.core.events import WindowsEvent
from converter.core.logsources import (
    CHANNELS,
    POWERSHELL_CHANNEL,
    POWERSHELL_CORE_CHANNEL,
    SYSMON_CHANNEL,
    LogSource,
    WindowsEvents,
    find_log_source,
)
from converter.core.rules import RuleFile
from converter.execute.ingest import defender, ecs, splunk
from converter.reference import UnsupportedRuleError, compile_reference, sources_of
from converter.scaffold import file_stem, parse_logsource
from converter.verify.fields import document_fields, stored_fields
from converter.verify.specimens import SPECIMENS

TOY = LogSource(
    "windows",
    "toy_category",
    None,
    "toy_win_",
    (WindowsEvents("Sysmon 99", frozenset({SYSMON_CHANNEL}), frozenset({99})),),
)
TOY_PATH = "sigma/windows/toy_category/toy_win_example.yml"
TOY_RULE = """
title: Toy Rule
id: 5f0c2a8e-6d1b-4c3a-9e7f-0a1b2c3d4e5f
status: experimental
description: Detects the toy.
author: certdetect
date: 2026-12-06
tags:
    - attack.resource-development
    - attack.t1587.003
logsource:
    category: toy_category
    product: windows
detection:
    selection:
        Image|endswith: '\\toy.exe'
    condition: selection
falsepositives:
    - Toy administrators
level: low
"""


def _event(event_id: int, **data: str) -> WindowsEvent:
    return WindowsEvent(
        provider="Microsoft-Windows-Sysmon",
        event_id=event_id,
        channel=SYSMON_CHANNEL,
        computer="host.example.com",
        time_created="2026-01-01T00:00:00.000Z",
        record_id=1,
        data=data,
    )


def _toy_document(event: WindowsEvent) -> dict[str, Any]:
    return {"event": {"code": str(event.event_id)}, "toy": {"image": event.get("Image")}}


def _log_source_findings(path: str) -> list[str]:
    rule = RuleFile(path=path, text=TOY_RULE, rule=SigmaRule.from_yaml(TOY_RULE))
    return [
        finding.message
        for finding in check_conventions(rule)
        if "log source" in finding.message or "belongs in" in finding.message
    ]


@pytest.fixture
def toy_log_source(monkeypatch: pytest.MonkeyPatch) -> None:
    # Steps 1 and 4 of "How to add a log source": the table entry and an ingest builder.
    monkeypatch.setattr(logsources, "LOG_SOURCES", (*logsources.LOG_SOURCES, TOY))
    monkeypatch.setitem(ecs.BUILDERS, (SYSMON_CHANNEL, 99), _toy_document)


def test_a_toy_log_source_in_the_table_reaches_the_reference(toy_log_source: None) -> None:
    reference = compile_reference(SigmaRule.from_yaml(TOY_RULE))
    assert reference.sources == ("Sysmon 99",)
    assert reference.matches(_event(99, Image="C:\\Tools\\toy.exe"))
    assert not reference.matches(_event(99, Image="C:\\Tools\\other.exe"))
    assert not reference.applies_to(_event(1, Image="C:\\Tools\\toy.exe"))


def test_a_toy_log_source_in_the_table_reaches_the_conventions_check(toy_log_source: None) -> None:
    assert _log_source_findings(TOY_PATH) == []
    assert _log_source_findings("sigma/windows/process_creation/toy_win_example.yml") == [
        "rule belongs in sigma/windows/toy_category/"
    ]
    assert file_stem("Toy Rule", *parse_logsource("windows/toy_category")) == "toy_win_toy_rule"


def test_a_toy_builder_reaches_stores_and_the_stored_document(toy_log_source: None) -> None:
    assert ecs.stores(SYSMON_CHANNEL, 99)
    assert ecs.to_ecs(_event(99, Image="C:\\toy.exe")) == {
        "event": {"code": "99"},
        "toy": {"image": "C:\\toy.exe"},
    }
    assert not splunk.stores(SYSMON_CHANNEL, 99)  # no builder there: not stored, not scanned


def test_without_its_table_entry_the_toy_log_source_is_refused() -> None:
    with pytest.raises(UnsupportedRuleError, match="no reference event source"):
        compile_reference(SigmaRule.from_yaml(TOY_RULE))
    (finding,) = _log_source_findings(TOY_PATH)
    assert "has no recorded-event model" in finding
    assert not ecs.stores(SYSMON_CHANNEL, 99)


@pytest.fixture
def toy_field(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # "How to add an ingest field", step 2: the field set by the event's builder.
    sysmon_11 = ecs.BUILDERS[(SYSMON_CHANNEL, 11)]

    def with_toy_field(event: WindowsEvent) -> dict[str, Any] | None:
        document = sysmon_11(event)
        if document is not None:
            document["toy"] = {"target": event.get("TargetFilename")}
        return document

    monkeypatch.setitem(ecs.BUILDERS, (SYSMON_CHANNEL, 11), with_toy_field)
    stored_fields.cache_clear()
    yield
    stored_fields.cache_clear()


def test_a_toy_ingest_field_reaches_the_document_and_the_field_check(toy_field: None) -> None:
    document = ecs.to_ecs(_event(11, TargetFilename="C:\\Temp\\a.crt"))
    assert document is not None
    assert document["toy"] == {"target": "C:\\Temp\\a.crt"}
    assert document["file"]["path"] == "C:\\Temp\\a.crt"  # the builder's own fields stay
    assert "toy.target" in (document_fields("eql", "windows", "file_event") or ())


@pytest.mark.parametrize("model", [ecs, splunk, defender], ids=lambda m: m.__name__)
def test_stores_is_exactly_the_builder_table(model: Any) -> None:
    for channel, event_id in model.BUILDERS:
        assert model.stores(channel, event_id)
    assert not model.stores(SYSMON_CHANNEL, 25)
    assert not model.stores(POWERSHELL_CORE_CHANNEL, 4104)


def test_the_reference_reads_both_powershell_channels_and_each_siem_what_its_vendor_collects() -> (
    None
):
    (script,) = sources_of("windows", "ps_script", None) or ()
    assert script.channels == {POWERSHELL_CHANNEL, POWERSHELL_CORE_CHANNEL}
    assert ecs.stores(POWERSHELL_CHANNEL, 4104) and splunk.stores(POWERSHELL_CHANNEL, 4104)
    assert not defender.stores(POWERSHELL_CHANNEL, 4104)  # no script-block table


def test_every_channel_of_a_log_source_is_in_the_channel_table_under_pysigmas_service() -> None:
    for log_source in logsources.LOG_SOURCES:
        for carrier in log_source.carriers:
            for channel, _ in getattr(carrier, "keys", ()):
                assert channel in CHANNELS, (log_source.name, channel)
    for channel in CHANNELS.values():
        if channel.service is not None:
            mapped = windows_logsource_mapping[channel.service]
            assert channel.name in (mapped if isinstance(mapped, list) else [mapped])


def test_a_log_source_is_a_category_or_a_service_not_both() -> None:
    assert find_log_source("windows", "process_creation", None) is not None
    assert find_log_source("zeek", None, "x509") is not None
    assert find_log_source("windows", "process_creation", "sysmon") is None
    assert find_log_source(None, "process_creation", None) is None
    assert find_log_source("linux", "auditd", None) is None  # auditd is a service


def test_a_windows_service_is_its_whole_channel_with_a_specimen_per_modelled_event() -> None:
    services = [s for s in logsources.LOG_SOURCES if s.product == "windows" and s.service]
    assert {s.service for s in services} == {
        "security",
        "taskscheduler",
        "wmi",
        "sysmon",
        "windefend",
    }
    for source in services:
        (carrier,) = source.carriers
        assert isinstance(carrier, WindowsEvents) and carrier.whole_channel
        (channel,) = carrier.channels
        assert CHANNELS[channel].service == source.service
        assert carrier.reads(channel, 65535)  # any event ID of the channel
        assert not carrier.reads(SYSMON_CHANNEL if channel != SYSMON_CHANNEL else "Security", 1)
        assert all(key in SPECIMENS for key in carrier.keys), source.name
    # a category keeps to its event IDs
    process = find_log_source("windows", "process_creation", None)
    assert process is not None
    assert not any(
        c.reads("Security", 4624) for c in process.carriers if isinstance(c, WindowsEvents)
    )
