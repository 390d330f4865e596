"""Sigma reference evaluator: what a rule means, evaluated on raw events, with no SIEM involved.

Every generated query (EQL, SPL, KQL) is checked against recorded cases; the expected outcome of a
case comes from here. The evaluator therefore implements the Sigma specification itself, not any
backend's reading of it (SigmaHQ/sigma-specification: `sigma-rules-specification.md` sections
"Detection", "Escaping", "Lists", "Maps", "Special Field Values", "Field Existence",
"Keywords search", "Condition"; `sigma-appendix-modifiers.md`; `sigma-appendix-taxonomy.md`).

Design:
- pySigma parses the YAML and applies the modifiers (values arrive as `SigmaString` with wildcard
  parts, `SigmaRegularExpression`, `SigmaExpansion`...). The condition string is parsed by
  pySigma's grammar but *not* post-processed: identifiers, `1 of`/`all of`/`them`, map-AND and
  list-OR are resolved here, so the structure the backends convert (pySigma's post-processed
  tree) is not also the structure that checks them.
- A rule compiles once into plain closures per event source; `matches` does no parsing.
- Values are case-insensitive strings compared under full Unicode case folding (`str.casefold`,
  so `ß` equals `SS`). Wildcards and literal ends align on characters of the event value: `?`
  consumes exactly one character of the event value, even one that folds to two (`ß`).
- Field names are case-sensitive: the specification names fields as the log writes them
  ("Field Usage"), and EVTX EventData names are case-sensitive.
- A rule applies only to the raw events of its log source (`LOG_SOURCES` by category,
  `SERVICE_LOG_SOURCES` by service: Linux auditd records, Zeek logs); any other log source,
  and any construct whose meaning the specification leaves to a tool (placeholders, time parts,
  field references with `startswith`/`endswith`/`contains`, a rule already changed by a
  pipeline) raises `UnsupportedRuleError`.

Readings where the specification is silent (each pinned by a "reference choice" test):
- A keyword (unbound value) matches when one value of the raw event (EventData or System field)
  matches it as a whole, like any Sigma value; `*` or `|contains` make it a substring.
- Numbers and booleans match their text ("1", not "01"); `gt`/`gte`/`lt`/`lte` compare decimal
  numbers and never match a non-numeric value; `null` is an absent or empty field; `exists` tests
  presence only, as the modifiers appendix says.
- `1 of pattern` skips `_`-prefixed identifiers as `them` does, unless the pattern starts `_`.
- auditd: a rule reads one record at a time (every SIEM stores the records of an audit event
  apart, and SigmaHQ's auditd rules select one `type`); an audit event matches when one of its
  records does. Field values are the record's as logged: quoted text without its quotes, hex
  (an EXECVE argument or a path holding a space, a quote or a control character) as hex, since
  nothing in the log says which fields a reader would decode.
- Zeek: field values are the JSON writer's: a set or vector matches when one element matches
  (an empty one is absent, like an unset field), booleans are "true"/"false" as in JSON.
- `|fieldref` (modifiers appendix: "compare fields of matched events directly"; nothing more is
  specified): the field's value equals the referenced field's value, compared as they are
  (case-sensitively: "All values are treated as case-insensitive strings" speaks of the rule's
  values, and a field reference brings none), as every pySigma backend that converts it does
  (Splunk `where 'a'='b'`, whose eval expressions are case-sensitive; ES|QL `==`). A field that
  is absent or empty has no value to compare (as for `null`), and a multivalue field compares
  each of its values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address
from math import isfinite
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from converter.core.auditd import AuditdEvent, AuditdRecord
from converter.core.events import RawEvent, WindowsEvent
from converter.core.zeek import ZeekRecord

# A predicate reads one unit of a raw event: the `WindowsEvent`, an `AuditdRecord` of an audit
# event, or the `ZeekRecord`.
EventPredicate = Callable[[Any], bool]
Getter = Callable[[Any], "str | list[str] | None"]


class UnsupportedRuleError(ValueError):
    """A rule construct (or log source) the reference cannot evaluate faithfully."""


# --- Log sources -------------------------------------------------------------------------------

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SECURITY_CHANNEL = "Security"
POWERSHELL_CHANNELS = frozenset(
    {"Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"}
)
LINUX_SYSMON_CHANNEL = "Linux-Sysmon/Operational"

# System header fields, named Tag_Attribute as the specification's "Field Usage" 3.i says.
_SYSTEM_FIELDS: dict[str, Getter] = {
    "EventID": lambda event: str(event.event_id),
    "Channel": lambda event: event.channel,
    "Provider_Name": lambda event: event.provider,
    "Computer": lambda event: event.computer,
}


def _absent(event: WindowsEvent) -> None:
    return None


@dataclass(frozen=True)
class EventSource:
    """The raw events of one provider that carry a Sigma log source, and their Sigma field names."""

    name: str
    channels: frozenset[str]
    event_ids: frozenset[int]
    # Sigma name -> EventData name; names not listed are EventData names already.
    field_map: Mapping[str, str] = field(default_factory=dict)
    # EventData names a rule of this log source cannot address under their raw name.
    hidden: frozenset[str] = frozenset()
    # EventData name -> accepted values, for log sources narrower than an event ID.
    required: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # One Windows event is one unit: the predicate reads the event itself.
    grouped = False

    def accepts(self, event: RawEvent) -> bool:
        if type(event) is not WindowsEvent:
            return False
        if event.event_id not in self.event_ids or event.channel not in self.channels:
            return False
        if not self.required:
            return True
        return all(event.data.get(name) in allowed for name, allowed in self.required.items())

    def getter(self, name: str) -> Getter:
        system = _SYSTEM_FIELDS.get(name)
        if system is not None:
            return system
        if name in self.field_map:
            raw_name = self.field_map[name]
        elif name in self.hidden:
            return _absent
        else:
            raw_name = name
        return lambda event: event.data.get(raw_name)

    def units(self, event: RawEvent) -> tuple[Any, ...]:
        return (event,)

    def values(self, event: WindowsEvent) -> list[str]:
        # Keywords search "across an entire event": every EventData value and the System fields,
        # under raw names (a keyword has no field, so the Sigma field mapping plays no part).
        return [
            *event.data.values(),
            str(event.event_id),
            event.channel,
            event.provider,
            event.computer,
        ]


@dataclass(frozen=True)
class AuditRecordSource:
    """Linux audit records (`type=EXECVE msg=audit(...): argc=3 a0="openssl" ...`); Sigma field
    names are the record's own keys, and `type` is the record type (SigmaHQ's auditd rules)."""

    name: str = "auditd"
    channels: frozenset[str] = frozenset()
    event_ids: frozenset[int] = frozenset()
    grouped = True

    def accepts(self, event: RawEvent) -> bool:
        return type(event) is AuditdEvent

    def units(self, event: AuditdEvent) -> tuple[AuditdRecord, ...]:
        return event.records

    def getter(self, name: str) -> Getter:
        if name == "type":
            return lambda record: record.type
        return lambda record: record.fields.get(name)

    def values(self, record: AuditdRecord) -> list[str]:
        return [record.type, *record.fields.values()]


def _zeek_text(value: Any) -> str | list[str] | None:
    if value is None or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [text for item in value if isinstance(text := _zeek_text(item), str)]
    return str(value)


@dataclass(frozen=True)
class ZeekLogSource:
    """Rows of one Zeek log; Sigma field names are Zeek's column names (`certificate.subject`)."""

    log: str
    channels: frozenset[str] = frozenset()
    event_ids: frozenset[int] = frozenset()
    grouped = False

    @property
    def name(self) -> str:
        return f"Zeek {self.log}.log"

    def accepts(self, event: RawEvent) -> bool:
        return type(event) is ZeekRecord and event.log == self.log

    def units(self, event: ZeekRecord) -> tuple[ZeekRecord, ...]:
        return (event,)

    def getter(self, name: str) -> Getter:
        return lambda record: _zeek_text(record.fields.get(name))

    def values(self, record: ZeekRecord) -> list[str]:
        out: list[str] = []
        for value in record.fields.values():
            text = _zeek_text(value)
            if isinstance(text, list):
                out.extend(text)
            elif text is not None:
                out.append(text)
        return out


