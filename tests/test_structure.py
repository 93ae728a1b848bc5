"""colorlib's two wings and their ranks, checked from the source with :mod:`ast` (nothing is imported).

- **The core** (``colorlib/``): every module has a rank (:data:`CORE`, lowest first) and
  imports only modules of a lower rank; none imports matplotlib, ipywidgets or the lessons
  wing; only ``cli`` imports inside functions (for start-up speed).
- **The lessons wing** (``colorlib/lessons/``): one module per notebook plus small shared
  helpers (:data:`LESSONS`); each imports any core module and lessons modules of a lower
  rank. Figures and widgets live here only.

README's module map and the package docstring list the same modules in the same order
(checked below), so the three cannot drift apart.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "colorlib"
README = PACKAGE.parent / "README.md"

#: The core, lowest rank first: each module imports only modules listed before it.
CORE: tuple[str, ...] = (
    "config", "files", "hub", "color", "images", "hints", "propagation",
    "model", "bins", "losses", "metrics", "modelz",
    "weights", "datasets", "splits", "credits", "places205", "samples",
    "data", "distributed", "batches", "feature_store", "checkpointing", "callbacks", "averaging",
    "warm_start", "train", "runs", "inference", "colorize_files", "evaluate",
    "course", "cli",
)
#: The lessons wing, lowest rank first (each may import any core module).
LESSONS: tuple[str, ...] = (
    "plot", "layers", "color_space", "encoder_anatomy", "decoder_anatomy", "authors_checkpoints",
    "training", "evaluation", "paper_figures", "dullness", "beyond_mse", "loss_experiment", "your_photos",
    "hints_lesson",
)
#: What no core module may import.
BANNED_IN_CORE = ("matplotlib", "ipywidgets", "colorlib.lessons")
#: Core modules allowed to import inside functions.
LAZY_IMPORTERS = {"cli"}


def imported_modules(tree: ast.AST, *, wing: str) -> list[tuple[str, int]]:
    """``(name, line)`` of every import in ``tree``; colorlib's own as ``core.x`` or ``lessons.x``.

    ``wing`` is ``"core"`` or ``"lessons"``: where the module being read lives, which
    decides what a relative import means. Absolute imports (``import colorlib.x``,
    ``from colorlib import x``, ``from colorlib.lessons import y``) are seen too.
    """
    found = []

    def colorlib_module(parts: list[str], line: int) -> None:
        # parts: the path below the package: ["train"], ["lessons", "color_space"], ...
        if not parts or parts[0] == "__version__":
            return
        if parts[0] == "lessons":
            found.append(("lessons." + parts[1] if len(parts) > 1 else "lessons", line))
        else:
            found.append(("core." + parts[0], line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "colorlib":
                    colorlib_module(parts[1:], node.lineno)
                else:
                    found.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            module = node.module.split(".") if node.module else []
            if node.level == 0 and module[0] != "colorlib":
                found.append((node.module, node.lineno))
                continue
            if node.level == 0:
                base = module[1:]
            elif wing == "lessons" and node.level == 1:
                base = ["lessons", *module]
            else:
                base = module
            if base and (base[0] != "lessons" or len(base) > 1):
                colorlib_module(base, node.lineno)
            else:  # from colorlib import x  /  from . import x  /  from colorlib.lessons import x
                for alias in node.names:
                    colorlib_module([*base, alias.name], node.lineno)
    return found


def imports_inside_functions(tree: ast.Module, *, wing: str) -> list[tuple[str, int]]:
    inner = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in node.body:
                inner.extend(imported_modules(statement, wing=wing))
    return inner


def _banned_in_core(target: str) -> bool:
    return (target.startswith("lessons") or
            any(target == banned or target.startswith(banned + ".") for banned in BANNED_IN_CORE))


def faults(sources: dict[str, str], core: tuple[str, ...], lessons: tuple[str, ...]) -> list[str]:
    """Everything wrong with a package given as ``{"core.x" or "lessons.y": source}``."""
    rank = {f"core.{name}": i for i, name in enumerate(core)}
    rank.update({f"lessons.{name}": len(core) + i for i, name in enumerate(lessons)})
    problems = []
    for module, source in sorted(sources.items()):
        wing, name = module.split(".")
        if module not in rank:
            problems.append(f"{module}: not ranked (add it to CORE or LESSONS, and README's module map)")
            continue
        tree = ast.parse(source)
        for target, line in imported_modules(tree, wing=wing):
            if wing == "core" and _banned_in_core(target):
                problems.append(f"{module}:{line} imports {target}: the core draws nothing and needs no lesson")
            elif target in rank and rank[target] >= rank[module]:
                problems.append(f"{module}:{line} imports {target}, which is not below it")
        if not (wing == "core" and name in LAZY_IMPORTERS):
            problems.extend(f"{module}:{line} imports {target} inside a function"
                            for target, line in imports_inside_functions(tree, wing=wing)
                            if target.startswith(("core.", "lessons.")))
    return problems


def package_sources() -> dict[str, str]:
    sources = {f"core.{p.stem}": p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    sources.update({f"lessons.{p.stem}": p.read_text(encoding="utf-8")
                    for p in (PACKAGE / "lessons").glob("*.py") if p.stem != "__init__"})
    return sources


def test_every_module_is_ranked_and_imports_only_below_it():
    assert set(package_sources()) == {f"core.{m}" for m in CORE} | {f"lessons.{m}" for m in LESSONS}
    assert faults(package_sources(), CORE, LESSONS) == []


@pytest.mark.parametrize("source, fault", [
    ("from .b import x\n", "core.a:1 imports core.b, which is not below it"),
    ("from colorlib import b\n", "core.a:1 imports core.b, which is not below it"),
    ("import colorlib.b\n", "core.a:1 imports core.b, which is not below it"),
    ("import matplotlib.pyplot as plt\n", "core.a:1 imports matplotlib.pyplot: the core draws nothing"),
    ("from ipywidgets import IntSlider\n", "core.a:1 imports ipywidgets: the core draws nothing"),
    ("from .lessons import plot\n", "core.a:1 imports lessons.plot: the core draws nothing"),
    ("from colorlib.lessons.plot import f\n", "core.a:1 imports lessons.plot: the core draws nothing"),
    ("def f():\n    from .c import y\n", "core.a:2 imports core.c inside a function"),
])
def test_the_checker_finds_each_fault_in_a_made_up_package(source, fault):
    """Rank c < a < b; give ``a`` one faulty line; the checker names exactly that fault."""
    sources = {"core.a": source, "core.b": "from .a import x\n", "core.c": "", "lessons.plot": "from ..b import x\n"}
    found = faults(sources, ("c", "a", "b"), ("plot",))
    assert len(found) == 1 and found[0].startswith(fault), found


def test_the_checker_finds_a_cycle_between_lessons_and_an_unranked_module():
    sources = {"lessons.p": "from .q import x\n", "lessons.q": "from .p import y\n", "core.new": ""}
    assert faults(sources, (), ("p", "q")) == [
        "core.new: not ranked (add it to CORE or LESSONS, and README's module map)",
        "lessons.p:1 imports lessons.q, which is not below it",
    ]


def _listed_in_readme() -> list[str]:
    block = README.read_text(encoding="utf-8").split("<!-- module map -->")[1].split("```")[1]
    return re.findall(r"^ {2}(\w+) {2,}", block, flags=re.M)


def _listed_in_package_docstring() -> list[str]:
    import colorlib

    return re.findall(r":mod:`~colorlib\.(?:lessons\.)?(\w+)`", colorlib.__doc__)


def test_readme_and_the_package_docstring_list_the_modules_in_rank_order():
    assert _listed_in_readme() == [*CORE, *LESSONS]
    assert _listed_in_package_docstring() == [*CORE, *LESSONS]


def test_library_modules_neither_print_nor_parse_arguments():
    offenders = []
    for name, source in package_sources().items():
        if name == "core.cli":
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{name}:{node.lineno} prints")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                if "argparse" in names:
                    offenders.append(f"{name}:{node.lineno} imports argparse")
    assert not offenders, "\n".join(offenders)


def test_no_module_appends_to_its_all_and_none_is_too_long():
    """One ``__all__`` per module, written once; core modules at most 700 lines; functions at most 80."""
    problems = []
    for name, source in package_sources().items():
        tree = ast.parse(source)
        problems += [f"{name}:{node.lineno} appends to __all__" for node in tree.body
                     if isinstance(node, ast.AugAssign) and getattr(node.target, "id", "") == "__all__"]
        if name.startswith("core.") and len(source.splitlines()) > 700:
            problems.append(f"{name}: {len(source.splitlines())} lines (at most 700 in the core)")
        problems += [f"{name}:{node.lineno} {node.name} is {node.end_lineno - node.lineno + 1} lines (at most 80)"
                     for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and node.end_lineno - node.lineno + 1 > 80]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("statement", ["import colorlib", "import colorlib.cli"])
def test_importing_the_package_or_the_command_loads_no_torch(statement):
    code = f"{statement}; import sys; print('torch' in sys.modules, 'numpy' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_the_core_at_work_loads_neither_matplotlib_nor_ipywidgets():
    code = ("import colorlib.inference, colorlib.train, colorlib.evaluate, colorlib.cli, colorlib.runs, sys; "
            "print([m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'ipywidgets')])")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_colorize_is_the_function():
    import colorlib
    from colorlib.inference import colorize

    assert colorlib.colorize is colorize and callable(colorize) and colorize.__module__ == "colorlib.inference"
