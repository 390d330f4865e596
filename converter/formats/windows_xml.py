"""Windows events rendered as XML: one `<Event>` element per event, as Splunk indexes
`XmlWinEventLog`, as `wevtutil qe /f:xml` prints them, and as Sysmon for Linux writes them
(double quotes, no namespace, often behind a syslog prefix).

Values are unescaped XML text. Named `<Data Name='X'>` elements become EventData `X`; unnamed
`<Data>` elements (classic providers) are joined with newlines under `Data`, as the EVTX JSON
layout does; `UserData` is flattened to its leaf elements and attributes, as
`converter.core.events` does for the JSON layout.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from converter.core.events import WindowsEvent
from converter.formats.base import FILTERED, Filtered, KeyFilter, RecordError


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _flatten(element: ET.Element, out: dict[str, str]) -> None:
    for name, value in element.attrib.items():
        if name != "xmlns":
            out[_local(name)] = value
    children = list(element)
    if not children:
        if element.text is not None and element.text.strip():
            out[_local(element.tag)] = element.text
        return
    for child in children:
        _flatten(child, out)


def _event_data(element: ET.Element) -> dict[str, str]:
    data: dict[str, str] = {}
    unnamed: list[str] = []
    for child in element:
        tag = _local(child.tag)
        name = child.get("Name")
        if tag == "Data" and name is None:
            unnamed.append(child.text or "")
        else:
            data[name if tag == "Data" and name is not None else tag] = child.text or ""
    if unnamed:
        data["Data"] = "\n".join(unnamed)
    return data


def parse_event_xml(text: str, wanted: KeyFilter | None = None) -> WindowsEvent | Filtered:
    """One `<Event>` element as a `WindowsEvent`; RecordError if it is not one."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise RecordError(f"invalid XML: {error}") from None
    if _local(root.tag) != "Event":
        raise RecordError(f"expected an <Event> element, got <{_local(root.tag)}>")
    parts = {_local(child.tag): child for child in root}
    system = parts.get("System")
    if system is None:
        raise RecordError("<Event> has no <System> element")
    header = {_local(child.tag): child for child in system}
    raw_id = header["EventID"].text if "EventID" in header else None
    try:
        event_id = int((raw_id or "").strip())
    except ValueError:
        raise RecordError(f"EventID is not a number: {raw_id!r}") from None
    channel = header["Channel"].text or "" if "Channel" in header else ""
    if wanted is not None and not wanted(channel, event_id):
        return FILTERED
    data: dict[str, str] = {}
    if "EventData" in parts:
        data = _event_data(parts["EventData"])
    elif "UserData" in parts:
        for child in parts["UserData"]:
            _flatten(child, data)
    provider = header.get("Provider")
    created = header.get("TimeCreated")
    record = header.get("EventRecordID")
    computer = header.get("Computer")
    try:
        record_id = int(record.text or "") if record is not None else None
    except ValueError:
        record_id = None
    return WindowsEvent(
        provider=provider.get("Name", "") if provider is not None else "",
        event_id=event_id,
        channel=channel,
        computer=(computer.text or "") if computer is not None else "",
        time_created=created.get("SystemTime", "") if created is not None else "",
        record_id=record_id,
        data=data,
    )
