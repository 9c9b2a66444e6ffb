"""What each chapter depends on, as a key: equal keys mean the executed notebook can be reused.

A stale result served from cache is the worst bug this product can have, so a key
covers everything an executed chapter can depend on, and errs on the side of
re-executing:

- the chapter's template file and the values of the parameters it declares, with the
  data file standing for ``data_path`` by its SHA-256 and the loading options, and the
  build records (``provenance_path``, ``changes_path``) by their content;
- the source of every ``livingpaper`` module the chapter imports, directly or through
  other modules (read from the code, not guessed);
- every file under ``data/`` (published figures, evidence tables, the paper's text that
  chapters read through the library), the citation metadata and the bibliographies;
- the Python version and the version of every installed package.

The execution order, timing metadata and machine paths are not part of a key: papermill
writes timing into cells, which is why Jupyter's own cache never hits for papermill
notebooks (DESIGN.md, known pitfalls).
"""
from __future__ import annotations

import ast
import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from . import paths, provenance

PACKAGE = "livingpaper"
LIB_DIR = Path(__file__).resolve().parent


def digest(value: Any) -> str:
    """SHA-256 of bytes, or of a JSON-serialisable value (canonical: sorted keys)."""
    data = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (a cohort file may be large)."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def read_template(template: Path):
    """A chapter template as jupytext parses it, parsed once per content: the cache keys, the
    kernel server's imports and the prepared notebooks all read the same templates. The
    notebook is shared: callers that change it work on a copy."""
    return _parsed_template(*_signature([template])[0])


@lru_cache(maxsize=64)
def _parsed_template(path: str, mtime_ns: int, size: int):
    import jupytext  # not needed by a rebuild with nothing changed, which must start fast

    return jupytext.read(path)


def _imported_modules(tree: ast.AST, package: str = PACKAGE, current: str | None = None) -> set[str]:
    """Names of ``package`` modules a piece of code imports (``a`` for livingpaper.a)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == package:
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.split(".")[0] != package:
                continue
            if node.level > 0 and current is None:
                continue
            inner = module.split(".")[1:] if node.level == 0 else [p for p in module.split(".") if p]
            if inner:
                found.add(inner[0])
            else:  # "from livingpaper import a, b" / "from . import a, b"
                found.update(alias.name for alias in node.names)
    return found


def _signature(files: Iterable[Path]) -> tuple:
    """What identifies the current content of files without reading them (for memoising)."""
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


@lru_cache(maxsize=8)
def _import_graph(signature: tuple) -> dict[str, set[str]]:
    graph = {}
    for name, _, _ in signature:
        source = Path(name)
        graph[source.stem] = _imported_modules(ast.parse(source.read_text(encoding="utf-8")), current=source.stem)
    return graph


def _module_imports(lib_dir: Path) -> dict[str, set[str]]:
    """Which library modules each library module imports (parsed once per content)."""
    return _import_graph(_signature(sorted(lib_dir.glob("*.py"))))


def library_closure(direct: Iterable[str], lib_dir: Path = LIB_DIR) -> list[str]:
    """The modules reached from ``direct`` through imports, ``__init__`` always included."""
    graph = _module_imports(lib_dir)
    todo, seen = list(direct) + ["__init__"], set()
    while todo:
        module = todo.pop()
        if module in seen or module not in graph:
            continue
        seen.add(module)
        todo.extend(graph[module])
    return sorted(seen)


def chapter_modules(template: Path) -> list[str]:
    """Library modules a chapter template uses (its code cells, then their imports)."""
    return _chapter_modules(_signature([template]), _signature(sorted(LIB_DIR.glob("*.py"))))


@lru_cache(maxsize=64)
def _chapter_modules(template_signature: tuple, lib_signature: tuple) -> list[str]:
    template = Path(template_signature[0][0])
    nb = read_template(template)
    direct: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            try:
                direct |= _imported_modules(ast.parse(cell.source))
            except SyntaxError:  # IPython magics: be conservative, depend on everything
                return library_closure(p.stem for p in LIB_DIR.glob("*.py"))
    return library_closure(direct)


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
    modules = chapter_modules(template)
    return digest({
        "template": digest(template.read_bytes()),
        "substitutions": substitutions,
        "parameters": parameters,
        "library": {m: digest((LIB_DIR / f"{m}.py").read_bytes()) for m in modules},
        "shared_inputs": shared,
        "environment": environment,
    })
