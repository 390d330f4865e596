"""The EVTX JSON layout: `{"Event": {"System": {...}, "EventData": {...}}}`, as the `evtx`
package's `records_json` and evtx_dump print it (and as the project's cases hold events).

`converter.core.events.parse_windows_event` parses it; this module only looks at the System channel
and event ID first, so that events no evaluator can match are not parsed in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.core.events import EventFormatError, WindowsEvent, parse_windows_event
from converter.formats.base import FILTERED, Filtered, KeyFilter, RecordError, text_value


def _key(record: Mapping[str, Any]) -> tuple[str, int] | None:
    event = record.get("Event")
    system = event.get("System") if isinstance(event, Mapping) else None
    if not isinstance(system, Mapping):
        return None
    raw_id = system.get("EventID")
    if isinstance(raw_id, Mapping):
        raw_id = raw_id.get("#text")
    try:
        return text_value(system.get("Channel")), int(str(raw_id))
    except ValueError:
        return None


def convert(record: Mapping[str, Any], wanted: KeyFilter | None = None) -> WindowsEvent | Filtered:
    if wanted is not None:
        key = _key(record)
        # A record without a readable key is parsed in full, so that its error is reported.
        if key is not None and not wanted(*key):
            return FILTERED
    try:
        return parse_windows_event(record)
    except EventFormatError as error:
        raise RecordError(str(error)) from None