Source = EventSource | AuditRecordSource | ZeekLogSource


def _sysmon(name: str, *event_ids: int, **required: frozenset[str]) -> EventSource:
    return EventSource(name, frozenset({SYSMON_CHANNEL}), frozenset(event_ids), required=required)


# Security 4688 under the Sigma process_creation taxonomy (Sysmon names). Image and ParentImage
# follow the specification's own field-mapping example ("Field Usage": Image: NewProcessName,
# ParentImage: ParentProcessName, LogonId: SubjectLogonId) and pySigma's windows-audit pipeline;
# User <- SubjectUserName follows pySigma's azure_monitor SecurityEvent mapping. The values differ
# in form from Sysmon's (SubjectUserName has no domain; it and SubjectLogonId describe the
# creator, not the new process). Raw names that feed a mapping are reachable only through it, and
# 4688's ProcessId (the creator's PID, in hex) is hidden: under that name the taxonomy means the
# new process. NewProcessId is not mapped to ProcessId for the same hex/decimal reason.
_SECURITY_4688_FIELDS = {
    "Image": "NewProcessName",
    "ParentImage": "ParentProcessName",
    "CommandLine": "CommandLine",
    "User": "SubjectUserName",
    "LogonId": "SubjectLogonId",
}
SECURITY_4688 = EventSource(
    "Security 4688",
    frozenset({SECURITY_CHANNEL}),
    frozenset({4688}),
    field_map=_SECURITY_4688_FIELDS,
    hidden=frozenset(_SECURITY_4688_FIELDS.values()) | {"ProcessId"},
)

