"""colorlib's floors: every module imports only from its own floor or the floors below, never in a cycle.

The imports are read from the source with :mod:`ast` (nothing is imported), so the test
also sees imports hidden inside functions. ``cli`` alone imports inside its handlers,
for start-up speed (``colorlib --version`` must not load torch); it is the top floor, so
those imports point down.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "colorlib"

#: The floors, lowest first (the README's module map shows the same).
FLOORS: dict[str, int] = {
    # 0. ground: no colorlib module above it
    "config": 0, "files": 0, "color": 0, "images": 0, "hub": 0,
    # 1. networks, losses, metrics, plotting helpers
    "model": 1, "modelz": 1, "losses": 1, "metrics": 1, "plot": 1,
    # 2. weights and data: loaders and registries
    "weights": 2, "checkpoints": 2, "datasets": 2, "places205": 2, "samples": 2, "paper": 2,
    # 3. the lessons' work
    "inference": 3, "colorize_files": 3, "data": 3, "train": 3, "evaluate": 3, "dullness": 3, "anatomy": 3, "widgets": 3,
    # 4. top
    "course": 4, "cli": 4,
}
#: Modules allowed to import inside functions (see the module docstring).
LAZY_IMPORTERS = {"cli", "__init__"}


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.glob("*.py"))}


def _colorlib_imports(tree: ast.AST) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import of a colorlib module in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.append((node.module.split(".")[0], node.lineno))
            elif node.level == 1:  # from . import x, y
                found.extend((alias.name, node.lineno) for alias in node.names)
            elif node.module and node.module.startswith("colorlib."):
                found.append((node.module.split(".")[1], node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[1], node.lineno) for alias in node.names
                         if alias.name.startswith("colorlib."))
    return found


def _imports_inside_functions(tree: ast.Module) -> list[tuple[str, int]]:
    inner = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in node.body:
                inner.extend(_colorlib_imports(statement))
    return inner


def _graph() -> dict[str, set[str]]:
    return {name: {target for target, _ in _colorlib_imports(tree) if target != "__version__"}
            for name, tree in _modules().items()}


def test_every_module_has_a_floor():
    assert set(_modules()) - {"__init__"} == set(FLOORS), "add the new module to FLOORS (and README's module map)"


def test_modules_import_only_downwards():
    upward = []
    for name, targets in _graph().items():
        if name == "__init__":
            continue
        for target in targets:
            if target != "__init__" and FLOORS[target] > FLOORS[name]:
                upward.append(f"{name} (floor {FLOORS[name]}) imports {target} (floor {FLOORS[target]})")
    assert not upward, "\n".join(upward)


def test_there_is_no_import_cycle():
    graph = _graph()
    graph.pop("__init__")  # its names are resolved lazily, on first use
    state: dict[str, str] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if target == "__init__":
                cycles.append(f"{node} imports the package itself")
            elif state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_no_import_hides_inside_a_function():
    hidden = [f"{name}.py:{line} imports {target} inside a function"
              for name, tree in _modules().items() if name not in LAZY_IMPORTERS
              for target, line in _imports_inside_functions(tree)]
    assert not hidden, "\n".join(hidden)


def test_the_checker_finds_a_cycle_and_an_upward_import():
    """The checks above can fail: fed a made-up package, they report what is wrong."""
    tree = ast.parse("from .b import x\ndef f():\n    from .c import y\n")
    assert _colorlib_imports(tree) == [("b", 1), ("c", 3)]
    assert _imports_inside_functions(tree) == [("c", 3)]


def test_library_modules_neither_print_nor_parse_arguments():
    offenders = []
    for name, tree in _modules().items():
        if name == "cli":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{name}.py:{node.lineno} prints")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                if "argparse" in names:
                    offenders.append(f"{name}.py:{node.lineno} imports argparse")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("statement", ["import colorlib", "import colorlib.cli"])
def test_importing_the_package_or_the_command_loads_no_torch(statement):
    code = f"{statement}; import sys; print('torch' in sys.modules, 'numpy' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_colorize_is_the_function():
    import colorlib
    from colorlib import colorize

    assert colorlib.colorize is colorize and callable(colorize) and colorize.__module__ == "colorlib.inference"
