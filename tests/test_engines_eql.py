"""EqlEngine against Elasticsearch's EQL semantics.

Case ids name the page and section they encode:
- SYNTAX = Elastic, "EQL syntax reference" (elasticsearch
  `docs/reference/query-languages/eql/eql-syntax.md`);
- FUNC = "EQL function reference" (`eql/eql-function-ref.md`);
- REGEXP = "Regular expression syntax" (`query-dsl/regexp-syntax.md`).
PLANNER cases encode what those pages leave open, from the Elasticsearch or Lucene source each
case names; they are kept apart from the documentation table. STORAGE cases run with a field
schema: what each field's mapping (type, ignore_above, index) makes Elasticsearch do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from converter.core.elastic_fields import ElasticField
from converter.execute.engines.base import QueryError
from converter.execute.engines.eql import EqlEngine, compiler, matchers, schema_checks
from converter.execute.engines.eql import engine as eql_engine
from converter.execute.engines.eql.fields import MISSING
from converter.execute.engines.eql.regexp import lucene_regex

FILES = Path(__file__).resolve().parent / "files" / "eql"
ENGINE = EqlEngine()


@dataclass(frozen=True)
class Case:
    id: str
    query: str
    doc: dict[str, Any]
    expected: bool


def f(value: Any) -> dict[str, Any]:
    """A document whose `my_field` holds `value`, as in the reference's examples."""
    return {"my_field": value}


def run(query: str, doc: dict[str, Any]) -> bool:
    return ENGINE.compile(query).select([doc]) == [0]


PROCESS = {"event": {"category": ["process"]}, "process": {"name": "svchost.exe"}}
S = "SYNTAX > "
C = S + "Conditions > "

