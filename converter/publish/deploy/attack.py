"""The ATT&CK tactics and techniques the rules' tags may name, kept offline in the project.

pySigma's `siem_rule` output formats download the ATT&CK data set when they run; a build must
work without a network and give the same bytes every time, so the few entries the rules use
live here (names as in ATT&CK Enterprise v17). A rule tagged with a technique that is missing
fails the build with a message saying to add it: an ATT&CK id is never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ATTACK_VERSION = "17"
FRAMEWORK = "MITRE ATT&CK"


@dataclass(frozen=True)
class Tactic:
    id: str  # TA0042
    shortname: str  # resource-development, as in Sigma tags and Navigator layers
    name: str  # Resource Development

    @property
    def reference(self) -> str:
        return f"https://attack.mitre.org/tactics/{self.id}/"


@dataclass(frozen=True)
class Technique:
    id: str  # T1587 or T1587.003
    name: str
    tactics: tuple[str, ...]  # tactic shortnames; a sub-technique has its parent's

    @property
    def parent_id(self) -> str | None:
        return self.id.split(".")[0] if "." in self.id else None

    @property
    def reference(self) -> str:
        return f"https://attack.mitre.org/techniques/{self.id.replace('.', '/')}/"


# Enterprise tactics in kill-chain order: the order every output lists them in.
TACTICS: tuple[Tactic, ...] = (
    Tactic("TA0043", "reconnaissance", "Reconnaissance"),
    Tactic("TA0042", "resource-development", "Resource Development"),
    Tactic("TA0001", "initial-access", "Initial Access"),
    Tactic("TA0002", "execution", "Execution"),
    Tactic("TA0003", "persistence", "Persistence"),
    Tactic("TA0004", "privilege-escalation", "Privilege Escalation"),
    Tactic("TA0005", "defense-evasion", "Defense Evasion"),
    Tactic("TA0006", "credential-access", "Credential Access"),
    Tactic("TA0007", "discovery", "Discovery"),
    Tactic("TA0008", "lateral-movement", "Lateral Movement"),
    Tactic("TA0009", "collection", "Collection"),
    Tactic("TA0011", "command-and-control", "Command and Control"),
    Tactic("TA0010", "exfiltration", "Exfiltration"),
    Tactic("TA0040", "impact", "Impact"),
)

# Techniques around certificate abuse that rules here tag or are likely to tag next.
TECHNIQUES: tuple[Technique, ...] = (
    Technique("T1059", "Command and Scripting Interpreter", ("execution",)),
    Technique("T1059.001", "PowerShell", ("execution",)),
    Technique("T1105", "Ingress Tool Transfer", ("command-and-control",)),
    Technique("T1140", "Deobfuscate/Decode Files or Information", ("defense-evasion",)),
    Technique("T1553", "Subvert Trust Controls", ("defense-evasion",)),
    Technique("T1553.002", "Code Signing", ("defense-evasion",)),
    Technique("T1553.004", "Install Root Certificate", ("defense-evasion",)),
    Technique("T1573", "Encrypted Channel", ("command-and-control",)),
    Technique("T1573.002", "Asymmetric Cryptography", ("command-and-control",)),
    Technique("T1587", "Develop Capabilities", ("resource-development",)),
    Technique("T1587.003", "Digital Certificates", ("resource-development",)),
    Technique("T1588", "Obtain Capabilities", ("resource-development",)),
    Technique("T1588.004", "Digital Certificates", ("resource-development",)),
    Technique("T1649", "Steal or Forge Authentication Certificates", ("credential-access",)),
)

_TACTICS_BY_SHORTNAME = {tactic.shortname: tactic for tactic in TACTICS}
_TACTIC_ORDER = {tactic.shortname: index for index, tactic in enumerate(TACTICS)}
_TECHNIQUES_BY_ID = {technique.id: technique for technique in TECHNIQUES}

_TECHNIQUE_TAG = re.compile(r"t\d{4}(\.\d{3})?")
# Groups (G0016) and software (S0002) tags describe actors and tools, not what a rule detects.
_IGNORED_TAG = re.compile(r"[gs]\d{4}")


class UnknownAttackTag(ValueError):
    """A rule's `attack.*` tag that the offline table cannot resolve."""

    def __init__(self, tag: str, message: str) -> None:
        super().__init__(message)
        self.tag = tag


def tactic(shortname: str) -> Tactic:
    return _TACTICS_BY_SHORTNAME[shortname]


def technique(technique_id: str) -> Technique:
    return _TECHNIQUES_BY_ID[technique_id]


@dataclass(frozen=True)
class AttackMapping:
    """What one rule's tags say: its tactics (kill-chain order) and techniques (tag order)."""

    tactics: tuple[Tactic, ...]
    techniques: tuple[Technique, ...]

    def techniques_of(self, tactic_: Tactic) -> tuple[Technique, ...]:
        return tuple(t for t in self.techniques if tactic_.shortname in t.tactics)


def resolve(tags: list[tuple[str, str]]) -> AttackMapping:
    """Resolve (namespace, name) Sigma tags. A technique brings its tactics along, because
    every consumer (Kibana's threat, Sentinel's validation) files a technique under a tactic."""
    shortnames: set[str] = set()
    techniques: list[Technique] = []
    for namespace, name in tags:
        if namespace != "attack":
            continue
        name = name.lower()
        if name in _TACTICS_BY_SHORTNAME:
            shortnames.add(name)
        elif _TECHNIQUE_TAG.fullmatch(name):
            found = _TECHNIQUES_BY_ID.get(name.upper())
            if found is None:
                raise UnknownAttackTag(
                    f"attack.{name}",
                    f"ATT&CK technique {name.upper()} is not in the offline table; add its name "
                    "and tactics to converter/publish/deploy/attack.py",
                )
            if found not in techniques:
                techniques.append(found)
                shortnames.update(found.tactics)
        elif not _IGNORED_TAG.fullmatch(name):
            raise UnknownAttackTag(
                f"attack.{name}",
                f"attack.{name} is neither an ATT&CK tactic nor a technique id",
            )
    ordered = tuple(
        sorted((tactic(s) for s in shortnames), key=lambda t: _TACTIC_ORDER[t.shortname])
    )
    return AttackMapping(tactics=ordered, techniques=tuple(techniques))
