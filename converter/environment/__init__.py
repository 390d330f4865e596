"""Environment overlays: where one organisation keeps the data the rules search.

The stock targets describe the vendors' defaults (Elastic Agent data streams, the Splunk add-ons'
sources, the Defender XDR tables). An environment file says how one SIEM differs, one section
per target (each section's module documents its keys):

```yaml
name: acme-prod                  # required: lowercase letters, digits and '-'
description: ...                 # optional
eql: {index: [...], fields: {...}}                      # converter.environment.eql
spl: {index: ..., sources: {...}, macro: {...}, fields: {...}}  # converter.environment.spl
kql: {tables: {...}, fields: {...}}                     # converter.environment.kql
```

Every section is optional; which sections exist is read from the target specs
(`converter.core.targets`, `TargetSpec.overlay`). The overlay is a pySigma processing pipeline at
priority 100 after every pipeline of the target (`overlay`). The same overlay is applied to the
documents the engines run on, and the engines are given the environment's section
(`runtimes`), so a rename the documents do not get, an index the events are not in or an
unknown table fails the build.

Modules: `reader` (typed access to the file), `overlay` (`Environment`, the `Overlay` protocol),
`loader` (`load_environment`), one module per target section, `runtimes` (the targets' runtimes
for an environment).
"""

from converter.environment.eql import EqlOverlay
from converter.environment.kql import KqlOverlay
from converter.environment.loader import load_environment
from converter.environment.overlay import PRIORITY, Environment, Overlay
from converter.environment.spl import SplOverlay, SplunkMacro

__all__ = [
    "PRIORITY",
    "Environment",
    "EqlOverlay",
    "KqlOverlay",
    "Overlay",
    "SplOverlay",
    "SplunkMacro",
    "load_environment",
]
