"""`catalog/attack.html`: the ATT&CK Navigator layer (`dist/attack-navigator-layer.json`) as a
matrix: one column per tactic in kill-chain order, one cell per covered technique with its score
(rules that have a verified query) and links to those rules. The cells are read from the same
`layer()` that writes the Navigator file, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Mapping

from converter.publish.catalog.markup import esc, page
from converter.publish.catalog.model import Catalog
from converter.publish.deploy.attack import TACTICS, technique
from converter.publish.deploy.navigator import PATH as LAYER_PATH


def _cell(entry: Mapping[str, object], pages: Mapping[str, tuple[str, str]]) -> str:
    found = technique(str(entry["techniqueID"]))
    name = f'<a href="{esc(found.reference)}">{esc(found.id)}</a> {esc(found.name)}'
    if "score" not in entry:  # a parent listed only so that its sub-techniques show
        return f'<li class="parent">{name}</li>'
    rules = []
    for item in entry.get("metadata", []):  # type: ignore[union-attr]
        rule_id = str(item["value"]).split(" ", 1)[0]
        href, title = pages[rule_id]
        targets = str(item["value"]).split(" ", 1)[1]
        rules.append(f'<li><a href="{esc(href)}">{esc(title)}</a> {esc(targets)}</li>')
    score = entry["score"]
    noun = "rule" if score == 1 else "rules"
    return (
        f'<li class="covered">{name} <span class="score">{score} {noun}</span>'
        f"<ul>{''.join(rules)}</ul></li>"
    )


def render_attack(catalog: Catalog, layer: Mapping[str, object]) -> str:
    pages = {rule.meta.id: (rule.page, rule.meta.title) for rule in catalog.rules}
    entries: list[Mapping[str, object]] = list(layer["techniques"])  # type: ignore[arg-type]
    columns = []
    for tactic in TACTICS:
        cells = [_cell(entry, pages) for entry in entries if entry["tactic"] == tactic.shortname]
        if cells:
            columns.append(
                f'<section class="tactic" aria-labelledby="tactic-{esc(tactic.id)}">'
                f'<h2 id="tactic-{esc(tactic.id)}"><a href="{esc(tactic.reference)}">'
                f"{esc(tactic.name)}</a></h2><ul>{''.join(cells)}</ul></section>\n"
            )
    body = (
        "<h1>ATT&amp;CK coverage</h1>\n"
        "<p>Techniques detected by rules that have a verified query for at least one target; "
        "the score counts those rules and each rule lists its verified targets. The same "
        f'layer opens in ATT&amp;CK Navigator: <a href="../{esc(LAYER_PATH)}">'
        f"<code>dist/{esc(LAYER_PATH)}</code></a>.</p>\n"
        f'<div class="matrix">\n{"".join(columns)}</div>\n'
    )
    return page("ATT&CK coverage", body, root="", current="attack")
