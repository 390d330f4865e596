"""Shared by the ingest model tests: fixture events and the real-log corpus."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from converter.core.events import WindowsEvent, parse_windows_event

FILES = Path(__file__).parent / "files" / "ingest"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NS = {"e": "http://schemas.microsoft.com/win/2004/08/events/event"}


def load(name: str) -> WindowsEvent:
    return parse_windows_event(json.loads((FILES / name).read_text(encoding="utf-8")))


def shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared/ real-log corpus sits beside the repository)")
    return path


def record_from_xml(line: str) -> dict:
    """The EVTX JSON layout of one Windows XML event (what the `evtx` package prints)."""
    root = ET.fromstring(line)
    system = root.find("e:System", NS)

    def text(tag: str) -> str:
        return system.find(f"e:{tag}", NS).text

    return {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": system.find("e:Provider", NS).get("Name")}},
                "EventID": int(text("EventID")),
                "TimeCreated": {
                    "#attributes": {
                        "SystemTime": system.find("e:TimeCreated", NS).get("SystemTime")
                    }
                },
                "EventRecordID": int(text("EventRecordID")),
                "Channel": text("Channel"),
                "Computer": text("Computer"),
            },
            "EventData": {d.get("Name"): d.text or "" for d in root.find("e:EventData", NS)},
        }
    }
