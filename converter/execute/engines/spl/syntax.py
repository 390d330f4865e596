"""The syntax tree of the SPL subset the engine runs: search expressions and commands."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A bare or quoted search term; `text` is unescaped (`*` is a wildcard)."""

    text: str


@dataclass(frozen=True)
class Compare:
    """`field<op>value` with op one of = != < <= > >=."""

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Term | Compare | In | Not | And | Or


@dataclass(frozen=True)
class SearchCommand:
    expression: Node


@dataclass(frozen=True)
class RegexCommand:
    field: str
    negate: bool
    pattern: str  # PCRE, after SPL unescaping


@dataclass(frozen=True)
class RexCommand:
    field: str
    pattern: str


@dataclass(frozen=True)
class EvalIfNotNull:
    target: str
    source: str
    then: str
    otherwise: str


@dataclass(frozen=True)
class WhereFieldEquals:
    """`where 'F'='G'`: pySigma's Splunk backend defers a field reference to this command."""

    left: str
    right: str


Command = SearchCommand | RegexCommand | RexCommand | EvalIfNotNull | WhereFieldEquals


def named_fields(commands: Sequence[Command]) -> Iterator[str]:
    """Every field name the commands read."""

    def walk(node: Node) -> Iterator[str]:
        if isinstance(node, (Compare, In)):
            yield node.field
        elif isinstance(node, Not):
            yield from walk(node.item)
        elif isinstance(node, (And, Or)):
            for item in node.items:
                yield from walk(item)

    for cmd in commands:
        if isinstance(cmd, SearchCommand):
            yield from walk(cmd.expression)
        elif isinstance(cmd, (RegexCommand, RexCommand)):
            yield cmd.field
        elif isinstance(cmd, WhereFieldEquals):
            yield from (cmd.left, cmd.right)
        else:
            yield cmd.source
