"""Offline checks of rules and cases, for contributors and their pre-commit hook.

`run_checks` is what `certdetect check` runs. The field check also stands alone for the build:
`field_pipeline` once per target, then `require_known_fields` (or `unknown_fields`) per rule.
"""

from converter.checks.fields import field_pipeline, require_known_fields, unknown_fields
from converter.checks.findings import Finding
from converter.checks.runner import CheckReport, run_checks

__all__ = [
    "CheckReport",
    "Finding",
    "field_pipeline",
    "require_known_fields",
    "run_checks",
    "unknown_fields",
]
