"""Tests for the SPL engine: Splunk search-time semantics, strictness, real pySigma output.

Case ids name the Splunk documentation page each case encodes (Splunk Enterprise 9.x):
BOOL = Search Manual "Boolean expressions with logical operators"; FIELD = Splexicon "Field";
CASE = Search Manual "Use CASE() and TERM() to match phrases"; WILD = Search Manual
"Wildcards"; NE = Search Manual "Difference between != and NOT"; SEARCH = Search Reference
"search"; BSL = Search Manual "Backslashes"; SEG = Search Manual "Event segmentation and
searching" with segmenters.conf.spec; REGEX/REX = Search Reference "regex"/"rex"; SPLRE = Search
Manual "SPL and regular expressions"; PCRE = pcre2pattern "Internal option setting"; STORE =
what the add-ons extract (`converter.core.splunk_fields`: Splunk_TA_windows' `eventdata_xml_data`
captures a Data value up to the next `<`, entities unexpanded; transforms.conf.spec
`KEEP_EMPTY_VALS`; `KV_MODE = JSON` arrays), on events built by the Splunk ingest models.
"""

from __future__ import annotations

import re

import pytest
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.plugins import InstalledSigmaPlugins

from converter.core.documents import SplunkEvent
from converter.core.events import WindowsEvent
from converter.core.logsources import POWERSHELL_CHANNEL, SECURITY_CHANNEL, SYSMON_CHANNEL
from converter.core.zeek import ZeekRecord
from converter.execute.engines.base import QueryError
from converter.execute.engines.pcre import compile_pcre, translate_pcre
from converter.execute.engines.spl import SplEngine, matching
from converter.execute.engines.spl.compiler import _compile_node
from converter.execute.engines.spl.matching import StrPred
from converter.execute.engines.spl.search import _SearchParser, parse_search
from converter.execute.engines.spl.syntax import And, Compare, In, Not, Or, Term
from converter.execute.ingest import splunk, splunk_zeek

SYSMON = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"


def ev(raw: str = "", *, source: str = "", sourcetype: str = "", host: str = "", **fields):
    values = {k: [v] if isinstance(v, str) else list(v) for k, v in fields.items()}
    return SplunkEvent(values, raw, source, sourcetype, host)


def matches(query: str, event: SplunkEvent) -> bool:
    return SplEngine().compile(query).select([event]) == [0]


def stored(channel: str, event_id: int, **data: str) -> SplunkEvent:
    """The event the Splunk model stores for a Windows event with this EventData."""
    event = WindowsEvent("P", event_id, channel, "WS1", "2026-01-01T00:00:00Z", 1, data)
    document = splunk.to_splunk(event)
    assert document is not None
    return document


def zeek(log: str, **columns: object) -> SplunkEvent:
    document = splunk_zeek.to_splunk(ZeekRecord(log, columns))
    assert document is not None
    return document


SCRIPT = "$c = Get-ChildItem Cert:\\LocalMachine\\My\nMove-Item -Path $c.PSPath x"


