from __future__ import annotations

from converter.scan.describe import EventFacts
from converter.scan.report import MatchList, table
from converter.scan.scanner import EventResult, RuleInfo

LONG = "a_rule_name_longer_than_the_fifty_two_characters_the_old_table_allowed_for"
RULES = {
    "1": RuleInfo("1", LONG, "Long", "low"),
    "2": RuleInfo("2", "short", "Short", "critical"),
}


def test_columns_are_as_wide_as_their_widest_cell() -> None:
    lines = table([["level", "rule", "n"], ["low", LONG, "1"], ["critical", "short", "12"]], [2])
    assert lines == [
        "level     rule" + " " * (len(LONG) - 4) + "   n",
        "low       " + LONG + "   1",
        "critical  short" + " " * (len(LONG) - 5) + "  12",
    ]


def test_matches_are_listed_most_severe_first_with_time_host_and_fields() -> None:
    matches = MatchList(RULES)
    facts = EventFacts("2026-11-20T10:15:02Z", "WKS-1", (("image", "x.exe"),))
    matches.add(EventResult(0, "a.jsonl:1", {"sigma": ["1"], "eql": ["1"]}, facts))
    matches.add(EventResult(1, "a.jsonl:2", {"sigma": ["2"], "eql": []}, facts))
    lines = matches.lines()
    assert [line.split()[:5] for line in lines] == [
        ["level", "rule", "time", "host", "by"],
        ["critical", "short", "2026-11-20T10:15:02Z", "WKS-1", "sigma"],
        ["low", LONG, "2026-11-20T10:15:02Z", "WKS-1", "sigma,eql"],
    ]
    assert lines[1].endswith("a.jsonl:2  image=x.exe")
    # aligned: every column starts at the same place on every line
    assert len({line.index("2026") for line in lines[1:]}) == 1


def test_min_level_drops_lower_matches_from_the_list() -> None:
    matches = MatchList(RULES, min_level="high")
    facts = EventFacts("", "", ())
    matches.add(EventResult(0, "a:1", {"sigma": ["1", "2"]}, facts))
    assert [line.split()[1] for line in matches.lines()[1:]] == ["short"]
