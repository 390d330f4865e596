"""The one error of the Sigma reference."""


class UnsupportedRuleError(ValueError):
    """A rule construct (or log source) the reference cannot evaluate faithfully."""
