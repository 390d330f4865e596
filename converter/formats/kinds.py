"""The kinds of payload scan items hold, by the names the scan summary counts them under
("windows 12, zeek 3"). Each `Format` declares the kinds it yields (`Format.yields`); the names
`certdetect scan` shows are derived from those declarations (`readers.kind_names`)."""

from __future__ import annotations

from converter.core.auditd import AuditdEvent
from converter.core.documents import DefenderRow
from converter.core.events import WindowsEvent
from converter.core.zeek import ZeekRecord
from converter.formats.base import Filtered, ItemKind
from converter.formats.ecs import EcsRecord

# a Windows event the key filter refused is still a Windows event read
WINDOWS = ItemKind("windows", (WindowsEvent, Filtered))
ECS = ItemKind("ecs", (EcsRecord,))
DEFENDER = ItemKind("defender", (DefenderRow,))
AUDITD = ItemKind("auditd", (AuditdEvent,))
ZEEK = ItemKind("zeek", (ZeekRecord,))