# (product, category) -> the raw events carrying it; the Sigma taxonomy appendix ("Windows
# Folder", "Linux Folder") gives channel and event ID. registry_delete is narrowed to deletions
# (the taxonomy lists only EID 12, which Sysmon also writes for creations; its EventType tells
# CreateKey/DeleteKey/CreateValue/DeleteValue apart). registry_add keeps every EID 12 event, as
# the taxonomy and pySigma's sysmon pipeline do. ps_script lists both channels the taxonomy names.
LOG_SOURCES: dict[tuple[str, str], tuple[EventSource, ...]] = {
    ("windows", "process_creation"): (_sysmon("Sysmon 1", 1), SECURITY_4688),
    ("windows", "file_event"): (_sysmon("Sysmon 11", 11),),
    ("windows", "registry_add"): (_sysmon("Sysmon 12", 12),),
    ("windows", "registry_delete"): (
        _sysmon("Sysmon 12 (delete)", 12, EventType=frozenset({"DeleteKey", "DeleteValue"})),
    ),
    ("windows", "registry_set"): (_sysmon("Sysmon 13", 13),),
    ("windows", "registry_event"): (_sysmon("Sysmon 12/13/14", 12, 13, 14),),
    ("windows", "ps_script"): (
        EventSource("PowerShell 4104", POWERSHELL_CHANNELS, frozenset({4104})),
    ),
    ("linux", "process_creation"): (
        EventSource("Sysmon for Linux 1", frozenset({LINUX_SYSMON_CHANNEL}), frozenset({1})),
    ),
}


# (product, service) -> the raw events carrying it: SigmaHQ's `linux/auditd` rules read auditd
# records, its `zeek/<log>` rules read the Zeek log of that name.
SERVICE_LOG_SOURCES: dict[tuple[str, str], tuple[Source, ...]] = {
    ("linux", "auditd"): (AuditRecordSource(),),
    ("zeek", "x509"): (ZeekLogSource("x509"),),
    ("zeek", "ssl"): (ZeekLogSource("ssl"),),
}


