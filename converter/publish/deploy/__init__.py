"""Deployable formats: each target's verified queries in the form its SIEM imports, generated
offline from the rules' metadata, plus an ATT&CK Navigator layer of the rule set.

| path in dist/                        | consumer                                    |
| ------------------------------------ | ------------------------------------------- |
| `elastic/certdetect-rules.ndjson`    | Kibana detection rules import (EQL rules)   |
| `splunk/certdetect/` (an app)        | Splunk / Enterprise Security                |
| `sentinel/<rule>.yaml`               | Microsoft Sentinel scheduled analytics rule |
| `attack-navigator-layer.json`        | ATT&CK Navigator                            |

Every file is deterministic (no timestamps, rules in rule-path order), so dist/ stays
reproducible and `certdetect build --check` can compare it.
"""

from __future__ import annotations

from converter.core.targets import resolve
from converter.publish.deploy import navigator
from converter.verify.build import BuildResult


def deployable_files(build: BuildResult) -> dict[str, bytes]:
    """Every deployable file, keyed by its path inside dist/: each built target's deployers
    (`TargetSpec.deployers`), then the rule set's Navigator layer."""
    files: dict[str, bytes] = {}
    renders = [resolve(ref) for target in build.targets for ref in target.deployers]
    for render in (*renders, navigator.render):
        files.update(render(build))
    return dict(sorted(files.items()))
