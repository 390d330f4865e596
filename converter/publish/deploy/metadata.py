"""What every deployable format takes from a rule: its text fields, level and ATT&CK mapping,
and which verified query each target deploys.

Only a query whose target status is `verified` (executed on every case, matched exactly the
declared ones) is deployed; a `converted` or `unsupported` target leaves the rule out of that
target's format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from converter.core.errors import InputError
from converter.core.rules import RuleFile
from converter.core.status import Status
from converter.publish.deploy.attack import AttackMapping, UnknownAttackTag, resolve
from converter.verify.build import BuildResult

# Sigma levels -> each consumer's scale. Kibana's risk scores are the ones Elastic's prebuilt
# rules use for each severity; Kibana and Sentinel have no "informational" / "critical" pair,
# so the ends fold into the nearest level they have.
KIBANA_SEVERITY = {
    "informational": ("low", 21),
    "low": ("low", 21),
    "medium": ("medium", 47),
    "high": ("high", 73),
    "critical": ("critical", 99),
}
SENTINEL_SEVERITY = {
    "informational": "Informational",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "High",
}
# savedsearches.conf alert.severity: 1 debug, 2 info, 3 low, 4 medium, 5 high, 6 critical.
SPLUNK_SEVERITY = {"informational": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}


def one_line(text: str) -> str:
    """Sigma descriptions are wrapped YAML block text; every consumer shows one paragraph."""
    return " ".join(text.split())


@dataclass(frozen=True)
class RuleMetadata:
    id: str
    title: str
    stem: str
    source: str  # rule file, relative to the project root
    description: str
    level: str
    falsepositives: tuple[str, ...]
    references: tuple[str, ...]
    product: str
    category: str
    attack: AttackMapping
    service: str = ""

    @classmethod
    def of(cls, rule_file: RuleFile) -> RuleMetadata:
        rule = rule_file.rule
        tags = [(tag.namespace, tag.name) for tag in rule.tags]
        try:
            attack = resolve(tags)
        except UnknownAttackTag as error:
            line = _line_of(rule_file.text, error.tag)
            raise InputError(rule_file.path, str(error), line) from None
        if rule_file.level not in KIBANA_SEVERITY:
            raise InputError(rule_file.path, "rule has no level; deployable formats need one")
        return cls(
            id=rule_file.id,
            title=rule_file.title,
            stem=rule_file.stem,
            source=rule_file.path,
            description=one_line(rule.description or rule_file.title),
            level=rule_file.level,
            falsepositives=tuple(one_line(str(item)) for item in rule.falsepositives or []),
            references=tuple(str(item) for item in rule.references or []),
            product=rule.logsource.product or "",
            category=rule.logsource.category or "",
            attack=attack,
            service=rule.logsource.service or "",
        )


@dataclass(frozen=True)
class Deployable:
    """One rule and the verified query one target deploys for it."""

    rule: RuleMetadata
    query: str


def _line_of(text: str, tag: str) -> int | None:
    pattern = re.compile(re.escape(tag), re.IGNORECASE)
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return None


def verified(build: BuildResult, target: str) -> list[Deployable]:
    """The rules whose `target` query is verified, in the build's (rule path) order."""
    chosen = []
    for result in build.rules:
        outcome = result.targets.get(target)
        if outcome is None or outcome.status != Status.VERIFIED or outcome.query is None:
            continue
        chosen.append(Deployable(RuleMetadata.of(result.rule), outcome.query.rstrip("\n")))
    return chosen


def deployed_rules(build: BuildResult) -> list[tuple[RuleMetadata, list[str]]]:
    """Every rule with at least one verified target, and those targets' names."""
    rules = []
    for result in build.rules:
        targets = [
            name
            for name, outcome in result.targets.items()
            if outcome.status == Status.VERIFIED and outcome.query is not None
        ]
        if targets:
            rules.append((RuleMetadata.of(result.rule), targets))
    return rules


def release_number(version: str) -> int:
    """`0.1.0` -> 100: an integer that grows with every release, for Kibana's `version`."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in match.groups())
    if minor > 99 or patch > 99:
        raise ValueError(f"version {version!r}: minor and patch must stay below 100")
    return max(1, major * 10000 + minor * 100 + patch)  # Kibana versions start at 1
