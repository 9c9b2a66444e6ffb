"""The build: data file -> validated cohort -> executed chapters -> book in OUT.

:func:`build` is the list of its phases, each a function of one :class:`BuildContext`
that it fills in, in this order:

1. :func:`check_inputs`: the data file can be read, OUT may be replaced, and one key hashes
   every input of the book. Nothing is written. When that key is the key of the book in
   OUT, nothing changed (:func:`nothing_changed`) and the build stops there, having
   imported nothing heavy: this module imports only the standard library and the light
   modules at its top; the rest is imported once there is something to do.
2. :func:`analyse`: load and validate the data (a :class:`~livingpaper.errors.DataError`
   stops here, before anything is written) and compute ``results.json``, in a process of
   its own; only then is the staging folder beside OUT created.
3. :func:`write_records`: ``results.json``, ``changes.json`` and ``provenance.json`` into the
   staging folder.
4. :func:`stage_book`: the book's configuration, bibliographies and plain pages, and the
   chapters' kernelspec.
5. :func:`plan`: the cache key of every chapter (:mod:`livingpaper.build.cache`): which
   chapters execute, and which notebooks of the book in OUT are reused as they are.
6. :func:`execute_chapters`: the executor (:mod:`livingpaper.build.executors`) executes them
   with papermill and this build's parameters: the fast one several at once, in kernels
   forked from a warm kernel server; the plain one one after another, as Jupyter's tools do.
7. :func:`render_book`: the HTML book (and the PDF) from the executed notebooks with Jupyter
   Book, warnings as errors, so that a broken page cannot ship.
8. :func:`publish`: the staging folder swapped into OUT in one atomic exchange
   (:mod:`livingpaper.build.outfolder`: which folders may be replaced, and how).

A failure at any phase leaves OUT as it was: every process the build started is stopped
first, then the staging folder is kept as ``.<OUT>.failed`` for inspection
(:func:`_running`).

The data file is read once, in phase 2: the book, ``results.json`` and the cache keys all
describe the bytes that were read, even if the file changes while the build runs.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from livingpaper import errors, hashing, paths
from livingpaper.build import book, cache, changes, outfolder, processes, provenance
from livingpaper.build.book import CHAPTERS, Chapter
from livingpaper.errors import BuildError, DataError
from livingpaper.escaping import terminal, visible
from livingpaper.inputs import tables
from livingpaper.parameters import Parameters

if TYPE_CHECKING:
    from livingpaper.build.executors import Executor

#: The executors ``--executor`` may name (:data:`livingpaper.build.executors.EXECUTORS`,
#: named here without importing them); the first is the default.
EXECUTORS = ("fast", "plain")
#: The build's record in OUT: cache keys, what was executed or reused, timings, kernels.
MANIFEST = "build.json"


@dataclass(frozen=True)
class Options:
    """How to build, as asked (the command line's options)."""

    hba1c_unit: str = "ngsp"
    allow_identifiers: bool = False
    jobs: int | None = None  # chapters executed at once (None: the fast executor chooses)
    force: bool = False  # execute every chapter, whatever the book in OUT
    pdf: bool = False
    fresh_kernels: bool = False
    executor: str = EXECUTORS[0]
    command: tuple[str, ...] = ()  # recorded in provenance.json

    @property
    def load_options(self) -> dict[str, Any]:
        """The options of :func:`livingpaper.inputs.cohort.load`."""
        return {"hba1c_unit": self.hba1c_unit, "allow_identifiers": self.allow_identifiers}


@dataclass
class BuildContext:
    """One build: what was asked, and what each phase has found or written so far. Each
    phase fills in its own fields, in the order of the phases; nothing else changes them."""

    # check_inputs
    data: Path
    out: Path  # resolved: a symbolic link followed to its folder
    params: Parameters
    options: Options
    log: Callable[[str], None]
    started: float  # time.perf_counter() when the build started
    stable_parameters: dict[str, Any]  # what the pages are given that is no machine path
    manifest: dict[str, Any]  # build.json of the book in OUT ({} with force, or no book)
    data_identity: dict[str, Any]  # what data_path stands for in the keys; after analyse, of the bytes read
    book_key: str  # of every input (:func:`cache.book_key`), with data_identity
    staging: Path  # the folder the new book is written into, beside OUT
    # analyse
    results: dict[str, Any] = field(default_factory=dict)
    n_rows: int = 0
    verdict_lines: list[str] = field(default_factory=list)  # the replication's, printed last
    # write_records
    previous: dict[str, Any] | None = None  # results and record of the book in OUT
    changed: list[changes.Change] = field(default_factory=list)
    # plan
    parameters: dict[str, Any] = field(default_factory=dict)  # every chapter's parameters, before its own
    keys: dict[str, str] = field(default_factory=dict)  # each executed chapter's cache key
    to_execute: list[tuple[Chapter, Path]] = field(default_factory=list)  # with their prepared notebooks
    reused: list[str] = field(default_factory=list)
    # execute_chapters
    seconds: dict[str, float] = field(default_factory=dict)
    kernels: dict[str, Any] = field(default_factory=dict)
    jobs: int = 1

    @property
    def book_dir(self) -> Path:
        """The book's sources as Jupyter Book reads them: configuration, pages, notebooks."""
        return self.staging / "book"

    @property
    def sphinx_dir(self) -> Path:
        return self.staging / "sphinx"

    @property
    def jupyter_dir(self) -> Path:
        """The kernelspec of the chapters (``JUPYTER_PATH`` of this build)."""
        return self.staging / "jupyter"

    @property
    def cohort_dir(self) -> Path:
        """The validated cohort, which the chapters read (not the raw file)."""
        return self.staging / "cohort"


def build(data: str | Path, out: str | Path, params: Parameters | None = None,
          log: Callable[[str], None] = print, command: list[str] | None = None,
          hba1c_unit: str = "ngsp", allow_identifiers: bool = False, jobs: int | None = None,
          force: bool = False, pdf: bool = False, fresh_kernels: bool = False,
          executor: str = EXECUTORS[0]) -> dict[str, Any]:
    """Build the whole book from ``data`` into ``out``; returns the results document.

    ``hba1c_unit`` and ``allow_identifiers`` are passed to :func:`livingpaper.inputs.cohort.load`.
    A chapter whose inputs (:mod:`livingpaper.build.cache`) are those of the book already in
    ``out`` is not executed again; when nothing at all changed, the book in ``out`` is left
    as it is. ``force`` executes everything. ``executor`` is ``"fast"`` (``jobs`` chapters at
    once, default :func:`livingpaper.build.execute.default_jobs`, in kernels forked from a
    warm kernel server unless ``fresh_kernels`` asks for a new process each) or ``"plain"``
    (papermill and ``jupyter-book build`` as they come; :mod:`livingpaper.build.executors`).
    """
    options = Options(hba1c_unit, allow_identifiers, jobs, force, pdf, fresh_kernels, executor,
                      tuple(command or sys.argv))
    context = check_inputs(Path(data), Path(out), params or Parameters(), options, log)
    if nothing_changed(context):
        return context.results
    with _running(context) as executor_:
        try:
            analyse(context)
            executor_.prepare(context.n_rows)  # the fast one forks its workers now, while the build is small
            write_records(context)
            stage_book(context)
            plan(context)
            execute_chapters(context, executor_)
            render_book(context, executor_)
            publish(context)
        except concurrent.futures.BrokenExecutor:  # the analysis process or a worker was killed
            raise BuildError("a process of the build ended unexpectedly (killed from outside, or out of memory); "
                             "the previous book was left as it was") from None
    report(context)
    return context.results


# --------------------------------------------------------------------------- the phases


def check_inputs(data: Path, out: Path, params: Parameters, options: Options,
                 log: Callable[[str], None]) -> BuildContext:
    """Phase 1: refuse what cannot be built before anything is written (a file that cannot
    be read, an OUT that may not be replaced, options that do not go together); restore a
    book an interrupted swap put aside; hash every input."""
    started = time.perf_counter()
    if options.executor not in EXECUTORS:
        raise BuildError(f"no executor called {terminal(options.executor)!r}: {' or '.join(EXECUTORS)}")
    if options.executor == "plain" and (options.jobs or 1) > 1:
        raise BuildError(f"--jobs {options.jobs} executes chapters at once, which the plain executor does not "
                         "(it executes one after another): use --executor fast, or leave --jobs out")
    try:
        tables.check_file(data)
    except errors.TableProblem as exc:
        raise DataError([f"{terminal(data.name)}: {exc}"]) from None
    out = outfolder.resolve_out(out)
    outfolder.recover(out, log)
    outfolder.check(out, data)
    # The file's name as the pages show it (a line break in it shows as \n, ...).
    stable = {"data_name": visible(_display_path(data)), **params.to_dict()}
    identity = {"sha256": hashing.file_sha256(data), **options.load_options}
    return BuildContext(
        data=data, out=out, params=params, options=options, log=log, started=started, stable_parameters=stable,
        manifest={} if options.force else _read_manifest(out), data_identity=identity,
        book_key=cache.book_key(identity, stable, options.pdf),
        staging=outfolder.sibling(out, f"staging-{os.getpid()}"))


def nothing_changed(context: BuildContext) -> bool:
    """Is the book in OUT that of exactly these inputs? Then say so, and take its results."""
    if context.manifest.get("book_key") != context.book_key or not (context.out / "html" / "index.html").is_file():
        return False
    context.log(f"Nothing changed since the book in {terminal(context.out)} was built (same data, code, "
                "parameters): left as it is.")
    context.results = json.loads((context.out / "results.json").read_text(encoding="utf-8"))
    return True


def analyse(context: BuildContext) -> None:
    """Phase 2: clear what killed builds left beside OUT, then load and validate the data and
    compute the results in a process of its own (:func:`_analyse`), which creates the
    staging folder once the data are known to be usable."""
    staging, options = context.staging, context.options
    if context.out.parent.is_dir():
        outfolder.remove_stale(context.out)
    if staging.exists():  # a leftover of an earlier process with our pid
        if not outfolder.is_ours(staging):
            raise BuildError(f"{terminal(staging)} exists and was not written by this build; remove it")
        shutil.rmtree(staging)
    try:
        context.results, notes, context.n_rows, context.verdict_lines = _analyse_in_a_process_of_its_own(
            context.data, options.load_options, context.params, staging)
    except BaseException:  # a DataError above all: then nothing is left behind
        if outfolder.is_ours(staging):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    for note in notes:
        context.log(f"{terminal(context.data.name)}: {note}")
    # What the book describes: the bytes the analysis read (not the file as it is now, if it
    # changed since phase 1).
    identity = {"sha256": context.results["dataset"]["sha256"], **options.load_options}
    if identity != context.data_identity:
        context.data_identity = identity
        context.book_key = cache.book_key(identity, context.stable_parameters, options.pdf)


def write_records(context: BuildContext) -> None:
    """Phase 3: results.json, changes.json (against the book in OUT) and provenance.json."""
    staging, results = context.staging, context.results
    _write_json(staging / "results.json", results)
    context.previous = _previous_build(context.out)
    context.changed = changes.compare(context.previous["results"] if context.previous else None, results)
    _write_json(staging / "changes.json", {
        "previous_build": context.previous["when"] if context.previous else None,
        "changes": [c.to_dict() for c in context.changed],
    })
    _write_json(staging / "provenance.json",
                provenance.record(results, list(context.options.command), context.options.load_options))


def stage_book(context: BuildContext) -> None:
    """Phase 4: the book's own files and its plain (not executed) pages into the book folder,
    and the kernelspec the chapters execute with."""
    from livingpaper.build import execute

    context.book_dir.mkdir(parents=True)
    for source in book.files():
        _copy(source, context.book_dir / source.relative_to(paths.ROOT))
    execute.install_kernel(context.jupyter_dir)
    for chapter in CHAPTERS:
        if not chapter.execute:
            _copy(paths.CHAPTERS_DIR / chapter.template, context.book_dir / f"{chapter.output}.md")


def plan(context: BuildContext) -> None:
    """Phase 5: the parameters of every chapter and its cache key; a chapter whose key is the
    one it had in the book in OUT is reused from there, the others are prepared to execute
    (template -> notebook)."""
    from livingpaper.build import execute

    staging = context.staging
    context.parameters = {
        "data_path": str(context.cohort_dir),
        "reconstructed": context.results["dataset"]["reconstructed"],
        "results_path": str(staging / "results.json"),
        "provenance_path": str(staging / "provenance.json"),
        "changes_path": str(staging / "changes.json"),
        **context.stable_parameters,
    }
    context.keys = cache.chapter_keys(context.parameters, {
        "data_path": context.data_identity,
        "results_path": hashing.digest((staging / "results.json").read_bytes()),
        "provenance_path": hashing.digest((staging / "provenance.json").read_bytes()),
        "changes_path": hashing.digest((staging / "changes.json").read_bytes()),
    })
    before = context.manifest.get("chapters", {})
    for chapter in (c for c in CHAPTERS if c.execute):
        cached = context.out / "notebooks" / f"{Path(chapter.output).relative_to('chapters')}.ipynb"
        if before.get(chapter.name) == context.keys[chapter.name] and cached.is_file():
            _copy(cached, context.book_dir / f"{chapter.output}.ipynb")
            context.reused.append(chapter.name)
        else:
            context.to_execute.append((chapter, execute.prepare(chapter, context.book_dir)))
    if context.reused:
        context.log(f"reused (inputs unchanged): {', '.join(context.reused)}")


def execute_chapters(context: BuildContext, executor: Executor) -> None:
    """Phase 6: the executor executes the chapters to execute, in place."""
    context.seconds = executor.execute(context.to_execute, context.parameters, context.log)
    context.kernels, context.jobs = executor.record(), executor.jobs


def render_book(context: BuildContext, executor: Executor) -> None:
    """Phase 7: the HTML book into the staging folder; with ``pdf``, the PDF too."""
    from livingpaper.build import render

    t0 = time.perf_counter()
    html = executor.render("html")
    context.log(f"[book] HTML rendered in {time.perf_counter() - t0:.1f} s")
    html.rename(context.staging / "html")
    if context.options.pdf:
        t0 = time.perf_counter()
        render.pdf_printer()  # before the single-page book is rendered for nothing
        render.pdf(context.book_dir, executor.render("singlehtml"), context.staging / "book.pdf")
        context.log(f"[book] PDF printed in {time.perf_counter() - t0:.1f} s")


def publish(context: BuildContext) -> None:
    """Phase 8: the executed notebooks and build.json into the staging folder, which becomes
    the book in OUT in one atomic step."""
    staging = context.staging
    shutil.move(str(context.book_dir / "chapters"), str(staging / "notebooks"))
    _write_json(staging / MANIFEST, {
        "book_key": context.book_key, "chapters": context.keys,
        "executed": [c.name for c, _ in context.to_execute], "reused": context.reused,
        "executor": context.options.executor, "kernels": context.kernels, "jobs": context.jobs,
        "seconds": {**context.manifest.get("seconds", {}), **context.seconds}})
    for folder in (context.book_dir, context.sphinx_dir, context.jupyter_dir, context.cohort_dir):
        shutil.rmtree(folder)
    outfolder.mark(staging, "book", outfolder.files_of(staging))
    outfolder.publish(staging, context.out)


def report(context: BuildContext) -> None:
    """What changed since the previous book, where the book is, and the verdicts, last."""
    if context.previous:
        for line in changes.summary(context.changed):
            context.log(line)
    context.log(f"Book written to {terminal(context.out / 'html' / 'index.html')} "
                f"({time.perf_counter() - context.started:.0f} s in all)")
    for line in context.verdict_lines:
        context.log(line)


# --------------------------------------------------------------------------- around the phases


@contextlib.contextmanager
def _running(context: BuildContext) -> Iterator[Executor]:
    """The executor, started, in the environment of the build's kernels. On a failure or an
    interruption, every process it started is stopped first (nothing may still write into
    the staging folder), then the staging folder is kept as ``.OUT.failed``."""
    from livingpaper.build import (
        executors,  # the heavy modules only now: a rebuild with nothing changed does not need them
    )

    variables = {"JUPYTER_PATH": str(context.jupyter_dir),
                 "JUPYTER_PLATFORM_DIRS": os.environ.get("JUPYTER_PLATFORM_DIRS", "1")}
    with processes.environment(variables), contextlib.ExitStack() as cleanup:
        cleanup.push(lambda kind, exc, tb: _after_failure(exc, context.staging, context.out) if kind else None)
        options = context.options
        yield cleanup.enter_context(executors.create(
            options.executor, context.book_dir, context.sphinx_dir, jobs=options.jobs,
            fresh_kernels=options.fresh_kernels, seconds=context.manifest.get("seconds", {})))


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


def _analyse(data: Path, load_options: dict[str, Any], params: Parameters,
             staging: Path) -> tuple[dict[str, Any], list[str], int, list[str]]:
    """Load and validate the data, compute ``results.json``, and save the validated cohort
    for the chapters (they read it, not the raw file: validated once, the same for all).
    The staging folder is created only once the data are known to be usable: a rejected
    file leaves no folder behind. Returns the results, the loader's notes, the number of
    rows of the file and the replication's verdicts as the build prints them last (made
    here, where the results' modules are imported: the build itself never imports them)."""
    from livingpaper.inputs import cohort as inputs_cohort
    from livingpaper.results import document as results_document

    cohort = inputs_cohort.load(data, **load_options)  # DataError here: nothing has been written yet
    results = results_document.results(cohort, params, reconstructed=is_reconstruction(cohort))
    results["dataset"]["path"] = _display_path(data)
    _make_staging(staging)
    inputs_cohort.save(cohort, staging / "cohort")
    return results, cohort.notes, cohort.n_rows, results_document.replication_summary_lines(results)


def _make_staging(staging: Path) -> None:
    staging.mkdir(parents=True)
    outfolder.mark(staging, "staging")


def _analyse_in_a_process_of_its_own(data: Path, load_options: dict[str, Any], params: Parameters,
                                     staging: Path) -> tuple[dict[str, Any], list[str], int, list[str]]:
    """:func:`_analyse` in a fresh process, which ends with it: a large cohort's memory is
    then given back before the chapters execute, instead of staying with the build (the
    allocators keep what a process has freed) for its whole length."""
    # Forked (this process has no thread yet): it has imported nothing of the analysis
    # and holds nothing worth copying.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    one = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(method),
                                                 initializer=processes.worker_setup, initargs=(os.getpid(),))
    failed = True
    try:
        results = one.submit(_analyse, data, load_options, params, staging).result()
        failed = False
        return results
    finally:
        from livingpaper.build import execute

        execute.close_pool(one, failed)



# --------------------------------------------------------------------------- small helpers


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


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _read_manifest(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


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
