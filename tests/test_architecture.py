"""The library's layers, read from its code: the subpackages exist, no module imports a
layer above its own, nothing but the build and the command line imports the build, and
no import cycle exists.

The import graph is read here with :mod:`ast`, independently of the build cache's own
reading of it (livingpaper.build.cache), so that a mistake in one is not hidden by the other.

    ground  <-  inputs  <-  stats  <-  results, reconstruction  <-  present  <-  chapters
                                       build  <-  cli    (build imports results, inputs, ground)
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from livingpaper import paths

PACKAGE = paths.LIB_DIR
GROUND = {"__init__", "paths", "errors", "parameters", "domain", "formatting", "hashing", "escaping"}
RANK = {"ground": 0, "inputs": 1, "stats": 2, "results": 3, "reconstruction": 3, "present": 4}


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by its dotted name (``stats.paired``; ``__init__``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] or ["__init__"]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules imported by one module (absolute and relative imports, at any depth
    of the code: an import inside a function counts as much as one at the top)."""
    package = name.split(".") if path.name == "__init__.py" and name != "__init__" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("livingpaper."):
                    found.add(alias.name.split(".", 1)[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] + ([node.module] if node.module else [])
                module = ".".join(p for p in base if p)
            elif node.module and node.module.split(".")[0] == "livingpaper":
                module = node.module.partition(".")[2]
            else:
                continue
            for alias in node.names:
                candidate = f"{module}.{alias.name}" if module else alias.name
                found.add(candidate if candidate in known else module or "__init__")
    return {m for m in found if m in known} - {name}


def layer(name: str) -> str:
    if name in GROUND:
        return "ground"
    return name.split(".")[0]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_the_layers_are_subpackages_beside_the_ground_modules(graph):
    for package in ("inputs", "stats", "results", "present", "build"):
        assert (PACKAGE / package / "__init__.py").is_file(), package
        assert any(name.startswith(f"{package}.") for name in graph), package
    flat = {name for name in graph if "." not in name and name not in ("inputs", "stats", "results", "present", "build")}
    assert flat == GROUND | {"reconstruction", "cli", "__main__"}


def test_no_module_imports_a_layer_above_its_own(graph):
    upward = []
    for name, deps in graph.items():
        here = layer(name)
        if here in ("build", "cli", "__main__"):
            continue
        upward += [f"{name} -> {dep}" for dep in deps
                   if layer(dep) in ("build", "cli", "__main__") or RANK[layer(dep)] > RANK[here]]
    assert upward == []


def test_the_build_imports_only_results_inputs_and_the_ground(graph):
    allowed = {"ground", "inputs", "results", "build"}
    assert [f"{n} -> {d}" for n, deps in graph.items() if layer(n) == "build"
            for d in deps if layer(d) not in allowed] == []


def test_nothing_but_the_command_line_imports_the_build(graph):
    assert sorted(n for n, deps in graph.items() if layer(n) not in ("build", "cli", "__main__")
                  and any(layer(d) == "build" for d in deps)) == []


def test_the_package_has_no_import_cycle(graph):
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append(trail[trail.index(dep):] + [dep] if dep in trail else [name, dep])
            elif dep not in state:
                visit(dep, trail + [dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_reading_of_imports_finds_an_upward_import_relative_or_absolute(tmp_path):
    # The checks above would pass on a graph read wrongly as empty: show the reader at work.
    fake = tmp_path / "livingpaper"
    for module, source in {"__init__.py": "", "stats/__init__.py": "", "present/__init__.py": "",
                           "stats/paired.py": "from ..present import figures\n",
                           "stats/rtm.py": "def f():\n    from livingpaper.present.figures import plot\n",
                           "present/figures.py": ""}.items():
        (fake / module).parent.mkdir(parents=True, exist_ok=True)
        (fake / module).write_text(source)
    found = modules(fake)
    assert imports("stats.paired", found["stats.paired"], set(found)) == {"present.figures"}
    assert imports("stats.rtm", found["stats.rtm"], set(found)) == {"present.figures"}
