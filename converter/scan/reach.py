"""Which Windows events a target's queries can match at all, read from the compiled queries.

Every query a scan runs selects its events with top-level conditions on a few fields that the
ingest model sets from the event's channel and ID: the Defender table (`DeviceProcessEvents |
where ...`), Splunk's `source`, `sourcetype` and `EventCode`, ECS `event.category`, `event.type`
and `event.code` (and EQL's `process where`). For a (channel, event ID) the model stores, a probe
event of that kind (the field check's specimen, `converter.verify.specimens`) is run through the
target's own ingest model and those fields are read from the document: when every query has a
condition the probe's values cannot satisfy, no event of that kind can match, and `certdetect
scan` skips those events before building a document (before parsing them, when no other
evaluator wants them).

Where it cannot tell, it keeps events, so a `dist/` of any rule set stays correct:
- a condition under OR or NOT, with a wildcard, or of another form gives nothing; a query whose
  first stage is not a plain filter (an EQL pipe, an SPL `regex` first) has no conditions and so
  reaches every event;
- a probe the model does not store (None) or cannot build keeps the kind for every query;
- a field whose stored value changes when the event's data holds a value of the same name (the
  Splunk model extracts every `<Data Name=...>` as a field, so a Data element named `EventCode`
  or `source` would change what the query sees) rules out only the events whose data has no
  such name: `Reach.guards` lists the names, and events holding one are evaluated in full.

Values are compared lowercased, so a case-sensitive comparison (EQL `==`) is treated as the
looser case-insensitive one: the shortcut may keep an event it could skip, never the reverse.
`tests/test_scan_reach.py` checks the probed values against every case's stored documents, and
`tests/test_scan.py` / `tests/test_scan_real_logs.py` show identical results with and without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from converter.core.documents import DefenderRow, SplunkEvent
from converter.core.events import WindowsEvent


# What a query requires of a stored document's fields above, as a tree: a condition (the field
# and the values, lowercased, one of which it must hold), all of / any of several, or None for
# what is not read (anything may satisfy it).
@dataclass(frozen=True)
class Condition:
    field: str
    values: frozenset[str]


@dataclass(frozen=True)
class AllOf:
    items: tuple[Selector, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Selector, ...]


Selector = Condition | AllOf | AnyOf | None

# The fields read per document type, each set by its ingest model from the channel and event ID
# (`converter.execute.ingest.ecs._base`/`_sysmon`, `splunk._stored`, `defender._row`).
ECS_FIELDS = ("event.category", "event.type", "event.code", "event.dataset", "event.module")
SPLUNK_FIELDS = ("source", "sourcetype", "EventCode")
DEFENDER_FIELDS = ("table",)
# The value given to every condition's field name in the probe's data, to see which stored
# fields a Data element of that name changes.
SENTINEL = "certdetect-reach-probe"


def _join(kind: type[AllOf] | type[AnyOf], items: Iterable[Selector]) -> Selector:
    listed = tuple(items)
    if kind is AllOf:
        kept = tuple(item for item in listed if item is not None)  # None: true, drop it
        return None if not kept else kept[0] if len(kept) == 1 else AllOf(kept)
    if any(item is None for item in listed):  # one unread alternative may match anything
        return None
    return listed[0] if len(listed) == 1 else AnyOf(listed)


def selector(compiled: Any) -> Selector:
    """What a compiled query requires of the fields above (None: nothing read)."""
    # an engine's compiled type implies its module is loaded: no engine is imported here
    eql = sys.modules.get("converter.execute.engines.eql.engine")
    if eql is not None and isinstance(compiled, eql.CompiledEql):
        return _eql_selector(compiled)
    spl = sys.modules.get("converter.execute.engines.spl.engine")
    if spl is not None and isinstance(compiled, spl.CompiledSpl):
        return _spl_selector(compiled)
    kql = sys.modules.get("converter.execute.engines.kql")
    if kql is not None and isinstance(compiled, kql.CompiledKql):
        return Condition("table", frozenset({compiled.table.name.lower()}))
    return None


def _eql_selector(compiled: Any) -> Selector:
    from eql import ast

    event_query = compiled.event_query
    if event_query is None:
        return None

    def field_name(node: Any) -> str | None:
        if isinstance(node, ast.Field) and all(isinstance(part, str) for part in node.path):
            name = ".".join([node.base, *node.path])
            return name if name in ECS_FIELDS else None
        return None

    def texts(nodes: list[Any]) -> frozenset[str] | None:
        values = [node.value for node in nodes if isinstance(node, ast.String)]
        if not values or len(values) != len(nodes) or any("*" in v or "?" in v for v in values):
            return None  # a number, a field, a wildcard: not read
        return frozenset(v.lower() for v in values)

    def walk(node: Any) -> Selector:
        if isinstance(node, ast.And):
            return _join(AllOf, (walk(term) for term in node.terms))
        if isinstance(node, ast.Or):
            return _join(AnyOf, (walk(term) for term in node.terms))
        name: str | None = None
        values: frozenset[str] | None = None
        if isinstance(node, ast.FunctionCall) and node.name == ":" and node.arguments:
            name, values = field_name(node.arguments[0]), texts(list(node.arguments[1:]))
        elif isinstance(node, ast.Comparison) and node.comparator == "==":
            name, values = field_name(node.left), texts([node.right])
        elif isinstance(node, ast.InSet):
            name, values = field_name(node.expression), texts(list(node.container))
        return Condition(name, values) if name is not None and values is not None else None

    found = walk(event_query.query)
    if event_query.event_type == "any":
        return found
    return _join(AllOf, (Condition("event.category", frozenset({event_query.event_type})), found))


def _spl_selector(compiled: Any) -> Selector:
    from converter.execute.engines.spl.syntax import And, Compare, In, Or, SearchCommand

    if not compiled.commands or not isinstance(compiled.commands[0], SearchCommand):
        return None  # only the first stage sees the stored event as it is

    def plain(values: Iterable[str]) -> frozenset[str] | None:
        listed = list(values)
        # a wildcard, or a CIDR block (`_cidr` in the SPL matcher), is not read
        if not listed or any("*" in v or "/" in v for v in listed):
            return None
        return frozenset(v.lower() for v in listed)

    def walk(node: Any) -> Selector:
        if isinstance(node, And):
            return _join(AllOf, (walk(item) for item in node.items))
        if isinstance(node, Or):
            return _join(AnyOf, (walk(item) for item in node.items))
        values: frozenset[str] | None = None
        if isinstance(node, Compare) and node.op == "=":
            values = plain([node.value])
        elif isinstance(node, In):
            values = plain(node.values)
        if values is not None and node.field in SPLUNK_FIELDS:
            return Condition(node.field, values)
        return None

    return walk(compiled.commands[0].expression)


def fields_of(found: Selector) -> set[str]:
    if isinstance(found, Condition):
        return {found.field}
    if isinstance(found, (AllOf, AnyOf)):
        return {name for item in found.items for name in fields_of(item)}
    return set()


def stored_values(document: Any, name: str) -> frozenset[str] | None:
    """The values (lowercased) a stored document holds in `name` as the engines read it; None
    when the document is of no known type."""
    if type(document) is dict:
        node: Any = document
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        listed = node if isinstance(node, list) else [] if node is None else [node]
        return frozenset(str(value).lower() for value in listed)
    if type(document) is SplunkEvent:
        own = [getattr(document, name)] if name in ("source", "sourcetype") else []
        return frozenset(v.lower() for v in [*own, *document.fields.get(name, ())] if v)
    if type(document) is DefenderRow and name == "table":
        return frozenset({document.table.lower()})
    return None


@dataclass(frozen=True)
class Reach:
    """What a target's queries can match among the Windows events of one channel and ID."""

    any_event: bool  # some query may match any event of the kind
    # when not `any_event`: the Data names that can change a condition's field; an event whose
    # data has one of them is evaluated in full (empty: no event of the kind can match)
    guards: frozenset[str] = frozenset()

    def admits(self, data: Mapping[str, str]) -> bool:
        return self.any_event or (bool(self.guards) and not self.guards.isdisjoint(data))


