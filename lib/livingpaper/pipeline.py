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

import concurrent.futures
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jupytext
import nbformat
import papermill
import yaml
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from . import analysis, cache, changes, dataset, paths, provenance

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
    Chapter("implied", "implied.md", "chapters/implied"),
    Chapter("beyond", "beyond.md", "chapters/beyond"),
    Chapter("evidence", "evidence.md", "chapters/evidence"),
    Chapter("data", "data.md", "chapters/data"),
    Chapter("changes", "changes.md", "chapters/changes"),
    Chapter("reproducibility", "reproducibility.md", "chapters/reproducibility"),
    Chapter("strobe", "strobe.md", "chapters/strobe", execute=False),
    Chapter("cite", "cite.md", "chapters/cite"),
    Chapter("references", "references.md", "chapters/references", execute=False),
)


class IpcKernelManager(AsyncKernelManager):
    """Kernels that talk over Unix sockets in a private folder, not TCP ports: kernels
    started in parallel cannot collide on a port (papermill#511, #239)."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # Short paths: a Unix socket path is limited to about 100 characters.
        base = os.environ.get("LIVINGPAPER_IPC_DIR") or tempfile.gettempdir()
        return os.path.join(tempfile.mkdtemp(prefix="k", dir=base), "ipc")


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
                 "--IPKernelApp.log_level=CRITICAL"],
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
            kernel_manager_class=IpcKernelManager,
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


#: Chapters that take longest to execute, longest first (measured with `make bench`):
#: started first, so that no long chapter runs alone at the end of a parallel build.
SLOWEST_FIRST = ("evidence", "beyond", "implied", "severe", "dose", "moderate", "overall")


def _longest_first(work: list[tuple[Chapter, Path]], seconds: dict[str, float]) -> list[tuple[Chapter, Path]]:
    """Order chapters by their time in the previous build, else by SLOWEST_FIRST."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    if seconds:
        return sorted(work, key=lambda item: -seconds.get(item[0].name, 0.0))
    return sorted(work, key=lambda item: rank.get(item[0].name, len(rank)))


def _timed_execute(chapter: Chapter, notebook: Path, common: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    _execute(chapter, notebook, common)
    return time.perf_counter() - t0


def _execute_all(work: list[tuple[Chapter, Path]], common: dict[str, Any], jobs: int,
                 log: Callable[[str], None]) -> dict[str, float]:
    """Execute the chapters, ``jobs`` at a time (chapters are independent of each other);
    returns the seconds each took."""
    started, done = time.perf_counter(), 0
    timings: dict[str, float] = {}

    def report(chapter: Chapter, seconds: float) -> None:
        nonlocal done
        done += 1
        timings[chapter.name] = round(seconds, 2)
        log(f"[{done}/{len(work)}] {chapter.name:<16} {seconds:5.1f} s   (elapsed {time.perf_counter() - started:5.1f} s)")

    if jobs <= 1 or len(work) <= 1:
        for chapter, notebook in work:
            report(chapter, _timed_execute(chapter, notebook, common))
        return timings
    ipc_dir = tempfile.mkdtemp(prefix="lp-")
    os.environ["LIVINGPAPER_IPC_DIR"] = ipc_dir
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_timed_execute, c, nb, common): c for c, nb in work}
            try:
                for future in concurrent.futures.as_completed(futures):
                    report(futures[future], future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)
    return timings


#: Above this many rows, one chapter per core (each kernel holds the cohort in memory).
LARGE_COHORT_ROWS = 100_000