DOCUMENTED = [
    # --- Basic syntax
    Case(S + "Basic syntax", 'process where process.name == "svchost.exe"', PROCESS, True),
    Case(
        S + "Basic syntax (other category)",
        'network where process.name == "svchost.exe"',
        PROCESS,
        False,
    ),
    Case(
        S + "Match any event category (no category field)",
        'any where network.protocol == "http"',
        {"network": {"protocol": "http"}},
        True,
    ),
    Case(S + "Match any condition", "process where true", PROCESS, True),
    Case(S + "Match any condition (any where true)", "any where true", {}, True),
    # --- Comparison operators
    Case(
        C + "Comparison operators: == is case-sensitive",
        'any where my_field == "cmd.exe"',
        f("Cmd.exe"),
        False,
    ),
    Case(
        C + "Comparison operators: == equal", 'any where my_field == "cmd.exe"', f("cmd.exe"), True
    ),
    Case(
        C + "Comparison operators: == has no wildcards",
        'any where my_field == "cmd*.exe"',
        f("cmd123.exe"),
        False,
    ),
    Case(
        C + "Comparison operators: == * is a literal",
        'any where my_field == "cmd*.exe"',
        f("cmd*.exe"),
        True,
    ),
    Case(
        C + "Comparison operators: : is case-insensitive",
        'any where my_field : "CMD.exe"',
        f("cmd.exe"),
        True,
    ),
    Case(
        C + "Comparison operators: != is case-sensitive",
        'any where my_field != "cmd.exe"',
        f("Cmd.exe"),
        True,
    ),
    Case(
        C + "Comparison operators: != equal value",
        'any where my_field != "cmd.exe"',
        f("cmd.exe"),
        False,
    ),
    Case(
        C + "Comparison operators: < case-sensitive lexicographic",
        'any where my_field < "b"',
        f("B"),
        True,
    ),
    Case(
        C + "Comparison operators: > case-sensitive lexicographic",
        'any where my_field > "a"',
        f("B"),
        False,
    ),
    Case(C + "Comparison operators: >= numbers", "any where my_field >= 5", f(5), True),
    Case(C + "Comparison operators: < numbers", "any where my_field < 5", f(5), False),
    # --- Pattern comparison keywords
    Case(
        C + "Pattern comparison keywords: like",
        'any where my_field like "VALUE*"',
        f("VALUE-1"),
        True,
    ),
    Case(
        C + "Pattern comparison keywords: like is case-sensitive",
        'any where my_field like "VALUE*"',
        f("value-1"),
        False,
    ),
    Case(
        C + "Pattern comparison keywords: like~",
        'any where my_field like~ "value*"',
        f("VALUE-1"),
        True,
    ),
    Case(
        C + "Pattern comparison keywords: regex",
        'any where my_field regex "VALUE[^Z].?"',
        f("VALUEA"),
        True,
    ),
    Case(
        C + "Pattern comparison keywords: regex is case-sensitive",
        'any where my_field regex "VALUE[^Z].?"',
        f("valueA"),
        False,
    ),
    Case(
        C + "Pattern comparison keywords: regex~",
        'any where my_field regex~ "value[^z].?"',
        f("VALUEAB"),
        True,
    ),
    Case(
        C + "Pattern comparison keywords: regex~ [^z] excludes Z too",
        'any where my_field regex~ "value[^z].?"',
        f("VALUEZ"),
        False,
    ),
    # --- Lookup operators
    Case(
        C + "Lookup operators: in is case-sensitive",
        'any where my_field in ("Value-1", "VALUE2", "VAL3")',
        f("value-1"),
        False,
    ),
    Case(
        C + "Lookup operators: in",
        'any where my_field in ("Value-1", "VALUE2", "VAL3")',
        f("VALUE2"),
        True,
    ),
    Case(
        C + "Lookup operators: in~",
        'any where my_field in~ ("value-1", "value2", "val3")',
        f("VALUE-1"),
        True,
    ),
    Case(
        C + "Lookup operators: in~ takes no wildcards",
        'any where my_field in~ ("explorer*")',
        f("explorer.exe"),
        False,
    ),
    Case(
        C + "Lookup operators: not in",
        'any where my_field not in ("Value-1", "VALUE2", "VAL3")',
        f("value-1"),
        True,
    ),
    Case(
        C + "Lookup operators: not in~",
        'any where my_field not in~ ("value-1", "value2", "val3")',
        f("VALUE2"),
        False,
    ),
    Case(
        C + "Lookup operators: : list",
        'any where my_field : ("value-1", "value2", "val3")',
        f("VAL3"),
        True,
    ),
    Case(
        C + "Lookup operators: like list",
        'any where my_field like ("Value-*", "VALUE2", "VAL?")',
        f("VAL4"),
        True,
    ),
    Case(
        C + "Lookup operators: like list is case-sensitive",
        'any where my_field like ("Value-*", "VALUE2", "VAL?")',
        f("val4"),
        False,
    ),
    Case(
        C + "Lookup operators: like~ list",
        'any where my_field like~ ("value-*", "value2", "val?")',
        f("VALUE-99"),
        True,
    ),
    Case(
        C + "Lookup operators: regex list",
        'any where my_field regex ("[vV]alue-[0-9]", "VALUE[^2].?", "VAL3")',
        f("value-7"),
        True,
    ),
    Case(
        C + "Lookup operators: regex list, none matches",
        'any where my_field regex ("[vV]alue-[0-9]", "VALUE[^2].?", "VAL3")',
        f("VALUE2"),
        False,
    ),
    Case(
        C + "Lookup operators: regex~ list",
        'any where my_field regex~ ("value-[0-9]", "value[^2].?", "val3")',
        f("VAL3"),
        True,
    ),
    # --- Logical operators
    Case(
        C + "Logical operators: and",
        'any where my_field : "a" and other : "b"',
        {"my_field": "A", "other": "B"},
        True,
    ),
    Case(
        C + "Logical operators: or",
        'any where my_field : "x" or other : "b"',
        {"my_field": "A", "other": "B"},
        True,
    ),
    Case(C + "Logical operators: not", 'any where not my_field : "a*"', f("abc"), False),
    Case(
        C + "Logical operators: parentheses",
        'any where not (my_field : "x" or my_field : "a*") and true',
        f("abc"),
        False,
    ),
    # --- Optional fields
    Case(
        S + "Optional fields: ?user.id != null, present",
        "network where ?user.id != null",
        {"event": {"category": "network"}, "user": {"id": "u1"}},
        True,
    ),
    Case(
        S + "Optional fields: ?user.id != null, absent",
        "network where ?user.id != null",
        {"event": {"category": "network"}},
        False,
    ),
    Case(
        S + "Optional fields > Check if a field exists: == null",
        "any where ?my_field == null",
        {},
        True,
    ),
    Case(
        S + "Optional fields > Check if a field exists: == null, present",
        "any where ?my_field == null",
        f(""),
        False,
    ),
    # --- Strings
    Case(
        S + "Strings > Escape characters in a string",
        r'any where my_field == "example \r of \" escaped \n characters"',
        f('example \r of " escaped \n characters'),
        True,
    ),
    Case(
        S + "Strings > Escape characters: \\t and \\\\",
        r'any where my_field == "a\tb\\c"',
        f("a\tb\\c"),
        True,
    ),
    Case(
        S + "Strings > Escape characters: \\u{200f}",
        r'any where my_field == "\u{200f}"',
        f("\u200f"),
        True,
    ),
    Case(
        S + "Strings > Escape characters: \\u{200F}",
        r'any where my_field == "\u{200F}"',
        f("\u200f"),
        True,
    ),
    Case(
        S + "Strings > Escape characters: \\u{0000200f}",
        r'any where my_field == "x\u{0000200f}\u{41}"',
        f("x\u200fA"),
        True,
    ),
    Case(
        S + "Strings > Raw strings",
        'any where my_field == """Raw string with a literal double quote " and blackslash'
        ' \\ included"""',
        f('Raw string with a literal double quote " and blackslash \\ included'),
        True,
    ),
    Case(
        S + "Strings > Raw strings: backslash stays",
        'any where my_field : """C:\\Windows\\*"""',
        f("c:\\windows\\system32"),
        True,
    ),
    Case(
        S + "Strings > Raw strings: three double quotes via escapes",
        r'any where my_field == "String containing \"\"\" three double quotes"',
        f('String containing """ three double quotes'),
        True,
    ),
    # --- Wildcards (each example of the section)
    Case(S + 'Wildcards: : "doc*" matches "doc"', 'any where my_field : "doc*"', f("doc"), True),
    Case(
        S + 'Wildcards: : "doc*" matches "document"',
        'any where my_field : "doc*"',
        f("document"),
        True,
    ),
    Case(S + 'Wildcards: : "doc*" not "DOS"', 'any where my_field : "doc*"', f("DOS"), False),
    Case(
        S + 'Wildcards: : "*doc" matches "asciidoc"',
        'any where my_field : "*doc"',
        f("asciidoc"),
        True,
    ),
    Case(S + 'Wildcards: : "d*c" matches "disc"', 'any where my_field : "d*c"', f("disc"), True),
    Case(
        S + 'Wildcards: like "DOC*" matches "DOCs"',
        'any where my_field like "DOC*"',
        f("DOCs"),
        True,
    ),
    Case(
        S + 'Wildcards: like "D*C" matches "DisC"', 'any where my_field like "D*C"', f("DisC"), True
    ),
    Case(S + 'Wildcards: : "doc?" matches "docs"', 'any where my_field : "doc?"', f("docs"), True),
    Case(S + 'Wildcards: : "doc?" not "doc"', 'any where my_field : "doc?"', f("doc"), False),
    Case(
        S + 'Wildcards: : "doc?" not "document"',
        'any where my_field : "doc?"',
        f("document"),
        False,
    ),
    Case(
        S + 'Wildcards: : "?doc" not "asciidoc"',
        'any where my_field : "?doc"',
        f("asciidoc"),
        False,
    ),
    Case(S + 'Wildcards: : "d?c" not "disc"', 'any where my_field : "d?c"', f("disc"), False),
    Case(
        S + 'Wildcards: like "DOC?" not "DOCUMENT"',
        'any where my_field like "DOC?"',
        f("DOCUMENT"),
        False,
    ),
    # The section says `like "D?c"` matches "DOC"; `like` is case-sensitive ("Pattern
    # comparison keywords"), so it cannot: the operator definition wins.
    Case(
        S + 'Wildcards: like "D?c" vs "DOC" (erratum, see comment)',
        'any where my_field like "D?c"',
        f("DOC"),
        False,
    ),
    Case(
        S + "Wildcards: list lookup",
        'any where my_field : ("doc*", "f*o", "ba?", "qux")',
        f("FOO"),
        True,
    ),
    # --- Functions
    Case(
        S + "Functions > Case-insensitive functions: stringContains",
        'any where stringContains(process.name, ".exe")',
        {"process": {"name": "A.EXE"}},
        False,
    ),
    Case(
        S + "Functions > Case-insensitive functions: stringContains~",
        'any where stringContains~(process.name, ".exe")',
        {"process": {"name": "A.Exe"}},
        True,
    ),
    # --- Differences from Endgame EQL syntax
    Case(
        S + "Limitations > Differences from Endgame: ~ on endsWith",
        'any where endsWith~(process_name, ".exe")',
        {"process_name": "CMD.EXE"},
        True,
    ),
    Case(
        S + "Limitations > Differences from Endgame: : is like~",
        'any where my_field : "*Cmd*"',
        f("X.CMD.EXE"),
        True,
    ),
]

