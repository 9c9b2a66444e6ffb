"""The build: data file -> validated cohort -> executed chapters -> book in OUT.

Nothing is written to the source tree or to OUT until everything has succeeded:

1. load and validate the data (a :class:`~livingpaper.errors.DataError` stops here);
2. compute ``results.json`` and ``provenance.json`` into a staging folder beside OUT;
3. turn each chapter (MyST Markdown) into a notebook and execute it with papermill, with
   this build's parameters, several at once, in kernels forked from a warm kernel server
   (:mod:`livingpaper.build.execute`, :mod:`livingpaper.build.kernels`);
4. render the HTML book from the executed notebooks with Jupyter Book (execution off,
   warnings are errors, so a broken page cannot ship; :mod:`livingpaper.build.render`);
5. swap the staging folder into OUT in one atomic exchange (:mod:`livingpaper.build.outfolder`:
   which folders may be replaced, and how). A failure at any step leaves OUT as it was;
   the staging folder is kept as ``.<OUT>.failed`` for inspection.

The data file is read once, in step 1: the book, ``results.json`` and the cache keys all
describe the bytes that were read, even if the file changes while the build runs.

A chapter whose inputs did not change since the book in OUT was built is not executed
again (:mod:`livingpaper.build.cache`); when no input at all changed, the build stops after
hashing them, before importing anything heavy, so that this module imports only the
standard library and the light modules at the top.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import json
import multiprocessing
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

from livingpaper import errors, hashing, paths
from livingpaper.build import cache, outfolder, processes, provenance
from livingpaper.build.book import CHAPTERS, Chapter
from livingpaper.errors import BuildError, DataError
from livingpaper.escaping import terminal, visible
from livingpaper.inputs import tables
from livingpaper.parameters import Parameters


def is_reconstruction(cohort) -> bool:
    """Is this file byte-identical to the committed reconstructed cohort?"""
    return paths.DEFAULT_COHORT.is_file() and cohort.sha256 == hashing.file_sha256(paths.DEFAULT_COHORT)


def _display_path(path: Path) -> str:
    """The data file as the book names it: relative to the checkout, else its name; bytes
    that are not UTF-8 (a name from another system) shown as U+FFFD, so that every record
    can be written as UTF-8."""
    try:
        shown = str(path.resolve().relative_to(paths.ROOT))
    except ValueError:
        shown = path.name
    return os.fsencode(shown).decode("utf-8", errors="replace")


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


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


def _after_failure(exc: BaseException, staging: Path, out: Path) -> None:
    """A failed or interrupted build's staging folder is kept as ``.OUT.failed`` for
    inspection, unless the disk is full (what filled it is not kept)."""
    if not outfolder.is_ours(staging):
        return
    if _no_space(exc):
        shutil.rmtree(staging, ignore_errors=True)
    else:
        outfolder.keep_failed(staging, out)


def _no_space(exc: BaseException) -> bool:
    """Did the build fail because the disk is full?"""
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "No space left on device" in str(exc)


def _book_files() -> list[Path]:
    """The files of the book besides its chapters: configuration, bibliography, styles,
    local Sphinx extensions."""
    root = paths.ROOT
    return sorted([root / "_config.yml", root / "_toc.yml", *root.glob("*.bib"),
                   *(p for p in (root / "_static").glob("*") if p.is_file()), *(root / "_ext").glob("*.py")])


MANIFEST = "build.json"


def _declared_parameters(chapter: Chapter) -> tuple[str, ...]:
    """Parameters a chapter's template declares (its cell tagged ``parameters``)."""
    return cache.declared_parameters(paths.CHAPTERS_DIR / chapter.template)


def _chapter_keys(common: dict[str, Any], identities: dict[str, Any], shared: str, env: str) -> dict[str, str]:
    """The cache key of every executed chapter. ``identities`` replaces parameter values that
    are machine paths by what they stand for (the data file's hash, a record's content)."""
    keys = {}
    for chapter in CHAPTERS:
        if not chapter.execute:
            continue
        wanted = {**common, **chapter.parameters}
        values = {k: identities.get(k, wanted[k]) for k in _declared_parameters(chapter) if k in wanted}
        keys[chapter.name] = cache.chapter_key(
            paths.CHAPTERS_DIR / chapter.template, {"title": chapter.title, "name": chapter.name}, values, shared, env)
    return keys


