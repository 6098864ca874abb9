"""The import graph of src/tenure: data flows one way, and no modules import each other.

Edges come from `import` statements anywhere in a module (inside functions too), except under
`if TYPE_CHECKING:`. `from pkg import name` counts as importing `pkg.name` when that is a module,
else `pkg`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tenure

SRC = Path(tenure.__file__).parent
# What the warehouse must never import: the layers its data flows into.
ABOVE_WAREHOUSE = ("tenure.churn", "tenure.health", "tenure.alerts", "tenure.api", "tenure.web")


def module_files(root: Path = SRC) -> dict[str, Path]:
    """Return every module of the package by dotted name (packages by their name)."""
    modules = {}
    for path in root.rglob("*.py"):
        parts = ["tenure", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Return the ids of import nodes under `if TYPE_CHECKING:`."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return skipped


def _targets(node: ast.AST, module: str, is_package: bool, modules: set[str]) -> list[str]:
    """Return the project modules one import statement imports."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in modules]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
    return found or ([base] if base in modules else [])


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Return module -> the project modules it imports."""
    names = set(modules)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = _type_checking_nodes(tree)
        is_package = path.name == "__init__.py"
        graph[module] = {
            target
            for node in ast.walk(tree)
            if id(node) not in skipped
            for target in _targets(node, module, is_package, names)
            if target != module
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle_and_skips_type_checking(tmp_path):
    """Two modules importing each other are a cycle; a TYPE_CHECKING import is not an edge."""
    (tmp_path / "a.py").write_text("from tenure import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from tenure.a import x\n")
    (tmp_path / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tenure import a\n"
    )
    graph = import_graph(module_files(tmp_path))
    assert graph["tenure.c"] == set()
    assert cycles(graph) == [["tenure.a", "tenure.b"]]


def test_no_import_cycles_between_modules():
    """No two modules of src/tenure import each other, directly or around a loop."""
    assert cycles(import_graph(module_files())) == []


def test_the_warehouse_imports_nothing_its_data_flows_into():
    """tenure.warehouse.* imports neither churn, health, alerts, api nor web."""
    graph = import_graph(module_files())
    wrong = {
        (module, target)
        for module, targets in graph.items()
        if module == "tenure.warehouse" or module.startswith("tenure.warehouse.")
        for target in targets
        if any(target == up or target.startswith(up + ".") for up in ABOVE_WAREHOUSE)
    }
    assert wrong == set()