def sources_of(
    product: str | None, category: str | None, service: str | None
) -> tuple[Source, ...] | None:
    """The raw event sources of a log source (a category or a service, not both); None if none."""
    if not product:
        return None
    if category and service is None:
        return LOG_SOURCES.get((product, category))
    if service and category is None:
        return SERVICE_LOG_SOURCES.get((product, service))
    return None


def event_sources(rule: SigmaRule) -> tuple[Source, ...]:
    """The raw event sources of the rule's log source; UnsupportedRuleError if there are none."""
    logsource = rule.logsource
    sources = sources_of(logsource.product, logsource.category, logsource.service)
    if sources is None:
        described = ", ".join(f"{k}: {v}" for k, v in logsource.to_dict().items())
        raise UnsupportedRuleError(f"no reference event source for log source {{{described}}}")
    return sources


# --- Values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Test:
    """A compiled value test: `present` on the text of a field that exists, `absent` otherwise."""

    present: Callable[[str], bool]
    absent: bool = False


def _any(tests: list[_Test]) -> _Test:
    if len(tests) == 1:
        return tests[0]
    fns = tuple(test.present for test in tests)
    return _Test(lambda raw: any(fn(raw) for fn in fns), any(test.absent for test in tests))


def _all(tests: list[_Test]) -> _Test:
    if len(tests) == 1:
        return tests[0]
    fns = tuple(test.present for test in tests)
    return _Test(lambda raw: all(fn(raw) for fn in fns), all(test.absent for test in tests))


# Marks the end of each event character's folded form, so that wildcards and literal ends fall on
# character boundaries when folding changes lengths (`ß` -> `ss`). A Unicode noncharacter: never
# in interchanged text.
_SEP = "\ufdd0"
_UNIT_ANY = f"(?:[^{_SEP}]*{_SEP})*"
_UNIT_ONE = f"[^{_SEP}]+{_SEP}"


def _unit_literal(text: str) -> str:
    return f"{_SEP}?".join(re.escape(char) for char in text) + _SEP


def _units(raw: str) -> str:
    return "".join(char.casefold() + _SEP for char in raw)


def _string_test(strings: list[SigmaString], fold: bool) -> _Test:
    """One test for OR-linked strings: a single fold, then set/prefix/suffix/infix/regex checks."""
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    infixes: list[str] = []
    patterns: list[str] = []
    unit_patterns: list[str] = []
    norm = str.casefold if fold else str
    for string in strings:
        parts = string.s
        if any(not isinstance(part, (str, SpecialChars)) for part in parts):
            raise UnsupportedRuleError(
                f"value {string} holds a placeholder (|expand); its meaning is left to the tool"
            )
        if fold:
            unit_patterns.append(
                "".join(
                    _UNIT_ANY
                    if part is SpecialChars.WILDCARD_MULTI
                    else _UNIT_ONE
                    if part is SpecialChars.WILDCARD_SINGLE
                    else _unit_literal(norm(part))
                    for part in parts
                )
            )
        shape = tuple(part if isinstance(part, SpecialChars) else str for part in parts)
        star = SpecialChars.WILDCARD_MULTI
        if shape == () or shape == (str,):
            exact.add(norm(parts[0]) if parts else "")
        elif shape == (str, star):
            prefixes.append(norm(parts[0]))
        elif shape == (star, str):
            suffixes.append(norm(parts[1]))
        elif shape == (star, str, star):
            infixes.append(norm(parts[1]))
        else:
            patterns.append(
                "".join(
                    ".*"
                    if part is star
                    else "."
                    if part is SpecialChars.WILDCARD_SINGLE
                    else re.escape(norm(part))
                    for part in parts
                )
            )
    exact_set = frozenset(exact)
    prefix_tuple, suffix_tuple, infix_tuple = tuple(prefixes), tuple(suffixes), tuple(infixes)
    # `*` and `?` stand for any character, line breaks included.
    regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.DOTALL) if patterns else None
    unit_regex = (
        re.compile("|".join(f"(?:{p})" for p in unit_patterns), re.DOTALL) if fold else None
    )

    def aligned(value: str) -> bool:
        return (
            value in exact_set
            or (bool(prefix_tuple) and value.startswith(prefix_tuple))
            or (bool(suffix_tuple) and value.endswith(suffix_tuple))
            or any(infix in value for infix in infix_tuple)
            or (regex is not None and regex.fullmatch(value) is not None)
        )

    if not fold:
        return _Test(aligned)

    def folded(raw: str) -> bool:
        value = raw.casefold()
        # Folding is per character and never shrinks one, so equal lengths mean one character
        # for one: plain string checks are then exact. Otherwise match on character units.
        if len(value) == len(raw):
            return aligned(value)
        assert unit_regex is not None
        return unit_regex.fullmatch(_units(raw)) is not None

    return _Test(folded)


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _number(raw: str) -> int | float | None:
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:
        value = float(text)
        return value if isfinite(value) else None


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


