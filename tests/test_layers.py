"""The package's layers (docs/architecture.md): no import circle, and no import upward.

The import graph is read from the source with :mod:`ast` (every ``import`` and ``from ...
import``, also inside functions), not by importing: an import made only at run time would
hide a circle from a test that imports.
"""

import ast
import functools
import os

import pytest

import brainlearn

PACKAGE = os.path.dirname(os.path.abspath(brainlearn.__file__))


def _modules() -> dict:
    """``{dotted module name: source path}`` of the package."""
    out = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                out[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return out


@functools.lru_cache(maxsize=1)
def _graph() -> dict:
    """``{module: set of package modules it imports}``."""
    modules = _modules()

    def known(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for module, path in modules.items():
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        targets = set()
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                names = [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                target = known(name)
                if target and target != module and target.startswith("brainlearn"):
                    targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph) -> list:
    """The strongly connected components of two or more modules (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_finds_a_circle_and_relative_imports():
    """The reader itself: a made-up circle is found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    graph = _graph()
    assert "brainlearn.network.core" in graph["brainlearn.network"]  # from .core import ...
    assert "brainlearn.rules" in graph["brainlearn.network.core"]    # from .. import rules


def test_the_package_has_no_import_circle():
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("layer,above", [
    ("brainlearn.rules", ("engine", "network", "datasets", "studies", "memory", "cli")),
    ("brainlearn.network", ("engine", "studies", "memory", "cli")),
    ("brainlearn.engine", ("studies", "cli", "report")),
    ("brainlearn.studies", ("cli",)),
])
def test_no_module_imports_a_layer_above_its_own(layer, above):
    upward = {f"brainlearn.{name}" for name in above}
    bad = sorted((module, target) for module, targets in _graph().items()
                 if module == layer or module.startswith(layer + ".")
                 for target in targets
                 if any(target == u or target.startswith(u + ".") for u in upward))
    assert bad == [], f"{layer} imports from above: {bad}"
