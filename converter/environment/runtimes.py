"""Each target's runtime (ingest models and engine, `converter.execute.runtimes`) as the stock
vendor defaults or as an environment overlay stores and searches the data.

Here, above `execute`, because the engines take the environment's section (the Splunk macro and
index, the Defender tables) and the documents its rewrite: `execute` knows no environment.
"""

from __future__ import annotations

from collections.abc import Sequence

from converter.core.targets import TARGETS, TargetSpec, resolve
from converter.environment.overlay import Environment
from converter.execute.runtimes import TargetRuntime, by_event_type


def target_runtime(
    target: TargetSpec, environment: Environment | None = None
) -> TargetRuntime | None:
    """None for a target without an engine: its artifacts are converted, never executed."""
    if target.engine is None:
        return None
    section = environment.sections.get(target.name) if environment is not None else None
    ingest = by_event_type(target.ingest_models())
    if environment is not None:
        ingest = environment.ingest(target.name, ingest)
    return TargetRuntime(target.name, ingest, resolve(target.engine)(section))


def target_runtimes(
    environment: Environment | None = None, targets: Sequence[TargetSpec] = TARGETS
) -> dict[str, TargetRuntime]:
    """The runtimes of the targets, for the stock vendor defaults or an environment overlay."""
    runtimes = {target.name: target_runtime(target, environment) for target in targets}
    return {name: runtime for name, runtime in runtimes.items() if runtime is not None}