# (id, query, event, expected)
SEMANTICS = [
    # --- Boolean order of evaluation: parentheses, NOT, OR, AND (BOOL)
    ("BOOL-or-before-implicit-and", "a=1 b=2 OR c=3", ev(a="1", c="3"), True),
    ("BOOL-or-before-implicit-and-needs-a", "a=1 b=2 OR c=3", ev(c="3"), False),
    ("BOOL-or-before-explicit-and", "a=1 AND b=2 OR c=3", ev(c="3"), False),
    ("BOOL-parentheses-first", "(a=1 b=2) OR c=3", ev(c="3"), True),
    ("BOOL-not-binds-tightest", "NOT a=1 OR b=2", ev(a="1", b="2"), True),
    ("BOOL-not-binds-tightest-2", "NOT a=1 OR b=2", ev(a="1"), False),
    ("BOOL-doc-example-error-not-403-or-404", "error NOT 403 OR 404", ev("error 403 404"), True),
    ("BOOL-doc-example-error-403-only", "error NOT 403 OR 404", ev("error 403"), False),
    ("BOOL-lowercase-or-is-a-term", "x=1 or x=2", ev("this is it", x="2"), False),
    ("BOOL-lowercase-or-is-a-term-2", "x=1 or x=2", ev("this or that", x=["1", "2"]), True),
    ("BOOL-double-not", "NOT NOT a=*", ev(a="v"), True),
    # --- field names case-sensitive (FIELD), values case-insensitive (CASE)
    ("CASE-value-insensitive", 'Image="*\\\\CERTUTIL.EXE"', ev(Image="C:\\W\\certutil.exe"), True),
    ("FIELD-name-sensitive", 'image="*certutil.exe"', ev(Image="C:\\W\\certutil.exe"), False),
    ("SEARCH-unquoted-value-whole", "EventCode=1", ev(EventCode="11"), False),
    ("SEARCH-unquoted-value", "EventCode=1", ev(EventCode="1"), True),
    # --- wildcards (WILD): * is any run and anchors the whole value; ? is literal
    ("WILD-whole-value", 'CommandLine="-addstore*"', ev(CommandLine="c -addstore x"), False),
    ("WILD-inner", 'CommandLine="*a*b*"', ev(CommandLine="xAyB"), True),
    ("WILD-question-mark-literal", 'CommandLine="a?c"', ev(CommandLine="abc"), False),
    ("WILD-question-mark-literal-2", 'CommandLine="a?c"', ev(CommandLine="A?C"), True),
    ("WILD-star-spans-newline", 'CommandLine="a*b"', ev(CommandLine="a\nb"), True),
    # --- quoted strings (BSL): \\ is one backslash, \" a quote
    ("BSL-backslash", 'Image="C:\\\\Win\\\\x.exe"', ev(Image="C:\\Win\\x.exe"), True),
    ("BSL-quote", 'CommandLine="*x\\"y*"', ev(CommandLine='run x"y'), True),
    # --- multivalue fields: any value
    ("SEARCH-multivalue-any", "Tags=b", ev(Tags=["a", "B"]), True),
    ("SEARCH-multivalue-none", "Tags=c", ev(Tags=["a", "b"]), False),
    # --- != versus NOT (NE)
    ("NE-ne-needs-field", "User!=admin", ev(), False),
    ("NE-not-matches-missing-field", "NOT User=admin", ev(), True),
    ("NE-ne-other-value", "User!=admin", ev(User="bob"), True),
    ("NE-ne-same-value-any-case", "User!=admin", ev(User="ADMIN"), False),
    ("NE-ne-multivalue-some-differs(assumed)", "User!=admin", ev(User=["admin", "bob"]), True),
    ("NE-not-multivalue", "NOT User=admin", ev(User=["admin", "bob"]), False),
    # --- field=* exists (SEARCH, WILD)
    ("SEARCH-exists", "User=*", ev(User="x"), True),
    ("SEARCH-exists-missing", "User=*", ev(), False),
    ("SEARCH-not-exists", "NOT User=*", ev(), True),
    # --- IN operator (SEARCH), wildcards allowed
    ("SEARCH-in", 'Image IN ("*\\\\cmd.exe", "*\\\\pwsh.exe")', ev(Image="C:\\PWSH.exe"), True),
    (
        "SEARCH-not-in",
        'NOT Image IN ("*\\\\cmd.exe", "*\\\\pwsh.exe")',
        ev(Image="C:\\pwsh.exe"),
        False,
    ),
    ("SEARCH-not-in-missing", 'NOT Image IN ("*\\\\cmd.exe")', ev(), True),
    ("SEARCH-in-unquoted", "EventCode IN (1, 11)", ev(EventCode="11"), True),
    # --- default fields
    ("SEARCH-source-attribute", f'source="{SYSMON}"', ev(source=SYSMON), True),
    ("SEARCH-source-not-xml", f'source="{SYSMON}"', ev(source=SYSMON[3:]), False),
    ("SEARCH-host-from-fields", "host=ws1", SplunkEvent({"host": ["WS1"]}, ""), True),
    ("SEARCH-sourcetype", "sourcetype=xmlwineventlog", ev(sourcetype="XmlWinEventLog"), True),
    # --- numeric comparisons: numeric, not lexicographic ("10" < "5" as strings)
    ("SEARCH-numeric-gt", "ProcessId>5", ev(ProcessId="10"), True),
    ("SEARCH-numeric-le-float", "ProcessId<=10", ev(ProcessId="10.0"), True),
    ("SEARCH-numeric-not-a-number", "ProcessId>5", ev(ProcessId="abc"), False),
    ("SEARCH-numeric-multivalue", "ProcessId<3", ev(ProcessId=["7", "2"]), True),
    # --- CIDR (SEARCH: "supports IPv4 and IPv6 addresses and subnets that use CIDR notation")
    ("SEARCH-cidr-v4", 'DestinationIp="10.0.0.0/8"', ev(DestinationIp="10.20.30.40"), True),
    ("SEARCH-cidr-v4-outside", 'DestinationIp="10.0.0.0/8"', ev(DestinationIp="11.0.0.1"), False),
    ("SEARCH-cidr-v6", 'DestinationIp="fe80::/10"', ev(DestinationIp="fe80::1"), True),
    # --- bare terms against _raw by indexed segments (SEG, CASE)
    ("SEG-term", '"New-SelfSignedCertificate"', ev("ps New-SelfSignedCertificate -x"), True),
    ("SEG-term-any-case", '"new-selfsignedcertificate"', ev("New-SelfSignedCertificate"), True),
    ("SEG-not-a-substring", '"selfsigned"', ev("ps New-SelfSignedCertificate -x"), False),
    ("SEG-minor-segment", "selfsignedcertificate", ev("New-SelfSignedCertificate"), True),
    ("SEG-xml", '"certutil.exe"', ev("<Data Name='Image'>C:\\W\\certutil.exe</Data>"), True),
    ("SEG-prefix-not-a-token", "cert", ev("C:\\W\\certutil.exe"), False),
    ("SEG-phrase", '"make cert"', ev("run make cert now"), True),
    ("SEG-phrase-pieces-must-be-tokens", '"make cert"', ev("remake cert"), False),
    ("SEG-phrase-exact-spacing", '"make cert"', ev("make  cert"), False),
    ("CASE-subterms-then-post-filter", '"a.b"', ev("xa.b a b"), True),
    ("SEG-multichar-major-breaker", "cert", ev("GET /x?q=a%20cert"), True),
    ("WILD-term-contains", '"*selfsigned*"', ev("New-SelfSignedCertificate"), True),
    ("WILD-term-prefix-token", '"selfsigned*"', ev("New-SelfSignedCertificate"), True),
    ("WILD-term-prefix-not-token", '"selfsigned*"', ev("xselfsigned"), False),
    ("WILD-term-prefix-minor-needs-major", '"b.c*"', ev("a.b.c"), False),
    ("WILD-term-suffix", '"*Certificate"', ev("New-SelfSignedCertificate -x"), True),
    ("WILD-term-suffix-not-token-end", '"*Certificate"', ev("New-SelfSignedCertificates"), False),
    ("WILD-lone-star", "*", ev(), True),
    # --- regex / rex (REGEX, REX, SPLRE): unanchored PCRE, case-sensitive unless (?i)
    ("REGEX-unanchored", '* | regex CommandLine="cert"', ev(CommandLine="xcertx"), True),
    ("REGEX-case-sensitive", '* | regex CommandLine="cert"', ev(CommandLine="CERT"), False),
    ("REGEX-ne-keeps-missing-field", '* | regex CommandLine!="cert"', ev(), True),
    ("REGEX-eq-drops-missing-field", '* | regex CommandLine="."', ev(), False),
    ("SPLRE-four-backslashes", '* | regex Image="C:\\\\\\\\W"', ev(Image="C:\\W\\x"), True),
    ("REGEX-ascii-word-class", '* | regex U="^\\\\w+$"', ev(U="é"), False),
    # --- what the add-ons store (STORE), on the models' events
    ("STORE-multiline-value-whole", 'ScriptBlockText="*Move-Item*"',
     stored(POWERSHELL_CHANNEL, 4104, ScriptBlockText=SCRIPT), True),
    ("STORE-multiline-value-anchored-whole", 'ScriptBlockText="Move-Item*"',
     stored(POWERSHELL_CHANNEL, 4104, ScriptBlockText=SCRIPT), False),
    ("STORE-multiline-cim-alias-whole", 'process="*Move-Item*"',
     stored(SECURITY_CHANNEL, 4688, CommandLine=SCRIPT), True),
    ("STORE-xml-entities-kept", 'CommandLine="*a<b*"',
     stored(SYSMON_CHANNEL, 1, CommandLine="run a<b"), False),
    ("STORE-xml-entities-kept-2", 'CommandLine="*a&lt;b*"',
     stored(SYSMON_CHANNEL, 1, CommandLine="run a<b"), True),
    ("STORE-empty-element-no-field", "Path=*", stored(POWERSHELL_CHANNEL, 4104, Path=""), False),
    ("STORE-json-array-any-value", "cert_chain_fuids=fb2",
     zeek("ssl", cert_chain_fuids=["Fa1", "Fb2"]), True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "event", "expected"),
    [case[1:] for case in SEMANTICS],
    ids=[case[0] for case in SEMANTICS],
)
def test_semantics(query: str, event: SplunkEvent, expected: bool) -> None:
    assert matches(query, event) is expected