def _read_manifest(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for the kernels of one build, and restore them after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _book_key(data_identity: dict[str, Any], stable_common: dict[str, Any], pdf: bool) -> str:
    """Everything any chapter or the rendering can depend on, hashed without parsing any
    of it: every template, every library module, the data and parameters, the shared
    inputs, the environment and the book's files. Equal keys mean nothing changed; any
    difference re-checks chapter by chapter (:func:`_chapter_keys`, exact but slower)."""
    folders = {"chapters": (paths.CHAPTERS_DIR, paths.CHAPTERS_DIR.rglob("*.md")),
               "lib": (cache.LIB_DIR, cache.module_files().values()), "book": (paths.ROOT, _book_files())}
    return hashing.digest({
        "files": {f"{name}/{f.relative_to(top)}": hashing.digest(f.read_bytes())
                  for name, (top, files) in folders.items() for f in sorted(files) if f.is_file()},
        "data": data_identity, "parameters": stable_common, "pdf": pdf,
        "shared_inputs": cache.shared_inputs_digest(), "environment": cache.environment_digest(),
    })


def build(data: str | Path, out: str | Path, params: Parameters | None = None,
          log: Callable[[str], None] = print, command: list[str] | None = None,
          hba1c_unit: str = "ngsp", allow_identifiers: bool = False, jobs: int | None = None,
          force: bool = False, pdf: bool = False, fresh_kernels: bool = False) -> dict[str, Any]:
    """Build the whole book from ``data`` into ``out``; returns the results document.

    ``hba1c_unit`` and ``allow_identifiers`` are passed to :func:`livingpaper.inputs.cohort.load`;
    ``jobs`` chapters execute at once (default: :func:`livingpaper.build.execute.default_jobs`).
    A chapter whose inputs (:mod:`livingpaper.build.cache`) are those of the book already in
    ``out`` is not executed again; when nothing at all changed, the book in ``out`` is left
    as it is. ``force`` executes everything. Kernels are forked from a warm kernel server
    (:mod:`livingpaper.build.kernels`) unless ``fresh_kernels`` asks for a new process each.
    """
    params = params or Parameters()
    data, started = Path(data), time.perf_counter()
    try:
        tables.check_file(data)
    except errors.TableProblem as exc:
        raise DataError([f"{terminal(data.name)}: {exc}"]) from None
    out = outfolder.resolve_out(Path(out))
    outfolder.recover(out, log)
    outfolder.check(out, data)
    load_options = {"hba1c_unit": hba1c_unit, "allow_identifiers": allow_identifiers}
    # The file's name as the pages show it (a line break in it shows as \n, ...).
    stable_common = {"data_name": visible(_display_path(data)), **params.to_dict()}
    manifest = {} if force else _read_manifest(out)
    book_key = _book_key({"sha256": hashing.file_sha256(data), **load_options}, stable_common, pdf)
    if manifest.get("book_key") == book_key and (out / "html" / "index.html").is_file():
        log(f"Nothing changed since the book in {terminal(out)} was built (same data, code, parameters): "
            "left as it is.")
        return json.loads((out / "results.json").read_text(encoding="utf-8"))

    from livingpaper.build import (
        kernels,  # the heavy modules only now: a rebuild with nothing changed does not need them
    )

    staging = out.with_name(f".{out.name}.staging-{os.getpid()}")
    private = kernels.private_folder()  # the sockets of this build's kernels
    kernel_vars = {"JUPYTER_PATH": str(staging / "jupyter"), kernels.IPC_DIR_ENV: str(private),
                   "JUPYTER_PLATFORM_DIRS": os.environ.get("JUPYTER_PLATFORM_DIRS", "1")}
    warm = not fresh_kernels and kernels.available()
    if warm:
        kernel_vars[kernels.SERVER_ENV] = str(private / "kernels.sock")
    with _environment(kernel_vars), contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, private, True)
        # Registered before any process starts, so run after every one of them is stopped:
        # nothing may still write into the staging folder when it is kept or removed.
        cleanup.push(lambda kind, exc, tb: _after_failure(exc, staging, out) if kind else None)
        from livingpaper.build import execute

        server = None
        if warm:
            # Started now, so that it imports the chapters' libraries on one core while
            # this process loads the data and computes the results on the other.
            server = kernels.KernelServer(
                kernels.chapter_imports(paths.CHAPTERS_DIR / c.template for c in CHAPTERS if c.execute),
                {**os.environ, **execute.KERNEL_ENV}, private)
            cleanup.callback(server.kill)
        results = _build_into(staging, data, out, params, manifest, stable_common,
                              load_options, log, command, jobs, pdf, server, cleanup)
    log(f"Book written to {terminal(out / 'html' / 'index.html')} ({time.perf_counter() - started:.0f} s in all)")
    from livingpaper.results.document import (
        replication_summary_lines,  # the verdicts, printed last
    )
    for line in replication_summary_lines(results):
        log(line)
    return results