REG = {"source": {"address": "192.168.152.12"}}
CMD = {"process": {"command_line": "start regsvr32.exe", "name": "regsvr32.exe"}}
FUNCTIONS = [
    Case(
        "FUNC > cidrMatch: one block",
        'any where cidrMatch(source.address, "192.168.0.0/16")',
        REG,
        True,
    ),
    Case(
        "FUNC > cidrMatch: two blocks",
        'any where cidrMatch(source.address, "192.168.0.0/16", "10.0.0.0/8")',
        REG,
        True,
    ),
    Case(
        "FUNC > cidrMatch: outside", 'any where cidrMatch(source.address, "10.0.0.0/8")', REG, False
    ),
    Case("FUNC > startsWith", 'any where startsWith(process.name, "regsvr32")', CMD, True),
    Case(
        "FUNC > startsWith: case-sensitive",
        'any where startsWith(process.name, "Regsvr32")',
        CMD,
        False,
    ),
    Case("FUNC > startsWith~", 'any where startsWith~(process.name, "Regsvr32")', CMD, True),
    Case("FUNC > endsWith", 'any where endsWith(process.name, ".exe")', CMD, True),
    Case("FUNC > endsWith: case-sensitive", 'any where endsWith(process.name, ".EXE")', CMD, False),
    Case("FUNC > endsWith~", 'any where endsWith~(process.name, ".EXE")', CMD, True),
    Case(
        "FUNC > stringContains",
        'any where stringContains(process.command_line, "start ")',
        CMD,
        True,
    ),
    Case(
        "FUNC > stringContains: case-sensitive",
        'any where stringContains(process.command_line, "Regsvr32")',
        CMD,
        False,
    ),
    # The page says this returns false; with "~" (see SYNTAX > Case-insensitive functions) the
    # match is case-insensitive, so the example is read as an erratum.
    Case(
        "FUNC > stringContains~ (erratum, see comment)",
        'any where stringContains~(process.command_line, "Regsvr32")',
        CMD,
        True,
    ),
    Case(
        "FUNC > stringContains: empty substring",
        'any where stringContains(process.command_line, "")',
        CMD,
        False,
    ),
    Case("FUNC > startsWith: empty prefix", 'any where startsWith(process.name, "")', CMD, True),
    Case(
        "FUNC > endsWith~: backslash is literal",
        'any where endsWith~(process.executable, "\\\\openssl.exe")',
        {"process": {"executable": "C:\\Tools\\OpenSSL.exe"}},
        True,
    ),
]

