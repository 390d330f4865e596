"""The compiled rule: detections and condition as closures over one event source's units.

pySigma parses the condition string but does not post-process it here: identifiers,
`1 of`/`all of`/`them`, map-AND and list-OR are resolved in this module, so the structure the
backends convert (pySigma's post-processed tree) is not also the structure that checks them.
A rule compiles once per event source; `ReferenceRule.matches` does no parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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
from sigma.types import SigmaExists, SigmaFieldReference, SigmaNull, SigmaType

from converter.core.events import RawEvent

from .errors import UnsupportedRuleError
from .sources import Getter, Source, event_sources
from .values import ValueTest, all_test, flatten, values_test

# A predicate reads one unit of a raw event: the `WindowsEvent`, an `AuditdRecord` of an audit
# event, or the `ZeekRecord`.
EventPredicate = Callable[[Any], bool]


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


def _field_predicate(getter: Getter, test: ValueTest) -> EventPredicate:
    present, absent = test.present, test.absent

    def predicate(event: Any) -> bool:
        raw = getter(event)
        if raw is None:
            return absent
        if type(raw) is list:  # a multivalue field (Zeek set): one of its values
            return any(present(value) for value in raw) if raw else absent
        return present(raw)

    return predicate


def _keyword_predicate(test: ValueTest, source: Source) -> EventPredicate:
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
    references = list(flatten(item.value))
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
    if any(isinstance(value, SigmaFieldReference) for value in flatten(item.value)):
        return _compile_field_reference(item, source)
    values: list[SigmaType] = list(item.value) or [SigmaNull()]
    # `|all` links the values with AND; each value (an expansion included) is one conjunct.
    groups = [[value] for value in values] if item.value_linking is ConditionAND else [values]
    tests = [values_test(group) for group in groups]
    if item.field is None:
        if any(isinstance(value, (SigmaNull, SigmaExists)) for value in flatten(values)):
            raise UnsupportedRuleError("null and exists need a field; a keyword has none")
        # Each keyword may match a different field of the event.
        predicate = _and([_keyword_predicate(test, source) for test in tests])
    else:
        predicate = _field_predicate(source.getter(item.field), all_test(tests))
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
