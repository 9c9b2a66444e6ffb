"""How a build executes its chapters and renders the book: two executors, one interface.

- :class:`FastExecutor` (the default, ``--executor fast``): chapters execute several at once
  in worker processes (:mod:`livingpaper.build.execute`), each in a kernel forked from the
  build's warm kernel server (:mod:`livingpaper.build.kernels`), while the renderer
  (:mod:`livingpaper.build.render`) sets Sphinx up and reads each page as soon as its
  chapter is done.
- :class:`PlainExecutor` (``--executor plain``): what Jupyter's tools do out of the box, kept
  as the tested fallback: papermill executes one chapter after another, each in a new kernel
  that papermill's own kernel manager starts, then the ``jupyter-book build`` command renders
  the book. Slower, and the same book (tests/test_build_executors.py).

The build (:mod:`livingpaper.build.pipeline`) uses either the same way::

    with executor:                    # what can start before the data are read starts
        executor.prepare(n_rows)      # the data are read
        seconds = executor.execute(work, parameters, log)
        html = executor.render("html")
    # left: every process it started is stopped, at once after a failure

Both execute the same prepared notebooks with the same kernelspec (this Python, one hash
seed: :func:`livingpaper.build.execute.install_kernel`) and report a failing chapter the
same way (:func:`livingpaper.build.execute.execute`: the chapter, its template and the cell).
"""
from __future__ import annotations

import abc
import contextlib
import os
import shutil
from pathlib import Path
from typing import Any, Callable, ClassVar

from livingpaper import paths
from livingpaper.build import execute, kernels, processes, render
from livingpaper.build.book import CHAPTERS, Chapter
from livingpaper.errors import BuildError
from livingpaper.escaping import terminal

Work = list[tuple[Chapter, Path]]  # chapters and their prepared notebooks, executed in place


class Executor(abc.ABC):
    """Executes a build's prepared notebooks and renders its book folder ``book_dir`` into
    ``sphinx_dir``. Used as a context manager: entered before the data are read, left once
    the book is rendered or the build has failed."""

    name: ClassVar[str]

    def __init__(self, book_dir: Path, sphinx_dir: Path):
        self.book_dir, self.sphinx_dir = book_dir, sphinx_dir
        self.jobs = 1  # chapters executed at once

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self.stop(failed=kind is not None)

    def prepare(self, n_rows: int) -> None:
        """The data are read (``n_rows`` rows): get ready to execute."""

    @abc.abstractmethod
    def execute(self, work: Work, parameters: dict[str, Any], log: Callable[[str], None]) -> dict[str, float]:
        """Execute every notebook of ``work`` in place with ``parameters`` (each chapter takes
        those it declares); returns the seconds each chapter took. A failing chapter raises
        BuildError naming the chapter and the cell."""

    @abc.abstractmethod
    def render(self, builder: str = "html") -> Path:
        """Render the executed book with Jupyter Book (warnings are errors); returns the
        folder of the output. Raises BuildError with Sphinx's warnings."""

    def record(self) -> dict[str, Any]:
        """How the kernels were started, for build.json."""
        return {"mode": "fresh process each"}

    def stop(self, failed: bool) -> None:
        """Stop every process this executor started (at once after a failure); idempotent."""


