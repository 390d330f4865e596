from __future__ import annotations

import io
import os
import shutil
import struct
import tarfile
import threading
import zipfile
import zlib
from pathlib import Path

import pytest

from converter.core.errors import InputError
from converter.formats.base import BadRecord, Item
from converter.formats.readers import read_items
from converter.scan.inputs import expand, records

from .conftest import FILES
from .test_formats_evtx_file import ACCESS, CERTUTIL, _event, write_evtx

FORMATS = FILES / "formats"


def _cut_at_a_chunk(path: Path) -> None:
    """Make the header announce a second chunk the file does not hold."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, 42, 2)
    struct.pack_into("<I", data, 124, zlib.crc32(bytes(data[:120])))
    path.write_bytes(bytes(data))


def test_a_folder_is_read_recursively_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "z").mkdir(parents=True)
    shutil.copy(FORMATS / "audit.log", tmp_path / "b" / "audit.log")
    shutil.copy(FORMATS / "x509.log", tmp_path / "a" / "z" / "x509.log")
    shutil.copy(FORMATS / "nxlog_sysmon.jsonl", tmp_path / "a" / "sysmon.jsonl")
    (tmp_path / "a" / "notes.txt").write_text("not a log\n")
    inputs = expand([str(tmp_path)])
    assert [
        (Path(t.name).relative_to(tmp_path).as_posix(), t.unreadable) for t in inputs.tallies
    ] == [
        ("a/notes.txt", "unrecognised format"),
        ("a/sysmon.jsonl", None),
        ("a/z/x509.log", None),
        ("b/audit.log", None),
    ]
    read = list(records(inputs, None))
    assert [(t.read, t.skipped) for t in inputs.tallies] == [(0, 0), (5, 0), (2, 1), (3, 1)]
    assert sum(type(r) is Item for r in read) == 10


def test_a_named_file_of_no_known_format_and_a_missing_path_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a log\n")
    with pytest.raises(InputError, match="unrecognised format"):
        expand([str(tmp_path / "notes.txt")])
    with pytest.raises(InputError, match="no such file or folder"):
        expand([str(tmp_path / "missing.evtx")])


def test_standard_input_is_read_from_an_anonymous_copy() -> None:
    stdin = io.BytesIO((FORMATS / "audit.log").read_bytes())
    inputs = expand(["-"], stdin=stdin)
    try:
        sources = [r.source for r in records(inputs, None)]
        assert sources[0] == "-:1" and inputs.tallies[0].read == 3
        [(file, _)] = inputs.files
        assert file.size == len(stdin.getvalue())
    finally:
        inputs.close()


def test_a_pipe_and_a_device_are_read_too() -> None:
    # what a shell's process substitution <(zcat day.log.gz) passes: /dev/fd/N of a pipe
    reader, writer = os.pipe()
    feeder = threading.Thread(
        target=lambda: (os.write(writer, (FORMATS / "audit.log").read_bytes()), os.close(writer))
    )
    feeder.start()
    try:
        inputs = expand([f"/dev/fd/{reader}", "/dev/null"])
        feeder.join()
        list(records(inputs, None))
        assert [(t.name, t.read) for t in inputs.tallies] == [
            (f"/dev/fd/{reader}", 3),
            ("/dev/null", 0),
        ]
        inputs.close()
    finally:
        os.close(reader)


def test_a_truncated_evtx_reports_how_much_was_read(tmp_path: Path) -> None:
    whole = tmp_path / "whole.evtx"
    write_evtx(whole, [_event(1, CERTUTIL), _event(10, ACCESS)])
    cut = tmp_path / "cut.evtx"
    shutil.copy(whole, cut)
    _cut_at_a_chunk(cut)  # the parser alone yields both events and says nothing
    read = list(read_items(cut))
    assert [type(r) for r in read] == [Item, Item, BadRecord]
    assert read[-1] == BadRecord(
        str(cut),
        "truncated: 69,632 of 135,168 bytes present; 2 record(s) before the cut were read",
        lost=True,
    )
    inside = tmp_path / "inside.evtx"
    inside.write_bytes(whole.read_bytes()[:7000])  # cut inside the chunk
    assert list(read_items(inside))[-1] == BadRecord(
        str(inside),
        "truncated: 7,000 of 69,632 bytes present; 0 record(s) before the cut were read",
        lost=True,
    )
    assert not any(type(r) is BadRecord for r in read_items(whole))
    inputs = expand([str(cut)])
    list(records(inputs, None))
    assert (inputs.tallies[0].read, inputs.tallies[0].unreadable) == (2, read[-1].message)


def test_evtx_members_of_an_archive_are_read(tmp_path: Path) -> None:
    log = tmp_path / "Sysmon.evtx"
    write_evtx(log, [_event(1, CERTUTIL), _event(10, ACCESS)])
    archive = tmp_path / "logs.tgz"
    with tarfile.open(archive, "w:gz") as packed:
        packed.add(log, arcname="host1/Sysmon.evtx")
        packed.add(FORMATS / "audit.log", arcname="host1/audit.log")
    read = list(read_items(archive))
    assert [r.source for r in read if type(r) is Item][:3] == [
        f"{archive}/host1/Sysmon.evtx:record=1",
        f"{archive}/host1/Sysmon.evtx:record=2",
        f"{archive}/host1/audit.log:1",
    ]
    assert read[0].payload.data == CERTUTIL  # type: ignore[union-attr]


def _zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        for name, data in members:
            packed.writestr(name, data)


def test_zip_members_are_read_in_name_order_evtx_included(tmp_path: Path) -> None:
    log = tmp_path / "Sysmon.evtx"
    write_evtx(log, [_event(1, CERTUTIL), _event(10, ACCESS)])
    archive = tmp_path / "logs.zip"
    # written out of order, with a folder entry and a file of no known format
    _zip(
        archive,
        [
            ("host2/audit.log", (FORMATS / "audit.log").read_bytes()),
            ("host1/notes.txt", b"not a log\n"),
            ("host1/Sysmon.evtx", log.read_bytes()),
        ],
    )
    with zipfile.ZipFile(archive, "a") as packed:
        packed.writestr(zipfile.ZipInfo("host1/empty-folder/"), b"")
    inputs = expand([str(archive)])
    read = list(records(inputs, None))
    assert [r.source for r in read][:4] == [
        f"{archive}/host1/Sysmon.evtx:record=1",
        f"{archive}/host1/Sysmon.evtx:record=2",
        f"{archive}/host1/notes.txt",
        f"{archive}/host2/audit.log:1",
    ]
    assert read[0].payload.data == CERTUTIL  # type: ignore[union-attr]
    assert type(read[2]) is BadRecord and "unrecognised format" in read[2].message
    # the same records, in the same order, read again
    assert [r.source for r in read_items(archive)] == [r.source for r in read]
    tally = inputs.tallies[0]
    assert (tally.read, tally.unreadable) == (sum(type(r) is Item for r in read), None)


def test_a_corrupt_zip_member_is_reported_and_the_others_are_read(tmp_path: Path) -> None:
    archive = tmp_path / "logs.zip"
    good = (FORMATS / "nxlog_sysmon.jsonl").read_bytes()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as packed:
        packed.writestr("a.jsonl", good)
        packed.writestr("b.jsonl", good)
    data = bytearray(archive.read_bytes())
    at = data.index(good) + len(good) - 3  # the last bytes of a.jsonl's stored data
    data[at] ^= 0x20  # its CRC no longer holds
    archive.write_bytes(bytes(data))
    inputs = expand([str(archive)])
    read = list(records(inputs, None))
    bad = [r for r in read if type(r) is BadRecord]
    assert len(bad) == 1 and bad[0].source == f"{archive}/a.jsonl" and bad[0].lost
    assert "unreadable archive member" in bad[0].message and "CRC" in bad[0].message
    items = [r.source for r in read if type(r) is Item]
    assert items[-5:] == [f"{archive}/b.jsonl:{n}" for n in range(1, 6)]
    assert inputs.tallies[0].unreadable == bad[0].message


def test_a_cut_zip_archive_is_reported_not_raised(tmp_path: Path) -> None:
    archive = tmp_path / "logs.zip"
    _zip(archive, [("a.jsonl", (FORMATS / "nxlog_sysmon.jsonl").read_bytes())])
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[:-30])  # the central directory's end is gone
    inputs = expand([str(cut)])
    read = list(records(inputs, None))
    assert [type(r) for r in read] == [BadRecord]
    assert read[0].message.startswith("not a readable zip archive")
    assert inputs.tallies[0].unreadable == read[0].message
