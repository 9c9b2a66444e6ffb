"""The build: data file -> validated cohort -> executed chapters -> book in OUT.

Nothing is written to the source tree or to OUT until everything has succeeded:

1. load and validate the data (a :class:`~livingpaper.dataset.DataError` stops here);
2. compute ``results.json`` and ``provenance.json`` into a staging folder beside OUT;
3. turn each chapter (MyST Markdown) into a notebook and execute it with papermill,
   with this build's parameters;
4. build the HTML book from the executed notebooks with Jupyter Book (execution off,
   warnings are errors, so a broken page cannot ship);
5. swap the staging folder into OUT in one rename. A failure at any step leaves OUT as
   it was; the staging folder is kept as ``.<OUT>.failed`` for inspection.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jupytext
import nbformat
import papermill

from . import analysis, changes, dataset, paths, provenance

KERNEL_NAME = "livingpaper"


@dataclass(frozen=True)
class Chapter:
    """One page of the book: a MyST Markdown template executed with parameters."""

    name: str
    template: str  # relative to chapters/
    output: str  # relative to the book folder, without suffix
    title: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    execute: bool = True  # False: a plain Markdown page, copied as it is


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("intro", "intro.md", "chapters/intro"),
    Chapter("methods", "methods.md", "chapters/methods"),
    Chapter("overall", "templates/paired.md", "chapters/results/overall", "All patients", {"section": "overall"}),
    Chapter("moderate", "templates/paired.md", "chapters/results/moderate", "Moderate diabetes", {"section": "moderate"}),
    Chapter("severe", "templates/paired.md", "chapters/results/severe", "Severe diabetes", {"section": "severe"}),
    Chapter("dose", "templates/dose.md", "chapters/results/dose", "Dose subgroups"),
    Chapter("data", "data.md", "chapters/data"),
    Chapter("changes", "changes.md", "chapters/changes"),
    Chapter("reproducibility", "reproducibility.md", "chapters/reproducibility"),
    Chapter("references", "references.md", "chapters/references", execute=False),
)


class BuildError(RuntimeError):
    """A build failed; the message says where (chapter, cell) and why, in one line or a few."""


def is_reconstruction(cohort: dataset.Cohort) -> bool:
    """Is this file byte-identical to the committed reconstructed cohort?"""
    return paths.DEFAULT_COHORT.is_file() and cohort.sha256 == dataset.sha256_of(paths.DEFAULT_COHORT)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(paths.ROOT))
    except ValueError:
        return path.name


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def _install_kernel(jupyter_dir: Path) -> None:
    """A kernelspec that runs *this* Python, so chapters execute in the build's environment."""
    spec = jupyter_dir / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    _write_json(spec / "kernel.json", {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": "Python (livingpaper)",
        "language": "python",
        # The build must not write byte code into the source tree.
        "env": {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"},
    })


def _prepare(chapter: Chapter, book_dir: Path) -> Path:
    """Template -> unexecuted notebook in the book folder, with the page title filled in."""
    nb = jupytext.read(paths.CHAPTERS_DIR / chapter.template)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace("{{title}}", chapter.title).replace("{{name}}", chapter.name)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python (livingpaper)", "language": "python"}
    nb.metadata.pop("jupytext", None)
    target = book_dir / f"{chapter.output}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, target, fmt="ipynb")
    return target


def _execute(chapter: Chapter, notebook: Path, common: dict[str, Any]) -> None:
    declared = papermill.inspect_notebook(str(notebook))
    wanted = {**common, **chapter.parameters}
    params = {k: v for k, v in wanted.items() if k in declared}
    try:
        papermill.execute_notebook(
            str(notebook), str(notebook), parameters=params, kernel_name=KERNEL_NAME,
            cwd=str(notebook.parent), progress_bar=False, log_output=False, request_save_on_cell_execute=False,
        )
    except papermill.PapermillExecutionError as exc:
        raise BuildError(
            f"chapter '{chapter.name}' ({chapter.template}) failed in cell {exc.cell_index}: "
            f"{exc.ename}: {exc.evalue}"
        ) from None
    # The cell papermill injects holds this machine's paths: keep it in the notebook (it
    # records the parameters) but not on the page.
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, notebook)


def _sphinx(book_dir: Path, out_dir: Path) -> None:
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(book_dir), "--path-output", str(out_dir), "--builder", "html",
           "--warningiserror", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr).strip().splitlines()
        problems = [line for line in log if "WARNING" in line or "ERROR" in line] or log[-15:]
        raise BuildError("Jupyter Book failed:\n" + "\n".join(problems[:20]))


