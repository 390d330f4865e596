"""Compile a parsed EQL event query into a predicate over ECS documents.

Elasticsearch's EQL planner (`x-pack/plugin/eql/.../planner/QueryTranslator.java`,
`ql/.../ExpressionTranslators.java`) turns every predicate on a field into a Lucene query, so:
- a multi-valued field matches when ANY of its values matches;
- `!=`, `not in` and `not` are `bool.must_not`: true for a document that lacks the field, false
  when any value matches (elastic/elasticsearch#35233 reports the same for SQL, same translator).
The value tests themselves are in `matchers`.

With a field schema (`converter.core.elastic_fields`), the query is also checked and evaluated
by each field's mapping, as Elasticsearch's EQL verifier (`ql/.../analyzer/Verifier`,
`eql/.../analysis/Verifier`) and the index do (`schema_checks`): an unknown field, a `text`
field with no keyword form, an unindexed field and a literal of the wrong type are compile
errors, and keyword values longer than `ignore_above` are not indexed, so nothing matches them.
Without a schema every field is what its JSON value looks like (dynamic mapping).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eql import ast

from converter.core.documents import EcsDocument
from converter.core.elastic_fields import ElasticField
from converter.execute.engines.base import QueryError
from converter.execute.engines.eql import matchers, schema_checks
from converter.execute.engines.eql.fields import (
    MISSING,
    Getter,
    caseless_getter,
    field_getter,
    lucene_lowercase,
)
from converter.execute.engines.eql.matchers import ValueTest
from converter.execute.engines.eql.parsing import InsensitiveInSet, OptionalField
from converter.execute.engines.eql.schema_checks import Schema, Use

Predicate = Callable[[EcsDocument], bool]

CATEGORY_FIELD = ("event", "category")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def compile_event_query(event_query: ast.EventQuery, schema: Schema | None = None) -> Predicate:
    """The predicate of `<category> where <condition>`, checked against `schema` if given."""
    condition = _Compiler(schema).compile(event_query.query)
    category = event_query.event_type
    if category == "any":
        return condition
    # a term query on event.category (an array in ECS): any element, case-sensitive
    in_category = _values(_Operand(field_getter(CATEGORY_FIELD)), matchers.equals_matcher(category))
    return _all([in_category, condition])


@dataclass(frozen=True)
class _Operand:
    """The left side of a predicate: a field, or a literal eql left there."""

    get: Getter
    # Elastic Endpoint's `.caseless` multi-fields carry a lowercase normalizer, which
    # Elasticsearch also applies to the terms of term-level queries on them (not to regexes).
    caseless: bool = False
    constant: Any = MISSING


def _values(operand: _Operand, test: ValueTest) -> Predicate:
    """True when any value of the operand passes (a Lucene query on a multi-valued field)."""
    check, strings_only = test.test, test.strings_only
    if operand.constant is not MISSING:
        value = operand.constant
        return _const(
            value is not None and (type(value) is str or not strings_only) and check(value)
        )
    get = operand.get
    if strings_only:

        def predicate(doc: EcsDocument) -> bool:
            value = get(doc)
            if type(value) is str:
                return check(value)
            if type(value) is list:
                for item in value:
                    if type(item) is str and check(item):
                        return True
            return False

        return predicate

    def predicate(doc: EcsDocument) -> bool:
        value = get(doc)
        if value is None:
            return False
        if type(value) is list:
            for item in value:
                if check(item):
                    return True
            return False
        return check(value)

    return predicate


def _const(value: bool) -> Predicate:
    return (lambda doc: True) if value else (lambda doc: False)


def _not(predicate: Predicate) -> Predicate:
    return lambda doc: not predicate(doc)


def _all(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda doc: first(doc) and second(doc)

    def predicate(doc: EcsDocument) -> bool:
        for p in predicates:
            if not p(doc):
                return False
        return True

    return predicate


def _any(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda doc: first(doc) or second(doc)

    def predicate(doc: EcsDocument) -> bool:
        for p in predicates:
            if p(doc):
                return True
        return False

    return predicate


class _Compiler:
    """Compiles one condition; `schema` (field -> mapping) is None for dynamic mapping."""

    def __init__(self, schema: Schema | None) -> None:
        self.schema = schema

    def operand(self, node: Any, expression: Any, use: Use, literals: Sequence[Any]) -> _Operand:
        """The operand `node` of `expression`, checked against the schema for this `use`."""
        if isinstance(node, ast.Field):
            if any(not isinstance(part, str) for part in node.path):
                raise QueryError(f"array indexes are not supported: {node}")
            name = ".".join([node.base, *node.path])
            keys = tuple(name.split("."))
            if self.schema is not None:
                mapping = schema_checks.check_field(
                    self.schema, name, isinstance(node, OptionalField), expression, use, literals
                )
                if mapping is None:  # an optional field no index maps: always null
                    return _Operand(lambda doc: None)
                return _Operand(_stored_getter(field_getter(keys), mapping))
            if len(keys) > 1 and keys[-1] == "caseless":
                return _Operand(caseless_getter(field_getter(keys[:-1])), caseless=True)
            return _Operand(field_getter(keys))
        if isinstance(node, ast.Literal):
            value = node.value
            return _Operand(lambda doc: value, constant=value)
        raise QueryError(f"only a field or a literal can be compared here, not {node}")

    def compile(self, node: Any) -> Predicate:
        if isinstance(node, (ast.And, ast.Or)):
            # a and (b and c) is one loop over a, b, c: fewer calls per document
            kind = type(node)
            terms: list[Any] = []
            pending = list(node.terms)
            while pending:
                term = pending.pop(0)
                if type(term) is kind:
                    pending[:0] = term.terms
                else:
                    terms.append(term)
            predicates = [self.compile(term) for term in terms]
            return _all(predicates) if kind is ast.And else _any(predicates)
        if isinstance(node, ast.Not):
            return _not(self.compile(node.term))
        if isinstance(node, ast.Boolean):
            return _const(node.value)
        if isinstance(node, ast.Null):
            return _const(False)
        if isinstance(node, ast.Field):  # a bare field: `field == true`
            operand = self.operand(node, node, "compare", [True])
            return _values(operand, ValueTest(lambda v: v is True))
        if isinstance(node, (ast.IsNull, ast.IsNotNull)):
            # `?f == null`: no value at all (an exists query)
            get = self.operand(node.expr, node, "exists", []).get
            if isinstance(node, ast.IsNull):
                return lambda doc: get(doc) is None
            return lambda doc: get(doc) is not None
        if isinstance(node, ast.Comparison):
            return self.comparison(node)
        if isinstance(node, ast.InSet):
            return self.in_set(node)
        if isinstance(node, ast.FunctionCall):
            return self.function(node)
        raise QueryError(f"unsupported expression: {node}")

    def comparison(self, node: ast.Comparison) -> Predicate:
        left, op, right = node.left, node.comparator, node.right
        if not isinstance(right, ast.Literal) and isinstance(left, ast.Literal):
            left, op, right = right, _FLIP[op], left  # Elasticsearch's LiteralsOnTheRight
        literal = _literal(right, "the right side of a comparison")
        if isinstance(left, ast.FunctionCall) and type(literal) is bool and op in ("==", "!="):
            # BooleanFunctionEqualsElimination: `f(...) == true` is `f(...)`
            predicate = self.function(left)
            return predicate if literal == (op == "==") else _not(predicate)
        operand = self.operand(left, node, "compare", [literal])
        literal = _normalized(operand, literal)
        if op == "==":
            return _values(operand, matchers.equals_matcher(literal))
        if op == "!=":
            return _not(_values(operand, matchers.equals_matcher(literal)))
        return _values(operand, matchers.order_matcher(op, literal))

    def in_set(self, node: ast.InSet) -> Predicate:
        literals = [_literal(item, "an `in` list item") for item in node.container]
        operand = self.operand(node.expression, node, "compare", literals)
        literals = [_normalized(operand, literal) for literal in literals]
        insensitive = isinstance(node, InsensitiveInSet)
        return _values(operand, matchers.member_matcher(literals, insensitive))

    def function(self, node: ast.FunctionCall) -> Predicate:
        if node.as_method:
            raise QueryError(f"method syntax is not Elasticsearch EQL: {node}")
        name, args = node.name, node.arguments
        insensitive = name.endswith("~") or name == ":"
        base = name.rstrip("~")
        if base not in _FUNCTIONS:
            raise QueryError(f"unsupported function or operator: {name}")
        if base == "cidrMatch" and insensitive:
            raise QueryError("cidrMatch has no case-insensitive form")
        patterns = [_literal(arg, f"an argument of {name}") for arg in args[1:]]
        if any(type(p) is not str for p in patterns):
            raise QueryError(f"{name} takes strings, not {patterns!r}")
        use: Use = "cidr" if base == "cidrMatch" else "string"
        operand = self.operand(args[0], _shown(node), use, patterns)
        if base != "regex" and base != "cidrMatch":
            patterns = [_normalized(operand, p) for p in patterns]
        return _values(operand, _FUNCTIONS[base](patterns, insensitive))


def _shown(node: ast.FunctionCall) -> str:
    """The call as the query spells it: the parser keeps `:`, `like~`, `regex` as names."""
    name, args = node.name, node.arguments
    if name.rstrip("~") in (":", "like", "regex"):
        values = ", ".join(str(arg) for arg in args[1:])
        return f"{args[0]} {name} {values if len(args) == 2 else f'({values})'}"
    return str(node)


def _stored_getter(get: Getter, mapping: ElasticField) -> Getter:
    if mapping.ignore_above is None:
        return get
    return schema_checks.indexed_values(get, mapping.ignore_above)


def _literal(node: Any, what: str) -> Any:
    if not isinstance(node, ast.Literal):
        raise QueryError(f"{what} must be a literal, not {node}")
    return node.value


def _normalized(operand: _Operand, value: Any) -> Any:
    return lucene_lowercase(value) if operand.caseless and type(value) is str else value


# Operators and functions, by name without `~`; each builds a matcher from its literal arguments.
_FUNCTIONS: dict[str, Callable[[list[str], bool], ValueTest]] = {
    ":": lambda patterns, insensitive: matchers.wildcard_matcher(patterns, True),
    "like": lambda patterns, insensitive: matchers.wildcard_matcher(patterns, insensitive),
    "regex": lambda patterns, insensitive: matchers.regex_matcher(patterns, insensitive),
    "startsWith": lambda patterns, insensitive: matchers.prefix_matcher(patterns[0], insensitive),
    "endsWith": lambda patterns, insensitive: matchers.suffix_matcher(patterns[0], insensitive),
    "stringContains": lambda patterns, insensitive: matchers.substring_matcher(
        patterns[0], insensitive
    ),
    "cidrMatch": lambda patterns, insensitive: matchers.cidr_matcher(patterns),
}