def test_semantics_table_is_large_enough() -> None:
    assert len(SEMANTICS) >= 25
    assert len({case[0] for case in SEMANTICS}) == len(SEMANTICS)


# The table bites: each deliberately wrong semantics makes named rows fail.


def _failing_rows() -> set[str]:
    return {case[0] for case in SEMANTICS if matches(case[1], case[2]) is not case[3]}


def test_a_star_that_stops_at_a_line_break_fails_the_multiline_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = matching._wildcard

    def first_line_only(pattern: str) -> StrPred:
        match = real(pattern)
        return lambda value: match(value.split("\n", 1)[0])

    monkeypatch.setattr(matching, "_wildcard", first_line_only)
    assert _failing_rows() == {
        "WILD-star-spans-newline",
        "STORE-multiline-value-whole",
        "STORE-multiline-cim-alias-whole",
    }


def test_a_model_storing_decoded_entities_fails_the_entity_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # as if Splunk parsed the XML (KV_MODE = xml) instead of the add-on's regex extraction
    monkeypatch.setattr(splunk, "_text", lambda value: value)
    event = stored(SYSMON_CHANNEL, 1, CommandLine="run a<b")
    assert matches('CommandLine="*a<b*"', event) is True  # STORE-xml-entities-kept expects False


# --- precedence: the parse tree, and proof that the order decides real queries --------------


