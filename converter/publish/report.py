"""Human-readable build reports: the rule x target matrix."""

from __future__ import annotations

from converter.core.status import Status
from converter.verify.build import BuildResult


def matrix(build: BuildResult) -> str:
    columns = ["sigma", *(target.name for target in build.targets)]
    rows = []
    for result in build.rules:
        outcomes = [result.reference, *(result.targets.get(t.name) for t in build.targets)]
        cells = []
        for outcome in outcomes:
            if outcome is None:
                cells.append("-")
            elif outcome.status == Status.FAILED:
                cells.append("FAILED")
            else:
                cells.append(outcome.status.value)
        rows.append([result.rule.stem, result.rule.level, *cells])
    header = ["rule", "level", *columns]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    lines = [line(header).rstrip(), "  ".join("-" * width for width in widths)]
    lines.extend(line(row).rstrip() for row in rows)
    return "\n".join(lines)
