"""What `certdetect scan` prints: the matches a person reads (by level, with rule name, time,
host and key fields), the per-file tally, the per-evaluator summary, and the jsonl rows.

Columns are as wide as their content; a table's rows are held until the end (at most
`SHOWN_MATCHES`, the rest counted) so that they can be sorted by level and aligned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from converter.scan.inputs import FileTally
from converter.scan.scanner import EventResult, RuleInfo, ScanSummary

LEVELS = ("informational", "low", "medium", "high", "critical")
RANK = {level: position for position, level in enumerate(LEVELS)}
SHOWN_MATCHES = 1000  # match rows a table lists; jsonl has them all


def rank(level: str) -> int:
    return RANK.get(level, -1)


def table(rows: Sequence[Sequence[str]], right: Iterable[int] = ()) -> list[str]:
    """Rows aligned in columns as wide as their widest cell; the last column is not padded."""
    if not rows:
        return []
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    aligned = set(right)
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if column in aligned else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


@dataclass
class MatchList:
    """The match rows of a table: one per event and rule, with the evaluators that matched."""

    rules: Mapping[str, RuleInfo]
    min_level: str = "informational"
    rows: list[tuple[int, int, list[str]]] = field(default_factory=list)  # (rank, index, cells)
    more: int = 0  # rows beyond SHOWN_MATCHES

    def add(self, result: EventResult) -> None:
        by_rule: dict[str, list[str]] = {}
        for evaluator, ids in result.matches.items():
            for rule_id in ids:
                by_rule.setdefault(rule_id, []).append(evaluator)
        facts = result.facts
        for rule_id, evaluators in by_rule.items():
            info = self.rules.get(rule_id)
            level = info.level if info is not None else "?"
            if rank(level) < rank(self.min_level):
                continue
            if len(self.rows) >= SHOWN_MATCHES:
                self.more += 1
                continue
            name = info.name if info is not None else rule_id
            cells = [level, name, facts.time, facts.host, ",".join(evaluators), result.source]
            self.rows.append((rank(level), result.index, [*cells, facts.text()]))

    def lines(self) -> list[str]:
        if not self.rows:
            return []
        ordered = [cells for _, _, cells in sorted(self.rows, key=lambda r: (-r[0], r[1]))]
        header = ["level", "rule", "time", "host", "by", "source", "event"]
        lines = table([header, *ordered])
        if self.more:
            lines.append(f"... and {self.more} more match(es); --format jsonl lists them all")
        return lines


def jsonl_row(result: EventResult, rules: Mapping[str, RuleInfo], min_level: str) -> dict[str, Any]:
    """One event: its matches per evaluator, and name, title and level of each rule matched."""
    matches = {
        evaluator: [r for r in ids if rank(_level(rules, r)) >= rank(min_level)]
        for evaluator, ids in result.matches.items()
    }
    matched = dict.fromkeys(r for ids in matches.values() for r in ids)
    facts = result.facts
    row: dict[str, Any] = {
        "index": result.index,
        "source": result.source,
        "time": facts.time,
        "host": facts.host,
        "matches": matches,
    }
    if matched:
        row["rules"] = {
            rule_id: {"name": info.name, "title": info.title, "level": info.level}
            for rule_id in matched
            if (info := rules.get(rule_id)) is not None
        }
        row["fields"] = dict(facts.fields)
    return row


def _level(rules: Mapping[str, RuleInfo], rule_id: str) -> str:
    info = rules.get(rule_id)
    return info.level if info is not None else "?"


def file_lines(tallies: Sequence[FileTally]) -> list[str]:
    rows = [["file", "read", "skipped", "unreadable"]]
    rows += [
        [tally.name, f"{tally.read:,}", f"{tally.skipped:,}", tally.unreadable or ""]
        for tally in tallies
    ]
    return table(rows, right=(1, 2))


def _rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f}" if seconds > 0 else "-"


def summary_lines(
    names: Sequence[str], rules: Mapping[str, RuleInfo], summary: ScanSummary, min_level: str
) -> list[str]:
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.kinds.items()))
    lines = [
        f"events read: {summary.events}, skipped: {summary.bad}" + (f" ({kinds})" if kinds else ""),
        f"{summary.seconds:.1f} s, {_rate(summary.events, summary.seconds)} events/s",
        "",
    ]
    rows = [["target", "events", "eval events/s", "matches"]]
    for name in names:
        stats = summary.evaluators.get(name)
        if stats is None:
            continue
        total = sum(stats.matches.values())
        rows.append(
            [
                name,
                str(stats.events),
                _rate(stats.events, stats.seconds),
                f"{total} match(es) over {len(stats.matches)} rule(s)",
            ]
        )
    lines += table(rows, right=(1, 2))
    counts = {
        name: summary.evaluators[name].matches for name in names if name in summary.evaluators
    }
    matched = {
        r for found in counts.values() for r in found if rank(_level(rules, r)) >= rank(min_level)
    }
    if matched:

        def key(rule_id: str) -> tuple[int, str]:
            info = rules.get(rule_id)
            return (-rank(_level(rules, rule_id)), info.name if info is not None else rule_id)

        rows = [["level", "rule", *names]]
        for rule_id in sorted(matched, key=key):
            info = rules.get(rule_id)
            cells = [str(counts.get(name, {}).get(rule_id, 0)) for name in names]
            rows.append([_level(rules, rule_id), info.name if info else rule_id, *cells])
        lines += ["", *table(rows, right=range(2, 2 + len(names)))]
    return lines


def fails(summary: ScanSummary, rules: Mapping[str, RuleInfo], fail_on: str | None) -> bool:
    """Whether a rule at or above `fail_on` matched, by any evaluator."""
    if fail_on is None:
        return False
    return any(
        rank(_level(rules, rule_id)) >= rank(fail_on)
        for stats in summary.evaluators.values()
        for rule_id in stats.matches
    )
