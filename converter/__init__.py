"""certdetect: Sigma rules for T1587.003, converted to EQL, SPL and KQL, verified by execution."""

__version__ = "0.1.0"
