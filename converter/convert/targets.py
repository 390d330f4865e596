"""The three query targets: which pySigma backend and pipelines make each one's artifacts.

Pipelines are given as sigma-cli takes them: names of stock pipelines, then this project's YAML
layers from `pipelines/`, so `sigma convert -t <backend> -p ... sigma/` reproduces an artifact
(an artifact joining an alternative is the two conversions, each reproduced so, ORed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Alternative:
    """A second way the target's data stores one Sigma log source, with its own pipelines.

    A rule of that log source is converted once more through `pipelines` and the two queries are
    joined with OR, so one search reads both stores (e.g. Sysmon 1 and Security 4688 events).
    """

    product: str
    category: str
    title: str  # names the stored events in reasons and docs
    pipelines: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    name: str  # the folder under dist/ and the manifest key
    title: str
    backend: str  # sigma-cli's target name
    pipelines: tuple[str, ...]  # stock pipeline names, or files relative to the project root
    extension: str
    # SPL: OR binds tighter than AND only in the `search` command; parentheses make the query
    # mean the same wherever it is pasted (pysigma-findings.md, finding 6).
    parenthesize: bool = False
    alternatives: tuple[Alternative, ...] = ()


TARGETS: tuple[Target, ...] = (
    Target(
        name="eql",
        title="Elastic EQL",
        backend="eql",
        pipelines=(
            "ecs_windows",
            "pipelines/ecs_elastic_agent.yml",
            "pipelines/ecs_linux_auditd.yml",
            "pipelines/ecs_zeek.yml",
        ),
        extension=".eql",
    ),
    Target(
        name="spl",
        title="Splunk SPL",
        backend="splunk",
        pipelines=(
            "sysmon",
            "splunk_windows",
            "pipelines/splunk_sysmon_xml.yml",
            "pipelines/splunk_linux_audit.yml",
            "pipelines/splunk_zeek.yml",
        ),
        extension=".spl",
        parenthesize=True,
        # The Sigma taxonomy reads process_creation on Sysmon 1 and on Security 4688 (the
        # reference's SECURITY_4688); the Splunk Add-on for Windows indexes 4688 under its
        # EventData names, which `windows-audit` and the project layer map to.
        alternatives=(
            Alternative(
                product="windows",
                category="process_creation",
                title="Security 4688",
                pipelines=(
                    "windows-audit",
                    "splunk_windows",
                    "pipelines/splunk_sysmon_xml.yml",
                    "pipelines/splunk_security_4688.yml",
                ),
            ),
        ),
    ),
    Target(
        name="kql",
        title="Microsoft Defender XDR KQL",
        backend="kusto",
        pipelines=(
            "pipelines/defender_xdr_scope.yml",
            "microsoft_xdr",
            "pipelines/defender_xdr.yml",
        ),
        extension=".kql",
    ),
)

TARGET_NAMES: tuple[str, ...] = tuple(target.name for target in TARGETS)


def target_by_name(name: str) -> Target:
    for target in TARGETS:
        if target.name == name:
            return target
    raise KeyError(name)
