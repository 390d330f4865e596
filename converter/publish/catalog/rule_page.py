"""`catalog/rules/<rule>.html`: one rule's text fields, per target the query (exactly the bytes
of `dist/<target>/<rule>.*`, with a copy button), the file it deploys in and the cases it was
executed on, then the cases with their origin, and the Sigma rule itself."""

from __future__ import annotations

from converter.core.status import Status
from converter.publish.catalog.markup import badge, code_block, esc, page
from converter.publish.catalog.model import RuleView, TargetView

ROOT = "../"  # from catalog/rules/ to catalog/
DIST = "../../"  # from catalog/rules/ to dist/


def _list(items: tuple[str, ...], links: bool = False, empty: str = "None listed.") -> str:
    if not items:
        return f"<p>{esc(empty)}</p>\n"
    if links:
        lines = [f'<li><a href="{esc(item)}">{esc(item)}</a></li>' for item in items]
    else:
        lines = [f"<li>{esc(item)}</li>" for item in items]
    return f"<ul>{''.join(lines)}</ul>\n"


def _facts(rule: RuleView) -> str:
    meta = rule.meta
    attack = ", ".join(
        f'<a href="{esc(t.reference)}">{esc(t.id)} {esc(t.name)}</a>'
        for t in meta.attack.techniques
    )
    tactics = ", ".join(esc(t.name) for t in meta.attack.tactics)
    rows = [
        ("Rule id", f"<code>{esc(meta.id)}</code>"),
        ("Level", f'<span class="level level-{esc(meta.level)}">{esc(meta.level)}</span>'),
        ("Log source", esc(rule.logsource)),
        ("ATT&amp;CK", f"{attack or 'none'} ({tactics or 'no tactic'})"),
        ("Rule file", f"<code>{esc(meta.source)}</code>"),
    ]
    items = "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows)
    return f'<dl class="facts">{items}</dl>\n'


def _cases_line(target: TargetView) -> str:
    cases = target.entry.cases
    if cases.checked == 0:
        return "<p>Not executed.</p>\n"
    matched = ", ".join(f"<code>{esc(case)}</code>" for case in cases.matched) or "none"
    return f"<p>Executed on {cases.checked} cases; matched {len(cases.matched)}: {matched}.</p>\n"


def _target(rule: RuleView, target: TargetView) -> str:
    entry = target.entry
    ident = f"query-{target.name}"
    parts = [
        f'<section class="target" aria-labelledby="{ident}-title">\n'
        f'<h3 id="{ident}-title">{esc(target.title)} '
        f"{badge(entry.status, None)}</h3>\n"
    ]
    if entry.reason:
        label = "Why it is not verified" if entry.status != Status.UNSUPPORTED else "Why"
        parts.append(f'<p class="reason"><strong>{label}:</strong> {esc(entry.reason)}</p>\n')
    if target.query is not None and entry.path is not None:
        parts.append(
            f'<p>Query: <a href="{DIST}{esc(entry.path)}"><code>dist/{esc(entry.path)}</code></a>'
            "</p>\n"
        )
        parts.append(code_block(target.query, ident, f"{target.name.upper()} query"))
    for deployment in target.deployments:
        parts.append(
            f'<p>Ships in <a href="{DIST}{esc(deployment.path)}"><code>dist/'
            f"{esc(deployment.path)}</code></a>: {esc(deployment.form)}.</p>\n"
        )
    parts.append(_cases_line(target))
    parts.append("</section>\n")
    return "".join(parts)


def _mark(target: TargetView, case_id: str) -> str:
    if target.entry.cases.checked == 0:
        return '<td class="na">not executed</td>'
    if case_id in target.entry.cases.matched:
        return '<td class="hit">matched</td>'
    return '<td class="miss">no match</td>'


def _cases(rule: RuleView) -> str:
    heads = "".join(f'<th scope="col">{esc(t.title)}</th>' for t in rule.targets)
    rows = "".join(
        f'<tr><th scope="row"><code>{esc(case.id)}</code><br>{esc(case.title)}</th>'
        f"<td>{esc(case.origin)}</td><td>{'yes' if case.expected else 'no (look-alike)'}</td>"
        + "".join(_mark(target, case.id) for target in rule.targets)
        + "</tr>\n"
        for case in rule.cases
    )
    others = ""
    if any(target.entry.cases.checked for target in rule.targets):
        others = (
            f"<p>Every executed query also ran on the {rule.other_cases} other cases of "
            "<code>cases/</code>, written for other rules; none of them matched.</p>\n"
        )
    return (
        '<div class="scroll"><table class="cases">\n'
        "<caption>Cases written for this rule or matched by one of its queries</caption>\n"
        '<thead><tr><th scope="col">Case</th><th scope="col">Origin</th>'
        f'<th scope="col">Must match</th>{heads}</tr></thead>\n'
        f"<tbody>\n{rows}</tbody></table></div>\n{others}"
    )


def render_rule(rule: RuleView) -> str:
    meta = rule.meta
    body = (
        f"<h1>{esc(meta.title)}</h1>\n"
        f"{_facts(rule)}"
        f'<p class="description">{esc(meta.description)}</p>\n'
        "<h2>False positives</h2>\n"
        f"{_list(meta.falsepositives)}"
        "<h2>References</h2>\n"
        f"{_list(meta.references, links=True)}"
        "<h2>Queries</h2>\n"
        + "".join(_target(rule, target) for target in rule.targets)
        + "<h2>Cases</h2>\n"
        + _cases(rule)
        + "<h2>Sigma rule</h2>\n"
        + code_block(rule.text, "sigma-rule", "Sigma rule")
    )
    return page(meta.title, body, root=ROOT, current="rule")
