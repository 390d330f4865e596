from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from converter.core.errors import InputError
from converter.core.events import WindowsEvent, parse_windows_event
from converter.formats import json_stream
from converter.formats.base import FILTERED, BadRecord, Item
from converter.formats.ecs import EcsRecord
from converter.formats.readers import Reading, detect, read_items

from .conftest import FILES, REPO

FORMATS = FILES / "formats"
ADDSTORE = REPO / "cases/proc_creation_win_certutil_certificate_import/addstore_root.json"


def _sources(path: Path) -> list[tuple[str, str]]:
    out = []
    for record in read_items(path):
        if isinstance(record, BadRecord):
            # orjson's wording after "invalid JSON" is its own and may change between versions
            message = "invalid JSON" if record.message.startswith("invalid JSON: ") else None
            out.append((record.source, "bad: " + (message or record.message)))
        else:
            out.append((record.source, type(record.payload).__name__))
    return out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("audit.log", "auditd"),
        ("defender_export.csv", "defender-csv"),
        ("defender_hunting_api.json", "json"),
        ("ecs_export.ndjson", "json-lines"),
        ("nxlog_sysmon.jsonl", "json-lines"),
        ("splunk_mixed.raw", "windows-text"),
        ("sysmon_linux_syslog.log", "windows-text"),
        ("wevtutil_events.xml", "windows-text"),
        ("wineventlog_classic.txt", "windows-text"),
        ("wineventlog_classic_4688.txt", "windows-text"),
        ("x509.log", "zeek-tsv"),
        ("xmlwineventlog.xml", "windows-text"),
    ],
)
def test_format_is_detected_from_the_content(name: str, expected: str) -> None:
    assert detect(FORMATS / name).format == expected


def test_missing_and_unknown_files_fail_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InputError) as missing:
        detect(tmp_path / "nope.json")
    assert str(missing.value) == f"{tmp_path / 'nope.json'}: no such file"
    unknown = tmp_path / "notes.txt"
    unknown.write_text("just some notes\n")
    with pytest.raises(InputError) as error:
        detect(unknown)
    assert str(error.value).startswith(f"{unknown}:1: unrecognised format")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert detect(empty).format == "empty"
    assert list(read_items(empty)) == []


def test_gzip_is_streamed_and_detected_by_its_magic(tmp_path: Path) -> None:
    plain = FORMATS / "nxlog_sysmon.jsonl"
    packed = tmp_path / "nxlog.log.gz"  # the name says nothing: the bytes do
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert detect(packed).compressed
    got = [(r.source, r.payload) for r in read_items(packed)]  # type: ignore[union-attr]
    want = [(r.source, r.payload) for r in read_items(plain)]  # type: ignore[union-attr]
    assert [s.replace(str(packed), "X") for s, _ in got] == [
        s.replace(str(plain), "X") for s, _ in want
    ]
    assert [p for _, p in got] == [p for _, p in want]


def test_tar_members_are_read_in_one_pass(tmp_path: Path) -> None:
    archive = tmp_path / "export.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("nxlog_sysmon.jsonl", "x509.log"):
            tar.add(FORMATS / name, arcname=f"data/{name}")
        notes = b"not a log\n"
        info = tarfile.TarInfo("data/README")
        info.size = len(notes)
        tar.addfile(info, io.BytesIO(notes))
    assert detect(archive).format == "tar"
    assert _sources(archive) == [
        *[(f"{archive}/data/nxlog_sysmon.jsonl:{n}", "WindowsEvent") for n in range(1, 6)],
        (f"{archive}/data/x509.log:9", "ZeekRecord"),
        (f"{archive}/data/x509.log:10", "ZeekRecord"),
        (f"{archive}/data/x509.log:11", "bad: 3 values for 11 #fields"),
        (f"{archive}/data/README", "bad: " + detect_error(tmp_path)),
    ]


def detect_error(tmp_path: Path) -> str:
    probe = tmp_path / "probe.txt"
    probe.write_text("not a log\n")
    with pytest.raises(InputError) as error:
        detect(probe)
    return error.value.message


def test_json_lines_report_bad_lines_and_go_on(tmp_path: Path) -> None:
    event = json.loads(ADDSTORE.read_text())["event"]
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(event),
                "{broken",
                "[1, 2]",
                '{"not": "an event"}',
                "",
                json.dumps({"Event": {"System": {"EventID": "x"}}}),
                json.dumps(event),
            ]
        )
        + "\n"
    )
    assert _sources(path) == [
        (f"{path}:1", "WindowsEvent"),
        (f"{path}:2", "bad: invalid JSON"),
        (f"{path}:3", "bad: expected a JSON object"),
        (
            f"{path}:4",
            'bad: unrecognised record: expected a Windows event ("Event" or "EventID"), '
            "an ECS document, a Defender row or a Zeek row",
        ),
        (f"{path}:6", "bad: System.EventID is not a number: 'x'"),
        (f"{path}:7", "WindowsEvent"),
    ]


