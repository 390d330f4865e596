"""Split an SPL query into its commands and parse each one.

A first `search` command (the keyword itself is optional), then any of `search`, `regex`,
`rex field=F "..."`, `eval C=if(isnotnull(G), "a", "b")` and `where 'F'='G'` (the backend's
form of a Sigma `|fieldref`); commands are separated by `|` outside double quotes. Every other
command is a `QueryError`.
"""

from __future__ import annotations

import re

from converter.execute.engines.base import QueryError
from converter.execute.engines.spl.quoting import next_unquoted, read_quoted
from converter.execute.engines.spl.search import parse_search
from converter.execute.engines.spl.syntax import (
    Command,
    EvalIfNotNull,
    RegexCommand,
    RexCommand,
    SearchCommand,
    WhereFieldEquals,
)


def split_pipeline(query: str) -> list[str]:
    """The commands of `query`: split on `|` outside double-quoted strings."""
    parts: list[str] = []
    start = 0
    while (bar := next_unquoted(query, "|", start)) >= 0:
        parts.append(query[start:bar])
        start = bar + 1
    parts.append(query[start:])
    return [p.strip() for p in parts]


_QUOTED = r'"(?:[^"\\]|\\.)*"'
_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_REX_RE = re.compile(rf"rex\s+field=({_NAME})\s+({_QUOTED})", re.S)
_REGEX_RE = re.compile(rf"regex\s+(?:({_NAME})\s*(!?=)\s*)?({_QUOTED})", re.S)
_WHERE_RE = re.compile(rf"where\s+'({_NAME})'\s*=\s*'({_NAME})'")
_EVAL_RE = re.compile(
    rf"eval\s+({_NAME})\s*=\s*if\s*\(\s*isnotnull\s*\(\s*({_NAME})\s*\)\s*,\s*({_QUOTED})"
    rf"\s*,\s*({_QUOTED})\s*\)",
    re.S,
)


def _command(segment: str, first: bool) -> Command:
    name = segment.split(None, 1)[0] if segment else ""
    if first or name == "search":
        body = segment[len("search") :] if name == "search" else segment
        if not body.strip():
            raise QueryError("empty search command")
        return SearchCommand(parse_search(body))
    if name == "rex":
        m = _REX_RE.fullmatch(segment)
        if not m:
            raise QueryError(f'only `rex field=F "<regex>"` is supported: {segment!r}')
        return RexCommand(m[1], read_quoted(m[2], 0, regex=True)[0])
    if name == "regex":
        m = _REGEX_RE.fullmatch(segment)
        if not m:
            raise QueryError(f'only `regex F="<regex>"` / `F!=` is supported: {segment!r}')
        return RegexCommand(m[1] or "_raw", m[2] == "!=", read_quoted(m[3], 0, regex=True)[0])
    if name == "eval":
        m = _EVAL_RE.fullmatch(segment)
        if not m:
            shape = 'eval C=if(isnotnull(G), "a", "b")'
            raise QueryError(f"only `{shape}` is supported: {segment!r}")
        then, otherwise = read_quoted(m[3], 0)[0], read_quoted(m[4], 0)[0]
        return EvalIfNotNull(m[1], m[2], then, otherwise)
    if name == "where":
        m = _WHERE_RE.fullmatch(segment)
        if not m:
            raise QueryError(f"only `where 'F'='G'` (a field reference) is supported: {segment!r}")
        return WhereFieldEquals(m[1], m[2])
    raise QueryError(f"unsupported command {name!r}" if name else "empty command after '|'")


def parse_pipeline(query: str) -> tuple[Command, ...]:
    segments = split_pipeline(query)
    if not segments[0]:
        raise QueryError("the query must start with a search, not a generating command")
    return tuple(_command(seg, i == 0) for i, seg in enumerate(segments))
