"""PCRE, as Splunk's `regex` and `rex` commands read it, translated to Python's `re`.

Both the SPL engine (to execute the regex chain) and the Splunk backend corrections in
`converter.convert.backends.splunk` (to refuse a `|re` value Splunk would read differently) need
to know where PCRE and Python's `re` differ; this module is the one place that knows it. A
pattern it cannot translate faithfully raises `QueryError`.
"""

from __future__ import annotations

import re

from converter.execute.engines.base import QueryError

_QUANTIFIER_RE = re.compile(r"\{\d+(?:,\d*)?\}")
_GROUP_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_FLAGS_RE = re.compile(r"\(\?([ims]*)(?:-([ims]+))?([):])")
_CLASS_ESCAPES = frozenset("dDwWsS") | frozenset("tnrfb")  # \b in a class: backspace in both
_ESCAPES = frozenset("dDwWsSbBA") | frozenset("tnrf")


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """The escape at pattern[i] (a backslash) if Python treats it as PCRE does."""
    if i + 1 >= len(pattern):
        raise QueryError("regex ends with a backslash")
    c = pattern[i + 1]
    if c == "x":
        hexdigits = pattern[i + 2 : i + 4]
        if len(hexdigits) == 2 and all(h in "0123456789abcdefABCDEF" for h in hexdigits):
            return pattern[i : i + 4], i + 4
        raise QueryError("regex: only \\xhh hex escapes are supported")
    allowed = _CLASS_ESCAPES if in_class else _ESCAPES
    if c.isascii() and c.isalnum():
        if c in allowed:
            return "\\" + c, i + 2
        # \Z \z \v \h \R \K \Q \p \k \g \1 ... differ between PCRE and Python or do not exist
        raise QueryError(f"regex escape \\{c} is not supported (PCRE and Python differ)")
    return "\\" + c, i + 2


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    out = ["["]
    i += 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(pattern):
        c = pattern[i]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        if c == "[":
            raise QueryError("regex: '[' inside a character class (POSIX classes) not supported")
        if pattern.startswith(("&&", "||", "~~", "--"), i):
            raise QueryError("regex: doubled set operators in a class are not supported")
        if c == "\\":
            esc, i = _escape(pattern, i, in_class=True)
            out.append(esc)
        else:
            out.append(c)
            i += 1
        first = False
    raise QueryError("regex: unterminated character class")


def translate_pcre(pattern: str) -> str:
    """`pattern` as a Python `re` pattern (to compile with re.ASCII) with the same matches.

    Constructs Python treats differently from PCRE, or lacks, raise QueryError. Inline flags
    `(?ims)` are accepted only at the start of a group (or of the pattern), where PCRE applies
    them to the rest of that group, and become a scoped `(?ims:...)`. ASCII mode gives `\\w`,
    `\\d`, `\\s` and `\\b` PCRE's meaning without UCP; PCRE's defaults are assumed (LF
    newlines, no UCP). Left as a known gap: under `(?i)` PCRE in UTF mode also folds a few
    non-ASCII characters onto ASCII letters (the Kelvin sign onto k), ASCII mode does not.
    """
    out: list[str] = []
    stack: list[bool] = []  # per open group: True for a synthetic flag group
    at_group_start = True
    i = 0
    while i < len(pattern):
        c = pattern[i]
        start = at_group_start
        at_group_start = False
        if c == "\\":
            esc, i = _escape(pattern, i, in_class=False)
            out.append(esc)
        elif c == "[":
            cls, i = _char_class(pattern, i)
            out.append(cls)
        elif c == "{":
            m = _QUANTIFIER_RE.match(pattern, i)
            if not m:
                raise QueryError("regex: a literal '{' must be escaped ({,n} differs in PCRE)")
            out.append(m.group())
            i = m.end()
        elif c == ")":
            while stack and stack[-1]:
                stack.pop()
                out.append(")")
            if not stack:
                raise QueryError("regex: unbalanced ')'")
            stack.pop()
            out.append(")")
            i += 1
        elif c == "(":
            i, opened = _open_group(pattern, i, out, stack, start)
            at_group_start = opened or start  # a (?#comment) does not move the group start
        else:
            out.append(c)
            i += 1
    while stack and stack[-1]:
        stack.pop()
        out.append(")")
    if stack:
        raise QueryError("regex: unbalanced '('")
    return "".join(out)


def _open_group(
    pattern: str, i: int, out: list[str], stack: list[bool], start: bool
) -> tuple[int, bool]:
    """Translate the group opening at pattern[i]; returns (next index, whether it opened)."""
    if pattern.startswith("(*", i):
        raise QueryError("regex: PCRE verbs (*...) are not supported")
    if not pattern.startswith("(?", i):
        out.append("(")
        stack.append(False)
        return i + 1, True
    for prefix in ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?P<"):
        if pattern.startswith(prefix, i):
            out.append(prefix)
            stack.append(False)
            return i + len(prefix), True
    if pattern.startswith("(?#", i):
        end = pattern.find(")", i)
        if end < 0:
            raise QueryError("regex: unterminated comment")
        return end + 1, False
    if pattern.startswith("(?<", i):
        m = _GROUP_NAME_RE.match(pattern, i + 3)
        if not m or not pattern.startswith(">", m.end()):
            raise QueryError("regex: malformed named group")
        out.append(f"(?P<{m.group()}>")
        stack.append(False)
        return m.end() + 1, True
    m = _FLAGS_RE.match(pattern, i)
    if m and (m[1] or m[2]):
        flags = m[1] + (f"-{m[2]}" if m[2] else "")
        if m[3] == ":":
            out.append(f"(?{flags}:")
            stack.append(False)
        elif start:
            out.append(f"(?{flags}:")  # PCRE: applies to the rest of the enclosing group
            stack.append(True)
        else:
            raise QueryError("regex: inline flags are supported only at the start of a group")
        return m.end(), True
    raise QueryError(f"regex: group syntax {pattern[i : i + 4]!r}... is not supported")


def compile_pcre(pattern: str) -> re.Pattern[str]:
    translated = translate_pcre(pattern)
    if "i" in "".join(m[1] for m in _FLAGS_RE.finditer(pattern)) and not pattern.isascii():
        # PCRE folds non-ASCII case in UTF mode; Python's ASCII mode does not
        raise QueryError("regex: case-insensitive matching of non-ASCII text is not supported")
    try:
        return re.compile(translated, re.ASCII)
    except (re.error, OverflowError) as e:
        raise QueryError(f"regex not accepted: {e}") from e
