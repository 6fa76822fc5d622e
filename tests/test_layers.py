"""The layers of DESIGN 2 hold: no import cycle between any two modules, the core imports nothing of the packages
above it (nor torch or ray), analysis neither torch nor ray nor the reproduction built on it, and Ray only under
explorer/tune."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("explorer_core", "explorer", "search_spaces", "analysis", "reproduction")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module an import statement of the file names, at any depth (function-level imports count too)."""
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join([*base, *([node.module] if node.module else [])])
            out.add(stem)
            out.update(f"{stem}.{a.name}" for a in node.names)  # `from pkg import module`
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    return {m: {i for i in _imports(p) if i in files and i != m} for m, p in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    assert len(graph) > 80
    assert _cycles(graph) == []


@pytest.mark.parametrize("package, forbidden", [
    ("explorer_core", ("explorer", "search_spaces", "analysis", "reproduction", "torch", "ray", "optuna")),
    ("analysis", ("explorer", "reproduction", "torch", "ray", "optuna")),
    ("search_spaces", ("explorer", "analysis", "reproduction", "torch", "ray")),
    ("reproduction", ("explorer", "torch", "ray")),
])
def test_a_layer_imports_nothing_above_it(package: str, forbidden: tuple[str, ...]) -> None:
    bad = [(_module(p), i) for p in (ROOT / package).rglob("*.py") for i in _imports(p)
           if i.split(".")[0] in forbidden and not i.startswith("explorer_core")]
    assert bad == []


def test_ray_is_imported_only_under_explorer_tune() -> None:
    bad = [_module(p) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
           if any(i.split(".")[0] == "ray" for i in _imports(p)) and not _module(p).startswith("explorer.tune")]
    assert bad == []


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module's code, docstrings and bare string statements left out (prose)."""
    tree = ast.parse(path.read_text(), str(path))
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
             and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose]


def _builtin_names_in(path: Path, names: list[str]) -> list[str]:
    """Where code names a built-in mechanism: the name itself, one of its keys (``wm.acc``), or it in a tuple
    (``dp+wm``)."""
    pattern = re.compile(r"(^|[^\w.])(%s)(\.\w|\+|$)|\+(%s)\b" % ("|".join(names), "|".join(names)))
    return [f"{_module(path)}:{line}: {text[:60]!r}" for line, text in _code_strings(path) if pattern.search(text)]


def test_the_pattern_finds_builtin_names_in_code_only() -> None:
    import textwrap

    names = ["dp", "wm"]
    sample = ROOT / "tests" / "_layers_sample.py"
    try:
        sample.write_text(textwrap.dedent('''
            """A docstring may say dp.target_epsilon."""
            A = "dp"
            B = "wm.acc"
            C = "adv+dp"
            D = "eval.adv_samples"
            E = "a dpi setting"
        '''))
        assert [hit.split(": ", 1)[1] for hit in _builtin_names_in(sample, names)] == ["'dp'", "'wm.acc'", "'adv+dp'"]
    finally:
        sample.unlink()


def test_no_builtin_mechanism_is_named_outside_its_folder_and_the_reproduction() -> None:
    """explorer, analysis and the core learn every mechanism from the registry; only explorer/mechanisms/<name>/
    (and the paper's reproduction, which is about these five) may name one."""
    from explorer_core import registry

    names = [n for n, s in registry.specs().items() if s.source == "built-in"]
    assert names == ["adv", "di", "dp", "rad", "wm"]
    hits = [hit for pkg in ("explorer_core", "explorer", "analysis") for p in sorted((ROOT / pkg).rglob("*.py"))
            if p.relative_to(ROOT).parts[:2] != ("explorer", "mechanisms") for hit in _builtin_names_in(p, names)]
    assert hits == []
