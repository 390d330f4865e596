"""The shape of `converter/`: imports point down the stages, no cycles, no oversized modules.

The stages, lowest first: `core` <- `formats`, `reference`, `execute` <- `environment` <-
`convert` <- `verify` <- `publish` <- `scan` <- `checks` <- `scaffold` <- `cli`. A module may
import its own stage and any lower one; stages on one level do not import each other.
`converter/__init__.py` holds the version only: everyone may import it, it imports nothing.

Every import counts, wherever it stands (module level, inside a function, under
`TYPE_CHECKING`): a deferred import still ties the two modules together.

The known exceptions are listed below and may only shrink: the tests fail on a violation that
is not listed and on a listed one that no longer occurs, so a fix must delete its entry.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = "converter"

# Rank of each stage folder (or top-level module); equal ranks are siblings.
STAGE_RANKS: dict[str, int] = {
    "core": 0,
    "formats": 1,
    "reference": 1,
    "execute": 1,
    "environment": 2,
    "convert": 3,
    "verify": 4,
    "publish": 5,
    "scan": 6,
    "checks": 7,
    "scaffold": 8,  # `certdetect new` writes what the checks then accept
    "cli": 9,
    "__main__": 10,  # `python -m converter`: runs the command line
}
ROOT_RANK = -1  # `converter/__init__.py`

# (importing module, imported module) pairs that break the layering today. This set must only
# shrink: delete an entry when its import is gone; never add one.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()

MAX_LINES = 600
# Modules over MAX_LINES without a `Size:` line, being split. Must only shrink, like the above.
KNOWN_OVERSIZED: frozenset[str] = frozenset()


# ---------------------------------------------------------------------------------------------
# The checker


def module_name(path: Path, root: Path) -> str:
    """`converter/core/errors.py` -> `converter.core.errors`; a package is its `__init__`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted((root / package).rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    """The dotted names an import statement binds, relative ones resolved: `import a.b` ->
    `a.b`, `from a import b` -> `a.b` (a submodule, or a name in `a`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        # `from . import x` in a package's __init__ is relative to the package itself
        anchor = importer.split(".") if is_package else importer.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [f"{base}.{alias.name}" for alias in node.names]


def _known_prefix(name: str, known: Mapping[str, Path]) -> str | None:
    """The module `name` is, or the innermost module that holds it."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def import_graph(root: Path, package: str = PACKAGE) -> dict[str, set[str]]:
    """Each module of `package` under `root` -> the modules of `package` it imports."""
    found = modules(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for imported in _imported(node, name, path.name == "__init__.py"):
                    target = _known_prefix(imported, found)
                    if target is not None and target != name:
                        targets.add(target)
        graph[name] = targets
    return graph


def stage(module: str, package: str = PACKAGE) -> str:
    """The stage folder (or top-level module) a module belongs to; "" for the root package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == package else ""


def rank(module: str) -> int:
    name = stage(module)
    return ROOT_RANK if name == "" else STAGE_RANKS[name]


def layer_violations(graph: Mapping[str, Iterable[str]]) -> set[tuple[str, str]]:
    """Imports that point to a sibling or higher stage."""
    return {
        (importer, imported)
        for importer, targets in graph.items()
        for imported in targets
        if stage(importer) != stage(imported) and rank(imported) >= rank(importer)
    }


def import_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def without(
    graph: Mapping[str, Iterable[str]], edges: Iterable[tuple[str, str]]
) -> dict[str, set[str]]:
    dropped = set(edges)
    return {a: {b for b in targets if (a, b) not in dropped} for a, targets in graph.items()}


def oversized(root: Path, package: str = PACKAGE, limit: int = MAX_LINES) -> set[str]:
    """Modules over `limit` lines whose docstring has no line starting `Size:` (the reason)."""
    found = set()
    for path in sorted((root / package).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) <= limit:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if not any(line.startswith("Size:") for line in docstring.splitlines()):
            found.add(path.relative_to(root).as_posix())
    return found


def unexplained(found: set, known: frozenset) -> tuple[set, set]:
    """(found but not known: new problems, known but not found: entries to delete)."""
    return found - known, set(known) - found


# ---------------------------------------------------------------------------------------------
# The project


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(REPO)


def test_every_module_belongs_to_a_stage(graph: dict[str, set[str]]) -> None:
    unplaced = {m for m in graph if stage(m) != "" and stage(m) not in STAGE_RANKS}
    assert not unplaced, f"place these in STAGE_RANKS: {sorted(unplaced)}"


def test_the_root_package_holds_the_version_only(graph: dict[str, set[str]]) -> None:
    assert graph[PACKAGE] == set()
    tree = ast.parse((REPO / PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    statements = [n for n in tree.body if not isinstance(n, ast.Expr)]  # past the docstring
    assert [ast.unparse(n.targets[0]) for n in statements if isinstance(n, ast.Assign)] == [
        "__version__"
    ]
    assert len(statements) == 1


def test_imports_point_down_the_stages(graph: dict[str, set[str]]) -> None:
    new, fixed = unexplained(layer_violations(graph), KNOWN_VIOLATIONS)
    assert not new, f"imports against the stage order (fix them, do not list them): {sorted(new)}"
    assert not fixed, f"no longer violated: delete from KNOWN_VIOLATIONS: {sorted(fixed)}"


def test_no_import_cycle_between_modules(graph: dict[str, set[str]]) -> None:
    # A known violation is an upward edge, so every cycle through one is already listed.
    cycles = import_cycles(without(graph, KNOWN_VIOLATIONS))
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_is_over_600_lines_without_a_reason() -> None:
    new, fixed = unexplained(oversized(REPO), KNOWN_OVERSIZED)
    assert not new, f"over {MAX_LINES} lines: split them, or give a `Size:` reason: {sorted(new)}"
    assert not fixed, f"no longer oversized: delete from KNOWN_OVERSIZED: {sorted(fixed)}"


# ---------------------------------------------------------------------------------------------
# The checker bites: synthetic packages in tmp_path


def write(root: Path, files: Mapping[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


SKELETON = {
    "converter/__init__.py": '__version__ = "0"\n',
    "converter/core/__init__.py": "",
    "converter/core/errors.py": "",
    "converter/execute/__init__.py": "",
    "converter/execute/engines/__init__.py": "",
    "converter/execute/engines/base.py": "from converter.core.errors import x\n",
    "converter/formats/__init__.py": "",
    "converter/formats/readers.py": "from converter.core import errors\n",
    "converter/cli/__init__.py": "from converter import __version__\n",
}


def test_checker_accepts_imports_that_point_down(tmp_path: Path) -> None:
    graph = import_graph(write(tmp_path, SKELETON))
    assert graph["converter.formats.readers"] == {"converter.core.errors"}
    assert graph["converter.cli"] == {"converter"}
    assert layer_violations(graph) == set()


def test_checker_reports_an_upward_import_inside_a_function(tmp_path: Path) -> None:
    files = {**SKELETON, "converter/core/errors.py": "def f():\n    import converter.cli\n"}
    graph = import_graph(write(tmp_path, files))
    assert layer_violations(graph) == {("converter.core.errors", "converter.cli")}


def test_checker_reports_a_type_checking_import_of_a_sibling_stage(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from converter.execute.engines.base import Engine\n"
    )
    files = {**SKELETON, "converter/formats/readers.py": source}
    graph = import_graph(write(tmp_path, files))
    assert layer_violations(graph) == {
        ("converter.formats.readers", "converter.execute.engines.base")
    }


def test_checker_resolves_relative_imports(tmp_path: Path) -> None:
    files = {
        **SKELETON,
        "converter/execute/engines/__init__.py": "from .base import Engine\n",
        "converter/execute/engines/base.py": "from ...cli import main\n",
    }
    graph = import_graph(write(tmp_path, files))
    assert graph["converter.execute.engines"] == {"converter.execute.engines.base"}
    assert layer_violations(graph) == {("converter.execute.engines.base", "converter.cli")}


def test_checker_reports_the_root_package_importing_a_stage(tmp_path: Path) -> None:
    files = {**SKELETON, "converter/__init__.py": "from converter.core import errors\n"}
    graph = import_graph(write(tmp_path, files))
    assert layer_violations(graph) == {("converter", "converter.core.errors")}


def test_checker_reports_an_import_cycle_inside_one_stage(tmp_path: Path) -> None:
    files = {
        **SKELETON,
        "converter/core/errors.py": "def f():\n    from converter.core import rules\n",
        "converter/core/rules.py": "from converter.core.cases import Case\n",
        "converter/core/cases.py": "from converter.core.errors import InputError\n",
    }
    graph = import_graph(write(tmp_path, files))
    assert layer_violations(graph) == set()
    assert import_cycles(graph) == [
        ["converter.core.cases", "converter.core.errors", "converter.core.rules"]
    ]
    assert import_cycles(without(graph, {("converter.core.rules", "converter.core.cases")})) == []


def test_a_known_entry_that_no_longer_occurs_is_reported() -> None:
    found = {("converter.core.events", "converter.formats.base")}
    known = frozenset({("converter.verify.build", "converter.environment")})
    new, fixed = unexplained(found, known)
    assert new == found
    assert fixed == set(known)


def test_checker_reports_a_long_module_without_a_size_reason(tmp_path: Path) -> None:
    body = "x = 1\n" * 10
    files = {
        "converter/__init__.py": "",
        "converter/long.py": '"""Long."""\n' + body,
        "converter/explained.py": '"""Long.\n\nSize: one table, read top to bottom.\n"""\n' + body,
        "converter/short.py": "x = 1\n",
    }
    write(tmp_path, files)
    assert oversized(tmp_path, limit=10) == {"converter/long.py"}
