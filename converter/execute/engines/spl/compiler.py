"""Compile parsed SPL commands into predicates over `SplunkEvent`s.

- Field names are case-sensitive (Splexicon, "Field"). A value matches a field when it matches
  any of the field's values (multivalue fields); what a value matches is in `matching`.
- `field!=v` needs the field to exist; `NOT field=v` also matches events without it (Search
  Manual, "Difference between != and NOT"). On a multivalue field `!=` holds when some value
  differs (assumed; the page only covers single values).
- `source`, `sourcetype`, `host` and `index` are the event's default fields ("Use default
  fields"); the values in `SplunkEvent.fields` under those names are searched as well. `index`
  only when the engine is built with `model_index` (an environment overlay that names the index
  its events are in, and ANDs every query with it); otherwise a query naming `index` is a
  `QueryError`, so that no rule value can choose which indexes a search reads.
- `regex F="re"` keeps events where a value of F matches, `F!="re"` those where none does
  (including events without F); `rex field=F` matches the first value of F that matches and
  sets the named groups as fields; `eval C=if(isnotnull(G), a, b)`. Regular expressions are
  unanchored PCRE (Search Reference, `regex`, `rex`); in their quoted argument `\\\\` is one
  backslash and other escapes stay for the regex ("SPL and regular expressions").
  `converter.execute.engines.pcre.translate_pcre` accepts only PCRE that Python's `re` (ASCII mode)
  matches identically and raises `QueryError` on the rest.
- `where 'F'='G'` keeps events whose F equals G. `where` evaluates an eval expression, and
  "The <eval-expression> is case-sensitive" (Search Reference, `where`): the values are
  compared as they are. A comparison with a null field is null, and `where` keeps only the
  results for which the expression is true (same page), so an event without F or G is
  dropped. eval compares numbers numerically and has its own rules for multivalue fields;
  neither is modelled: a number or a multivalue field in the comparison is a `QueryError`
  when the event is evaluated. Only this one form is parsed (no NOT, AND, functions).
- Internal fields other than `_raw` and time modifiers are `QueryError`s: the documents do not
  carry what they would need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

from converter.core.documents import SplunkEvent
from converter.execute.engines.base import QueryError
from converter.execute.engines.pcre import compile_pcre
from converter.execute.engines.spl.matching import (
    NUMBER_RE,
    Extra,
    Pred,
    StrPred,
    compare_number,
    equals_value,
    search_term,
)
from converter.execute.engines.spl.syntax import (
    And,
    Command,
    Compare,
    EvalIfNotNull,
    In,
    Node,
    Not,
    Or,
    RegexCommand,
    RexCommand,
    SearchCommand,
    Term,
    WhereFieldEquals,
)

# Fields the documents do not carry: filtering on them could only be guessed.
UNMODELLED_FIELDS = frozenset(
    {"splunk_server", "eventtype", "tag", "earliest", "latest", "savedsearch",
     "savedsplunk", "linecount", "punct", "timestartpos", "timeendpos"}
)  # fmt: skip
DEFAULT_FIELDS = ("source", "sourcetype", "host", "index")
Values = Callable[[SplunkEvent, Extra], Sequence[str]]


def _values(field: str, produced: frozenset[str]) -> Values:
    if field in UNMODELLED_FIELDS or (field.startswith("_") and field != "_raw"):
        raise QueryError(f"field {field!r} is not modelled by SplunkEvent")
    base: Values
    if field == "_raw":

        def base(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
            return (ev.raw,)

    elif field in DEFAULT_FIELDS:

        def base(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
            attr = getattr(ev, field)
            more = ev.fields.get(field, ())
            return [attr, *more] if attr else more

    else:

        def base(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
            return ev.fields.get(field, ())

    if field not in produced:
        return base

    def with_extra(ev: SplunkEvent, extra: Extra) -> Sequence[str]:
        return extra[field] if field in extra else base(ev, extra)

    return with_extra


def _default_field_equals(field: str, match: StrPred) -> Pred:
    """`source=...`, `sourcetype=...`: the event's own value first, then extracted ones; the
    same values `_values` gives, without building a list per event (each query of a scan starts
    with one of these)."""
    own = attrgetter(field)

    def pred(ev: SplunkEvent, extra: Extra) -> bool:
        value = own(ev)
        if value and match(value):
            return True
        more = ev.fields.get(field)
        if more:
            for v in more:
                if match(v):
                    return True
        return False

    return pred


def _any_value(values: Values, match: StrPred) -> Pred:
    def pred(ev: SplunkEvent, extra: Extra) -> bool:
        for v in values(ev, extra):
            if match(v):
                return True
        return False

    return pred


def _compile_node(node: Node, produced: frozenset[str]) -> Pred:
    if isinstance(node, Term):
        return search_term(node.text)
    if isinstance(node, Compare):
        values = _values(node.field, produced)
        if node.op == "=":
            if node.field in DEFAULT_FIELDS and node.field not in produced:
                return _default_field_equals(node.field, equals_value(node.value))
            return _any_value(values, equals_value(node.value))
        if node.op == "!=":
            match = equals_value(node.value)

            def differs(ev: SplunkEvent, extra: Extra) -> bool:
                for v in values(ev, extra):
                    if not match(v):
                        return True
                return False

            return differs
        return _any_value(values, compare_number(node.op, node.value))
    if isinstance(node, In):
        matchers = [equals_value(v) for v in node.values]
        return _any_value(_values(node.field, produced), lambda v: any(m(v) for m in matchers))
    if isinstance(node, Not):
        inner = _compile_node(node.item, produced)
        return lambda ev, extra: not inner(ev, extra)
    if isinstance(node, And):
        return _conjunction(tuple(_compile_node(n, produced) for n in node.items))
    if isinstance(node, Or):
        return _disjunction(tuple(_compile_node(n, produced) for n in node.items))
    raise TypeError(node)  # pragma: no cover


# AND and OR run once per event and query: plain loops and unrolled pairs, not all()/any() over
# a generator, which costs more than most of the tests it chains.
def _conjunction(preds: tuple[Pred, ...]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda ev, extra: first(ev, extra) and second(ev, extra)

    def conj(ev: SplunkEvent, extra: Extra) -> bool:
        for pred in preds:
            if not pred(ev, extra):
                return False
        return True

    return conj


def _disjunction(preds: tuple[Pred, ...]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda ev, extra: first(ev, extra) or second(ev, extra)

    def disj(ev: SplunkEvent, extra: Extra) -> bool:
        for pred in preds:
            if pred(ev, extra):
                return True
        return False

    return disj


def _compile_rex(cmd: RexCommand, produced: frozenset[str]) -> tuple[Pred, frozenset[str]]:
    rx = compile_pcre(cmd.pattern)
    if rx.search("") is not None:
        raise QueryError("rex: a regex that can match the empty string is not modelled")
    names = tuple(rx.groupindex)
    values = _values(cmd.field, produced)

    def rex(ev: SplunkEvent, extra: Extra) -> bool:
        for v in values(ev, extra):
            m = rx.search(v)
            if m is not None:
                for name in names:
                    captured = m.group(name)
                    if captured is not None:
                        extra[name] = [captured]
                break
        return True  # rex extracts; it never removes an event

    return rex, produced | set(names)


def _compile_regex(cmd: RegexCommand, produced: frozenset[str]) -> Pred:
    rx = compile_pcre(cmd.pattern)
    matches = _any_value(_values(cmd.field, produced), lambda v: rx.search(v) is not None)
    if cmd.negate:
        return lambda ev, extra: not matches(ev, extra)
    return matches


def _eval_operand(values: Sequence[str], field: str) -> str | None:
    """The one value an eval comparison reads; None when the field is null."""
    if not values:
        return None
    if len(values) > 1:
        raise QueryError(f"where: {field!r} is a multivalue field; eval on it is not modelled")
    value = values[0]
    if NUMBER_RE.fullmatch(value.strip()):
        raise QueryError(
            f"where: {field!r} holds a number ({value!r}); numeric eval comparison is not modelled"
        )
    return value


def _compile_where(cmd: WhereFieldEquals, produced: frozenset[str]) -> Pred:
    left, right = _values(cmd.left, produced), _values(cmd.right, produced)

    def equal(ev: SplunkEvent, extra: Extra) -> bool:
        first = _eval_operand(left(ev, extra), cmd.left)
        second = _eval_operand(right(ev, extra), cmd.right)
        return first is not None and second is not None and first == second

    return equal


def _compile_eval(cmd: EvalIfNotNull, produced: frozenset[str]) -> Pred:
    source = _values(cmd.source, produced)
    target, then, otherwise = cmd.target, [cmd.then], [cmd.otherwise]

    def evaluate(ev: SplunkEvent, extra: Extra) -> bool:
        extra[target] = list(then if source(ev, extra) else otherwise)
        return True

    return evaluate


def compile_pipeline(commands: Sequence[Command]) -> list[Pred]:
    stages: list[Pred] = []
    produced: frozenset[str] = frozenset()
    for cmd in commands:
        if isinstance(cmd, SearchCommand):
            stages.append(_compile_node(cmd.expression, produced))
        elif isinstance(cmd, RegexCommand):
            stages.append(_compile_regex(cmd, produced))
        elif isinstance(cmd, RexCommand):
            stage, produced = _compile_rex(cmd, produced)
            stages.append(stage)
        elif isinstance(cmd, WhereFieldEquals):
            stages.append(_compile_where(cmd, produced))
        else:
            stages.append(_compile_eval(cmd, produced))
            produced = produced | {cmd.target}
    return stages
