"""The Elastic field schema covers every field the ECS ingest models write, with a fitting type."""

from __future__ import annotations

from typing import Any

import pytest

from converter.core.elastic_fields import (
    ELASTIC_FIELDS,
    ElasticField,
    elastic_field,
    renamed,
)
from converter.core.logsources import LOG_SOURCES
from converter.core.targets import target_by_name
from converter.reference import sources_of
from converter.verify.fields import _stored
from converter.verify.specimens import specimen_events


def _values(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [
            pair
            for key, value in node.items()
            for pair in _values(value, f"{prefix}.{key}" if prefix else key)
        ]
    if isinstance(node, list):
        return [pair for item in node for pair in _values(item, prefix)]
    return [(prefix, node)]


def written_values() -> list[tuple[str, Any]]:
    """(field, value) for every value the ECS models store from the specimens."""
    target = target_by_name("eql")
    found = []
    for source in LOG_SOURCES:
        for spec in sources_of(source.product, source.category, source.service) or ():
            for event in specimen_events(spec):
                for document in _stored(target, event):
                    found.extend(_values(document))
    return found


def untyped(fields: Any) -> set[str]:
    return {name for name, _ in written_values() if elastic_field(name, fields) is None}


def test_every_field_an_ingest_model_writes_has_a_storage_type() -> None:
    assert len({name for name, _ in written_values()}) > 150
    assert untyped(ELASTIC_FIELDS) == set()


def test_a_field_without_a_type_is_found() -> None:
    table = {k: v for k, v in ELASTIC_FIELDS.items() if k != "process.pe.original_file_name"}
    assert untyped(table) == {"process.pe.original_file_name"}


_FAMILY = {bool: "boolean", int: "numeric", float: "numeric", str: ("string", "ip", "date")}


def test_each_written_value_fits_its_mapped_type() -> None:
    wrong = set()
    for name, value in written_values():
        mapping = elastic_field(name)
        assert mapping is not None
        if mapping.family not in _FAMILY[type(value)]:
            wrong.add((name, type(value).__name__, mapping.type))
    assert wrong == set()


def test_script_block_text_is_analysed_text_with_no_exact_form() -> None:
    mapping = ELASTIC_FIELDS["powershell.file.script_block_text"]
    assert (mapping.type, mapping.analyzer, mapping.exact) == (
        "text",
        "powershell_script_analyzer",
        False,
    )
    assert "powershell_operational" in mapping.source


@pytest.mark.parametrize(
    ("name", "kind", "ignore_above"),
    [
        ("process.pe.original_file_name", "keyword", 1024),
        ("file.path", "keyword", 1024),
        ("file.path.text", "match_only_text", None),
        ("process.command_line", "wildcard", None),
        ("winlog.event_data.AnyKey", "keyword", 1024),
        ("data_stream.dataset", "constant_keyword", None),
        ("source.ip", "ip", None),
    ],
)
def test_mappings_from_the_vendor_definitions(name: str, kind: str, ignore_above: Any) -> None:
    mapping = elastic_field(name)
    assert mapping is not None
    assert (mapping.type, mapping.ignore_above) == (kind, ignore_above)


def test_unknown_names_have_no_mapping() -> None:
    assert elastic_field("process.no_such_field") is None
    assert elastic_field("winlog.event_data.A.B") is None


def test_renamed_fields_keep_their_mapping() -> None:
    table = renamed(ELASTIC_FIELDS, {"process.command_line": "acme.cmdline"})
    assert table["acme.cmdline"] == ELASTIC_FIELDS["process.command_line"]
    assert "process.command_line" not in table
    assert isinstance(table["acme.cmdline"], ElasticField)
