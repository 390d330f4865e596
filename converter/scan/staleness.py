"""Whether `dist/` was built from the rules as they are: `dist/manifest.json` holds the sha256 of
each rule file's text at build time. A scan that evaluated an edited rule with the reference and
its old queries with the targets would report a disagreement that is not there, so it refuses."""

from __future__ import annotations

from collections.abc import Sequence

from converter.core.errors import InputError
from converter.core.rules import RuleFile
from converter.publish.manifest import Manifest

SHOWN = 10  # rules named in the message; the rest are counted


def stale_rules(rules: Sequence[RuleFile], manifest: Manifest) -> list[str]:
    """The rules (file stems) whose text, or presence, differs from the manifest's."""
    built = {entry.id: entry.sha256 for entry in manifest.rules}
    stale = [rule.stem for rule in rules if built.pop(rule.id, None) != rule.sha256]
    stale.extend(f"{rule_id} (removed)" for rule_id in built)
    return stale


def refuse_stale(rules: Sequence[RuleFile], manifest: Manifest) -> None:
    stale = stale_rules(rules, manifest)
    if not stale:
        return
    more = f" and {len(stale) - SHOWN} more" if len(stale) > SHOWN else ""
    named = ", ".join(stale[:SHOWN]) + more
    raise InputError(
        "dist/manifest.json",
        f"dist/ is stale for {len(stale)} rule(s): {named}; run `certdetect build`, "
        "or scan anyway with --allow-stale",
    )
