"""The rule catalog: static HTML pages in `dist/catalog/` that a SOC engineer browses and copies
queries from, generated from the build and its manifest like the deployable formats.

| path in dist/                  | what it shows                                               |
| ------------------------------ | ----------------------------------------------------------- |
| `catalog/index.html`           | every rule: level, ATT&CK, log source, a status per target  |
| `catalog/rules/<rule>.html`    | one rule: text fields, queries, deployable files, cases      |
| `catalog/attack.html`          | the Navigator layer as a matrix of covered techniques       |
| `catalog/catalog.css`, `.js`   | the style, and the filters and copy buttons                 |

The pages load nothing from outside the catalog (no CDN, font or remote script), read in full
without script (the filters and copy buttons are added by `catalog.js`), and are deterministic:
the same build writes the same bytes, so `certdetect build --check` compares them with the
rest of dist/.
"""

from __future__ import annotations

from importlib.resources import files

from converter.publish.catalog.attack_page import render_attack
from converter.publish.catalog.index_page import render_index
from converter.publish.catalog.model import catalog_of
from converter.publish.catalog.rule_page import render_rule
from converter.publish.deploy.navigator import layer
from converter.publish.manifest import Manifest
from converter.verify.build import BuildResult

FOLDER = "catalog"
ASSETS = ("catalog.css", "catalog.js")


def render(build: BuildResult, manifest: Manifest | None = None) -> dict[str, bytes]:
    """Every file of the catalog, keyed by its path inside dist/."""
    catalog = catalog_of(build, manifest)
    pages = {
        "index.html": render_index(catalog),
        "attack.html": render_attack(catalog, layer(build, catalog.version)),
    }
    pages.update({rule.page: render_rule(rule) for rule in catalog.rules})
    output = {f"{FOLDER}/{name}": text.encode("utf-8") for name, text in pages.items()}
    static = files(__package__) / "static"
    output.update({f"{FOLDER}/{name}": (static / name).read_bytes() for name in ASSETS})
    return dict(sorted(output.items()))