class FastExecutor(Executor):
    """Several chapters at once, in kernels forked from a warm kernel server, the renderer
    reading each page as soon as its chapter is done (see the module's docstring).

    ``jobs``: chapters at once (None: :func:`livingpaper.build.execute.default_jobs` for the
    cohort's size); ``fresh_kernels``: a new process for every kernel instead of a fork of
    the warm server; ``seconds``: each chapter's time in the previous build, to start the
    longest first."""

    name = "fast"

    def __init__(self, book_dir: Path, sphinx_dir: Path, jobs: int | None = None, fresh_kernels: bool = False,
                 seconds: dict[str, float] | None = None):
        super().__init__(book_dir, sphinx_dir)
        self.asked_jobs, self.seconds = jobs, seconds or {}
        self.warm = not fresh_kernels and kernels.available()
        self.private: Path | None = None
        self.server: kernels.KernelServer | None = None
        self.pool = None
        self.renderer: render.Renderer | None = None
        self.kernel_counts: dict[str, Any] = {}
        self._environment = contextlib.ExitStack()

    def __enter__(self) -> FastExecutor:
        try:
            self.private = kernels.private_folder()  # the sockets of this build's kernels
            variables = {kernels.IPC_DIR_ENV: str(self.private)}
            if self.warm:
                variables[kernels.SERVER_ENV] = str(self.private / "kernels.sock")
            self._environment.enter_context(processes.environment(variables))
            if self.warm:
                # Started now, so that it imports the chapters' libraries on one core while
                # the build loads the data and computes the results on the other.
                templates = (paths.CHAPTERS_DIR / c.template for c in CHAPTERS if c.execute)
                self.server = kernels.KernelServer(kernels.chapter_imports(templates),
                                                   {**os.environ, **execute.KERNEL_ENV}, self.private)
        except BaseException:
            self.stop(failed=True)
            raise
        return self

    def prepare(self, n_rows: int) -> None:
        self.jobs = execute.default_jobs(n_rows) if self.asked_jobs is None else self.asked_jobs
        if self.jobs > 1:
            # Forked now, while the build is small (the cohort was loaded in a process of its
            # own), and before the renderer starts (a worker would hold its pipe).
            self.pool = execute.worker_pool(self.jobs)

    def execute(self, work: Work, parameters: dict[str, Any], log: Callable[[str], None]) -> dict[str, float]:
        if not work:
            if self.server:
                self.server.kill()  # nothing to execute: its imports are not needed
            return {}
        work = execute.longest_first(work, self.seconds)
        if self.jobs > 1:
            # Sphinx sets itself up while the chapters execute, and reads each page as soon as
            # its chapter is done; one chapter at a time (jobs = 1) stays one thing at a time.
            self.renderer = render.Renderer(self.book_dir, self.sphinx_dir, pending=[c.output for c, _ in work])
        renderer = self.renderer
        seconds = execute.execute_all(work, parameters, self.jobs, log, pool=self.pool,
                                      on_executed=(lambda c: renderer.executed(c.output)) if renderer else None)
        if self.server:
            self.kernel_counts = self.server.close()
        return seconds

    def render(self, builder: str = "html") -> Path:
        if self.renderer is None or builder != "html":
            self.renderer = render.Renderer(self.book_dir, self.sphinx_dir, builder)
        return self.renderer.render()

    def record(self) -> dict[str, Any]:
        return {"mode": "forked from a warm server" if self.server else "fresh process each", **self.kernel_counts}

    def stop(self, failed: bool) -> None:
        # On a failure the workers are killed before the kernel server: no chapter is left to
        # notice, and report, its kernel's death.
        if self.renderer:
            self.renderer.cancel()
        if self.pool:
            execute.close_pool(self.pool, failed)
            self.pool = None
        if self.server:
            self.server.kill()
        self._environment.close()
        if self.private:
            shutil.rmtree(self.private, ignore_errors=True)


class PlainExecutor(Executor):
    """One chapter after another in the book's order, each in a new kernel that papermill's
    own kernel manager starts, then ``jupyter-book build``: Jupyter's tools as they come."""

    name = "plain"

    def execute(self, work: Work, parameters: dict[str, Any], log: Callable[[str], None]) -> dict[str, float]:
        return execute.execute_all(work, parameters, 1, log, kernel_manager_class=None)

    def render(self, builder: str = "html") -> Path:
        return render.jupyter_book_build(self.book_dir, self.sphinx_dir, builder)


#: The executors by the name ``--executor`` gives them.
EXECUTORS: dict[str, type[Executor]] = {"fast": FastExecutor, "plain": PlainExecutor}


def create(name: str, book_dir: Path, sphinx_dir: Path, jobs: int | None = None, fresh_kernels: bool = False,
           seconds: dict[str, float] | None = None) -> Executor:
    """The executor called ``name``; ``jobs``, ``fresh_kernels`` and ``seconds`` are the fast
    executor's (the plain one executes one chapter at a time, each in a new kernel)."""
    if name not in EXECUTORS:
        raise BuildError(f"no executor called {terminal(name)!r}: {' or '.join(EXECUTORS)}")
    if name == PlainExecutor.name:
        return PlainExecutor(book_dir, sphinx_dir)
    return FastExecutor(book_dir, sphinx_dir, jobs, fresh_kernels, seconds)
