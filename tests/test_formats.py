"""The table of scan input formats (`converter.formats.readers.FORMATS`), and its guide "How to
add an input format" followed once with a toy format that `certdetect scan` then reads."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.core.errors import InputError
from converter.core.events import WindowsEvent
from converter.formats import json_records, readers
from converter.formats.base import (
    FILTERED,
    BadRecord,
    Format,
    Head,
    Item,
    ItemKind,
    Opened,
    Records,
)
from converter.formats.readers import FORMATS, WINDOWS, detect, read_items
from converter.scan.scanner import kind_of

from .conftest import REPO

CERTUTIL = "17976649-cec8-47e5-9118-f95515f1123a"  # proc_creation_win_certutil_certificate_import
ROOT_INSTALL = "5cb5e4cc-fa7c-4698-9340-150c26095225"  # the same root install, at high
SYSMON = "Microsoft-Windows-Sysmon/Operational"

# --- the guide's step 1: the toy format's reader module, here in the test ----------------------
# "toyproc": a header line, then one process start per line, `time|image|command line`.
TOY_HEADER = "#toyproc 1"


def toy_sniff(head: Head) -> bool:
    return bool(head.lines) and head.lines[0] == TOY_HEADER


def toy_read(opened: Opened) -> Records:
    for number, line in opened.lines():
        if number == 1 or not line.strip():
            continue
        source = f"{opened.name}:{number}"
        parts = line.split("|")
        if len(parts) != 3:
            yield BadRecord(source, f"{len(parts)} fields, expected time|image|command line")
            continue
        if opened.wanted is not None and not opened.wanted(SYSMON, 1):
            yield Item(source, FILTERED)
            continue
        time, image, command_line = parts
        data = {"UtcTime": time, "Image": image, "CommandLine": command_line}
        yield Item(
            source, WindowsEvent("Microsoft-Windows-Sysmon", 1, SYSMON, "toy", time, None, data)
        )


# --- step 3: one Format record, registered in the table --------------------------------------
TOY = Format("toyproc", "toyproc", sniff=toy_sniff, read=toy_read, yields=(WINDOWS,))

TOY_LOG = (
    f"{TOY_HEADER}\n"
    "2026-11-20 10:15:02|C:\\Windows\\System32\\certutil.exe|"
    "certutil.exe -addstore root C:\\Users\\alice\\AppData\\Local\\Temp\\df00tech-root.cer\n"
    "2026-11-20 10:15:03|C:\\Windows\\System32\\notepad.exe|notepad.exe notes.txt\n"
    "not a process start\n"
)


@pytest.fixture
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "FORMATS", (*FORMATS, TOY))


@pytest.fixture
def toy_log(tmp_path: Path) -> Path:
    path = tmp_path / "processes.toy"
    path.write_text(TOY_LOG, encoding="utf-8")
    return path


# --- step 4: its tests ------------------------------------------------------------------------
def test_a_format_is_unknown_until_its_record_is_in_the_table(toy_log: Path) -> None:
    with pytest.raises(InputError, match="unrecognised format"):
        detect(toy_log)


def test_a_registered_format_is_detected_and_read_with_its_own_reader(
    toy_registered: None, toy_log: Path
) -> None:
    assert detect(toy_log).format == "toyproc"
    records = list(read_items(toy_log))
    assert [type(record).__name__ for record in records] == ["Item", "Item", "BadRecord"]
    first = records[0]
    assert isinstance(first, Item) and first.source == f"{toy_log}:2"
    assert first.payload.get("Image") == "C:\\Windows\\System32\\certutil.exe"
    assert records[2] == BadRecord(f"{toy_log}:4", "1 fields, expected time|image|command line")
    refused = list(read_items(toy_log, wanted=lambda channel, event_id: False))
    assert [getattr(record, "payload", None) for record in refused[:2]] == [FILTERED, FILTERED]


def test_certdetect_scan_evaluates_a_registered_format_with_every_evaluator(
    toy_registered: None, toy_log: Path
) -> None:
    result = CliRunner().invoke(
        main, ["scan", "--format", "jsonl", "--project", str(REPO), str(toy_log)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    lines = [{key: row[key] for key in ("index", "source", "matches")} for row in rows]
    assert lines == [
        {
            "index": 0,
            "source": f"{toy_log}:2",
            "matches": {
                "sigma": [ROOT_INSTALL, CERTUTIL],
                "eql": [ROOT_INSTALL, CERTUTIL],
                "spl": [ROOT_INSTALL, CERTUTIL],
                "kql": [ROOT_INSTALL, CERTUTIL],
            },
        },
        {
            "index": 1,
            "source": f"{toy_log}:3",
            "matches": {"sigma": [], "eql": [], "spl": [], "kql": []},
        },
    ]
    assert f"skipped {toy_log}:4: 1 fields" in result.stderr
    table = CliRunner().invoke(main, ["scan", "--project", str(REPO), str(toy_log)])
    assert "events read: 2, skipped: 1 (windows 2)" in table.stdout


def test_archive_members_are_detected_through_the_table_too(
    toy_registered: None, toy_log: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "logs.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(toy_log, arcname="host1/processes.toy")
    sources = [record.source for record in read_items(archive)]
    assert sources == [f"{archive}/host1/processes.toy:{line}" for line in (2, 3, 4)]


def test_the_unknown_format_message_offers_each_description_once_in_table_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert readers.unknown_format_message() == (
        "unrecognised format (expected .evtx, JSON lines or array of Windows events, ECS "
        "documents, Defender rows or Zeek rows, <Event> XML, WinEventLog text, auditd, Zeek TSV "
        "or Defender CSV)"
    )
    monkeypatch.setattr(readers, "FORMATS", (*FORMATS, TOY))
    assert readers.unknown_format_message().endswith("Zeek TSV, Defender CSV or toyproc)")


@dataclass(frozen=True)
class ToyRecord:
    text: str


def test_scan_counts_a_new_payload_type_under_the_kind_its_format_declares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert kind_of(ToyRecord("x")) == "ToyRecord"  # undeclared: its type's name
    toy = Format("toy", "toy", toy_sniff, toy_read, yields=(ItemKind("toy", (ToyRecord,)),))
    monkeypatch.setattr(readers, "FORMATS", (*FORMATS, toy))
    assert kind_of(ToyRecord("x")) == "toy"
    assert kind_of(WindowsEvent("p", 1, SYSMON, "c", "t", None)) == "windows"
    assert kind_of(FILTERED) == "windows"


def test_a_json_record_of_a_new_layout_is_read_once_its_layout_is_in_the_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "toys.jsonl"
    path.write_text('{"toy": "one"}\n', encoding="utf-8")
    (refused,) = read_items(path)
    assert refused == BadRecord(f"{path}:1", json_records.not_a_record_message())
    toy = json_records.JsonLayout(
        "a toy record",
        lambda record: "toy" in record,
        lambda record, wanted, file_name: ToyRecord(record["toy"]),
        ItemKind("toy", (ToyRecord,)),
    )
    monkeypatch.setattr(json_records, "LAYOUTS", (*json_records.LAYOUTS, toy))
    assert list(read_items(path)) == [Item(f"{path}:1", ToyRecord("one"))]
    assert json_records.not_a_record_message() == (
        'unrecognised record: expected a Windows event ("Event" or "EventID"), an ECS document, '
        "a Defender row, a Zeek row or a toy record"
    )


def test_one_payload_type_declared_under_two_kind_names_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clash = Format(
        "clash", None, toy_sniff, toy_read, yields=(ItemKind("sysmon", (WindowsEvent,)),)
    )
    monkeypatch.setattr(readers, "FORMATS", (*FORMATS, clash))
    with pytest.raises(ValueError, match="WindowsEvent is counted as both 'windows' and 'sysmon'"):
        readers.kind_names()


def test_the_first_format_whose_sniff_accepts_a_file_reads_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"EventID": 1}\n', encoding="utf-8")
    greedy = Format("greedy", None, lambda head: True, lambda opened: iter(()), yields=())
    monkeypatch.setattr(readers, "FORMATS", (greedy, *FORMATS))
    assert detect(path).format == "greedy"
    monkeypatch.setattr(readers, "FORMATS", (*FORMATS, greedy))
    assert detect(path).format == "json-lines"


def test_every_format_has_a_unique_name_and_a_row_in_the_readers_docstring() -> None:
    names = [form.name for form in FORMATS]
    assert len(set(names)) == len(names)
    documented = readers.__doc__ or ""
    assert [name for name in names if f"| `{name}`" not in documented] == []


def test_an_opened_files_lines_are_numbered_from_one_without_their_line_ends() -> None:
    opened = Opened(io.BytesIO(b"a\r\nb\n"), "mem", "utf-8")
    assert list(opened.lines()) == [(1, "a"), (2, "b")]