def test_parse_tree_or_binds_tighter_than_and() -> None:
    # BOOL: "A=1 AND B=2 OR C=3 ... is processed as A=1 AND (B=2 OR C=3)"
    assert parse_search("A OR B C") == And((Or((Term("A"), Term("B"))), Term("C")))
    assert parse_search("A AND B OR C") == And((Term("A"), Or((Term("B"), Term("C")))))
    assert parse_search("NOT A OR B") == Or((Not(Term("A")), Term("B")))
    assert parse_search("(A B) OR C") == Or((And((Term("A"), Term("B"))), Term("C")))


def test_parse_tree_fields_in_and_lowercase_or() -> None:
    assert parse_search('x=1 or NOT y IN ("a*", b)') == And(
        (Compare("x", "=", "1"), Term("or"), Not(In("y", ("a*", "b"))))
    )


def test_and_first_precedence_would_change_a_real_query() -> None:
    # pySigma's parenthesized output still relies on OR binding tighter for |windash expansions
    query = (
        f'source="{SYSMON}" (EventCode=1 CommandLine="*-addstore*" OR CommandLine="*/addstore*")'
    )
    event = ev(source=SYSMON, EventCode="13", CommandLine="certutil /addstore root x.cer")
    assert matches(query, event) is False
    swapped = _SearchParser(query, and_binds_tighter=True).parse()
    assert _compile_node(swapped, frozenset())(event, {}) is True


# --- pipelines -----------------------------------------------------------------------------


REX_CHAIN = (
    'EventCode=1\n| rex field=Image "(?<ImageMatch>make[cC]ert\\\\.exe$)"\n'
    '| eval ImageCondition=if(isnotnull(ImageMatch), "true", "false")\n'
    '| rex field=CommandLine "(?<CommandLineMatch>(?i)new-selfsigned\\\\w+\\\\s+-)"\n'
    '| eval CommandLineCondition=if(isnotnull(CommandLineMatch), "true", "false")\n'
    '| search ImageCondition="true" OR NOT CommandLineCondition="true"'
)


def test_rex_eval_search_chain() -> None:
    docs = [
        ev(EventCode="1", Image="C:\\makecert.exe", CommandLine="x"),  # image regex
        ev(EventCode="1", Image="C:\\MAKECERT.EXE", CommandLine="x"),  # case-sensitive: no
        ev(EventCode="1", Image="C:\\a.exe", CommandLine="NEW-SelfSignedCert -D"),  # (?i): no
        ev(EventCode="1", Image="C:\\a.exe"),  # no CommandLine: condition "false"
        ev(EventCode="2", Image="C:\\makecert.exe"),  # base search fails
        ev(EventCode="1", Image="C:\\makecert.exe.bak", CommandLine="x"),  # $ anchors
    ]
    assert SplEngine().compile(REX_CHAIN).select(docs) == [0, 1, 3, 5]


def test_rex_sets_fields_only_for_later_commands() -> None:
    query = (
        '* | rex field=CommandLine "(?<Flag>-\\\\w+)" | search Flag="-addstore" '
        '| regex Flag="^-add"'
    )
    docs = [ev(CommandLine="certutil -addstore root"), ev(CommandLine="certutil -f -addstore")]
    assert SplEngine().compile(query).select(docs) == [0]