R = "REGEXP > "
REGEXPS = [
    Case(R + "Standard operators: .", 'any where my_field regex "ab."', f("abz"), True),
    Case(R + "Standard operators: ?", 'any where my_field regex "abc?"', f("ab"), True),
    Case(R + "Standard operators: +", 'any where my_field regex "ab+"', f("a"), False),
    Case(R + "Standard operators: *", 'any where my_field regex "ab*"', f("a"), True),
    Case(R + "Standard operators: {2,4}", 'any where my_field regex "a{2,4}"', f("aaaaa"), False),
    Case(R + "Standard operators: {2,}", 'any where my_field regex "a{2,}"', f("aaaaa"), True),
    Case(R + "Standard operators: |", 'any where my_field regex "abc|xyz"', f("xyz"), True),
    Case(R + "Standard operators: ( )", 'any where my_field regex "abc(def)?"', f("abcd"), False),
    Case(R + "Standard operators: [-abc]", 'any where my_field regex "[-abc]"', f("-"), True),
    Case(R + "Standard operators: [abc\\-]", 'any where my_field regex "[abc\\\\-]"', f("-"), True),
    Case(R + "Standard operators: [^a-c]", 'any where my_field regex "[^a-c]"', f("b"), False),
    Case(
        R + "Standard operators: case_insensitive leaves ranges case-sensitive",
        'any where my_field regex~ "[a-c]+"',
        f("ABC"),
        False,
    ),
    Case(
        R + "Standard operators: case_insensitive, range, lower case",
        'any where my_field regex~ "[a-c]+"',
        f("abc"),
        True,
    ),
    Case(
        R + "Reserved characters: quoted string",
        'any where my_field regex "\\"john@smith.com\\""',
        f("john@smith.com"),
        True,
    ),
    Case(
        R + "Reserved characters: \\@ is a literal @",
        'any where my_field regex "a\\\\@b"',
        f("a@b"),
        True,
    ),
    Case(
        R + "Optional operators: @ any string", 'any where my_field regex "a@b"', f("aXYZb"), True
    ),
    Case(R + "Optional operators: #", 'any where my_field regex "#|abc"', f(""), False),
    Case(
        R + "Optional operators: <1-100>",
        'any where my_field regex "foo<1-100>"',
        f("foo100"),
        True,
    ),
    Case(
        R + "Optional operators: <1-100>, outside",
        'any where my_field regex "foo<1-100>"',
        f("foo101"),
        False,
    ),
    Case(
        R + "Optional operators: <01-100>",
        'any where my_field regex "foo<01-100>"',
        f("foo01"),
        True,
    ),
    Case(R + "Optional operators: &", 'any where my_field regex "aaa.+&.+bbb"', f("aaabbb"), True),
    Case(
        R + "Optional operators: @&~(abc.+) excludes",
        'any where my_field regex "@&~(abc.+)"',
        f("abcd"),
        False,
    ),
    Case(
        R + "Optional operators: @&~(abc.+) keeps",
        'any where my_field regex "@&~(abc.+)"',
        f("abd"),
        True,
    ),
    Case(
        R + "Unsupported operators: ^ and $ are characters, the whole value must match",
        'any where my_field regex "^abc$"',
        f("abc"),
        False,
    ),
    Case(
        R + "Unsupported operators: the whole value must match",
        'any where my_field regex "bc"',
        f("abcd"),
        False,
    ),
]

TABLE = DOCUMENTED + FUNCTIONS + REGEXPS

EVENT = {
    "event": {"category": ["process"], "type": ["start", "end"], "code": "1"},
    "process": {
        "name": "CertUtil.exe",
        "executable": "C:\\Windows\\System32\\CertUtil.exe",
        "pid": 4,
        "args": ["certutil", "-urlcache", "-f"],
    },
}
P = "PLANNER > "
PLANNER = [
    # ExpressionTranslators.BinaryComparisons/Nots: field predicates are Lucene queries on the
    # field's indexed values; `!=` and `not` are bool.must_not (elasticsearch#35233 for SQL).
    Case(P + "array field: any element matches ==", 'any where event.type == "start"', EVENT, True),
    Case(
        P + "array field: != is must_not (an element equals)",
        'any where event.type != "start"',
        EVENT,
        False,
    ),
    Case(
        P + "array field: != with no element equal", 'any where event.type != "info"', EVENT, True
    ),
    Case(
        P + "array field: not : is must_not", 'any where not process.args : "-URL*"', EVENT, False
    ),
    Case(P + "array field: in", 'any where process.args in ("-f", "x")', EVENT, True),
    Case(P + "array field: not in", 'any where process.args not in ("-f", "x")', EVENT, False),
    Case(P + "missing field: == is false", 'any where user.name == "x"', EVENT, False),
    Case(P + "missing field: != is must_not, true", 'any where user.name != "x"', EVENT, True),
    Case(P + "missing field: not (...) is true", 'any where not user.name : "*"', EVENT, True),
    Case(P + "missing field: < is false", "any where process.ppid < 5", EVENT, False),
    Case(P + "category from an ECS array", "process where true", EVENT, True),
    Case(
        P + "category from a plain string",
        "process where true",
        {"event": {"category": "process"}},
        True,
    ),
    Case(P + "category is a case-sensitive term", "Process where true", EVENT, False),
    Case(P + "category: no event.category, not any", "process where true", {"process": {}}, False),
    # Keyword field, string literal (ECS event.code is a keyword).
    Case(P + "event.code keyword : string", 'any where event.code : "1"', EVENT, True),
    Case(
        P + "event.code keyword == number: type mismatch, false",
        "any where event.code == 1",
        EVENT,
        False,
    ),
    Case(P + "long field == number", "any where process.pid == 4", EVENT, True),
    Case(P + "long field == float", "any where process.pid == 4.0", EVENT, True),
    Case(
        P + "long field == string: type mismatch, false",
        'any where process.pid == "4"',
        EVENT,
        False,
    ),
    Case(P + "boolean field", "any where ?x.flag == true", {"x": {"flag": True}}, True),
    Case(P + "boolean field is not 1", "any where ?x.flag == 1", {"x": {"flag": True}}, False),
    Case(P + "bare boolean field", "any where ?x.flag", {"x": {"flag": True}}, True),
    Case(P + "bare optional field, absent", "any where ?x.flag", {}, False),
    # AutomatonQueries.toCaseInsensitiveChar: ASCII letters only.
    Case(P + "case-insensitive folds ASCII only", 'any where my_field : "é"', f("É"), False),
    Case(P + "case-insensitive: non-ASCII exact", 'any where my_field : "É*"', f("Éa"), True),
    Case(
        P + "case-insensitive: ASCII folds beside non-ASCII",
        'any where my_field : "*é*X"',
        f("aéx"),
        True,
    ),
    # eql/util/StringUtils.toLikePattern: only * and ? are special.
    Case(P + "wildcard: backslash is literal", 'any where my_field : "*\\\\x*"', f("a\\X"), True),
    Case(
        P + "wildcard: backslash does not escape", 'any where my_field : "a\\\\*"', f("a\\bc"), True
    ),
    # Endpoint `.caseless` multi-fields: lowercase normalizer on values and term-query terms.
    Case(
        P + ".caseless: lower-cased value",
        'any where process.executable.caseless == "c:\\\\windows\\\\system32\\\\certutil.exe"',
        EVENT,
        True,
    ),
    Case(
        P + ".caseless: the term is normalized too",
        'any where process.executable.caseless == "C:\\\\Windows\\\\System32\\\\CERTUTIL.exe"',
        EVENT,
        True,
    ),
    Case(
        P + ".caseless: regex is not normalized",
        'any where process.executable.caseless regex ".*CertUtil.exe"',
        EVENT,
        False,
    ),
    # Field names: nested objects, dotted keys and arrays of objects are the same field.
    Case(P + "flat dotted key", 'any where process.name == "a"', {"process.name": "a"}, True),
    Case(
        P + "half-flat dotted key",
        'any where process.parent.name == "a"',
        {"process": {"parent.name": "a"}},
        True,
    ),
    Case(
        P + "array of objects",
        'any where process.name == "b"',
        {"process": [{"name": "a"}, {"name": "b"}]},
        True,
    ),
    Case(P + "object is not a value", 'any where process : "*"', EVENT, False),
    Case(P + "null in an array is no value", "any where ?x.y != null", {"x": {"y": [None]}}, False),
    Case(P + "empty string is a value", "any where ?x.y != null", {"x": {"y": ""}}, True),
    Case(
        P + "backquoted field name",
        'any where `my-field`.`a b` == "v"',
        {"my-field": {"a b": "v"}},
        True,
    ),
    # Lucene RegExp (9.x) predefined classes; \s is [ \t\n\r] only.
    Case(P + "Lucene RegExp: \\d", 'any where my_field regex "\\\\d+"', f("123"), True),
    Case(P + "Lucene RegExp: \\w is ASCII", 'any where my_field regex "\\\\w+"', f("é"), False),
    Case(
        P + "Lucene RegExp: \\s excludes \\f",
        'any where my_field regex "a\\\\sb"',
        f("a\fb"),
        False,
    ),
    Case(
        P + "Lucene RegExp: . matches a newline", 'any where my_field regex "a.b"', f("a\nb"), True
    ),
    Case(
        P + "Lucene RegExp: +? is (a+)?, not lazy", 'any where my_field regex "xa+?"', f("x"), True
    ),
    Case(
        P + "Lucene RegExp: leading * is a character",
        'any where my_field regex "*a"',
        f("*a"),
        True,
    ),
]


