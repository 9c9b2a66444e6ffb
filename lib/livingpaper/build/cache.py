"""What each chapter depends on, as a key: equal keys mean the executed notebook can be reused.

A stale result served from cache is the worst bug this product can have, so a key
covers everything an executed chapter can depend on, and errs on the side of
re-executing:

- the chapter's template file and the values of the parameters it declares, with the
  data file standing for ``data_path`` by its SHA-256 and the loading options, and the
  build records (``provenance_path``, ``changes_path``) by their content;
- the source of every ``livingpaper`` module the chapter imports, directly or through
  other modules, in subpackages too (dotted names such as ``stats.paired``; importing a
  module runs its packages' ``__init__`` too; all read from the code, not guessed);
- every file under ``data/`` (published figures, evidence tables, the paper's text that
  chapters read through the library), the citation metadata and the bibliographies;
- the Python version and the version of every installed package.

The execution order, timing metadata and machine paths are not part of a key: papermill
writes timing into cells, which is why Jupyter's own cache never hits for papermill
notebooks (DESIGN.md, known pitfalls).

Before any of that, :func:`book_key` hashes every input of the whole book without parsing
any of it: equal to the key of the book in OUT, nothing changed and the build stops there.
"""
from __future__ import annotations

import ast
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from livingpaper import paths
from livingpaper.build import book, provenance
from livingpaper.hashing import digest

PACKAGE = "livingpaper"
LIB_DIR = paths.LIB_DIR


def read_template(template: Path):
    """A chapter template as jupytext parses it, parsed once per content: the cache keys, the
    kernel server's imports and the prepared notebooks all read the same templates. The
    notebook is shared: callers that change it work on a copy."""
    return _parsed_template(*_signature([template])[0])


@lru_cache(maxsize=64)
def _parsed_template(path: str, mtime_ns: int, size: int):
    import jupytext  # not needed by a rebuild with nothing changed, which must start fast

    return jupytext.read(path)


def code_cells(template: Path) -> tuple[ast.AST | None, ...]:
    """The code cells of a chapter template, parsed once per content (None for a cell that
    is not Python, such as an IPython magic): the cache keys and the kernel server's
    imports both read them."""
    return _code_cells(_signature([template])[0])


@lru_cache(maxsize=64)
def _code_cells(template_signature: tuple) -> tuple[ast.AST | None, ...]:
    trees: list[ast.AST | None] = []
    for cell in _parsed_template(*template_signature).cells:
        if cell.cell_type == "code":
            try:
                trees.append(ast.parse(cell.source))
            except SyntaxError:
                trees.append(None)
    return tuple(trees)


def module_files(lib_dir: Path | None = None) -> dict[str, Path]:
    """Every module of the package by its dotted name inside it: ``cli``, ``stats.paired``;
    a subpackage by its own name (``stats`` for ``stats/__init__.py``), the package itself
    as ``__init__``."""
    lib_dir = lib_dir or LIB_DIR
    found = {}
    for path in sorted(lib_dir.rglob("*.py")):
        parts = path.relative_to(lib_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts) or "__init__"] = path
    return found