def test_leading_search_keyword_and_select_order() -> None:
    docs = [ev(a="1"), ev(a="2"), ev(a="1")]
    assert SplEngine().compile("search a=1").select(docs) == [0, 2]
    assert SplEngine().compile("a=1").select(docs) == [0, 2]
    assert SplEngine().compile('search "search"').select([ev("a search b")]) == [0]


# --- strictness ----------------------------------------------------------------------------

OUTSIDE_SUBSET = [
    "| delete",
    "| outputlookup x",
    "| eval x=1",
    "foo | delete",
    "foo | outputlookup x",
    "foo | eval x=1",
    "foo | table a",
    "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=x",
    '"unbalanced',
    'a="unbalanced',
    "(a=1",
    "a=1)",
    "()",
    "",
    "search",
    "foo |",
    "foo | search",
    "a=1 OR",
    "OR a=1",
    "a=1 AND",
    "NOT",
    "x XOR y",
    "index=main foo",
    "_time>5",
    'a="x\\*y"',  # BSL: the backslash cannot escape the asterisk
    'a="x\\ty"',
    "a=x\\y",
    'a=""',
    '"foo*bar"',  # WILD: wildcards inside a term
    '"*make cert*"',
    "TERM(foo)",
    '"x" IN ("a")',
    'f in ("a")',
    "f IN ()",
    "f IN (a b)",
    "f>abc",
    "10.0.0.0/8",
    '"f n"="x"',
    "f= x",
    "=x",
    "a,b",
    "`macro`",
    "[search foo]",
    'foo | rex "(?<a>x)"',
    'foo | rex field=x mode=sed "s/a/b/"',
    'foo | rex field=x "(?<a>x*)"',  # captures the empty string: not modelled
    'foo | regex x="a(?i)b"',
    'foo | regex x="\\\\Z"',
    'foo | eval C=if(isnull(G), "true", "false")',
    'foo | search OR NOT C="true"',
]


@pytest.mark.parametrize("query", OUTSIDE_SUBSET)
def test_outside_subset_raises(query: str) -> None:
    with pytest.raises(QueryError):
        SplEngine().compile(query)


# --- PCRE translation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pcre", "python"),
    [
        ("(?i)abc", "(?i:abc)"),
        ("(?<n>(?i)a|b)", "(?P<n>(?i:a|b))"),
        ("((?i)b)c", "((?i:b))c"),
        ("(?s-i)a.b", "(?s-i:a.b)"),
        ("(?i:a)b", "(?i:a)b"),
        ("[\\w.-]+\\.exe$", "[\\w.-]+\\.exe$"),
        ("\\x41{2,3}", "\\x41{2,3}"),
        ("a(?#note)b", "ab"),
        ("(?<=x)y(?!z)", "(?<=x)y(?!z)"),
    ],
)
def test_translate_pcre(pcre: str, python: str) -> None:
    assert translate_pcre(pcre) == python


def test_inline_flag_scope_follows_pcre() -> None:
    # PCRE: an option set inside a group applies only to the rest of that group
    rx = compile_pcre("((?i)b)c")
    assert rx.fullmatch("Bc") and not rx.fullmatch("BC")
    assert compile_pcre("(?i)a|b").fullmatch("B")  # at the start: every alternative


@pytest.mark.parametrize(
    "pcre",
    [
        "a\\Z",
        "a\\z",
        "\\v",
        "\\h",
        "\\R",
        "a\\Kb",
        "\\Qa.b\\E",
        "\\p{L}",
        "(a)\\1",
        "\\x{41}",
        "\\x4",
        "[[:alpha:]]",
        "a{,3}",
        "a{",
        "(?x)a b",
        "(?U)a+",
        "a(?i)b",
        "a|(?i)b",
        "(?|(a)|(b))",
        "(?R)",
        "(*UTF)a",
        "(?'n'a)",
        "(?<n>a)\\k<n>",
        "(?i)é",
        "(a",
        "a)",
        "a\\",
        "[a",
        "a**",
    ],
)
def test_pcre_outside_python_subset_raises(pcre: str) -> None:
    with pytest.raises(QueryError):
        compile_pcre(pcre)


# --- real pySigma Splunk backend output, default and parenthesized ---------------------------


def _pipeline():
    resolver = InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()
    return resolver.resolve(["sysmon", "splunk_windows"])