# ---------------------------------------------------------------------------------------------
# STORAGE: what the field's mapping decides, with a schema (`converter.core.elastic_fields`).
# Sources: Elasticsearch mapping parameter "ignore_above" (`KeywordFieldMapper`: Java string
# length); the EQL syntax reference ("EQL searches do not support text fields"); the verifier's
# messages (`ql/.../TypeResolutions`, `TextEsField.getExactInfo`, `AnalyzerRules`).

ST = "STORAGE > "
STORAGE_SCHEMA = {
    "my_keyword": ElasticField("keyword", "test", ignore_above=10),
    "my_text": ElasticField("text", "test", analyzer="standard"),
    "my_path": ElasticField("keyword", "test", multi_fields=(("text", "match_only_text"),)),
    "my_long": ElasticField("long", "test"),
    "my_ip": ElasticField("ip", "test"),
    "my_bool": ElasticField("boolean", "test"),
    "my_wildcard": ElasticField("wildcard", "test"),
    "my_unindexed": ElasticField("keyword", "test", indexed=False),
}
STORAGE_ENGINE = EqlEngine(STORAGE_SCHEMA)
TEN = "0123456789"


def k(value: Any) -> dict[str, Any]:
    return {"my_keyword": value}


STORAGE = [
    Case(
        ST + "ignore_above: a longer keyword is not indexed",
        f'any where my_keyword == "{TEN}A"',
        k(TEN + "A"),
        False,
    ),
    Case(
        ST + "ignore_above: a wildcard does not find it either",
        'any where my_keyword : "0*"',
        k(TEN + "A"),
        False,
    ),
    Case(
        ST + "ignore_above: the limit itself is indexed",
        f'any where my_keyword == "{TEN}"',
        k(TEN),
        True,
    ),
    Case(
        ST + "ignore_above: an unindexed value does not exist",
        "any where my_keyword == null",
        k(TEN + "A"),
        True,
    ),
    Case(
        ST + "ignore_above: != matches a document whose value is unindexed",
        f'any where my_keyword != "{TEN}A"',
        k(TEN + "A"),
        True,
    ),
    Case(
        ST + "ignore_above: counts UTF-16 code units",
        'any where my_keyword : "*"',
        k("\U0001f600" * 6),
        False,
    ),
    Case(
        ST + "ignore_above: non-ASCII at the limit in UTF-16 units is indexed",
        'any where my_keyword : "*"',
        k("\u00e9" * 10),
        True,
    ),
    Case(
        ST + "ignore_above: the short values of an array stay",
        'any where my_keyword == "a"',
        k(["a", TEN + "A"]),
        True,
    ),
    Case(
        ST + "keyword with a text multi-field compares the keyword",
        'any where my_path == "a b"',
        {"my_path": "a b"},
        True,
    ),
    Case(
        ST + "wildcard field: like a keyword, no ignore_above",
        'any where my_wildcard : "*9A"',
        {"my_wildcard": TEN + "A"},
        True,
    ),
    Case(
        ST + "ip field: cidrMatch",
        'any where cidrMatch(my_ip, "10.0.0.0/8")',
        {"my_ip": "10.1.2.3"},
        True,
    ),
    Case(ST + "optional field no index maps: null", "any where ?my_nothing == null", {}, True),
]