def _analyse(data: Path, load_options: dict[str, Any], params: Parameters,
             staging: Path) -> tuple[dict[str, Any], list[str], int]:
    """Load and validate the data, compute ``results.json``, and save the validated cohort
    for the chapters (they read it, not the raw file: validated once, the same for all).
    The staging folder is created only once the data are known to be usable: a rejected
    file leaves no folder behind. Returns the results, the loader's notes and the number
    of rows of the file."""
    from livingpaper.inputs import cohort as inputs_cohort
    from livingpaper.results import document as results_document

    cohort = inputs_cohort.load(data, **load_options)  # DataError here: nothing has been written yet
    results = results_document.results(cohort, params, reconstructed=is_reconstruction(cohort))
    _make_staging(staging)
    inputs_cohort.save(cohort, staging / "cohort")
    return results, cohort.notes, cohort.n_rows


def _make_staging(staging: Path) -> None:
    staging.mkdir(parents=True)
    outfolder.mark(staging, "staging")


def _analyse_in_a_process_of_its_own(data: Path, load_options: dict[str, Any], params: Parameters,
                                     staging: Path) -> tuple[dict[str, Any], list[str], int]:
    """:func:`_analyse` in a fresh process, which ends with it: a large cohort's memory is
    then given back before the chapters execute, instead of staying with the build (the
    allocators keep what a process has freed) for its whole length."""
    # Forked (this process has no thread yet): it has imported nothing of the analysis
    # and holds nothing worth copying.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    one = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(method),
                                                 initializer=processes.child_setup, initargs=(os.getpid(),))
    failed = True
    try:
        results = one.submit(_analyse, data, load_options, params, staging).result()
        failed = False
        return results
    finally:
        from livingpaper.build import execute

        execute.close_pool(one, failed)