def _remove_stale_staging(out: Path) -> None:
    """Staging folders of builds that were killed (their process is gone) are removed."""
    for folder in out.parent.glob(f".{out.name}.staging-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, someone else's
            pass


def _previous_build(out: Path) -> dict[str, Any] | None:
    """results.json and the build record of the book currently in OUT, if there is one."""
    try:
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        record = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    when = {"built_at_utc": record.get("built_at_utc"), "data_file": record.get("data", {}).get("file"),
            "data_sha256": record.get("data", {}).get("sha256"), "commit": record.get("code", {}).get("commit")}
    return {"results": results, "when": when}


def _swap_into(staging: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _check_out(out: Path) -> None:
    """Refuse an OUT that is not a previous build (it may hold someone's work) or that lies
    inside the source folders."""
    if out.exists() and any(out.iterdir()) and not (out / "results.json").is_file():
        raise BuildError(f"{out} exists and is not a book built by livingpaper; choose another --out")
    resolved = out.resolve()
    for source in (paths.DATA_DIR, paths.CHAPTERS_DIR, paths.ROOT / "lib", paths.ROOT / "tests"):
        if resolved == source or source in resolved.parents:
            raise BuildError(f"--out {out} is inside the source tree ({source.name}/); choose another folder")


def build(data: str | Path, out: str | Path, params: analysis.Parameters | None = None,
          log: Callable[[str], None] = print, command: list[str] | None = None,
          hba1c_unit: str = "ngsp", allow_identifiers: bool = False) -> dict[str, Any]:
    """Build the whole book from ``data`` into ``out``; returns the results document.

    ``hba1c_unit`` and ``allow_identifiers`` are passed to :func:`livingpaper.dataset.load`.
    """
    params = params or analysis.Parameters()
    data, out = Path(data), Path(out).absolute()
    started = time.perf_counter()
    # DataError here: nothing has been written yet.
    cohort = dataset.load(data, hba1c_unit=hba1c_unit, allow_identifiers=allow_identifiers)
    for note in cohort.notes:
        log(f"{data.name}: {note}")
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out)
    staging = out.with_name(f".{out.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)  # a leftover of an earlier process with our pid
    book_dir, jb_dir = staging / "book", staging / "sphinx"
    book_dir.mkdir(parents=True)
    try:
        results = analysis.results(cohort, params, reconstructed=is_reconstruction(cohort))
        results["dataset"]["path"] = _display_path(data)
        _write_json(staging / "results.json", results)
        previous = _previous_build(out)
        changed = changes.compare(previous["results"] if previous else None, results)
        _write_json(staging / "changes.json", {
            "previous_build": previous["when"] if previous else None,
            "changes": [c.to_dict() for c in changed],
        })
        _write_json(staging / "provenance.json", provenance.record(
            results, command or sys.argv, {"hba1c_unit": hba1c_unit, "allow_identifiers": allow_identifiers}))
        # The chapters read the validated cohort, not the raw file: validated once, same for all.
        dataset.save(cohort, staging / "cohort")
        for name in ("_config.yml", "_toc.yml", "references.bib"):
            if (paths.ROOT / name).is_file():
                shutil.copy2(paths.ROOT / name, book_dir / name)
        _install_kernel(staging / "jupyter")
        os.environ["JUPYTER_PATH"] = str(staging / "jupyter")
        os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
        common = {
            "data_path": str(staging / "cohort"),
            "data_name": results["dataset"]["path"],
            "reconstructed": results["dataset"]["reconstructed"],
            "provenance_path": str(staging / "provenance.json"),
            "changes_path": str(staging / "changes.json"),
            **params.to_dict(),
        }
        executed = [c for c in CHAPTERS if c.execute]
        for chapter in CHAPTERS:
            if not chapter.execute:
                target = book_dir / f"{chapter.output}.md"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(paths.CHAPTERS_DIR / chapter.template, target)
        for i, chapter in enumerate(executed, 1):
            t0 = time.perf_counter()
            _execute(chapter, _prepare(chapter, book_dir), common)
            log(f"[{i}/{len(executed)}] {chapter.name:<16} executed in {time.perf_counter() - t0:5.1f} s")
        t0 = time.perf_counter()
        _sphinx(book_dir, jb_dir)
        log(f"[book] HTML built in {time.perf_counter() - t0:.1f} s")
        (jb_dir / "_build" / "html").rename(staging / "html")
        shutil.move(str(book_dir / "chapters"), str(staging / "notebooks"))
        shutil.rmtree(book_dir)
        shutil.rmtree(jb_dir)
        shutil.rmtree(staging / "jupyter")
        shutil.rmtree(staging / "cohort")
    except BaseException:
        failed = out.with_name(f".{out.name}.failed")
        shutil.rmtree(failed, ignore_errors=True)
        if staging.exists():
            staging.rename(failed)
        raise
    _swap_into(staging, out)
    if previous:
        for line in changes.summary(changed):
            log(line)
    log(f"Book written to {out / 'html' / 'index.html'} ({time.perf_counter() - started:.0f} s in all)")
    return results
