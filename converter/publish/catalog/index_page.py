"""`catalog/index.html`: every rule with its level, ATT&CK techniques, log source and a status
badge per target, and a filter form that `catalog.js` shows and runs (without script the page is
the full table, which is the whole content)."""

from __future__ import annotations

from converter.core.status import Status
from converter.publish.catalog.markup import badge, esc, page
from converter.publish.catalog.model import Catalog, RuleView, TargetView

LEVELS = ("informational", "low", "medium", "high", "critical")


def _options(values: list[tuple[str, str]], everything: str) -> str:
    items = [f'<option value="">{esc(everything)}</option>']
    items += [f'<option value="{esc(value)}">{esc(label)}</option>' for value, label in values]
    return "".join(items)


def _filters(catalog: Catalog) -> str:
    levels = [level for level in LEVELS if any(r.meta.level == level for r in catalog.rules)]
    techniques = sorted(
        {(t.id, t.name) for rule in catalog.rules for t in rule.meta.attack.techniques}
    )
    fields = [
        ("filter-text", "Text", '<input type="search" id="filter-text" name="text">'),
        ("filter-level", "Level", _select("level", [(v, v) for v in levels], "any level")),
        (
            "filter-technique",
            "ATT&CK technique",
            _select("technique", [(i, f"{i} {n}") for i, n in techniques], "any technique"),
        ),
        (
            "filter-target",
            "Target",
            _select("target", [(t.name, t.title) for t in catalog.targets], "any target"),
        ),
        (
            "filter-status",
            "Status",
            _select("status", [(s.value, s.value) for s in Status], "any status"),
        ),
    ]
    controls = "".join(
        f'<div class="field"><label for="{ident}">{esc(label)}</label>{control}</div>'
        for ident, label, control in fields
    )
    return (
        '<form id="filters" class="filters" role="search" aria-label="Filter rules" hidden>'
        f"{controls}</form>\n"
    )


def _select(name: str, values: list[tuple[str, str]], everything: str) -> str:
    return f'<select id="filter-{name}" name="{name}">{_options(values, everything)}</select>'


def _status_cell(target: TargetView) -> str:
    entry = target.entry
    note = None
    if entry.status == Status.VERIFIED:
        note = f"matched {len(entry.cases.matched)} of {entry.cases.checked} cases"
    return f"<td>{badge(entry.status, entry.reason, note)}</td>"


def _row(rule: RuleView) -> str:
    meta = rule.meta
    techniques = [f"{t.id} {t.name}" for t in meta.attack.techniques]
    words = (meta.title, meta.id, meta.stem, meta.description, rule.logsource, *techniques)
    data = {
        "text": " ".join(words).lower(),
        "level": meta.level,
        "techniques": " ".join(t.id for t in meta.attack.techniques),
    }
    data.update({f"status-{t.name}": t.entry.status.value for t in rule.targets})
    attributes = "".join(f' data-{key}="{esc(value)}"' for key, value in data.items())
    attack = "<br>".join(
        f'<abbr title="{esc(t.name)}">{esc(t.id)}</abbr>' for t in meta.attack.techniques
    )
    cells = "".join(_status_cell(target) for target in rule.targets)
    return (
        f"<tr{attributes}>"
        f'<th scope="row"><a href="{esc(rule.page)}">{esc(meta.title)}</a></th>'
        f'<td><span class="level level-{esc(meta.level)}">{esc(meta.level)}</span></td>'
        f"<td>{attack}</td><td>{esc(rule.logsource)}</td>{cells}</tr>\n"
    )


def render_index(catalog: Catalog) -> str:
    heads = "".join(f'<th scope="col">{esc(t.title)}</th>' for t in catalog.targets)
    rows = "".join(_row(rule) for rule in catalog.rules)
    built = f" for the environment {esc(catalog.environment)}" if catalog.environment else ""
    total = len(catalog.rules)
    body = (
        "<h1>certdetect rule catalog</h1>\n"
        f"<p>{total} Sigma rules, converted by certdetect {esc(catalog.version)}{built}. "
        "A target is <strong>verified</strong> when its engine executed the query on every "
        "recorded case and it matched exactly the cases that expect the rule; "
        "<strong>unsupported</strong> says why no query ships. Open a rule to copy its "
        "queries.</p>\n"
        f"{_filters(catalog)}"
        f'<p id="shown" aria-live="polite">{total} of {total} rules shown</p>\n'
        '<div class="scroll"><table id="rules">\n'
        "<caption>Rules and their status per target</caption>\n"
        '<thead><tr><th scope="col">Rule</th><th scope="col">Level</th>'
        '<th scope="col">ATT&amp;CK</th><th scope="col">Log source</th>'
        f"{heads}</tr></thead>\n<tbody>\n{rows}</tbody></table></div>\n"
    )
    return page("Rules", body, root="", current="index")