def spl(detection: str, parenthesize: bool) -> str:
    rule = (
        "title: t\nlogsource: {product: windows, category: process_creation}\n"
        f"detection:\n{detection}"
    )
    backend = SplunkBackend(_pipeline())
    backend.parenthesize = parenthesize  # the constructor keyword is ignored (next test)
    (query,) = backend.convert(SigmaCollection.from_yaml(rule))
    return query


def test_pysigma_ignores_parenthesize_keyword() -> None:
    # SplunkBackend(p, parenthesize=True) only lands in backend_options on pySigma 1.5.1
    assert SplunkBackend(_pipeline(), parenthesize=True).parenthesize is False


WIN = "WinEventLog:Microsoft-Windows-Sysmon/Operational"  # what splunk_windows emits

CERTUTIL = """  sel:
    Image|endswith: '\\certutil.exe'
    CommandLine|windash|contains: '-addstore'
  sel_root:
    CommandLine|contains: ['root', 'ca ']
  filter:
    ParentImage|endswith: '\\msiexec.exe'
  condition: sel and sel_root and not filter"""

CERTUTIL_DOCS = [
    ev(source=WIN, EventCode="1", Image="C:\\W\\CertUtil.exe", CommandLine="c -addstore root a"),
    ev(source=WIN, EventCode="1", Image="C:\\W\\certutil.exe", CommandLine="c /addstore CA x"),
    ev(source=WIN, EventCode="1", Image="C:\\W\\certutil.exe", CommandLine="c -addstore my x"),
    ev(source=WIN, EventCode="13", Image="C:\\W\\certutil.exe", CommandLine="c /addstore root"),
    ev(
        source=WIN,
        EventCode="1",
        Image="C:\\W\\certutil.exe",
        CommandLine="c -addstore root",
        ParentImage="C:\\W\\msiexec.exe",
    ),
    ev(source=SYSMON, EventCode="1", Image="C:\\W\\certutil.exe", CommandLine="-addstore root"),
]

REGEX_AND = """  sel:
    CommandLine|re: '(?i)new-selfsigned\\w+\\s+-'
  sel_img:
    Image|endswith: '\\powershell.exe'
  condition: sel and sel_img"""

REGEX_OR = """  sel:
    CommandLine|re: '(?i)new-selfsigned\\w+\\s+-'
  sel2:
    Image|re: 'make[cC]ert\\.exe$'
  sel3:
    ParentImage|endswith: '\\cmd.exe'
  condition: sel3 and (sel or sel2)"""

REGEX_OR_NOT = """  sel:
    CommandLine|re: 'a"b'
  sel4:
    ParentImage|endswith: '\\cmd.exe'
  condition: sel4 or not sel"""

REGEX_DOCS = [
    ev(source=WIN, EventCode="1", Image="C:\\powershell.exe", CommandLine="New-SelfSignedCert -D"),
    ev(source=WIN, EventCode="1", Image="C:\\makecert.exe", ParentImage="C:\\cmd.exe"),
    ev(source=WIN, EventCode="1", Image="C:\\MAKECERT.exe", ParentImage="C:\\cmd.exe"),
    ev(
        source=WIN,
        EventCode="1",
        Image="C:\\a.exe",
        ParentImage="C:\\cmd.exe",
        CommandLine='x a"b',
    ),
    ev(source=WIN, EventCode="1", Image="C:\\a.exe", CommandLine='x a"b'),
    ev(source=WIN, EventCode="1", Image="C:\\a.exe", CommandLine="x"),
    ev(
        source=WIN,
        EventCode="1",
        Image="C:\\a.exe",
        ParentImage="C:\\cmd.exe",
        CommandLine="NEW-selfsignedCertificate -Subject x",
    ),
]


@pytest.mark.parametrize("parenthesize", [False, True])
@pytest.mark.parametrize(
    ("detection", "docs", "expected"),
    [
        (CERTUTIL, CERTUTIL_DOCS, [0, 1]),
        (REGEX_AND, REGEX_DOCS, [0]),
        (REGEX_OR, REGEX_DOCS, [1, 6]),
    ],
    ids=["windash-and-not", "regex-command", "rex-eval-chain"],
)
def test_pysigma_output(detection: str, docs: list, expected: list, parenthesize: bool) -> None:
    query = spl(detection, parenthesize)
    assert SplEngine().compile(query).select(docs) == expected


def test_pysigma_output_shapes() -> None:
    assert "\n| regex CommandLine=" in spl(REGEX_AND, False)
    chain = spl(REGEX_OR, True)
    assert re.search(r"\| rex field=Image .*\n\| eval ImageCondition=if\(isnotnull", chain)
    assert spl(CERTUTIL, True).count("(") > spl(CERTUTIL, False).count("(")


