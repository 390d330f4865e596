"""The three query targets: which pySigma backend and pipelines make each one's artifacts.

Pipelines are given as sigma-cli takes them: names of stock pipelines, then this project's YAML
layers from `pipelines/`, so `sigma convert -t <backend> -p ... sigma/` reproduces an artifact.
"""

from __future__ import annotations

from dataclasses import dataclass


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
