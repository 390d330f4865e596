"""What a Defender XDR filter may be, checked on duckdb-kql's parse of it, and its translation.

`converter.execute.engines.kql` runs a query only once it is one filter over one Defender table
(`Table | where <predicate>`) whose every name and type Kusto would accept. What duckdb-kql leaves
to its caller, following Microsoft's Kusto documentation:
- identifiers are case-sensitive ("Entity names"); DuckDB resolves names case-insensitively, so
  the table and every column the predicate names are checked against the schema here;
- the where predicate is a bool ("where operator"), string operators and in~ take strings, and
  Kusto refuses to compare a string with a number; DuckDB would cast silently, so such queries
  are refused;
- an invalid regex makes the query fail, even when no row reaches it (`regex_literals`: the
  engine has DuckDB compile each one).

A module of its own because importing duckdb-kql's ANTLR parser is a tenth of a second: the
engine imports this module only when it compiles a query its cache does not hold
(`converter.execute.compile_cache`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

import duckdb_kql
from duckdb_kql import ir

from converter.core.defender_schema import DEFENDER_TABLES, DefenderTable
from converter.execute.engines import kql_parsing, kql_string_columns
from converter.execute.engines.base import QueryError

kql_parsing.install()  # one parse per query text, not one per duckdb-kql entry point
kql_string_columns.install()  # no `typeof` guards for the string columns


def walk(node: object) -> Iterator[object]:
    """`node` and every IR node below it (dataclass fields, tuples, lists), in pre-order.

    With an explicit stack: a chain of 5,000 `or` is a tree 5,000 deep, past Python's recursion
    limit."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in reversed(dataclasses.fields(node)))
        elif isinstance(node, (tuple, list)):
            stack.extend(reversed(node))


def nesting(node: object) -> int:
    """How many IR nodes deep the tree below `node` goes (iteratively: it may be very deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend((getattr(node, f.name), depth + 1) for f in dataclasses.fields(node))
        elif isinstance(node, (tuple, list)):
            stack.extend((item, depth) for item in node)
    return deepest


# Kusto type -> comparison category; None (dynamic, null) compares with anything.
_CATEGORY: Mapping[str, str | None] = {
    "string": "string",
    "long": "number",
    "int": "number",
    "real": "number",
    "decimal": "number",
    "bool": "bool",
    "boolean": "bool",
    "datetime": "datetime",
    "timespan": "timespan",
    "guid": "guid",
    "dynamic": None,
    "null": None,
}
_LOGICAL = {"and", "or"}
_ARITHMETIC = {"+", "-", "*", "/", "%"}
_COMPARISON = {"==", "!=", "<>", "<", "<=", ">", ">="}
_BOOLEAN_FUNCTIONS = {
    "not", "isempty", "isnotempty", "notempty", "isnull", "isnotnull", "notnull",
    "isnan", "isinf", "isfinite", "isascii", "isutf8",
}  # fmt: skip


def _category(expr: ir.Expr, table: DefenderTable) -> str | None:
    """The static type category of `expr`, or None when unknown or dynamic."""
    if isinstance(expr, ir.ColumnRef):
        return _CATEGORY[table.columns[expr.name]]
    if isinstance(expr, ir.Literal):
        return _CATEGORY[expr.kind]
    if isinstance(expr, ir.BinaryOp):
        return None if expr.op in _ARITHMETIC else "bool"
    if isinstance(expr, (ir.InList, ir.HasList, ir.Between)):
        return "bool"
    if isinstance(expr, ir.UnaryOp):
        return "bool" if expr.op == "not" else None
    if isinstance(expr, ir.FunctionCall) and expr.name in _BOOLEAN_FUNCTIONS:
        return "bool"
    return None


def _check_types(node: object, table: DefenderTable) -> None:
    """Kusto rejects mixed-type comparisons and non-bool predicates at analysis time; DuckDB would
    cast silently (`LogonType == 10` on a string column), so refuse what Kusto refuses."""

    def require(expr: ir.Expr, wanted: str, context: str) -> None:
        found = _category(expr, table)
        if found != wanted and not (found is None and wanted != "bool"):
            raise QueryError(f"{context}: expected {wanted}, got {found or 'an untyped value'}")

    if isinstance(node, ir.BinaryOp):
        if node.op in _LOGICAL:
            require(node.left, "bool", f"operand of {node.op}")
            require(node.right, "bool", f"operand of {node.op}")
        elif node.op in _COMPARISON:
            left, right = _category(node.left, table), _category(node.right, table)
            if left and right and left != right:
                raise QueryError(f"cannot compare {left} with {right} ({node.op})")
        elif node.op not in _ARITHMETIC:  # the string operators
            require(node.left, "string", node.op)
            require(node.right, "string", node.op)
    elif isinstance(node, ir.UnaryOp) and node.op == "not":
        require(node.operand, "bool", "operand of not")
    elif isinstance(node, ir.FunctionCall) and node.name == "not":
        for arg in node.args:
            require(arg, "bool", "argument of not()")
    elif isinstance(node, ir.InList):
        wanted = "string" if node.case_insensitive else _category(node.value, table)
        for item in (node.value, *node.items) if wanted else ():
            require(item, wanted, "in list")
    elif isinstance(node, ir.HasList):
        for item in (node.value, *node.items):
            require(item, "string", "has_any/has_all")


def _statement_kinds(query: str) -> list[str]:
    """The kinds of the query's top-level statements (`LetStatement`, `QueryStatement`...), from
    duckdb-kql's parse tree (its ANTLR contexts, pinned with duckdb-kql)."""
    try:
        parsed = kql_parsing.parse(query)
    except duckdb_kql.KqlError as e:
        raise QueryError(f"KQL not accepted: {e}") from e
    top = parsed.tree.query() if parsed.tree is not None else None
    if top is None:  # a control command (`.drop ...`) has no query statements
        return ["a control command"]
    kinds = []
    for child in top.getChildren():
        if type(child).__name__ == "StatementContext":
            kinds.append(type(child.getChild(0)).__name__.removesuffix("Context"))
    return kinds


