"""Double-quoted strings in SPL, and finding characters outside them.

Quoted strings: `\\\\` is a backslash and `\\"` a quote (Search Manual, "Backslashes"). The
backslash cannot escape `*` ("Backslashes"; "SPL and regular expressions"), so `\\*` in a
search value, whose effect is undocumented, is a `QueryError`; so is any other escape. In the
quoted argument of `regex` and `rex`, `\\\\` is one backslash and other escapes stay for the
regex ("SPL and regular expressions").
"""

from __future__ import annotations

from converter.execute.engines.base import QueryError


def read_quoted(text: str, start: int, *, regex: bool = False) -> tuple[str, int]:
    """Unescape the double-quoted string at `text[start]`; returns (value, index after it).

    Search values allow only `\\\\` and `\\"`; in a regular expression other escapes are kept
    for the regex engine (Search Manual, "Backslashes", "SPL and regular expressions").
    """
    assert text[start] == '"'
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt in '\\"':
                out.append(nxt)
            elif regex:
                out.append(c + nxt)
            elif nxt == "*":
                raise QueryError(
                    "'\\*' in a search string: the backslash cannot escape the asterisk in SPL "
                    "(Search Manual, Backslashes), so this value has no documented meaning"
                )
            else:
                raise QueryError(f"unsupported escape '\\{nxt}' in a search string")
            i += 2
            continue
        out.append(c)
        i += 1
    raise QueryError("unbalanced double quote")


def next_unquoted(query: str, char: str, start: int = 0) -> int:
    """Index of the next `char` outside double-quoted strings, from `start` (which must be
    outside one), or -1; a backslash escapes the next character inside a quoted string."""
    i, quoted = start, False
    while i < len(query):
        c = query[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            return i
        i += 1
    if quoted:
        raise QueryError("unbalanced double quote")
    return -1
