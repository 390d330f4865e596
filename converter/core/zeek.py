"""One row of a Zeek log (x509.log, ssl.log, ...): the log's name and the row's fields under
their `#fields` names, as a case's `{"zeek": log, "row": {...}}` event
(`converter.core.events`) and the Zeek log reader (`converter.formats.zeek`) both make it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ZeekRecord:
    log: str
    fields: Mapping[str, Any] = field(default_factory=dict)