def _build_into(staging: Path, data: Path, out: Path, params: Parameters, manifest: dict[str, Any],
                stable_common: dict[str, Any], load_options: dict[str, Any], log: Callable[[str], None],
                command: list[str] | None, jobs: int | None, pdf: bool, server,
                cleanup: contextlib.ExitStack) -> dict[str, Any]:
    """Steps 1 to 5 of the module's docstring, once :func:`build` has found something to do."""
    from livingpaper.build import changes, execute, render

    if out.parent.is_dir():
        outfolder.remove_stale(out)
    if staging.exists():  # a leftover of an earlier process with our pid
        if not outfolder.is_ours(staging):
            raise BuildError(f"{terminal(staging)} exists and was not written by this build; remove it")
        shutil.rmtree(staging)
    try:
        results, notes, n_rows = _analyse_in_a_process_of_its_own(data, load_options, params, staging)
    except BaseException:  # a DataError above all: then nothing is left behind
        if outfolder.is_ours(staging):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    for note in notes:
        log(f"{terminal(data.name)}: {note}")
    # What the book describes: the bytes the analysis read (not the file as it is now).
    data_identity = {"sha256": results["dataset"]["sha256"], **load_options}
    book_key = _book_key(data_identity, stable_common, pdf)
    jobs = execute.default_jobs(n_rows) if jobs is None else jobs
    pool = None
    if jobs > 1:
        # Forked while this process is small (the cohort was loaded in a process of its own).
        pool = execute.worker_pool(jobs)
        # On a failure the workers are killed first (the kernel server, registered earlier,
        # after them): no chapter is left to notice, and report, its kernel's death.
        cleanup.push(lambda kind, *_: execute.close_pool(pool, failed=kind is not None))
    book_dir, jb_dir = staging / "book", staging / "sphinx"
    book_dir.mkdir(parents=True)
    results["dataset"]["path"] = _display_path(data)
    _write_json(staging / "results.json", results)
    previous = _previous_build(out)
    changed = changes.compare(previous["results"] if previous else None, results)
    _write_json(staging / "changes.json", {
        "previous_build": previous["when"] if previous else None,
        "changes": [c.to_dict() for c in changed],
    })
    _write_json(staging / "provenance.json", provenance.record(results, command or sys.argv, load_options))
    for source in _book_files():
        target = book_dir / source.relative_to(paths.ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    execute.install_kernel(staging / "jupyter")
    common = {
        "data_path": str(staging / "cohort"),
        "reconstructed": results["dataset"]["reconstructed"],
        "results_path": str(staging / "results.json"),
        "provenance_path": str(staging / "provenance.json"),
        "changes_path": str(staging / "changes.json"),
        **stable_common,
    }
    shared, env = cache.shared_inputs_digest(), cache.environment_digest()
    keys = _chapter_keys(common, {
        "data_path": data_identity,
        "results_path": hashing.digest((staging / "results.json").read_bytes()),
        "provenance_path": hashing.digest((staging / "provenance.json").read_bytes()),
        "changes_path": hashing.digest((staging / "changes.json").read_bytes()),
    }, shared, env)
    for chapter in CHAPTERS:
        if not chapter.execute:
            target = book_dir / f"{chapter.output}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(paths.CHAPTERS_DIR / chapter.template, target)
    to_execute, reused = [], []
    for chapter in (c for c in CHAPTERS if c.execute):
        cached = out / "notebooks" / f"{Path(chapter.output).relative_to('chapters')}.ipynb"
        if manifest.get("chapters", {}).get(chapter.name) == keys[chapter.name] and cached.is_file():
            target = book_dir / f"{chapter.output}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cached, target)
            reused.append(chapter.name)
        else:
            to_execute.append((chapter, execute.prepare(chapter, book_dir)))
    if reused:
        log(f"reused (inputs unchanged): {', '.join(reused)}")
    to_execute = execute.longest_first(to_execute, manifest.get("seconds", {}))
    if server and not to_execute:
        server.kill()  # nothing to execute: its imports are not needed
    renderer = None
    if jobs > 1 and to_execute:
        # Sphinx sets itself up while the chapters execute, and reads each page as soon as
        # its chapter is done; one chapter at a time (jobs = 1) stays one thing at a time.
        renderer = render.Renderer(book_dir, jb_dir, pending=[c.output for c, _ in to_execute])
        cleanup.callback(renderer.cancel)
    timings = execute.execute_all(to_execute, common, jobs, log, pool=pool,
                                  on_executed=(lambda c: renderer.executed(c.output)) if renderer else None)
    kernel_record = {"mode": "forked from a warm server" if server else "fresh process each",
                     **(server.close() if server and to_execute else {})}
    t0 = time.perf_counter()
    if renderer is None:
        renderer = render.Renderer(book_dir, jb_dir)
        cleanup.callback(renderer.cancel)
    renderer.render()
    log(f"[book] HTML rendered in {time.perf_counter() - t0:.1f} s")
    (jb_dir / "_build" / "html").rename(staging / "html")
    if pdf:
        t0 = time.perf_counter()
        render.pdf(book_dir, jb_dir, staging / "book.pdf")
        log(f"[book] PDF printed in {time.perf_counter() - t0:.1f} s")
    shutil.move(str(book_dir / "chapters"), str(staging / "notebooks"))
    _write_json(staging / MANIFEST, {"book_key": book_key, "chapters": keys,
                                     "executed": [c.name for c, _ in to_execute], "reused": reused,
                                     "kernels": kernel_record, "jobs": jobs,
                                     "seconds": {**manifest.get("seconds", {}), **timings}})
    for folder in (book_dir, jb_dir, staging / "jupyter", staging / "cohort"):
        shutil.rmtree(folder)
    outfolder.mark(staging, "book", outfolder.files_of(staging))
    outfolder.publish(staging, out)
    if previous:
        for line in changes.summary(changed):
            log(line)
    return results