def _with_parents(module: str) -> set[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _imported_modules(tree: ast.AST, package: str = PACKAGE, current: str | None = None,
                      is_package: bool = False, known: frozenset[str] = frozenset()) -> set[str]:
    """Dotted names of ``package`` modules a piece of code imports (``stats.paired`` for
    ``livingpaper.stats.paired``), parent packages included. ``current`` is the module the
    code belongs to (None: a chapter's code, where relative imports mean nothing);
    ``known`` the package's modules, to tell ``from x import module`` from
    ``from x import name``."""
    found: set[str] = set()
    here = [] if current in (None, "__init__") else current.split(".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package:
                    found |= _with_parents(".".join(parts[1:])) if len(parts) > 1 else {"__init__"}
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            parts = (node.module or "").split(".")
            if parts[0] != package:
                continue
            base = parts[1:]
        else:
            if current is None:
                continue
            # The package a relative import starts from: the module's own package, up level - 1.
            origin = here if is_package else here[:-1]
            base = origin[:len(origin) - (node.level - 1)] + [p for p in (node.module or "").split(".") if p]
        name = ".".join(base)
        if name:
            found |= _with_parents(name)
        for alias in node.names:  # "from livingpaper.stats import paired": a module, or a name in one
            candidate = f"{name}.{alias.name}" if name else alias.name
            if candidate in known:
                found |= _with_parents(candidate)
    return found


def _signature(files: Iterable[Path]) -> tuple:
    """What identifies the current content of files without reading them (for memoising)."""
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


@lru_cache(maxsize=8)
def _import_graph(lib_dir: str, signature: tuple) -> dict[str, set[str]]:
    modules = module_files(Path(lib_dir))
    known = frozenset(modules)
    return {name: _imported_modules(ast.parse(path.read_text(encoding="utf-8")), current=name,
                                    is_package=path.name == "__init__.py", known=known) - {name}
            for name, path in modules.items()}


def _module_imports(lib_dir: Path) -> dict[str, set[str]]:
    """Which library modules each library module imports (parsed once per content)."""
    return _import_graph(str(lib_dir), _signature(module_files(lib_dir).values()))


def library_closure(direct: Iterable[str], lib_dir: Path | None = None) -> list[str]:
    """The modules reached from ``direct`` through imports, ``__init__`` always included."""
    graph = _module_imports(lib_dir or LIB_DIR)
    todo, seen = [m for d in direct for m in _with_parents(d)] + ["__init__"], set()
    while todo:
        module = todo.pop()
        if module in seen or module not in graph:
            continue
        seen.add(module)
        todo.extend(graph[module])
    return sorted(seen)


def chapter_modules(template: Path) -> list[str]:
    """Library modules a chapter template uses (its code cells, then their imports)."""
    return _chapter_modules(_signature([template]), _signature(module_files().values()))


@lru_cache(maxsize=64)
def _chapter_modules(template_signature: tuple, lib_signature: tuple) -> list[str]:
    known = frozenset(module_files())
    direct: set[str] = set()
    for tree in _code_cells(template_signature[0]):
        if tree is None:  # IPython magics: be conservative, depend on everything
            return library_closure(known, LIB_DIR)
        direct |= _imported_modules(tree, known=known)
    return library_closure(direct, LIB_DIR)


def declared_parameters(template: Path) -> tuple[str, ...]:
    """Parameters a chapter template declares (its cell tagged ``parameters``)."""
    return _declared_parameters(_signature([template]))


@lru_cache(maxsize=64)
def _declared_parameters(template_signature: tuple) -> tuple[str, ...]:
    for cell in read_template(Path(template_signature[0][0])).cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return tuple(line.split("=", 1)[0].strip() for line in cell.source.splitlines()
                         if "=" in line and not line.lstrip().startswith("#"))
    return ()


def _files_digest(files: Iterable[Path]) -> str:
    return digest({str(f.relative_to(paths.ROOT)): digest(f.read_bytes()) for f in sorted(files) if f.is_file()})


@lru_cache(maxsize=1)
def environment_digest() -> str:
    """Python and every installed package: an upgrade re-executes everything."""
    return digest({"python": sys.version, "packages": provenance.package_versions()})


def shared_inputs_digest() -> str:
    """Files that chapters may read through the library whatever their parameters."""
    files = ([p for p in paths.DATA_DIR.rglob("*") if p.is_file()] + [paths.CITATION]
             + sorted(paths.ROOT.glob("*.bib")))
    return _files_digest(files)


def chapter_key(template: Path, substitutions: dict[str, str], parameters: dict[str, Any],
                shared: str, environment: str) -> str:
    """The key of one executed chapter: its template, the parameter values it receives, the
    library modules it uses, the shared input files and the environment."""
    modules, files = chapter_modules(template), module_files()
    return digest({
        "template": digest(template.read_bytes()),
        "substitutions": substitutions,
        "parameters": parameters,
        "library": {m: digest(files[m].read_bytes()) for m in modules},
        "shared_inputs": shared,
        "environment": environment,
    })


def chapter_keys(parameters: dict[str, Any], identities: dict[str, Any]) -> dict[str, str]:
    """The key of every executed chapter, given the parameters of the build (``parameters``:
    what every chapter is given, before its own). ``identities`` replaces parameter values
    that are machine paths by what they stand for (the data file's hash, a record's content)."""
    shared, environment = shared_inputs_digest(), environment_digest()
    keys = {}
    for chapter in book.CHAPTERS:
        if not chapter.execute:
            continue
        template = paths.CHAPTERS_DIR / chapter.template
        wanted = {**parameters, **chapter.parameters}
        values = {k: identities.get(k, wanted[k]) for k in declared_parameters(template) if k in wanted}
        keys[chapter.name] = chapter_key(template, {"title": chapter.title, "name": chapter.name}, values,
                                         shared, environment)
    return keys


def book_key(data_identity: dict[str, Any], stable_parameters: dict[str, Any], pdf: bool) -> str:
    """Everything any chapter or the rendering can depend on, hashed without parsing any
    of it: every template, every library module, the data and parameters, the shared
    inputs, the environment and the book's files. Equal keys mean nothing changed; any
    difference re-checks chapter by chapter (:func:`chapter_keys`, exact but slower)."""
    folders = {"chapters": (paths.CHAPTERS_DIR, paths.CHAPTERS_DIR.rglob("*.md")),
               "lib": (LIB_DIR, module_files().values()), "book": (paths.ROOT, book.files())}
    return digest({
        "files": {f"{name}/{f.relative_to(top)}": digest(f.read_bytes())
                  for name, (top, files) in folders.items() for f in sorted(files) if f.is_file()},
        "data": data_identity, "parameters": stable_parameters, "pdf": pdf,
        "shared_inputs": shared_inputs_digest(), "environment": environment_digest(),
    })