def run_stored(query: str, doc: dict[str, Any]) -> bool:
    return STORAGE_ENGINE.compile(query).select([doc]) == [0]


@pytest.mark.parametrize("case", STORAGE, ids=lambda c: c.id)
def test_storage_semantics(case: Case) -> None:
    assert run_stored(case.query, case.doc) is case.expected


NO_EXACT = "No keyword/multi-field defined exact matches for"
STORAGE_REJECTED = [
    (
        'any where my_text : "x"',
        f"cannot operate on field of data type [text]: {NO_EXACT} [my_text]",
    ),
    ('any where my_text == "x"', f"{NO_EXACT} [my_text]"),
    ('any where my_text like~ "*x*"', f"{NO_EXACT} [my_text]"),
    ('any where my_text in ("x", "y")', f"{NO_EXACT} [my_text]"),
    ('any where stringContains(my_text, "x")', f"{NO_EXACT} [my_text]"),
    ('any where my_path.text : "x"', f"data type [match_only_text]: {NO_EXACT} [my_path.text]"),
    ('any where my_nothing == "x"', "Unknown column [my_nothing]"),
    ('any where my_keyword.caseless == "x"', "Unknown column [my_keyword.caseless]"),
    ('any where my_long : "1*"', "must be [string], found value [my_long] type [long]"),
    ('any where my_ip like "10.*"', "must be [string], found value [my_ip] type [ip]"),
    ('any where cidrMatch(my_keyword, "10.0.0.0/8")', "must be [ip]"),
    ('any where my_long == "1"', "must be [long]"),
    ("any where my_keyword in (1, 2)", "must be [keyword]"),
    ('any where my_bool == "true"', "must be [boolean]"),
    ('any where my_unindexed == "a"', "Cannot search on field [my_unindexed]"),
]


@pytest.mark.parametrize(("query", "message"), STORAGE_REJECTED)
def test_storage_rejected(query: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        STORAGE_ENGINE.compile(query)
    assert message in str(info.value)


def test_without_a_schema_every_field_is_dynamically_mapped() -> None:
    assert run('any where my_text : "x"', {"my_text": "x"})
    assert run(f'any where my_keyword == "{TEN}A"', k(TEN + "A"))


def _rejected(query: str) -> bool:
    try:
        STORAGE_ENGINE.compile(query)
    except QueryError:
        return True
    return False


def test_storage_bites_without_the_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    # the old behaviour: every field is a keyword, whatever its mapping, and no vendor check
    monkeypatch.setattr(
        schema_checks,
        "check_field",
        lambda schema, name, *rest: ElasticField("keyword", "dynamic"),
    )
    monkeypatch.setattr(eql_engine, "eql_schema_error", lambda query, fields: None)
    still = [query for query, _ in STORAGE_REJECTED if _rejected(query)]
    assert still == []


def test_elastic_eql_validation_alone_catches_text_unknown_and_mistyped_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        schema_checks,
        "check_field",
        lambda schema, name, *rest: ElasticField("keyword", "dynamic"),
    )
    for query, message in [
        ('any where my_text : "x"', "Field not recognized"),
        ('any where my_nothing == "x"', "Field not recognized"),
        ('any where my_long == "1"', "Invalid comparison of number to string"),
    ]:
        with pytest.raises(QueryError, match="Elastic's eql validation") as info:
            STORAGE_ENGINE.compile(query)
        assert message in str(info.value)
    with pytest.raises(QueryError, match="Invalid syntax"):
        STORAGE_ENGINE.compile("any where (")


def test_storage_bites_without_ignore_above(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_checks, "indexed_values", lambda get, limit: get)
    failed = {c.id for c in STORAGE if run_stored(c.query, c.doc) is not c.expected}
    assert ST + "ignore_above: a longer keyword is not indexed" in failed
    assert ST + "ignore_above: an unindexed value does not exist" in failed
    assert ST + "ignore_above: counts UTF-16 code units" in failed


def test_the_runtime_engine_rejects_the_shipped_script_block_query() -> None:
    from converter.environment.eql import engine

    query = 'any where powershell.file.script_block_text : "*New-SelfSignedCertificate*"'
    with pytest.raises(QueryError, match=r"No keyword/multi-field.*script_block_text"):
        engine(None).compile(query)
    assert engine(None).compile('any where process.name : "certutil.exe"')


@pytest.mark.parametrize("case", TABLE + PLANNER, ids=lambda c: c.id)
def test_semantics(case: Case) -> None:
    assert run(case.query, case.doc) is case.expected


def test_table_is_big_enough() -> None:
    assert len(DOCUMENTED) >= 25
    assert len({c.id for c in TABLE + PLANNER}) == len(TABLE + PLANNER)


# ---------------------------------------------------------------------------------------------
# The table bites: each deliberately wrong semantics makes known cases fail.


def failing(cases: list[Case]) -> set[str]:
    return {c.id for c in cases if run(c.query, c.doc) is not c.expected}


def test_table_bites_case_insensitive_equals(monkeypatch: pytest.MonkeyPatch) -> None:
    def insensitive(literal: Any) -> matchers.ValueTest:
        if isinstance(literal, str):
            return matchers.ValueTest(lambda v: v.lower() == literal.lower(), strings_only=True)
        return matchers.ValueTest(lambda v: v == literal)

    monkeypatch.setattr(matchers, "equals_matcher", insensitive)
    failed = failing(TABLE)
    assert C + "Comparison operators: == is case-sensitive" in failed
    assert C + "Comparison operators: != is case-sensitive" in failed


