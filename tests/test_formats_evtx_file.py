"""`.evtx` input, on files written here: a minimal EVTX writer (file header, one chunk, records
of plain BinXML elements without templates, CRC32 checksums) is enough for the `evtx` parser."""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from converter.core.events import WindowsEvent
from converter.formats.base import FILTERED, BadRecord, Item
from converter.formats.readers import detect, read_items

SYSMON = "Microsoft-Windows-Sysmon/Operational"
Element = Callable[[int], bytes]  # chunk offset of the element -> its bytes


def _name(name: str) -> bytes:
    return struct.pack("<IHH", 0, 0, len(name)) + name.encode("utf-16-le") + b"\0\0"


def _text(value: str) -> bytes:
    return bytes([0x05, 0x01]) + struct.pack("<H", len(value)) + value.encode("utf-16-le")


def _element(
    name: str,
    attributes: tuple[tuple[str, str], ...] = (),
    children: tuple[Element, ...] = (),
    text: str | None = None,
) -> Element:
    def write(base: int) -> bytes:
        out = bytearray([0x41 if attributes else 0x01]) + bytes(4)  # token, data size
        out += struct.pack("<I", base + len(out) + 4) + _name(name)  # name inline, right here
        if attributes:
            size_at = len(out)
            out += bytes(4)
            for index, (attribute, value) in enumerate(attributes):
                out += bytes([0x46 if index < len(attributes) - 1 else 0x06])
                out += struct.pack("<I", base + len(out) + 4) + _name(attribute) + _text(value)
            struct.pack_into("<I", out, size_at, len(out) - size_at - 4)
        if not children and text is None:
            out += b"\x03"
        else:
            out += b"\x02" + (_text(text) if text is not None else b"")
            for child in children:
                out += child(base + len(out))
            out += b"\x04"
        struct.pack_into("<I", out, 1, len(out) - 5)
        return bytes(out)

    return write


def _event(event_id: int, data: dict[str, str]) -> Element:
    system = (
        _element("Provider", (("Name", "Microsoft-Windows-Sysmon"),)),
        _element("EventID", text=str(event_id)),
        _element("TimeCreated", (("SystemTime", "2026-11-20T10:15:02.1140000Z"),)),
        _element("Channel", text=SYSMON),
        _element("Computer", text="WKS-0142.corp.example.com"),
    )
    data_elements = tuple(_element("Data", (("Name", k),), text=v) for k, v in data.items())
    return _element(
        "Event",
        (("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event"),),
        (_element("System", children=system), _element("EventData", children=data_elements)),
    )


def write_evtx(path: Path, events: list[Element]) -> list[int]:
    """Write the events as records 1..n of one chunk; returns each record's file offset."""
    chunk = bytearray(65536)
    chunk[:8] = b"ElfChnk\0"
    offset, last, offsets = 512, 512, []
    for number, event in enumerate(events, start=1):
        body = b"\x0f\x01\x01\x00" + event(offset + 28) + b"\x00"
        size = 24 + len(body) + 4
        record = b"**\0\0" + struct.pack("<IQQ", size, number, 133_000_000_000_000_000)
        chunk[offset : offset + size] = record + body + struct.pack("<I", size)
        offsets.append(4096 + offset)
        last, offset = offset, offset + size
    count = len(events)
    struct.pack_into("<QQQQIII", chunk, 8, 1, count, 1, count, 128, last, offset)
    struct.pack_into("<I", chunk, 52, zlib.crc32(bytes(chunk[512:offset])))
    struct.pack_into("<I", chunk, 124, zlib.crc32(bytes(chunk[:120]) + bytes(chunk[128:512])))
    header = bytearray(4096)
    header[:8] = b"ElfFile\0"
    struct.pack_into("<QQQIHHHH", header, 8, 0, 0, count + 1, 128, 1, 3, 4096, 1)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    path.write_bytes(bytes(header) + bytes(chunk))
    return offsets


CERTUTIL = {
    "Image": "C:\\Windows\\System32\\certutil.exe",
    "CommandLine": "certutil.exe -addstore root C:\\Users\\alice\\AppData\\Local\\Temp\\r.cer",
}
ACCESS = {"SourceImage": "C:\\Windows\\system32\\svchost.exe", "GrantedAccess": "0x1000"}


def test_evtx_records_become_windows_events(tmp_path: Path) -> None:
    path = tmp_path / "Sysmon.evtx"
    write_evtx(path, [_event(1, CERTUTIL), _event(10, ACCESS)])
    assert detect(path).format == "evtx"
    first, second = read_items(path)
    assert first == Item(
        f"{path}:record=1",
        WindowsEvent(
            provider="Microsoft-Windows-Sysmon",
            event_id=1,
            channel=SYSMON,
            computer="WKS-0142.corp.example.com",
            time_created="2026-11-20T10:15:02.1140000Z",
            record_id=None,  # this writer has no EventRecordID element
            data=CERTUTIL,
        ),
    )
    assert isinstance(second, Item) and second.payload.event_id == 10  # type: ignore[union-attr]


def test_evtx_gz_and_key_filter(tmp_path: Path) -> None:
    plain = tmp_path / "Sysmon.evtx"
    write_evtx(plain, [_event(1, CERTUTIL), _event(10, ACCESS)])
    packed = tmp_path / "Sysmon.evtx.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    records = list(read_items(packed, lambda channel, event_id: event_id == 1))
    assert [r.source for r in records] == [f"{packed}:record=1", f"{packed}:record=2"]
    assert records[1].payload is FILTERED  # type: ignore[union-attr]


def test_an_unreadable_record_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "broken.evtx"
    offsets = write_evtx(path, [_event(1, CERTUTIL), _event(10, ACCESS), _event(1, CERTUTIL)])
    data = bytearray(path.read_bytes())
    data[offsets[1] + 28] = 0xEE  # not a BinXML token
    path.write_bytes(bytes(data))
    records = list(read_items(path))
    assert [type(r).__name__ for r in records] == ["Item", "BadRecord", "Item"]
    bad = records[1]
    assert isinstance(bad, BadRecord) and bad.source == f"{path}:record#2"
    assert bad.message.startswith("unreadable EVTX record: Failed to parse record number 2")