def test_json_arrays_stream_element_by_element_with_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_stream, "CHUNK", 7)  # values cut at every possible place
    event = json.loads(ADDSTORE.read_text())["event"]
    path = tmp_path / "events.json"
    path.write_text("[\n" + ",\n".join(json.dumps(event, indent=1) for _ in range(3)) + "\n]\n")
    lines = len(json.dumps(event, indent=1).splitlines())
    records = list(read_items(path))
    assert [r.source for r in records] == [f"{path}:{2 + i * lines}" for i in range(3)]
    expected = parse_windows_event(event)
    assert all(isinstance(r, Item) and r.payload == expected for r in records)


def test_a_broken_array_ends_its_file_with_a_report(tmp_path: Path) -> None:
    event = json.loads(ADDSTORE.read_text())["event"]
    path = tmp_path / "events.json"
    path.write_text("[\n" + json.dumps(event) + ",\n{oops}\n]\n")
    first, broken = read_items(path)
    assert isinstance(first, Item) and first.source == f"{path}:2"
    assert broken == BadRecord(
        f"{path}:3",
        "invalid JSON: Expecting property name enclosed in double quotes; rest of the file skipped",
    )


def test_a_case_file_and_a_pretty_document_are_one_record(tmp_path: Path) -> None:
    assert _sources(ADDSTORE) == [(f"{ADDSTORE}:1", "WindowsEvent")]
    hit = tmp_path / "hit.json"
    hit.write_text(json.dumps({"_index": "logs", "_id": "1", "_source": {"event": {}}}, indent=2))
    [record] = read_items(hit)
    assert record == Item(f"{hit}:1", EcsRecord({"event": {}}))


def test_utf16_xml_as_powershell_redirects_wevtutil(tmp_path: Path) -> None:
    text = (FORMATS / "xmlwineventlog.xml").read_text(encoding="utf-8")
    path = tmp_path / "wevtutil.xml"
    path.write_bytes(text.encode("utf-16"))  # with its byte order mark
    assert detect(path).encoding == "utf-16"
    utf8 = [r.payload for r in read_items(FORMATS / "xmlwineventlog.xml")]  # type: ignore
    assert [r.payload for r in read_items(path)] == utf8  # type: ignore[union-attr]


def test_the_key_filter_skips_events_before_they_are_parsed() -> None:
    def sysmon_1_only(channel: str, event_id: int) -> bool:
        return channel == "Microsoft-Windows-Sysmon/Operational" and event_id == 1

    for name in ("nxlog_sysmon.jsonl", "xmlwineventlog.xml"):
        payloads = [r.payload for r in read_items(FORMATS / name, sysmon_1_only)]  # type: ignore
        kinds = [p if p is FILTERED else p.event_id for p in payloads]
        assert kinds == {"nxlog_sysmon.jsonl": [1, FILTERED, FILTERED, FILTERED, 1],
                         "xmlwineventlog.xml": [1, 1, FILTERED]}[name]  # fmt: skip
    [case] = read_items(ADDSTORE, lambda channel, event_id: False)
    assert case.payload is FILTERED  # type: ignore[union-attr]


def test_reading_reports_how_far_it_got(tmp_path: Path) -> None:
    path = FORMATS / "nxlog_sysmon.jsonl"
    reading = Reading(detect(path))
    assert reading.position() == 0
    records = iter(reading)
    next(records)
    assert 0 < reading.position() <= path.stat().st_size
    assert isinstance(next(records).payload, WindowsEvent)  # type: ignore[union-attr]
    list(records)
    assert reading.position() == 0  # closed


def test_splunk_search_export_rows_carry_the_indexed_text(tmp_path: Path) -> None:
    xml = (FORMATS / "xmlwineventlog.xml").read_text().splitlines()[0]
    classic = (FORMATS / "wineventlog_classic.txt").read_text().split("\n\n11/20")[0]
    path = tmp_path / "splunk_export.json"
    path.write_text(
        "\n".join(
            json.dumps(row)
            for row in (
                {"preview": False, "result": {"_raw": xml, "host": "wks-0142"}},
                {"_raw": classic, "sourcetype": "WinEventLog"},
                {"_raw": "Nov 20 sshd[1]: accepted"},
            )
        )
    )
    records = list(read_items(path))
    assert records[0].payload == next(read_items(FORMATS / "xmlwineventlog.xml")).payload  # type: ignore
    assert records[1].payload.event_id == 4104  # type: ignore[union-attr]
    assert records[2] == BadRecord(
        f"{path}:3", "_raw is neither <Event> XML nor a WinEventLog text block"
    )
