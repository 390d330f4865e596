"""HTML building blocks of the catalog: escaping, the page frame, status badges and code blocks.

Every text that comes from a rule, a case or a query goes through `esc` (rules are contributed
files: a title may hold `<` or quotes). Markup is assembled as strings rather than a template
engine: the pages are few and a dependency would be one more thing to pin for byte-equal output.
"""

from __future__ import annotations

import html

from converter.core.status import Status


def esc(text: object) -> str:
    """Text escaped for element content and for double-quoted attribute values."""
    return html.escape(str(text), quote=True)


def page(title: str, body: str, root: str, current: str) -> str:
    """A whole document. `root` leads from the page to the catalog folder ("" or "../");
    `current` is the navigation entry the page is (index, attack or rule)."""
    nav = [("index.html", "Rules", "index"), ("attack.html", "ATT&CK coverage", "attack")]
    links = "".join(
        f'<li><a href="{root}{href}"'
        + (' aria-current="page"' if key == current else "")
        + f">{esc(label)}</a></li>"
        for href, label, key in nav
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} - certdetect catalog</title>\n"
        f'<link rel="stylesheet" href="{root}catalog.css">\n'
        f'<script src="{root}catalog.js" defer></script>\n'
        "</head>\n<body>\n"
        '<a class="skip" href="#main">Skip to content</a>\n'
        f'<header><nav aria-label="Catalog"><ul>{links}</ul></nav></header>\n'
        f'<main id="main">\n{body}</main>\n'
        "</body>\n</html>\n"
    )


def badge(status: Status, reason: str | None, note: str | None = None) -> str:
    """A status word; a reason (why not verified) opens on click, and shows without script."""
    word = esc(status.value)
    css = f"badge status-{word}"
    if reason:
        return (
            f'<details class="{css}"><summary>{word}</summary>'
            f'<span class="reason">{esc(reason)}</span></details>'
        )
    title = f' title="{esc(note)}"' if note else ""
    return f'<span class="{css}"{title}>{word}</span>'


def code_block(text: str, ident: str, label: str) -> str:
    """Preformatted text with a copy button (hidden until the script shows it): the button
    copies the element's text, which is `text` exactly."""
    return (
        f'<div class="code"><button type="button" class="copy" data-copy="{esc(ident)}" hidden>'
        f"Copy {esc(label)}</button>"
        f'<pre><code id="{esc(ident)}">{esc(text)}</code></pre></div>\n'
    )