EVERY = Reach(any_event=True)
NONE = Reach(any_event=False)


def probe_document(
    channel: str,
    event_id: int,
    ingest: Callable[[WindowsEvent], Any],
    marked: Iterable[str] = (),
) -> Any:
    """What `ingest` stores for the specimen event of this kind (`converter.verify.specimens`,
    no data if there is none), with the names in `marked` added to its data as `SENTINEL`."""
    from converter.verify.specimens import SPECIMENS

    data = {**SPECIMENS.get((channel, event_id), {}), **dict.fromkeys(marked, SENTINEL)}
    return ingest(
        WindowsEvent(
            provider="",
            event_id=event_id,
            channel=channel,
            computer="probe.example",
            time_created="2026-01-01T00:00:00.000Z",
            record_id=1,
            data=data,
        )
    )


def reach(
    channel: str,
    event_id: int,
    selectors: Iterable[Selector],
    ingest: Callable[[WindowsEvent], Any],
) -> Reach:
    """Whether queries with these selectors can match an event of `channel` and `event_id` that
    `ingest` stores, from the document it makes of a probe event of that kind."""
    listed = list(selectors)
    if any(found is None for found in listed):
        return EVERY
    names = {name for found in listed for name in fields_of(found)}
    try:
        plain = probe_document(channel, event_id, ingest)
        marked = probe_document(channel, event_id, ingest, names)
    except Exception:  # noqa: BLE001 - a probe the model cannot build decides nothing
        return EVERY
    if plain is None or marked is None:
        return EVERY

    def judge(found: Selector) -> Reach:
        if isinstance(found, Condition):
            held = stored_values(plain, found.field)
            if held is None or not held.isdisjoint(found.values):
                return EVERY
            if stored_values(marked, found.field) != held:  # a Data element of its name counts
                return Reach(any_event=False, guards=frozenset({found.field}))
            return NONE
        if isinstance(found, AllOf):
            # false as soon as one item is: the item with the fewest ways to become true
            failing = [r for r in map(judge, found.items) if not r.any_event]
            return min(failing, key=lambda r: len(r.guards)) if failing else EVERY
        if isinstance(found, AnyOf):
            judged = [judge(item) for item in found.items]
            if any(r.any_event for r in judged):
                return EVERY
            return Reach(any_event=False, guards=frozenset().union(*(r.guards for r in judged)))
        return EVERY

    results = [judge(found) for found in listed]
    if any(r.any_event for r in results):
        return EVERY
    return Reach(any_event=False, guards=frozenset().union(*(r.guards for r in results)))
