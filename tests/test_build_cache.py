"""Invalidation rules of the chapter cache (livingpaper.build.cache): a stale result must
never be served.

Unit tests of the keys, then rebuilds of a real book in which one input changes at a
time, checking which chapters were executed again (build.json of the book).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from livingpaper import parameters as analysis
from livingpaper import paths
from livingpaper.build import book, cache, pipeline

# --------------------------------------------------------------------------- keys


def write_package(root: Path, modules: dict[str, str]) -> Path:
    """A package from {"module": source}; "sub/__init__" and "sub/mod" make a subpackage."""
    for name, source in modules.items():
        path = root / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def test_library_closure_follows_imports_through_modules(tmp_path):
    lib = write_package(tmp_path / "lib", {
        "__init__": "",
        "a": "from . import b\n",
        "b": "from .c import thing\n",
        "c": "thing = 1\n",
        "d": "import livingpaper.a\n",
        "e": "from livingpaper import d\n",
    })
    assert cache.library_closure(["a"], lib) == ["__init__", "a", "b", "c"]
    assert cache.library_closure(["e"], lib) == ["__init__", "a", "b", "c", "d", "e"]
    assert cache.library_closure([], lib) == ["__init__"]


def test_library_closure_follows_imports_into_and_out_of_subpackages(tmp_path):
    lib = write_package(tmp_path / "lib", {
        "__init__": "",
        "ground": "x = 1\n",
        "stats/__init__": "",
        "stats/result": "from .. import ground\n",
        "stats/paired": "from .result import T\n",
        "stats/unused": "y = 2\n",
        "present/__init__": "from .markdown import escape\n",
        "present/markdown": "z = 3\n",
        "present/paired": "from ..stats import paired\nfrom . import markdown\n",
        "results/__init__": "",
        "results/document": "import livingpaper.stats.paired\nfrom livingpaper.stats.result import T\n",
    })
    assert cache.library_closure(["stats.paired"], lib) == [
        "__init__", "ground", "stats", "stats.paired", "stats.result"]
    # A subpackage's __init__ runs whenever one of its modules is imported, and its imports count.
    assert cache.library_closure(["present.paired"], lib) == [
        "__init__", "ground", "present", "present.markdown", "present.paired", "stats", "stats.paired",
        "stats.result"]
    assert "stats.unused" not in cache.library_closure(["results.document"], lib)
    assert "stats.paired" in cache.library_closure(["results.document"], lib)


def test_chapter_code_importing_from_a_subpackage_depends_on_the_module_it_names(tmp_path):
    import ast

    known = frozenset({"stats", "stats.paired", "stats.result", "present", "present.markdown"})
    code = "from livingpaper.stats import paired\nfrom livingpaper.present.markdown import table\nimport livingpaper"
    assert cache._imported_modules(ast.parse(code), known=known) == {
        "stats", "stats.paired", "present", "present.markdown", "__init__"}


def test_chapter_modules_are_read_from_the_template_code():
    paired = cache.chapter_modules(paths.CHAPTERS_DIR / "templates" / "paired.md")
    methods = cache.chapter_modules(paths.CHAPTERS_DIR / "methods.md")
    assert {"results.document", "stats.paired", "present.figures", "inputs.cohort", "inputs.published",
            "present.paired", "present", "stats", "results"} <= set(paired)  # packages' __init__ too
    assert "present.paired" in methods and "stats.paired" in methods  # present.paired imports stats.paired
    assert "present.figures" not in methods and not any(m.startswith("build") for m in methods)


def key_for(template: Path, **overrides) -> str:
    args = {"substitutions": {"title": "T", "name": "n"}, "parameters": {"severe_above": 8.0},
            "shared": "s", "environment": "e"}
    args.update(overrides)
    return cache.chapter_key(template, **args)


def test_chapter_key_changes_with_each_input(tmp_path):
    template = tmp_path / "page.md"
    shutil.copy(paths.CHAPTERS_DIR / "methods.md", template)
    base = key_for(template)
    assert key_for(template) == base  # deterministic
    assert key_for(template, parameters={"severe_above": 8.5}) != base
    assert key_for(template, substitutions={"title": "Other", "name": "n"}) != base
    assert key_for(template, shared="s2") != base
    assert key_for(template, environment="e2") != base
    template.write_text(template.read_text() + "\nOne more sentence.\n")
    assert key_for(template) != base


def test_chapter_key_changes_when_an_imported_module_changes_and_only_then(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    shutil.copytree(cache.LIB_DIR, lib, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "LIB_DIR", lib)
    paired = paths.CHAPTERS_DIR / "templates" / "paired.md"
    methods = paths.CHAPTERS_DIR / "methods.md"
    before = key_for(paired), key_for(methods)
    figures = lib / "present" / "figures.py"
    figures.write_text(figures.read_text() + "\n# a change\n")
    after = key_for(paired), key_for(methods)
    assert after[0] != before[0]  # the results template draws figures
    assert after[1] == before[1]  # the methods page does not import figures


def test_the_book_key_changes_with_every_input_of_the_no_change_shortcut(tmp_path, monkeypatch):
    # The shortcut that skips a build must see any change: templates, library, data,
    # parameters, the book's own files.
    identity, common = {"sha256": "a" * 64, "hba1c_unit": "ngsp"}, {"data_name": "d.csv", "severe_above": 8.0}
    base = cache.book_key(identity, common, pdf=False)
    assert cache.book_key(identity, common, pdf=False) == base
    assert cache.book_key({**identity, "sha256": "b" * 64}, common, pdf=False) != base
    assert cache.book_key(identity, {**common, "severe_above": 8.5}, pdf=False) != base
    assert cache.book_key(identity, common, pdf=True) != base
    for folder, attribute, owner, edit in ((paths.CHAPTERS_DIR, "CHAPTERS_DIR", paths, "methods.md"),
                                           (cache.LIB_DIR, "LIB_DIR", cache, "present/paired.py")):
        copy = tmp_path / attribute
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setattr(owner, attribute, copy)
        assert cache.book_key(identity, common, pdf=False) == base  # same content, same key
        (copy / edit).write_text((copy / edit).read_text() + "\n# one line more\n")
        assert cache.book_key(identity, common, pdf=False) != base, edit
        monkeypatch.undo()


# --------------------------------------------------------------------------- rebuilds



def declared(chapter: book.Chapter) -> tuple[str, ...]:
    """The parameters a chapter's template declares."""
    return cache.declared_parameters(paths.CHAPTERS_DIR / chapter.template)


