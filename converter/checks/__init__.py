"""Offline checks of rules and cases, for contributors and their pre-commit hook.

`run_checks` is what `certdetect check` runs. The field check it shares with the build lives
with the build (`converter.verify.fields`).
"""

from converter.checks.findings import Finding
from converter.checks.runner import CheckReport, run_checks

__all__ = ["CheckReport", "Finding", "run_checks"]