def default_jobs(n_rows: int = 0) -> int:
    """Chapters executed at once: one more than the cores this process may use, because a
    kernel spends part of its life starting up and waiting on messages (measured with
    `make bench`: 0.58 x the serial time with 3 at once on 2 cores, 0.62 with 2); one per
    core for cohorts above LARGE_COHORT_ROWS, so that memory stays bounded."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores) + (0 if n_rows > LARGE_COHORT_ROWS else 1)


def _sphinx(book_dir: Path, out_dir: Path, builder: str = "html") -> Path:
    """Render the executed book with Jupyter Book; returns the folder of the output."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(book_dir), "--path-output", str(out_dir), "--builder", builder,
           "--warningiserror", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr).strip().splitlines()
        problems = [line for line in log if "WARNING" in line or "ERROR" in line] or log[-15:]
        raise BuildError("Jupyter Book failed:\n" + "\n".join(problems[:20]))
    return out_dir / "_build" / builder


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
#: Flags for a headless Chromium on a machine without network or display.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str | None:
    """The Chromium executable, if one is installed."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def _pdf(book_dir: Path, sphinx_dir: Path, target: Path) -> None:
    """The whole book as one PDF: the single-page HTML book printed by headless Chromium
    (numbered chapters, figures and tables, bibliography; print styles in _static/print.css)."""
    browser = chromium()
    if browser is None:
        raise BuildError("the PDF needs Chromium, which is not installed: `make pdf` installs it "
                         "(apt-get install chromium)")
    single = _sphinx(book_dir, sphinx_dir, "singlehtml")
    root = yaml.safe_load((book_dir / "_toc.yml").read_text(encoding="utf-8"))["root"]
    # The single page is written where the root chapter lives, but its links are relative
    # to the top of the output: printed from there, images and styles resolve.
    page = single / "book.html"
    shutil.copy2(single / f"{root}.html", page)
    with tempfile.TemporaryDirectory(prefix="lp-chromium-") as profile:
        proc = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                               f"--print-to-pdf={target}", page.as_uri()], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not target.is_file() or target.stat().st_size < 10_000:
        raise BuildError(f"Chromium could not print the PDF: {proc.stderr.strip()[-500:]}")


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


def _book_files() -> list[Path]:
    """The files of the book besides its chapters: configuration, bibliography, styles,
    local Sphinx extensions."""
    root = paths.ROOT
    return sorted([root / "_config.yml", root / "_toc.yml", *root.glob("*.bib"),
                   *(p for p in (root / "_static").glob("*") if p.is_file()), *(root / "_ext").glob("*.py")])


MANIFEST = "build.json"


def _declared_parameters(chapter: Chapter) -> tuple[str, ...]:
    """Parameters a chapter's template declares (its cell tagged ``parameters``)."""
    template = paths.CHAPTERS_DIR / chapter.template
    stat = template.stat()
    return _parameters_of(str(template), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parameters_of(template: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    nb = jupytext.read(template)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return tuple(line.split("=", 1)[0].strip() for line in cell.source.splitlines()
                         if "=" in line and not line.lstrip().startswith("#"))
    return ()


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


def build(data: str | Path, out: str | Path, params: analysis.Parameters | None = None,
          log: Callable[[str], None] = print, command: list[str] | None = None,
          hba1c_unit: str = "ngsp", allow_identifiers: bool = False, jobs: int | None = None,
          force: bool = False, pdf: bool = False) -> dict[str, Any]:
    """Build the whole book from ``data`` into ``out``; returns the results document.

    ``hba1c_unit`` and ``allow_identifiers`` are passed to :func:`livingpaper.dataset.load`;
    ``jobs`` chapters execute at once (default: :func:`default_jobs`). A chapter whose
    inputs (:mod:`livingpaper.cache`) are those of the book already in ``out`` is not
    executed again; when nothing at all changed, the book in ``out`` is left as it is.
    ``force`` executes everything.
    """
    params = params or analysis.Parameters()
    data, out = Path(data), Path(out).absolute()
    started = time.perf_counter()
    if not data.is_file():
        raise dataset.DataError([f"{data.name}: file not found ({data})"])
    _check_out(out)
    load_options = {"hba1c_unit": hba1c_unit, "allow_identifiers": allow_identifiers}
    data_identity = {"sha256": dataset.sha256_of(data), **load_options}
    shared, env = cache.shared_inputs_digest(), cache.environment_digest()
    stable_common = {"data_name": _display_path(data), **params.to_dict()}
    # The book as a whole: every chapter's inputs but the build records, and the book's files.
    stable_keys = _chapter_keys({**stable_common, "data_path": None, "reconstructed": None, "results_path": None,
                                 "provenance_path": None, "changes_path": None},
                                {"data_path": data_identity}, shared, env)
    book_key = cache.digest({"chapters": stable_keys, "data": data_identity, "pdf": pdf,
                             "book": {str(f.relative_to(paths.ROOT)): cache.digest(f.read_bytes())
                                      for f in _book_files() if f.is_file()}})
    manifest = {} if force else _read_manifest(out)
    if manifest.get("book_key") == book_key and (out / "html" / "index.html").is_file():
        log(f"Nothing changed since the book in {out} was built (same data, code, parameters): left as it is.")
        return json.loads((out / "results.json").read_text(encoding="utf-8"))

    # DataError here: nothing has been written yet.
    cohort = dataset.load(data, hba1c_unit=hba1c_unit, allow_identifiers=allow_identifiers)
    for note in cohort.notes:
        log(f"{data.name}: {note}")
    jobs = default_jobs(cohort.n_rows) if jobs is None else jobs
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
        _write_json(staging / "provenance.json", provenance.record(results, command or sys.argv, load_options))
        # The chapters read the validated cohort, not the raw file: validated once, same for all.
        dataset.save(cohort, staging / "cohort")
        for source in _book_files():
            target = book_dir / source.relative_to(paths.ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        _install_kernel(staging / "jupyter")
        os.environ["JUPYTER_PATH"] = str(staging / "jupyter")
        os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
        common = {
            "data_path": str(staging / "cohort"),
            "reconstructed": results["dataset"]["reconstructed"],
            "results_path": str(staging / "results.json"),
            "provenance_path": str(staging / "provenance.json"),
            "changes_path": str(staging / "changes.json"),
            **stable_common,
        }
        keys = _chapter_keys(common, {
            "data_path": data_identity,
            "results_path": cache.digest((staging / "results.json").read_bytes()),
            "provenance_path": cache.digest((staging / "provenance.json").read_bytes()),
            "changes_path": cache.digest((staging / "changes.json").read_bytes()),
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
                to_execute.append((chapter, _prepare(chapter, book_dir)))
        if reused:
            log(f"reused (inputs unchanged): {', '.join(reused)}")
        timings = _execute_all(_longest_first(to_execute, manifest.get("seconds", {})), common, jobs, log)
        t0 = time.perf_counter()
        _sphinx(book_dir, jb_dir)
        log(f"[book] HTML built in {time.perf_counter() - t0:.1f} s")
        (jb_dir / "_build" / "html").rename(staging / "html")
        if pdf:
            t0 = time.perf_counter()
            _pdf(book_dir, jb_dir, staging / "book.pdf")
            log(f"[book] PDF printed in {time.perf_counter() - t0:.1f} s")
        shutil.move(str(book_dir / "chapters"), str(staging / "notebooks"))
        _write_json(staging / MANIFEST, {"book_key": book_key, "chapters": keys,
                                         "executed": [c.name for c, _ in to_execute], "reused": reused,
                                         "seconds": {**manifest.get("seconds", {}), **timings}})
        for folder in (book_dir, jb_dir, staging / "jupyter", staging / "cohort"):
            shutil.rmtree(folder)
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