def _compare_test(value: SigmaCompareExpression) -> _Test:
    op, bound = _COMPARE[value.op], value.number.number

    def compare(raw: str) -> bool:
        number = _number(raw)
        return number is not None and op(number, bound)

    return _Test(compare)


def _regex_test(value: SigmaRegularExpression) -> _Test:
    flags = 0
    for flag in value.flags:  # |i, |m, |s
        flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    pattern = re.compile(str(value.regexp), flags)
    # Sigma `re` is a search anywhere in the value, case-sensitive unless `|i`.
    return _Test(lambda raw: pattern.search(raw) is not None)


def _cidr_test(value: SigmaCIDRExpression) -> _Test:
    network = value.network

    def contains(raw: str) -> bool:
        try:
            return ip_address(raw.strip()) in network
        except ValueError:
            return False

    return _Test(contains)


def _flatten(values: Iterable[SigmaType]) -> Iterable[SigmaType]:
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from _flatten(value.values)
        else:
            yield value


def _values_test(values: Iterable[SigmaType]) -> _Test:
    """OR of values (expansions such as `windash` and `base64offset` are OR-linked alternatives)."""
    folded: list[SigmaString] = []
    cased: list[SigmaString] = []
    tests: list[_Test] = []
    for value in _flatten(values):
        if isinstance(value, SigmaCasedString):
            cased.append(value)
        elif isinstance(value, SigmaString):
            folded.append(value)
        elif isinstance(value, SigmaBool):
            # Booleans are strings too ("all values are treated as case-insensitive strings").
            folded.append(SigmaString.from_str("true" if value.boolean else "false"))
        elif type(value) is SigmaNumber:  # not its subclass SigmaTimestampPart
            # A number matches its own text: EventData values are strings.
            folded.append(SigmaString.from_str(str(value.number)))
        elif isinstance(value, SigmaNull):
            # Special Field Values: null is an absent field; '' (an empty value) counts as well.
            tests.append(_Test(lambda raw: raw == "", absent=True))
        elif isinstance(value, SigmaExists):
            wanted = value.exists
            tests.append(_Test(lambda raw, wanted=wanted: wanted, absent=not wanted))
        elif isinstance(value, SigmaRegularExpression):
            tests.append(_regex_test(value))
        elif isinstance(value, SigmaCIDRExpression):
            tests.append(_cidr_test(value))
        elif isinstance(value, SigmaCompareExpression):
            tests.append(_compare_test(value))
        else:
            raise UnsupportedRuleError(
                f"{type(value).__name__} values have no tool-independent meaning to evaluate"
            )
    if folded:
        tests.append(_string_test(folded, fold=True))
    if cased:
        tests.append(_string_test(cased, fold=False))
    return _any(tests)