def parse_filter(
    query: str, tables: Mapping[str, DefenderTable] = DEFENDER_TABLES
) -> tuple[DefenderTable, ir.Expr]:
    """Table and predicate of `Table | where <predicate>`; QueryError for any other shape."""
    table, tree = filter_tree(query, tables)
    return table, tree.operators[0].predicate


def filter_tree(query: str, tables: Mapping[str, DefenderTable]) -> tuple[DefenderTable, ir.Query]:
    """`parse_filter`, with the lowered query (what `KqlEngine` translates)."""
    statements = _statement_kinds(query)
    if statements != ["QueryStatement"]:
        # duckdb-kql inlines a scalar `let` before lowering, so the IR cannot show it
        raise QueryError(f"a filter is one query statement, not {' ; '.join(statements)}")
    try:
        tree = kql_parsing.lower_query(query)
    except duckdb_kql.KqlError as e:
        raise QueryError(f"KQL not accepted: {e}") from e
    if tree.lets or tree.parameters:
        raise QueryError("let statements and query parameters are not part of a filter")
    source = tree.source
    if not isinstance(source, ir.TableRef) or source.database or source.cluster:
        raise QueryError("the query must start with a Defender table name")
    if len(tree.operators) != 1 or not isinstance(tree.operators[0], ir.Where):
        raise QueryError("the query must be exactly `Table | where <predicate>`")
    table = tables.get(source.name)
    if table is None:
        raise QueryError(f"unknown Defender XDR table {source.name!r}")
    predicate = tree.operators[0].predicate
    nodes = list(walk(predicate))
    for node in nodes:
        if isinstance(node, (ir.Query, ir.Source, ir.LetRef, ir.Parameter)):
            raise QueryError(f"a filter cannot contain {type(node).__name__}")
        if isinstance(node, ir.ColumnRef) and node.name not in table.columns:
            raise QueryError(f"unknown column {node.name!r} in table {table.name}")
    if _category(predicate, table) != "bool":
        raise QueryError("the where predicate is not a bool expression")
    for node in nodes:
        _check_types(node, table)
    return table, tree


def regex_literals(predicate: ir.Expr) -> list[str]:
    return [
        node.right.value
        for node in walk(predicate)
        if isinstance(node, ir.BinaryOp)
        and node.op == "matches regex"
        and isinstance(node.right, ir.Literal)
        and isinstance(node.right.value, str)
    ]


def translate(tree: ir.Query, table: DefenderTable) -> tuple[str, dict[str, object]]:
    """The DuckDB SQL of a checked filter (`filter_tree`) and its parameters."""
    try:
        # the tree the shape check lowered: `to_sql` would lower the text again
        strings = frozenset(name for name, kind in table.columns.items() if kind == "string")
        with kql_string_columns.string_columns_known(strings):
            translated = kql_parsing.translate(tree, {table.name: list(table.columns)})
    except duckdb_kql.KqlError as e:
        raise QueryError(f"KQL not translatable: {e}") from e
    return str(translated), dict(translated.parameters)
