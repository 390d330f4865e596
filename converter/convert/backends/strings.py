"""Bodies of the double-quoted strings the corrected backends write into EQL and KQL queries."""

from __future__ import annotations


def _string_body(text: str, escape_controls: bool) -> str:
    """Body of a double-quoted EQL or KQL string; EQL also spells control characters out."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[char])
        elif escape_controls and (ord(char) < 0x20 or ord(char) == 0x7F):
            out.append(f"\\u{{{ord(char):02X}}}")
        else:
            out.append(char)
    return "".join(out)


def eql_string(text: str) -> str:
    """Body of an EQL double-quoted string."""
    return _string_body(text, escape_controls=True)


_STRING_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def kql_string(text: str) -> str:
    """Body of a KQL double-quoted string."""
    return _string_body(text, escape_controls=False)
