"""An ATT&CK Navigator layer (layer format 4.5) of the rule set: which techniques the deployable
rules cover, scored by how many rules detect each, with the rules and their verified targets in
each technique's comment and metadata.

A rule counts only when at least one target has a verified query for it: the layer shows what
can be deployed, not what is only written. Parent techniques of covered sub-techniques are
listed with `showSubtechniques` so that Navigator opens them.
"""

from __future__ import annotations

import json

from converter import __version__
from converter.publish.deploy.attack import ATTACK_VERSION, Tactic, Technique
from converter.publish.deploy.metadata import RuleMetadata, deployed_rules
from converter.verify.build import BuildResult

PATH = "attack-navigator-layer.json"
LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
_PLATFORMS = {"windows": "Windows", "linux": "Linux"}


def _key(tactic: Tactic, technique: Technique) -> tuple[str, str]:
    return (technique.id, tactic.shortname)


def layer(build: BuildResult, version: str = __version__) -> dict[str, object]:
    covered: dict[tuple[str, str], list[tuple[RuleMetadata, list[str]]]] = {}
    parents: set[tuple[str, str]] = set()
    platforms: set[str] = set()
    for rule, targets in deployed_rules(build):
        if rule.product in _PLATFORMS:
            platforms.add(_PLATFORMS[rule.product])
        for tactic in rule.attack.tactics:
            for technique in rule.attack.techniques_of(tactic):
                covered.setdefault(_key(tactic, technique), []).append((rule, targets))
                if technique.parent_id:
                    parents.add((technique.parent_id, tactic.shortname))
    techniques: dict[tuple[str, str], dict[str, object]] = {}
    for technique_id, tactic in parents - set(covered):
        techniques[(technique_id, tactic)] = {
            "techniqueID": technique_id,
            "tactic": tactic,
            "enabled": True,
            "showSubtechniques": True,
        }
    for (technique_id, tactic), rules in covered.items():
        techniques[(technique_id, tactic)] = {
            "techniqueID": technique_id,
            "tactic": tactic,
            "score": len(rules),
            "comment": "; ".join(rule.title for rule, _ in rules),
            "enabled": True,
            "metadata": [
                {"name": rule.title, "value": f"{rule.id} ({', '.join(targets)})"}
                for rule, targets in rules
            ],
            "showSubtechniques": (technique_id, tactic) in parents,
        }
    top = max((len(rules) for rules in covered.values()), default=1)
    return {
        "name": f"certdetect {version}",
        "versions": {
            "attack": ATTACK_VERSION,
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": "enterprise-attack",
        "description": (
            "Techniques detected by certdetect's rules that have a verified query for at least "
            "one target (eql, spl, kql); the score is the number of such rules."
        ),
        "filters": {"platforms": sorted(platforms)},
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True},
        "hideDisabled": False,
        "techniques": [techniques[key] for key in sorted(techniques)],
        "gradient": {"colors": ["#ffffff", "#66b1ff"], "minValue": 0, "maxValue": top},
        "legendItems": [],
        "metadata": [],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }


def render(build: BuildResult) -> dict[str, bytes]:
    text = json.dumps(layer(build), indent=2, ensure_ascii=False) + "\n"
    return {PATH: text.encode("utf-8")}
