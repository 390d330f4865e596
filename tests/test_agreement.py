"""Every target's query must mean what its Sigma rule means, on events built to match or nearly.

Hypothesis writes Windows process_creation and file_event rules whose values hold backslashes,
quotes, `*` and `?` wildcards and their escapes, edge spaces and non-ASCII letters, under plain
equality and the contains, startswith, endswith, all, windash, re and cased modifiers, linked by
and/or/not conditions; then Sysmon events holding each value (a witness) or a near miss (one
character changed, the case changed, a wildcard part dropped or doubled, spaces stripped). Each rule
goes through the real target pipelines and backends (`converter.convert.conversion`), each query
through its engine over the ingested events (`converter.execute.runtimes`), and the events it
matches must be the ones the Sigma reference matches (`converter.reference`). A target may refuse a
rule (ConversionError with its reason): the build then marks it `unsupported`. A query the engine
rejects is a failure.

Minimal examples found this way are kept in tests/files/agreement/examples/ and run as plain
tests, with certdetect's backends and with the stock ones, which must still show the defect
(when one stops showing it, an upstream fix has landed and the workaround can go).

CI runs a bounded, derandomized search; CERTDETECT_HYPOTHESIS_EXAMPLES=2000 runs a bigger, random
one.
Event text stays within ASCII and the non-ASCII letters of the values: characters whose Unicode
case folding lands on ASCII letters (the Kelvin sign, long s, dotted capital I) are folded
differently by the reference and by every SIEM; docs/converter-defects.md explains the scope.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sigma.backends.elasticsearch import EqlBackend
from sigma.backends.kusto import KustoBackend
from sigma.backends.splunk import SplunkBackend
from sigma.conditions import ConditionAND
from sigma.conversion.base import Backend
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from converter.convert.conversion import ConversionError, convert, make_backend, resolve_pipeline
from converter.core.events import WindowsEvent, parse_windows_event
from converter.core.rules import RuleFile
from converter.core.targets import TARGET_NAMES, target_by_name
from converter.environment.runtimes import target_runtimes
from converter.execute.engines.base import QueryError
from converter.execute.runtimes import TargetRuntime, select
from converter.reference import compile_reference

REPO = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "files" / "agreement"
EXAMPLES = sorted((FILES / "examples").glob("*.yml"))

# CI: a fixed, derandomized set of examples. CERTDETECT_HYPOTHESIS_EXAMPLES=<n> runs n random ones
# per test instead (hypothesis prints how to reproduce whatever it finds).
BIG_RUN = os.environ.get("CERTDETECT_HYPOTHESIS_EXAMPLES")
AGREEMENT = settings(
    max_examples=int(BIG_RUN) if BIG_RUN else 200,
    deadline=None,
    derandomize=not BIG_RUN,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TEMPLATES = {
    "process_creation": "sysmon_1.json",
    "file_event": "sysmon_11.json",
    "registry_set": "sysmon_13.json",
    "registry_delete": "sysmon_12.json",
}
FIELDS = {
    "process_creation": (
        "CommandLine",
        "Image",
        "OriginalFileName",
        "ParentImage",
        "ParentCommandLine",
    ),
    "file_event": ("TargetFilename", "Image"),
}
STOCK: dict[str, type[Backend]] = {"eql": EqlBackend, "spl": SplunkBackend, "kql": KustoBackend}


# --- Running one rule on one target ------------------------------------------------------------


@dataclass(repr=False)
class Harness:
    """One backend and one engine per target, shared by every example."""

    backends: dict[str, Backend]
    stock: dict[str, Backend]
    runtimes: dict[str, TargetRuntime]


@pytest.fixture(scope="module")
def harness() -> Harness:
    return make_harness()


def make_harness() -> Harness:
    backends, stock = {}, {}
    for name in TARGET_NAMES:
        target = target_by_name(name)
        backends[name] = make_backend(target, resolve_pipeline(target, REPO))
        stock_backend = STOCK[name](resolve_pipeline(target, REPO))
        if target.parenthesize:
            stock_backend.parenthesize = True  # type: ignore[misc]
        stock[name] = stock_backend
    return Harness(backends, stock, target_runtimes())


def rule_text(category: str, detection: dict[str, Any]) -> str:
    document = {
        "title": "Agreement Probe",
        "id": "6c0c7d1e-5b0a-4a53-9f0e-1d7f2f0a9b11",
        "logsource": {"category": category, "product": "windows"},
        "detection": detection,
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@cache
def _template(category: str) -> str:
    return (FILES / TEMPLATES[category]).read_text(encoding="utf-8")


def make_event(category: str, data: dict[str, str]) -> WindowsEvent:
    record = json.loads(_template(category))
    record["Event"]["EventData"].update(data)
    return parse_windows_event(record)


@dataclass(frozen=True)
class Verdict:
    expected: frozenset[int]  # events the Sigma reference matches
    got: frozenset[int] | None  # events the target's query matches; None: unsupported
    query: str | None = None
    reason: str | None = None


def judge(
    harness: Harness, target: str, text: str, events: list[WindowsEvent], stock: bool = False
) -> Verdict:
    reference = compile_reference(SigmaRule.from_yaml(text))
    expected = frozenset(i for i, e in enumerate(events) if reference.matches(e))
    backend = (harness.stock if stock else harness.backends)[target]
    rule = RuleFile(path="probe.yml", text=text, rule=SigmaRule.from_yaml(text))
    try:
        query = convert(backend, rule).query
    except ConversionError as error:
        return Verdict(expected, None, reason=str(error))
    runtime = harness.runtimes[target]
    try:
        compiled = runtime.compile(query)
    except QueryError as error:  # a query the SIEM would reject
        raise QueryError(f"{error}\nquery: {query}") from None
    got = frozenset(select(compiled, runtime.documents(events)))
    return Verdict(expected, got, query=query)


def explicit(reason: str | None) -> bool:
    """A refusal must say why: a sentence, not an exception name."""
    return reason is not None and len(reason.split()) >= 5


# --- Generating rules ----------------------------------------------------------------------------

PLAIN = ("a", "b", "c", "A", "B", "x", " ", " ", "-", "/", ".", "\\", '"', "'")
# No `&`, `<`, `>`: Splunk stores them XML-escaped (`&lt;`), which the SPL target rewrites; a
# wildcard or regex can still meet the entity text itself (tests/files/agreement/examples/
# spl_xml_entities.yml and docs/converter-defects.md).
PUNCTUATION = ("|", "(", ")", "=", ",", "#", "~", "%", "[", "]", "{", "}", "$", "^", ";")
WILDCARDS = ("*", "?")
ESCAPES = ("\\*", "\\?", "\\\\")
NON_ASCII = ("é", "É", "Ä", "ä", "ß", "İ")
MODIFIERS = (
    "",
    "|contains",
    "|startswith",
    "|endswith",
    "|windash|contains",
    "|windash",
    "|windash|startswith",
)
REGEX_ATOMS = ("a", "b", "B", "x", " ", "-", "/", '"', "'", "\\.", "\\\\", "\\*", "\\?")
REGEX_CLASSES = (".", "[ab]", "[a-c]", "[^a]", "[-/]", "\\d", "\\t", "\\x41", "(?=x)", "(a)\\1")
# Text around and inside regex witnesses: ASCII, a newline, and the values' non-ASCII letters.
REGEX_TEXT = st.sampled_from([chr(c) for c in range(0x20, 0x7F)] + ["\n", "\t", *"éÉÄäßİ"])
REGEX_REPEATS = ("", "", "", "*", "+", "?", "{1,2}", "*?")


@dataclass(frozen=True)
class Profile:
    """Which hard features a rule uses; most rules use one or two, some none."""

    wildcards: bool
    escapes: bool
    non_ascii: bool
    cased: bool
    regex: bool
    punctuation: bool

    def tokens(self) -> tuple[str, ...]:
        return (
            PLAIN
            + (PUNCTUATION if self.punctuation else ())
            + (WILDCARDS * 2 if self.wildcards else ())
            + (ESCAPES if self.escapes else ())
            + (NON_ASCII if self.non_ascii else ())
        )


sometimes = st.sampled_from((False, False, True))
profiles = st.builds(Profile, sometimes, sometimes, sometimes, sometimes, sometimes, sometimes)


@st.composite
def regexes(draw: st.DrawFn, profile: Profile) -> str:
    atoms = REGEX_ATOMS + REGEX_CLASSES + (NON_ASCII if profile.non_ascii else ())
    pieces = [
        draw(st.sampled_from(atoms)) + draw(st.sampled_from(REGEX_REPEATS))
        for _ in range(draw(st.integers(1, 4)))
    ]
    body = "".join(pieces)
    if draw(st.integers(0, 3)) == 0:
        other = draw(st.sampled_from(atoms))
        body = f"(?:{body}|{other})" if draw(st.booleans()) else f"{body}|{other}"
    if draw(st.integers(0, 3)) == 0:
        body = "^" + body
    if draw(st.integers(0, 3)) == 0:
        body += "$"
    return body


@st.composite
def items(draw: st.DrawFn, profile: Profile, field: str) -> tuple[str, Any]:
    modifiers = list(MODIFIERS)
    if profile.cased:
        modifiers += ["|cased", "|contains|cased", "|endswith|cased"]
    if profile.regex:
        modifiers += ["|re", "|re", "|re|i", "|re|s", "|re|m"]
    modifier = draw(st.sampled_from(modifiers))
    if modifier.startswith("|re"):
        values = draw(st.lists(regexes(profile), min_size=1, max_size=2))
    else:
        value = st.lists(st.sampled_from(profile.tokens()), min_size=1, max_size=7).map("".join)
        if draw(st.integers(0, 4)) == 0 and "windash" not in modifier:
            modifier += "|all"
            values = draw(st.lists(value, min_size=2, max_size=3))
        else:
            values = draw(st.lists(value, min_size=1, max_size=3))
    return field + modifier, values[0] if len(values) == 1 else values


@st.composite
def conditions(draw: st.DrawFn, names: list[str]) -> str:
    def expression(depth: int) -> str:
        if depth == 0 or draw(st.integers(0, 2)) == 0:
            name = draw(st.sampled_from(names))
            return name if draw(st.integers(0, 3)) else f"not {name}"
        operator = draw(st.sampled_from((" and ", " or ")))
        inner = f"({expression(depth - 1)}{operator}{expression(depth - 1)})"
        return inner if draw(st.integers(0, 4)) else f"not {inner}"

    shape = draw(st.integers(0, 5))
    if shape == 0:
        return "1 of selection_*"
    if shape == 1:
        return "all of selection_*"
    return expression(2)


@st.composite
def rules(draw: st.DrawFn, category: str) -> str:
    profile = draw(profiles)
    detection: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 3))):
        fields = draw(
            st.lists(st.sampled_from(FIELDS[category]), min_size=1, max_size=2, unique=True)
        )
        selection: Any = dict(draw(items(profile, field)) for field in fields)
        if len(selection) > 1 and draw(st.integers(0, 3)) == 0:
            selection = [{key: value} for key, value in selection.items()]  # a list of maps: OR
        detection[f"selection_{index}"] = selection
    detection["condition"] = draw(conditions([name for name in detection]))
    return rule_text(category, detection)


# --- Generating events ---------------------------------------------------------------------------

FILLERS = ("", "x", " q ", "*", "?", "\\", "é")
NEAR = ("Z", "é", "*", "?", "\\", " ", '"')


def _flat(values: list[SigmaType]) -> Iterator[SigmaType]:
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from _flat(value.values)
        else:
            yield value


def _items(rule: SigmaRule) -> Iterator[SigmaDetectionItem]:
    def walk(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                yield from walk(item)
            else:
                yield item

    for detection in rule.detection.detections.values():
        yield from walk(detection)


def _witness(draw: st.DrawFn, value: SigmaType) -> str | None:
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
        try:
            pattern = re.compile(str(value.regexp), flags)
        except re.error:
            return None
        text = draw(st.from_regex(pattern, alphabet=REGEX_TEXT))
        return text.replace("\r", "").replace("\x0b", "").replace("\x0c", "")
    if not isinstance(value, SigmaString):
        return None
    # A wildcard part filled, dropped (`?` -> nothing) or doubled: the last two are near misses.
    out = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(draw(st.sampled_from(FILLERS)))
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(draw(st.sampled_from(("y", "é", "*", "?", "\\", "", "yy"))))
        else:
            out.append(str(part))
    return "".join(out)


def _mutate(draw: st.DrawFn, text: str) -> str:
    kind = draw(
        st.sampled_from(
            ("same", "same", "upper", "lower", "swapcase", "replace", "drop", "insert", "strip")
        )
    )
    if kind == "same" or not text:
        return text
    if kind in ("upper", "lower", "swapcase"):
        return getattr(text, kind)()
    if kind == "strip":
        return text.strip()
    at = draw(st.integers(0, len(text) - 1))
    if kind == "replace":
        return text[:at] + draw(st.sampled_from(NEAR)) + text[at + 1 :]
    if kind == "drop":
        return text[:at] + text[at + 1 :]
    return text[:at] + draw(st.sampled_from(NEAR)) + text[at:]


@st.composite
def events_for(draw: st.DrawFn, text: str, category: str) -> list[dict[str, str]]:
    rule = SigmaRule.from_yaml(text)
    witnesses: dict[str, list[str]] = {}
    for item in _items(rule):
        found = [w for v in _flat(list(item.value)) if (w := _witness(draw, v)) is not None]
        if item.value_linking is ConditionAND and len(found) > 1:
            found.append(" ".join(found))  # `|all`: one value holding every part
        for witness in found:
            around = draw(st.sampled_from(("", "", "q ", "-", "\\")))
            after = draw(st.sampled_from(("", "", " q", ".exe", "\\")))
            witnesses.setdefault(str(item.field), []).append(around + witness + after)
    records = []
    for _ in range(draw(st.integers(1, 6))):
        data = {}
        for field, candidates in witnesses.items():
            if draw(st.integers(0, 4)):
                value = _mutate(draw, draw(st.sampled_from(candidates)))
                # Elastic's ingest drops "" and "-" values: no rule reasonably matches them.
                data[field] = value if value not in ("", "-") else "z"
        records.append(data)
    return records


# --- The property --------------------------------------------------------------------------------


def _report(verdict: Verdict, text: str, records: list[dict[str, str]]) -> str:
    return (
        f"\n{text}\nquery: {verdict.query}\nevents: {json.dumps(records, ensure_ascii=False)}\n"
        f"reference matched {sorted(verdict.expected)}, the target {sorted(verdict.got or ())}"
    )


# A target refusing every rule would pass the property vacuously. Each target converts between a
# third and a half of the 200 derandomized rules of each category (the rest are refusals with a
# reason); below this share, the property checked too little to mean anything.
MIN_CONVERTED = 0.2


@pytest.mark.parametrize("category", sorted(FIELDS))
@pytest.mark.parametrize("target", TARGET_NAMES)
def test_target_agrees_with_the_sigma_reference(
    harness: Harness, target: str, category: str
) -> None:
    outcomes: Counter[str] = Counter()

    @AGREEMENT
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        text = data.draw(rules(category), label="rule")
        records = data.draw(events_for(text, category), label="events")
        events = [make_event(category, record) for record in records]
        try:
            verdict = judge(harness, target, text, events)
        except QueryError as error:
            pytest.fail(f"the engine rejects the query:\n{text}\n{error}")
        if verdict.got is None:
            event("unsupported")
            outcomes["unsupported"] += 1
            assert explicit(verdict.reason), f"refusal without a reason: {verdict.reason!r}"
            return
        event("converted")
        outcomes["converted"] += 1
        assert verdict.got == verdict.expected, _report(verdict, text, records)

    check()
    assert outcomes["converted"] >= MIN_CONVERTED * sum(outcomes.values()), outcomes


# --- Plain shapes must stay supported ---------------------------------------------------------

PLAIN_SHAPES = [
    ("CommandLine|contains", ["-addstore", "root"]),
    ("CommandLine|contains|all", ["req ", " -x509"]),
    ("Image|endswith", ["\\openssl.exe", "\\makecert.exe"]),
    ("Image|startswith", "C:\\Users\\"),
    ("OriginalFileName", ["CertUtil.exe", "openssl.exe"]),
    ("CommandLine|windash|contains", ["-addstore", "/f"]),
    ("CommandLine", "* -new *"),
    ("CommandLine|re", "genrsa +-out"),
    ("CommandLine|re", "^openssl(\\.exe)? req"),
    ("ParentImage|endswith", "\\cmd.exe"),
]


@pytest.mark.parametrize("target", TARGET_NAMES)
@pytest.mark.parametrize(("key", "value"), PLAIN_SHAPES)
def test_plain_shapes_convert_and_agree(
    harness: Harness, target: str, key: str, value: Any
) -> None:
    detection = {"selection": {key: value}, "filter": {"CommandLine|contains": "-help"}}
    detection["condition"] = "selection and not filter"
    text = rule_text("process_creation", detection)
    records = [
        {"CommandLine": "openssl req -new -x509 -out a.pem", "Image": "C:\\Users\\a\\openssl.exe"},
        {"CommandLine": "certutil -addstore root a.cer", "OriginalFileName": "CertUtil.exe"},
        {"CommandLine": "openssl.exe genrsa -out k.pem -help"},
        {"CommandLine": "openssl genrsa   -out k.pem", "ParentImage": "C:\\Windows\\cmd.exe"},
        {"CommandLine": "CERTUTIL /F /ADDSTORE ROOT", "Image": "D:\\tools\\MAKECERT.EXE"},
    ]
    events = [make_event("process_creation", record) for record in records]
    verdict = judge(harness, target, text, events)
    assert verdict.got is not None, verdict.reason
    assert verdict.expected, "the shape matches none of the events: the test proves nothing"
    assert verdict.got == verdict.expected, _report(verdict, text, records)


# --- Minimal examples found by the property ------------------------------------------------------


@dataclass(frozen=True)
class Example:
    name: str
    category: str
    text: str
    records: list[dict[str, str]]
    reference: frozenset[int]
    certdetect: dict[str, str]  # target -> "agree" | "unsupported: <part of the reason>"
    stock: dict[str, str]  # target -> "disagree" | "rejected" | "unsupported" | "agree"


def load_example(path: Path) -> Example:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Example(
        name=path.stem,
        category=data["category"],
        text=rule_text(data["category"], data["detection"]),
        records=data["events"],
        reference=frozenset(data["reference"]),
        certdetect=data["certdetect"],
        stock=data.get("stock", {}),
    )


def _cases(kind: str) -> list[Any]:
    out = []
    for path in EXAMPLES:
        example = load_example(path)
        for target, expectation in getattr(example, kind).items():
            out.append(pytest.param(example, target, expectation, id=f"{example.name}-{target}"))
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_is_complete(path: Path) -> None:
    example = load_example(path)
    assert set(example.certdetect) == set(TARGET_NAMES)
    assert set(example.stock) <= set(TARGET_NAMES) and example.stock
    events = [make_event(example.category, record) for record in example.records]
    reference = compile_reference(SigmaRule.from_yaml(example.text))
    assert {i for i, e in enumerate(events) if reference.matches(e)} == example.reference


@pytest.mark.parametrize(("example", "target", "expectation"), _cases("certdetect"))
def test_example_with_certdetect_backends(
    harness: Harness, example: Example, target: str, expectation: str
) -> None:
    events = [make_event(example.category, record) for record in example.records]
    verdict = judge(harness, target, example.text, events)
    if expectation == "agree":
        assert verdict.got == verdict.expected, _report(verdict, example.text, example.records)
    else:
        assert expectation.startswith("unsupported: ")
        assert verdict.got is None, f"expected a refusal, got {verdict.query}"
        assert expectation.removeprefix("unsupported: ") in (verdict.reason or "")


@pytest.mark.parametrize(("example", "target", "expectation"), _cases("stock"))
def test_example_still_fails_with_stock_backends(
    harness: Harness, example: Example, target: str, expectation: str
) -> None:
    events = [make_event(example.category, record) for record in example.records]
    if expectation == "rejected":
        with pytest.raises(QueryError):
            judge(harness, target, example.text, events, stock=True)
        return
    verdict = judge(harness, target, example.text, events, stock=True)
    if expectation == "unsupported":
        assert verdict.got is None
    elif expectation == "disagree":
        assert verdict.got is not None and verdict.got != verdict.expected
    else:
        assert expectation == "agree" and verdict.got == verdict.expected