def test_pysigma_regex_or_not_default_output_is_invalid() -> None:
    # finalize_query_default moves the leading terms before the rex commands and leaves
    # `| search OR NOT ...`: no valid SPL, so never verified
    query = spl(REGEX_OR_NOT, False)
    assert "\n| search OR NOT" in query
    with pytest.raises(QueryError):
        SplEngine().compile(query)
    # parenthesized output keeps a valid search: cmd.exe parent, or no a"b in the command line
    assert SplEngine().compile(spl(REGEX_OR_NOT, True)).select(REGEX_DOCS) == [0, 1, 2, 3, 5, 6]


def test_pysigma_escaped_wildcard_is_rejected() -> None:
    query = spl("  sel:\n    CommandLine|contains: 'c\\*d'\n  condition: sel", True)
    assert '"*c\\*d*"' in query
    with pytest.raises(QueryError, match="asterisk"):
        SplEngine().compile(query)


def test_pysigma_keywords_are_raw_terms() -> None:
    query = spl(
        "  keywords: ['New-SelfSignedCertificate', '*pvk2pfx*']\n  condition: keywords", False
    )
    docs = [
        ev("<Data>New-SelfSignedCertificate -Dns x</Data>", source=WIN, EventCode="1"),
        ev("<Data>C:\\bin\\PVK2PFX.exe</Data>", source=WIN, EventCode="1"),
        ev("<Data>New-SelfSignedCertificateX</Data>", source=WIN, EventCode="1"),
        ev("<Data>New-SelfSignedCertificate</Data>", source=WIN, EventCode="11"),
    ]
    assert SplEngine().compile(query).select(docs) == [0, 1]


# --- index and search macros (environment overlays) ----------------------------------------
# IDX = Search Manual "Use default fields" (index is a default field); MACRO = Knowledge Manager
# Manual "Use search macros in searches" and "Use macros with event types and tags".


def ev_index(index: str, **fields: str) -> SplunkEvent:
    values = {k: [v] for k, v in fields.items()}
    return SplunkEvent(values, "", source=SYSMON, index=index)


@pytest.mark.parametrize(
    ("query", "event", "expected"),
    [
        pytest.param("index=acme_endpoint", ev_index("acme_endpoint"), True, id="IDX-equal"),
        pytest.param("index=acme_endpoint", ev_index("main"), False, id="IDX-other-index"),
        pytest.param("index=acme*", ev_index("acme_endpoint"), True, id="IDX-wildcard"),
        pytest.param("index=ACME_ENDPOINT", ev_index("acme_endpoint"), True, id="IDX-case"),
        pytest.param("index!=main", ev_index("acme_endpoint"), True, id="IDX-not-equal"),
        pytest.param("index=main", ev(), True, id="IDX-default-main"),
        pytest.param('index IN ("a", "main")', ev(), True, id="IDX-in"),
    ],
)
def test_index_is_a_default_field(query: str, event: SplunkEvent, expected: bool) -> None:
    assert SplEngine(model_index=True).compile(query).select([event]) == ([0] if expected else [])


@pytest.mark.parametrize("query", ["index=* a=1", "a=1 NOT index=main", 'a=1 | regex index="x"'])
def test_index_is_refused_unless_modelled(query: str) -> None:
    # A rule value must not choose the indexes a stock search reads.
    with pytest.raises(QueryError, match="index"):
        SplEngine().compile(query)


MACROS = {
    "acme_data": "(index=acme OR index=acme_archive)",
    "acme_and": "index=acme_archive EventCode=2",
    "acme_nested": "`acme_data` EventCode=1",
    "loop": "`loop`",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the definition replaces the call; what follows is ANDed as in any search
        pytest.param("`acme_data` EventCode=1", [0, 1], id="MACRO-expanded"),
        pytest.param("`acme_nested`", [0, 1], id="MACRO-nested"),
        # text replacement: the definition's implicit AND is not grouped, so the OR before the
        # call takes its first term (OR binds tighter than AND in search), as the event types
        # page warns; a grouped expansion would also select the main-index event 3
        pytest.param("index=main OR `acme_and`", [2], id="MACRO-textual-and"),
        pytest.param('EventCode=1 x="`acme_data`"', [], id="MACRO-not-in-quotes"),
    ],
)
def test_macros_expand_as_text(query: str, expected: list[int]) -> None:
    docs = [
        ev_index("acme", EventCode="1"),
        ev_index("acme_archive", EventCode="1"),
        ev_index("acme_archive", EventCode="2"),
        ev_index("main", EventCode="1"),
    ]
    assert SplEngine(MACROS, model_index=True).compile(query).select(docs) == expected