def test_table_bites_first_value_only(monkeypatch: pytest.MonkeyPatch) -> None:
    original = compiler._values

    def first_value(operand: Any, test: Any) -> Any:
        predicate = original(operand, test)
        if operand.constant is not MISSING:
            return predicate
        get = operand.get

        def only_first(doc: Any) -> bool:
            value = get(doc)
            if isinstance(value, list):
                value = value[0]
            return value is not None and test.test(value)

        return only_first

    monkeypatch.setattr(compiler, "_values", first_value)
    failed = failing(PLANNER)
    assert P + "array field: in" in failed
    assert P + "array field: not : is must_not" in failed


def test_table_bites_unanchored_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    def search(patterns: list[str], insensitive: bool) -> matchers.ValueTest:
        flags = re.IGNORECASE if insensitive else 0
        tests = [re.compile(p, flags).search for p in patterns]
        return matchers.ValueTest(lambda v: any(t(v) for t in tests), strings_only=True)

    monkeypatch.setattr(matchers, "regex_matcher", search)
    failed = failing(REGEXPS)
    assert R + "Unsupported operators: the whole value must match" in failed
    assert R + "Standard operators: case_insensitive leaves ranges case-sensitive" in failed


def test_table_bites_without_question_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    original = matchers.wildcard_matcher
    monkeypatch.setattr(
        matchers,
        "wildcard_matcher",
        lambda patterns, ci: original([p.replace("?", "*") for p in patterns], ci),
    )
    failed = failing(DOCUMENTED)
    assert S + 'Wildcards: : "doc?" not "document"' in failed
    assert S + 'Wildcards: : "d?c" not "disc"' in failed


# ---------------------------------------------------------------------------------------------
# What the eql parser's AST loses is recovered: each pair differs only by a `~`.


@pytest.mark.parametrize(
    ("sensitive", "insensitive"),
    [
        ('any where my_field in ("abc")', 'any where my_field in~ ("abc")'),
        ('any where my_field like "abc"', 'any where my_field like~ "abc"'),
        ('any where my_field regex "abc"', 'any where my_field regex~ "abc"'),
        ('any where startsWith(my_field, "abc")', 'any where startsWith~(my_field, "abc")'),
        ('any where endsWith(my_field, "abc")', 'any where endsWith~(my_field, "abc")'),
        ('any where stringContains(my_field, "b")', 'any where stringContains~(my_field, "B")'),
    ],
)
def test_tilde_is_recovered(sensitive: str, insensitive: str) -> None:
    assert run(sensitive, f("ABC")) is False
    assert run(insensitive, f("ABC")) is True


def test_colon_and_like_are_told_apart() -> None:
    # eql.parse_query turns both into wildcard(my_field, "abc").
    assert run('any where my_field : "abc"', f("ABC")) is True
    assert run('any where my_field like "abc"', f("ABC")) is False


# ---------------------------------------------------------------------------------------------
# Queries pySigma's EQL backend emits


BRIEF_QUERY = (
    'any where winlog.channel:"Microsoft-Windows-Sysmon/Operational" and (event.code:"1" and '
    'process.executable.caseless like~ ("*\\\\openssl.exe") and process.command_line like~ '
    '("* req -new*"))'
)


def sysmon_process(image: str, command_line: str, **extra: Any) -> dict[str, Any]:
    """An ECS document of a Sysmon process creation (Elastic's windows integration shape)."""
    doc: dict[str, Any] = {
        "event": {"category": ["process"], "type": ["start"], "code": "1"},
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1"},
        "process": {
            "executable": image,
            "name": image.rsplit("\\", 1)[-1],
            "command_line": command_line,
            "pid": 4242,
        },
    }
    doc["process"].update(extra)
    return doc


OPENSSL = sysmon_process(
    "C:\\Program Files\\OpenSSL\\bin\\OpenSSL.EXE",
    "openssl.exe req -new -x509 -nodes -out cert.pem",
    parent={"executable": "C:\\Windows\\System32\\cmd.exe"},
)


def test_brief_query() -> None:
    compiled = ENGINE.compile(BRIEF_QUERY)
    other_channel = {**OPENSSL, "winlog": {"channel": "Security"}}
    other_code = {**OPENSSL, "event": {**OPENSSL["event"], "code": "3"}}
    no_req = sysmon_process("C:\\x\\openssl.exe", "openssl.exe genrsa 2048")
    lookalike = sysmon_process("C:\\x\\notopenssl.exe", "x req -new")
    assert compiled.select([OPENSSL, other_channel, other_code, no_req, lookalike]) == [0]


@pytest.fixture(scope="module")
def emitted() -> dict[str, str]:
    """The queries pySigma's EQL backend emits for the fixture rules (sysmon + ecs_windows)."""
    from sigma.backends.elasticsearch import EqlBackend
    from sigma.collection import SigmaCollection
    from sigma.plugins import InstalledSigmaPlugins

    resolver = InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()
    queries = {}
    for path in sorted(FILES.glob("*.yml")):
        backend = EqlBackend(resolver.resolve(["sysmon", "ecs_windows"]))
        (queries[path.stem],) = backend.convert(SigmaCollection.from_yaml(path.read_text()))
    return queries


