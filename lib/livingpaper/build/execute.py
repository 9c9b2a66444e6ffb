"""Chapters executed: template -> notebook -> executed by papermill, several at once.

Each chapter is a MyST Markdown template (:class:`~livingpaper.build.book.Chapter`), turned into a notebook and
executed by papermill with the build's parameters in a kernel of its own. Chapters are
independent of each other, so ``jobs`` of them execute at once, each in a worker process
with its own papermill client and kernel; the kernels talk over Unix sockets (no ports to
collide on) and are forked from the build's warm kernel server (:mod:`livingpaper.build.kernels`).
The plain executor (:mod:`livingpaper.build.executors`) uses the same functions with
``jobs = 1`` and papermill's own kernel manager.
"""
from __future__ import annotations

import concurrent.futures
import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jupytext
import nbformat
import papermill

from livingpaper import paths
from livingpaper.build import cache, kernels, processes
from livingpaper.build.book import Chapter
from livingpaper.errors import BuildError
from livingpaper.escaping import terminal, without_colours

KERNEL_NAME = "livingpaper"
#: Set for every kernel by its kernelspec: no byte code written into the source tree, and
#: one hash seed, so that set and dict orders (and so outputs) are the same in every build.
KERNEL_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def install_kernel(jupyter_dir: Path) -> None:
    """A kernelspec that runs *this* Python, so chapters execute in the build's environment."""
    spec = jupyter_dir / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=CRITICAL"],
        "display_name": "Python (livingpaper)",
        "language": "python",
        "env": KERNEL_ENV,
    }, indent=2) + "\n", encoding="utf-8")


def prepare(chapter: Chapter, book_dir: Path) -> Path:
    """Template -> unexecuted notebook in the book folder, with the page title filled in."""
    nb = copy.deepcopy(cache.read_template(paths.CHAPTERS_DIR / chapter.template))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace("{{title}}", chapter.title).replace("{{name}}", chapter.name)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python (livingpaper)", "language": "python"}
    nb.metadata.pop("jupytext", None)
    target = book_dir / f"{chapter.output}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, target, fmt="ipynb")
    return target


def execute(chapter: Chapter, notebook: Path, common: dict[str, Any],
            kernel_manager_class: type | None = kernels.IpcKernelManager) -> None:
    """Execute one prepared notebook in place with the parameters it declares, its kernel
    started by ``kernel_manager_class`` (None: papermill's own, a new process on TCP ports)."""
    declared = papermill.inspect_notebook(str(notebook))
    wanted = {**common, **chapter.parameters}
    params = {k: v for k, v in wanted.items() if k in declared}
    manager = {} if kernel_manager_class is None else {"kernel_manager_class": kernel_manager_class}
    try:
        papermill.execute_notebook(
            str(notebook), str(notebook), parameters=params, kernel_name=KERNEL_NAME,
            cwd=str(notebook.parent), progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            **manager,
        )
    except papermill.PapermillExecutionError as exc:
        raise BuildError(
            f"chapter '{chapter.name}' ({chapter.template}) failed in cell {exc.cell_index}: "
            f"{exc.ename}: {terminal(without_colours(str(exc.evalue)))}"
        ) from None
    # The cell papermill injects holds this machine's paths: keep it in the notebook (it
    # records the parameters) but not on the page.
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, notebook)


#: Chapters that take longest to execute, longest first (measured with `make bench`):
#: started first, so that no long chapter runs alone at the end of a parallel build.
SLOWEST_FIRST = ("evidence", "beyond", "implied", "severe", "dose", "moderate", "overall")


def longest_first(work: list[tuple[Chapter, Path]], seconds: dict[str, float]) -> list[tuple[Chapter, Path]]:
    """Order chapters by their time in the previous build, else by SLOWEST_FIRST."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    if seconds:
        return sorted(work, key=lambda item: -seconds.get(item[0].name, 0.0))
    return sorted(work, key=lambda item: rank.get(item[0].name, len(rank)))


def _timed_execute(chapter: Chapter, notebook: Path, common: dict[str, Any],
                   kernel_manager_class: type | None) -> float:
    t0 = time.perf_counter()
    execute(chapter, notebook, common, kernel_manager_class)
    return time.perf_counter() - t0


def worker_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """Worker processes for :func:`execute_all`, forked now, not at the first chapter: a worker
    forked later would also hold the pipes of the processes started meanwhile (the
    renderer's, whose end of input tells it the chapters are done)."""
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=max(1, workers), initializer=processes.worker_setup,
                                                  initargs=(os.getpid(),))
    pool.submit(int).result()  # with fork, the first task starts every worker
    return pool


def close_pool(pool: concurrent.futures.ProcessPoolExecutor, failed: bool) -> None:
    """After a success, let the workers finish; after a failure or an interruption, kill them
    at once (their kernels die with them) instead of waiting for the chapters they run."""
    if failed:
        workers = list((getattr(pool, "_processes", None) or {}).values())
        for process in workers:
            if process.is_alive():
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.join(timeout=5)
    else:
        pool.shutdown(cancel_futures=True)


def execute_all(work: list[tuple[Chapter, Path]], common: dict[str, Any], jobs: int,
                log: Callable[[str], None], on_executed: Callable[[Chapter], None] | None = None,
                pool: concurrent.futures.Executor | None = None,
                kernel_manager_class: type | None = kernels.IpcKernelManager) -> dict[str, float]:
    """Execute the chapters in the order given, ``jobs`` at a time (chapters are independent
    of each other), in ``pool`` (default: a new :func:`worker_pool`; one of ``jobs`` workers;
    with ``jobs = 1``, in this process); returns the seconds each took. ``on_executed`` is
    called with each chapter as soon as its notebook is final (the renderer reads it then);
    ``kernel_manager_class`` is :func:`execute`'s."""
    started, done = time.perf_counter(), 0
    timings: dict[str, float] = {}

    def report(chapter: Chapter, seconds: float) -> None:
        nonlocal done
        done += 1
        timings[chapter.name] = round(seconds, 2)
        log(f"[{done}/{len(work)}] {chapter.name:<16} {seconds:5.1f} s   (elapsed {time.perf_counter() - started:5.1f} s)")
        if on_executed:
            on_executed(chapter)

    if jobs <= 1 or len(work) <= 1:
        for chapter, notebook in work:
            report(chapter, _timed_execute(chapter, notebook, common, kernel_manager_class))
        return timings
    own = pool is None
    pool = pool or worker_pool(jobs)
    failed = True
    try:
        # A pool of `jobs` workers takes the chapters in the order submitted, `jobs` at a time.
        futures = {pool.submit(_timed_execute, c, nb, common, kernel_manager_class): c for c, nb in work}
        try:
            for future in concurrent.futures.as_completed(futures):
                report(futures[future], future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        failed = False
    finally:
        if own:
            close_pool(pool, failed)
    return timings


#: Above this many rows, one chapter per core (each kernel holds the cohort in memory).
LARGE_COHORT_ROWS = 100_000


def default_jobs(n_rows: int = 0) -> int:
    """Chapters executed at once: one more than the cores this process may use, because a
    kernel spends part of its life waiting on messages; one per core for cohorts above
    LARGE_COHORT_ROWS, so that memory stays bounded (measured with `make bench`)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores) + (0 if n_rows > LARGE_COHORT_ROWS else 1)
