"""Expand search macros, as Splunk does before it parses a search.

Search macros (`` `name` ``) are replaced by their definition text before the search is parsed,
outside double-quoted strings only ("Use search macros in searches": "Macros inside of quoted
values are not expanded"); the text is not parenthesised ("Use macros with event types and
tags" shows a definition's implicit AND changing the meaning of the search around it). Macros
inside definitions are expanded too. A macro the engine was not given, a macro with arguments
and a `` ``` `` comment are `QueryError`s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from converter.execute.engines.base import QueryError
from converter.execute.engines.spl.quoting import next_unquoted

MACRO_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
# Splunk documents no nesting limit; a definition that keeps calling macros is a mistake.
MAX_MACRO_DEPTH = 10


def expand_macros(query: str, macros: Mapping[str, str], depth: int = 0) -> str:
    """`query` with every `` `name` `` outside double quotes replaced by its definition."""
    if "`" not in query:
        return query
    if depth >= MAX_MACRO_DEPTH:
        raise QueryError(f"search macros nested more than {MAX_MACRO_DEPTH} deep")
    out: list[str] = []
    start = 0
    while (tick := next_unquoted(query, "`", start)) >= 0:
        end = query.find("`", tick + 1)
        if end < 0:
            raise QueryError(f"unbalanced backtick at {tick}")
        name = query[tick + 1 : end]
        if not MACRO_NAME_RE.fullmatch(name):
            raise QueryError(f"`{name}` at {tick}: macro arguments and comments are not modelled")
        if name not in macros:
            raise QueryError(f"search macro `{name}` is not defined")
        out.append(query[start:tick])
        out.append(expand_macros(macros[name], macros, depth + 1))
        start = end + 1
    out.append(query[start:])
    return "".join(out)