def test_emitted_self_signed_rule(emitted: dict[str, str]) -> None:
    query = emitted["openssl_self_signed"]
    # the shapes this test is about: `:` with wildcards, a like~ list, `?field != null`
    assert 'process.executable.caseless:"*\\\\openssl.exe"' in query
    assert 'like~ ("* -x509*", "* -nodes*")' in query
    assert "?process.parent.executable.caseless != null" in query
    orphan = {**OPENSSL, "process": {k: v for k, v in OPENSSL["process"].items() if k != "parent"}}
    no_flag = sysmon_process(
        "C:\\x\\openssl.exe", "openssl req -new -key k.pem", parent={"executable": "C:\\cmd.exe"}
    )
    assert ENGINE.compile(query).select([OPENSSL, orphan, no_flag]) == [0]


def test_emitted_shapes(emitted: dict[str, str]) -> None:
    query = emitted["shapes"]
    compiled = ENGINE.compile(query)
    base = sysmon_process("C:\\x\\a.exe", "a.exe", pid=50)
    docs = [
        base,
        # |re 'req\s+-new' became regex~, which Lucene matches against the whole value:
        sysmon_process("C:\\x\\a.exe", "req \t-new", pid=50),
        sysmon_process("C:\\x\\a.exe", "openssl req -new", pid=50),  # unanchored: no match
        # |cased became `==` (case-sensitive)
        {**base, "process": {**base["process"], "pe": {"original_file_name": "OpenSSL.exe"}}},
        {**base, "process": {**base["process"], "pe": {"original_file_name": "openssl.exe"}}},
        {**base, "source": {"ip": "10.20.30.40"}},  # cidrMatch
        {**base, "source": {"ip": "11.0.0.1"}},
        sysmon_process("C:\\x\\a.exe", "a.exe", pid=101),  # process.pid > 100
        {**base, "process": {**base["process"], "pe": {"description": ""}}},  # == ""
    ]
    assert compiled.select(docs) == [1, 3, 5, 7, 8]


# ---------------------------------------------------------------------------------------------
# Rejected: what is not one Elasticsearch EQL filter, or cannot run faithfully here


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sequence [process where true] [file where true]", "Sequence"),
        ("sequence by host.name [process where true] [file where true]", "Sequence"),
        ("any where true | head 5", "pipes"),
        ("process where true | tail 1", "pipes"),
        ("garbage", "Missing event type"),
        ("any where (", "Invalid syntax"),
        ("", "empty query"),
        ('any where my_field == ?"raw"', "Invalid string literal"),
        ("any where my_field == 'x'", "Invalid string literal"),
        ('any where my_field : "*\\Temp\\*"', "Invalid syntax"),  # \T is not an escape
        ('any where my_field = "x"', "Compare with =="),
        ("any where my_field == other_field", "Comparisons against fields"),
        ("any where length(my_field) > 3", "length"),
        ("any where my_field + 1 == 2", "my_field + 1"),
        ("any where my_field.x:length() == 1", "my_field.x:length()"),
        ('any where wildcard(my_field, "a*")', "unsupported function"),
        ('any where my_field[0] == "a"', "array indexes"),
        ('any where cidrMatch(ip, "10.0.0.0/99")', "Invalid argument to cidrMatch"),
        ('any where my_field regex "a~bc"', "intersection (&) or complement (~)"),
        ('any where my_field regex "a\\\\qb"', "invalid character class"),
        ('any where my_field regex "(ab"', "expected ')'"),
        ('any where my_field regex "<name>"', "named automaton"),
        ('any where my_field regex "[z-a]"', "invalid range"),
        ('any where my_field == "\\u{zz}"', "Invalid unicode escape"),
    ],
)
def test_rejected(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=None) as info:
        ENGINE.compile(query)
    assert message in str(info.value)


# ---------------------------------------------------------------------------------------------
# Engine surface and helpers


def test_select_returns_ascending_indices() -> None:
    docs = [f("a"), f("b"), {}, f(["x", "a"]), f("A")]
    assert ENGINE.compile('any where my_field == "a"').select(docs) == [0, 3]
    assert ENGINE.compile('any where my_field : "a"').select(docs) == [0, 3, 4]
    assert ENGINE.language == "eql"


def test_compiled_query_keeps_its_text_and_category() -> None:
    compiled = ENGINE.compile('process where my_field == "a"')
    assert (compiled.query, compiled.category) == ('process where my_field == "a"', "process")


@pytest.mark.parametrize(
    ("pattern", "low", "high", "padded"),
    [
        ("<1-100>", 1, 100, True),
        ("<95-1234>", 95, 1234, True),
        # bounds of equal width fix the width: no leading zeros ("RegExp" javadoc)
        ("<7-7>", 7, 7, False),
        ("<0-9>", 0, 9, False),
    ],
)
def test_lucene_interval_against_brute_force(pattern: str, low: int, high: int, padded: bool):
    test = lucene_regex(pattern)
    for n in range(0, 1500):
        assert test(str(n)) is (low <= n <= high), n
        assert test("00" + str(n)) is (padded and low <= n <= high), n


def test_lucene_fixed_width_interval() -> None:
    test = lucene_regex("<001-120>")
    assert [test(s) for s in ("001", "120", "1", "0001", "121", "099")] == [
        True,
        True,
        False,
        False,
        False,
        True,
    ]


def test_regex_and_wildcard_fast_paths_agree_with_the_regex_path() -> None:
    # the str-method shortcuts of `:`/like~ must give what the plain regex gives
    values = ["abc", "ABC", "xabcx", "ab", "", "aBc\u00e9", "\u00e9ABC", "abcabc", "ABCé"]
    for pattern in ["abc", "abc*", "*abc", "*abc*", "*", "a?c", "*é*", "ABCÉ"]:
        for insensitive in (False, True):
            fast = matchers.wildcard_matcher([pattern], insensitive).test
            slow = matchers._wildcard_regex(pattern, insensitive).fullmatch
            for value in values:
                assert fast(value) is (slow(value) is not None), (pattern, insensitive, value)