# --- Detections and condition ------------------------------------------------------------------


def _not(predicate: EventPredicate) -> EventPredicate:
    return lambda event: not predicate(event)


def _and(predicates: list[EventPredicate]) -> EventPredicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event: first(event) and second(event)
    chain = tuple(predicates)
    return lambda event: all(predicate(event) for predicate in chain)


def _or(predicates: list[EventPredicate]) -> EventPredicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event: first(event) or second(event)
    chain = tuple(predicates)
    return lambda event: any(predicate(event) for predicate in chain)


def _field_predicate(getter: Getter, test: _Test) -> EventPredicate:
    present, absent = test.present, test.absent

    def predicate(event: Any) -> bool:
        raw = getter(event)
        if raw is None:
            return absent
        if type(raw) is list:  # a multivalue field (Zeek set): one of its values
            return any(present(value) for value in raw) if raw else absent
        return present(raw)

    return predicate


def _keyword_predicate(test: _Test, source: Source) -> EventPredicate:
    present, values = test.present, source.values
    return lambda event: any(present(raw) for raw in values(event))


def _texts(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    return [value for value in raw if value] if type(raw) is list else [raw] if raw else []


def _equals_field(left: Getter, right: Getter) -> EventPredicate:
    def equal(event: Any) -> bool:
        others = _texts(right(event))
        return bool(others) and any(value in others for value in _texts(left(event)))

    return equal


def _compile_field_reference(item: SigmaDetectionItem, source: Source) -> EventPredicate:
    references = list(_flatten(item.value))
    if item.field is None:
        raise UnsupportedRuleError("a field reference needs a field; a keyword has none")
    if not all(isinstance(value, SigmaFieldReference) for value in references):
        raise UnsupportedRuleError("field references mixed with values in one detection item")
    if any(ref.starts_with or ref.ends_with for ref in references):  # type: ignore[union-attr]
        raise UnsupportedRuleError(
            "fieldref with startswith/endswith/contains: the specification does not say how "
            "wildcards and case apply to a referenced value"
        )
    left = source.getter(item.field)
    tests = [_equals_field(left, source.getter(ref.field)) for ref in references]  # type: ignore[union-attr]
    predicate = _and(tests) if item.value_linking is ConditionAND else _or(tests)
    return _not(predicate) if item.negated else predicate


def _compile_item(item: SigmaDetectionItem, source: Source) -> EventPredicate:
    if any(isinstance(value, SigmaFieldReference) for value in _flatten(item.value)):
        return _compile_field_reference(item, source)
    values: list[SigmaType] = list(item.value) or [SigmaNull()]
    # `|all` links the values with AND; each value (an expansion included) is one conjunct.
    groups = [[value] for value in values] if item.value_linking is ConditionAND else [values]
    tests = [_values_test(group) for group in groups]
    if item.field is None:
        if any(isinstance(value, (SigmaNull, SigmaExists)) for value in _flatten(values)):
            raise UnsupportedRuleError("null and exists need a field; a keyword has none")
        # Each keyword may match a different field of the event.
        predicate = _and([_keyword_predicate(test, source) for test in tests])
    else:
        predicate = _field_predicate(source.getter(item.field), _all(tests))
    return _not(predicate) if item.negated else predicate


def _compile_detection(detection: SigmaDetection, source: Source) -> EventPredicate:
    # A map ANDs its items, a list ORs its entries; pySigma records which in `item_linking`.
    parts = [
        _compile_detection(item, source)
        if isinstance(item, SigmaDetection)
        else _compile_item(item, source)
        for item in detection.detection_items
    ]
    return _and(parts) if detection.item_linking is ConditionAND else _or(parts)


def _selected(selector: ConditionSelector, names: Iterable[str]) -> list[str]:
    # "1/all of them": every identifier not starting with `_`; a pattern narrows that set with
    # `*` wildcards (an explicit `_` prefix in the pattern may select `_` identifiers).
    pattern = selector.pattern
    if pattern == "them":
        regex = re.compile(".*")
    else:
        regex = re.compile(".*".join(re.escape(piece) for piece in pattern.split("*")))
    return [
        name
        for name in names
        if regex.fullmatch(name) and (pattern.startswith("_") or not name.startswith("_"))
    ]


class _Identifiers:
    """Compiles each named detection once per event source."""

    def __init__(self, rule: SigmaRule, source: Source) -> None:
        self.detections = rule.detection.detections
        self.names = list(self.detections)
        self.source = source
        self.cache: dict[str, EventPredicate] = {}

    def __call__(self, name: str) -> EventPredicate:
        if name not in self.cache:
            if name not in self.detections:
                raise UnsupportedRuleError(f"condition names undefined detection '{name}'")
            self.cache[name] = _compile_detection(self.detections[name], self.source)
        return self.cache[name]


def _compile_condition(node: object, identifiers: _Identifiers) -> EventPredicate:
    if isinstance(node, ConditionIdentifier):
        return identifiers(node.identifier)
    if isinstance(node, ConditionSelector):
        names = _selected(node, identifiers.names)
        if not names:
            raise UnsupportedRuleError(f"'{' of '.join(node.args)}' selects no detection")
        parts = [identifiers(name) for name in names]
        return _and(parts) if node.cond_class is ConditionAND else _or(parts)
    if isinstance(node, ConditionAND):
        return _and([_compile_condition(arg, identifiers) for arg in node.args])
    if isinstance(node, ConditionOR):
        return _or([_compile_condition(arg, identifiers) for arg in node.args])
    if isinstance(node, ConditionNOT):
        return _not(_compile_condition(node.args[0], identifiers))
    raise UnsupportedRuleError(f"condition element {type(node).__name__}")


def _was_processed(rule: SigmaRule) -> bool:
    def items(detection: SigmaDetection) -> Iterable[SigmaDetectionItem]:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                yield from items(item)
            else:
                yield item

    return bool(rule.applied_processing_items) or any(
        item.applied_processing_items
        for detection in rule.detection.detections.values()
        for item in items(detection)
    )


# --- Public API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceRule:
    rule_id: str
    title: str = ""
    _branches: tuple[tuple[Source, EventPredicate], ...] = field(
        default=(), repr=False, compare=False
    )

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(source.name for source, _ in self._branches)

    def applies_to(self, event: RawEvent) -> bool:
        """Whether the event belongs to the rule's log source at all."""
        return any(source.accepts(event) for source, _ in self._branches)

    def matches(self, event: RawEvent) -> bool:
        for source, predicate in self._branches:
            if source.accepts(event):
                if source.grouped:
                    return any(predicate(unit) for unit in source.units(event))
                return predicate(event)
        return False


def compile_reference(rule: SigmaRule) -> ReferenceRule:
    """Compile a freshly parsed rule (no pipeline applied) into its reference matcher."""
    if rule.errors:
        raise UnsupportedRuleError(f"rule has parse errors: {rule.errors[0]}")
    if _was_processed(rule):
        raise UnsupportedRuleError(
            "rule was changed by a processing pipeline; parse the YAML again for the reference"
        )
    sources = event_sources(rule)
    try:
        trees = [
            condition.parse(postprocess=False) for condition in rule.detection.parsed_condition
        ]
    except SigmaError as error:
        raise UnsupportedRuleError(f"condition: {error}") from error
    branches = []
    for source in sources:
        identifiers = _Identifiers(rule, source)
        # A list of conditions is OR-linked ("Condition").
        branches.append((source, _or([_compile_condition(tree, identifiers) for tree in trees])))
    return ReferenceRule(
        rule_id=str(rule.id) if rule.id is not None else rule.title,
        title=rule.title,
        _branches=tuple(branches),
    )