def executed(out: Path) -> set[str]:
    return set(json.loads((out / "build.json").read_text())["executed"])


ALL = {c.name for c in book.CHAPTERS if c.execute}
# Chapters that show this build's records (provenance, changes) depend on something new in
# every build, so every rebuild executes them.
RECORDS = {c.name for c in book.CHAPTERS if c.execute and
           {"provenance_path", "changes_path"} & set(declared(c))}


@pytest.fixture(scope="module")
def first_build(tmp_path_factory, book_csv):
    out = tmp_path_factory.mktemp("cache") / "book"
    pipeline.build(book_csv, out, log=lambda _: None)
    return book_csv, out


@pytest.mark.slow
def test_first_build_executes_every_chapter(first_build):
    _, out = first_build
    assert executed(out) == ALL
    assert {"changes", "reproducibility", "cite"} <= RECORDS


@pytest.mark.slow
def test_rebuild_after_no_change_leaves_the_book_as_it_is(first_build):
    data, out = first_build
    stamp = (out / "results.json").stat().st_mtime_ns
    lines: list[str] = []
    pipeline.build(data, out, log=lines.append)
    assert (out / "results.json").stat().st_mtime_ns == stamp
    assert any("Nothing changed" in line for line in lines)


@pytest.mark.slow
def test_rebuild_after_no_change_imports_none_of_the_heavy_libraries(first_build):
    # It must stay a fraction of a second: hashing the inputs, no pandas, SciPy, papermill.
    data, out = first_build
    script = (f"import sys; from livingpaper import cli; code = cli.main(['build', '--data', {str(data)!r}, "
              f"'--out', {str(out)!r}]); heavy = ('pandas', 'scipy', 'matplotlib', 'papermill', 'jupytext', "
              f"'nbformat', 'jupyter_client', 'sphinx'); print(code, sorted(m for m in heavy if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "0 []", proc.stdout + proc.stderr
    assert "Nothing changed" in proc.stdout


@pytest.mark.slow
def test_changed_template_re_executes_that_chapter_and_the_build_records_only(first_build, tmp_path, monkeypatch):
    data, out = first_build
    chapters = tmp_path / "chapters"
    shutil.copytree(paths.CHAPTERS_DIR, chapters)
    methods = chapters / "methods.md"
    methods.write_text(methods.read_text() + "\nA sentence added to the methods.\n")
    monkeypatch.setattr(paths, "CHAPTERS_DIR", chapters)
    pipeline.build(data, out, log=lambda _: None)
    assert executed(out) == {"methods"} | RECORDS
    assert "A sentence added to the methods." in (out / "html" / "chapters" / "methods.html").read_text()


@pytest.mark.slow
def test_changed_parameter_re_executes_every_chapter_that_declares_it(first_build):
    data, out = first_build
    pipeline.build(data, out, analysis.Parameters(severe_above=9.0), log=lambda _: None)
    declaring = {c.name for c in book.CHAPTERS if c.execute and "severe_above" in declared(c)}
    assert declaring and declaring <= executed(out)
    results = json.loads((out / "results.json").read_text())
    assert results["sections"]["severe"]["n"] == 2  # 9.1 and 9.6: the new threshold was used


@pytest.mark.slow
def test_changed_data_re_executes_every_chapter_that_reads_data(first_build, tmp_path):
    data, out = first_build
    changed = tmp_path / "small.csv"  # same name, one value different
    changed.write_text(data.read_text().replace("A01,6.4,6.1", "A01,6.4,5.1"))
    pipeline.build(changed, out, analysis.Parameters(severe_above=9.0), log=lambda _: None)
    reading = {c.name for c in book.CHAPTERS if c.execute and "data_path" in declared(c)}
    assert reading and reading | RECORDS == executed(out)
    overall = json.loads((out / "results.json").read_text())["sections"]["overall"]
    assert overall["n"] == 7 and overall["mean_reduction"] == pytest.approx(
        sum(b - p for b, p in [(6.4, 5.1), (6.9, 6.5), (7.2, 6.4), (7.5, 7.3), (8.4, 7.9), (9.1, 7.2), (9.6, 8.9)]) / 7)


# --------------------------------------------------------------------------- one module of each subpackage edited
# What a chapter depends on is worked out here again, independently of the cache: the imports
# of its code cells and of every module, relative ones resolved by importlib, a package's
# __init__ counted with each of its modules, the closure walked over that graph.

SUBPACKAGES = ("inputs", "stats", "results", "present", "build")


def library_modules(lib: Path) -> dict[str, Path]:
    """The modules of a copy of the library by full dotted name (a package by its __init__)."""
    found = {}
    for path in lib.rglob("*.py"):
        parts = ("livingpaper", *path.relative_to(lib).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(source: str, package: str | None, modules: dict[str, Path]) -> set[str]:
    """Library modules a piece of code imports, and the packages they are in."""
    import ast
    import importlib.util

    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                    if node.level else node.module)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()
    return found


def dependent_chapters(lib: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """For each module of ``lib``, the executed chapters that import it, directly or not, and
    those whose code imports it itself."""
    import jupytext

    modules = library_modules(lib)
    graph = {name: imported(path.read_text(), name if path.name == "__init__.py" else name.rpartition(".")[0],
                            modules) for name, path in modules.items()}
    dependents: dict[str, set[str]] = {name: set() for name in modules}
    direct: dict[str, set[str]] = {name: set() for name in modules}
    for chapter in (c for c in book.CHAPTERS if c.execute):
        cells = [c.source for c in jupytext.read(paths.CHAPTERS_DIR / chapter.template).cells if c.cell_type == "code"]
        code = "\n".join(line for cell in cells for line in cell.splitlines()
                         if not line.lstrip().startswith(("%", "!")))  # IPython magics
        todo, reached = list(imported(code, None, modules)), set()
        for module in todo:
            direct[module].add(chapter.name)
        while todo:
            module = todo.pop()
            if module not in reached:
                reached.add(module)
                todo.extend(graph[module])
        for module in reached:
            dependents[module].add(chapter.name)
    return dependents, direct


def module_to_edit(subpackage: str, dependents: dict[str, set[str]], direct: dict[str, set[str]]) -> str:
    """A module inside the subpackage (not its __init__) that some chapter uses, with as few
    dependent chapters as there are (the rebuild stays short) and, of those, as many reaching
    it only through other modules as there are; build/: one that no chapter uses."""
    inside = sorted(m for m in dependents if m.startswith(f"livingpaper.{subpackage}."))
    if subpackage == "build":
        return next(m for m in inside if not dependents[m])
    used = [m for m in inside if dependents[m]]
    assert used, f"no chapter uses a module of {subpackage}/"
    return min(used, key=lambda m: (len(dependents[m]), -len(dependents[m] - direct[m])))


@pytest.fixture(scope="module")
def library_and_book(tmp_path_factory, book_csv):
    """A copy of the library the build reads for its keys, and a book built with it, which
    every case then edits and rebuilds in turn."""
    root = tmp_path_factory.mktemp("subpackages")
    lib = root / "livingpaper"
    shutil.copytree(cache.LIB_DIR, lib, ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "LIB_DIR", lib)
        pipeline.build(book_csv, root / "book", log=lambda _: None)
    return lib, root / "book", book_csv


@pytest.mark.slow
@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_editing_a_module_of_a_subpackage_re_executes_exactly_the_chapters_that_import_it(
        subpackage, library_and_book, monkeypatch):
    lib, out, data = library_and_book
    monkeypatch.setattr(cache, "LIB_DIR", lib)
    dependents, direct = dependent_chapters(lib)
    module = module_to_edit(subpackage, dependents, direct)
    path = library_modules(lib)[module]
    path.write_text(path.read_text() + f"\n# edited by a test of the cache ({subpackage})\n")
    lines: list[str] = []
    pipeline.build(data, out, log=lines.append)
    assert not any("Nothing changed" in line for line in lines), module
    assert executed(out) == dependents[module] | RECORDS, module
    assert bool(dependents[module]) == (subpackage != "build"), module