def test_macro_inside_quotes_is_a_literal_value() -> None:
    event = ev_index("main", x="`acme_data`")
    assert SplEngine(MACROS).compile('x="`acme_data`"').select([event]) == [0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("`undefined` a=1", "not defined", id="undefined"),
        pytest.param("`acme_data(1)` a=1", "arguments", id="arguments"),
        pytest.param("```a comment``` a=1", "comments", id="comment"),
        pytest.param("`acme_data a=1", "unbalanced", id="unbalanced"),
        pytest.param("`loop`", "nested", id="recursive"),
    ],
)
def test_macros_outside_the_subset_raise(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        SplEngine(MACROS).compile(query)


def test_without_definitions_a_macro_is_refused() -> None:
    with pytest.raises(QueryError, match="not defined"):
        SplEngine().compile("`acme_data` a=1")


# --- `where 'F'='G'`: the Splunk backend's form of a Sigma field reference (Search Reference,
# `where`: the eval expression is case-sensitive; only results where it is true are kept)
SELF_SIGNED = "host_cert=true\n| where 'certificate.issuer'='certificate.subject'"


@pytest.mark.parametrize(
    ("subject", "issuer", "expected"),
    [
        pytest.param("CN=bro", "CN=bro", True, id="equal"),
        pytest.param("CN=bro", "CN=ca", False, id="differ"),
        pytest.param("CN=bro", "cn=BRO", False, id="case-sensitive"),
        pytest.param("CN=bro", None, False, id="null-is-dropped"),
    ],
)
def test_where_compares_two_fields(subject: str, issuer: str | None, expected: bool) -> None:
    fields = {"certificate.subject": subject}
    if issuer is not None:
        fields["certificate.issuer"] = issuer
    assert matches(SELF_SIGNED, ev(host_cert="true", **fields)) is expected


def test_where_is_a_filter_after_the_search() -> None:
    event = ev(host_cert="false", **{"certificate.subject": "x", "certificate.issuer": "x"})
    assert not matches(SELF_SIGNED, event)
    assert matches("* | where 'a'='b'", ev(a="v", b="v"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("* | where NOT 'a'='b'", "only `where 'F'='G'`", id="not"),
        pytest.param("* | where a=b", "only `where 'F'='G'`", id="unquoted"),
        pytest.param("* | where 'a'=\"b\"", "only `where 'F'='G'`", id="literal"),
        pytest.param("* | where 'a'='b' AND 'c'='d'", "only `where 'F'='G'`", id="and"),
    ],
)
def test_other_where_forms_raise(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=re.escape(message)):
        SplEngine().compile(query)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param(ev(a=["x", "y"], b="x"), "multivalue", id="multivalue"),
        pytest.param(ev(a="1.0", b="1"), "number", id="number"),
    ],
)
def test_where_refuses_what_eval_would_decide_differently(event: SplunkEvent, message: str) -> None:
    compiled = SplEngine().compile("* | where 'a'='b'")
    with pytest.raises(QueryError, match=message):
        compiled.select([event])


def test_stock_fieldref_under_not_moves_out_of_the_not() -> None:
    # docs/converter-defects.md, "`|fieldref` under a negated group": when this fails, stock
    # places the `where` correctly (or refuses) and the entry can go.
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection
    from sigma.processing.pipeline import ProcessingPipeline

    rule = """
title: t
logsource: {product: zeek, service: x509}
detection:
    selection: {certificate.issuer|fieldref: certificate.subject}
    other: {host_cert: true}
    condition: not (selection and other)
"""
    backend = SplunkBackend(ProcessingPipeline())
    backend.parenthesize = True  # type: ignore[misc]
    query = backend.convert(SigmaCollection.from_yaml(rule))[0]
    assert query == "NOT (host_cert=true)\n| where 'certificate.issuer'='certificate.subject'"
    # what it should mean: a self-signed host certificate is the one event it must not select
    same = ev(host_cert="true", **{"certificate.issuer": "x", "certificate.subject": "x"})
    assert not matches(query, same)
    other = ev(host_cert="false", **{"certificate.issuer": "x", "certificate.subject": "x"})
    assert matches(query, other)  # right here; but:
    differ = ev(host_cert="true", **{"certificate.issuer": "x", "certificate.subject": "y"})
    assert not matches(query, differ)  # not (false and true) is true: the query misses it
