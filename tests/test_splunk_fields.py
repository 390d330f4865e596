"""The Splunk field schema covers every field the Splunk ingest models write, with what its values
can be; a multi-line script block comes out whole, as the add-on's extraction gives it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from sigma.rule import SigmaRule

from converter.core.cases import load_case
from converter.core.documents import SplunkEvent
from converter.core.logsources import LOG_SOURCES
from converter.core.rules import RuleFile
from converter.core.splunk_fields import (
    SPLUNK_FIELDS,
    DataSource,
    SplunkField,
    data_source,
    splunk_field,
)
from converter.core.targets import target_by_name
from converter.execute.engines.spl import SplEngine
from converter.execute.ingest import splunk
from converter.execute.runtimes import select
from converter.reference import sources_of
from converter.verify.fields import _stored, splunk_names, unknown_fields
from converter.verify.specimens import specimen_events

ROOT = Path(__file__).resolve().parents[1]
POWERSHELL = "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational"
# The add-on's EventData extraction as its transform describes it: the Name in single quotes,
# the value every character up to the next `<` (line breaks included).
DATA_ELEMENT = re.compile(r"<Data Name='([^']*)'>([^<]*)</Data>")


def stored_events() -> list[SplunkEvent]:
    """What the Splunk models store for the specimens and for every recorded case."""
    target = target_by_name("spl")
    events = [
        event
        for source in LOG_SOURCES
        for spec in sources_of(source.product, source.category, source.service) or ()
        for event in specimen_events(spec)
    ]
    for path in sorted((ROOT / "cases").glob("*/*.json")):
        events.append(load_case(path, str(path), path.stem).event)
    return [document for event in events for document in _stored(target, event)]


STORED = stored_events()


def untyped(schema: Mapping[DataSource, Mapping[str, SplunkField]]) -> set[tuple[str, str]]:
    return {
        (event.source, name)
        for event in STORED
        for name in event.fields
        if splunk_field(data_source(event), name, schema) is None
    }


def test_every_field_a_splunk_model_writes_is_declared_for_its_data_source() -> None:
    assert len({name for event in STORED for name in event.fields}) > 200
    assert untyped(SPLUNK_FIELDS) == set()


def test_a_field_without_a_declaration_is_found() -> None:
    sysmon_1 = DataSource("XmlWinEventLog", _sysmon_source(), "1")
    schema = dict(SPLUNK_FIELDS)
    schema[sysmon_1] = {k: v for k, v in SPLUNK_FIELDS[sysmon_1].items() if k != "process_name"}
    assert untyped(schema) == {(_sysmon_source(), "process_name")}


def _sysmon_source() -> str:
    return "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"


def test_a_field_of_another_data_source_is_not_declared() -> None:
    # TargetFilename is a Sysmon 11 field: the Sysmon 1 events never carry it
    file_event = DataSource("XmlWinEventLog", _sysmon_source(), "11")
    process = DataSource("XmlWinEventLog", _sysmon_source(), "1")
    assert splunk_field(file_event, "TargetFilename") is not None
    assert splunk_field(process, "TargetFilename") is None
    assert splunk_field(DataSource("nope", "nope"), "TargetFilename") is None


def test_each_written_value_fits_its_declaration() -> None:
    wrong = set()
    for event in STORED:
        for name, values in event.fields.items():
            field = splunk_field(data_source(event), name)
            assert field is not None
            if len(values) > 1 and not field.multivalue:
                wrong.add((name, "several values"))
            if any("\n" in value for value in values) and not field.multiline:
                wrong.add((name, "a line break"))
    assert wrong == set()
    # the cases do hold multi-line script blocks, so the check above is not empty
    assert any("\n" in v for e in STORED for v in e.fields.get("ScriptBlockText", ()))


def test_auditd_arguments_are_declared_by_pattern() -> None:
    auditd = DataSource("auditd", "/var/log/audit/audit.log")
    assert splunk_field(auditd, "a17") is not None
    assert splunk_field(auditd, "a1x") is None


_PS = DataSource("XmlWinEventLog", POWERSHELL, "4104")
_4688 = DataSource("XmlWinEventLog", "XmlWinEventLog:Security", "4688")
_AUDITD = DataSource("auditd", "/var/log/audit/audit.log")
_X509 = DataSource("bro:x509:json", "/opt/zeek/logs/current/x509.log")


@pytest.mark.parametrize(
    ("source", "name", "extraction", "multiline", "multivalue"),
    [
        (_PS, "ScriptBlockText", "xml-eventdata", True, False),
        (_PS, "EventCode", "xml-system", False, False),
        (_4688, "process", "cim", True, False),
        (_AUDITD, "proctitle", "auto-kv", False, False),
        (_X509, "san.dns{}", "kv-json-array", True, True),
    ],
)
def test_declarations_from_the_add_ons(
    source: DataSource, name: str, extraction: str, multiline: bool, multivalue: bool
) -> None:
    field = splunk_field(source, name)
    assert field is not None
    assert (field.extraction, field.multiline, field.multivalue) == (
        extraction,
        multiline,
        multivalue,
    )


# --- a multi-line ScriptBlockText: whole, as the add-on extracts it --------------------------

MOVE_ITEM = ROOT / "cases/posh_ps_root_certificate_store_import/move_item_on_its_own_line.json"


def _case_event() -> object:
    return load_case(MOVE_ITEM, str(MOVE_ITEM), MOVE_ITEM.stem).event


def test_the_model_extracts_what_the_add_on_transform_extracts() -> None:
    for event in STORED:
        if event.sourcetype != "XmlWinEventLog":
            continue
        # CLEAN_KEYS (default true): characters other than letters, digits, `_` become `_`
        extracted = {
            re.sub(r"[^A-Za-z0-9_]", "_", name): value
            for name, value in DATA_ELEMENT.findall(event.raw)
            if value
        }
        assert {name: event.fields[name][0] for name in extracted} == extracted


def test_a_multi_line_script_block_comes_out_whole() -> None:
    event = splunk.to_splunk(_case_event())  # type: ignore[arg-type]
    assert event is not None
    (text,) = event.fields["ScriptBlockText"]
    assert text.count("\n") == 1 and text.endswith("Cert:\\LocalMachine\\Root")
    assert dict(DATA_ELEMENT.findall(event.raw))["ScriptBlockText"] == text


def _shipped_query(rule: str) -> str:
    return (ROOT / "dist" / "spl" / f"{rule}.spl").read_text(encoding="utf-8")


def _cut_at_first_line(event: object) -> SplunkEvent | None:
    """The wrong model: a value cut at its first line break (what a `[^\\n]*` capture gives)."""
    stored = splunk.to_splunk(event)  # type: ignore[arg-type]
    if stored is None:
        return None
    fields = {
        name: [value.split("\n", 1)[0] for value in values]
        for name, values in stored.fields.items()
    }
    return SplunkEvent(fields, stored.raw, stored.source, stored.sourcetype, stored.host)


def test_cutting_values_at_the_first_line_would_miss_a_recorded_case() -> None:
    compiled = SplEngine().compile(_shipped_query("posh_ps_root_certificate_store_import"))
    event = _case_event()
    assert select(compiled, [splunk.to_splunk(event)]) == {0}  # type: ignore[arg-type]
    assert select(compiled, [_cut_at_first_line(event)]) == set()


def test_json_arrays_are_multivalue_fields_and_any_value_matches() -> None:
    from converter.core.zeek import ZeekRecord
    from converter.execute.ingest.splunk_zeek import to_splunk

    record = ZeekRecord("ssl", {"cert_chain_fuids": ["Fa1", "Fb2"]})
    event = to_splunk(record)
    assert event is not None
    assert event.fields["cert_chain_fuids{}"] == event.fields["cert_chain_fuids"] == ["Fa1", "Fb2"]
    field = splunk_field(data_source(event), "cert_chain_fuids")
    assert field is not None and (field.extraction, field.multivalue) == ("cim", True)
    assert SplEngine().compile("cert_chain_fuids=fb2").select([event]) == [0]


# --- the field check reads the declarations ---------------------------------------------------


def _sysmon_1(**fields: str) -> SplunkEvent:
    values = {"EventCode": ["1"], **{name: [value] for name, value in fields.items()}}
    return SplunkEvent(values, "<Event/>", _sysmon_source(), "XmlWinEventLog")


def test_known_fields_are_the_declared_ones_of_the_data_source() -> None:
    names = splunk_names(_sysmon_1(Image="C:\\x.exe", Bogus="written but not declared"))
    assert {"process_name", "ParentCommandLine", "Image", "source", "_raw"} <= names
    assert "Bogus" not in names  # the model wrote it, but no add-on extracts it
    assert "TargetFilename" not in names  # a Sysmon 11 field


def test_auditd_arguments_are_known_as_the_event_carries_them() -> None:
    event = SplunkEvent({"type": ["EXECVE"], "a3": ["x"]}, "", "/var/log/audit/audit.log", "auditd")
    names = splunk_names(event)
    assert {"a3", "proctitle", "type"} <= names and "a4" not in names


def test_a_rule_on_a_field_splunk_does_not_extract_for_the_sourcetype_is_refused() -> None:
    text = (
        "title: Wrong Field\nid: 6f1e3c4a-54b1-4b0e-9a57-2f1f6bb0c001\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  selection:\n    TargetFilename|endswith: .pfx\n  condition: selection\n"
    )
    rule = RuleFile("sigma/wrong_field.yml", text, SigmaRule.from_yaml(text))
    assert unknown_fields(rule, target_by_name("spl"), ROOT) == ["TargetFilename"]
