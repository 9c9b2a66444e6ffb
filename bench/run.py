"""Benchmarks of the build: `make bench` prints one table.

Every case builds the book with the real command line into a fresh output folder
(the rebuild reuses the folder of the default build), on the same machine, in one run:

- the default cohort (61 patients):
  * *reference*: the chapter notebooks run one after another, each in a kernel started
    as a new process (`--jobs 1 --fresh-kernels`): how papermill, nbconvert or Jupyter
    Book run a series of notebooks, and what this book did before warm kernels;
  * the same chapters one after another, each in a kernel forked from the warm kernel
    server (`--jobs 1`);
  * several chapters at once, new-process kernels (`--fresh-kernels`): what running
    chapters concurrently gives on its own;
  * `make book` as it is (several at once, warm kernels, the renderer reading pages as
    their chapters finish);
  * the plain executor (`--executor plain`): papermill with a new kernel per chapter, one
    after another, then the `jupyter-book build` command, as Jupyter's tools come;
  * a rebuild of that book with nothing changed;
  the 61-patient cases are repeated (`--repeat`, interleaved so that a slow spell of the
  machine does not fall on one case) and the median is shown;
- synthetic cohorts of 10^3 ... 10^6 patients (bench/synthetic.py), built once each.

For each case: wall time, peak memory of the whole process tree (the build, its worker
processes, the kernel server and kernels, the renderer; sampled every 0.25 s) and the
ratios the performance goals are stated in. Memory is the sum of the processes'
proportional set sizes (PSS): pages that forked processes share are counted once, not
once per process as a sum of RSS would.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIVINGPAPER = [sys.executable, "-m", "livingpaper"]
#: Memory sampling interval: reading every process's PSS costs CPU, which on a 2-core
#: machine would slow the parallel build more than the serial one.
SAMPLE_SECONDS = 0.25

#: The 61-patient cases: (name, options, fresh output folder for each run?)
SMALL_CASES = (
    ("reference", ["--jobs", "1", "--fresh-kernels"], True),
    ("serial_warm", ["--jobs", "1"], True),
    ("parallel_fresh", ["--fresh-kernels"], True),
    ("default", [], True),
    ("rebuild", [], False),  # into the folder the default case has just built
    ("plain", ["--executor", "plain"], True),
)
LABELS = {
    "reference": "61 patients: one after another, new-process kernels (reference)",
    "serial_warm": "61 patients: one after another, warm kernels (--jobs 1)",
    "parallel_fresh": "61 patients: parallel, new-process kernels",
    "default": "61 patients: make book (parallel, warm kernels)",
    "rebuild": "61 patients: rebuild with nothing changed",
    "plain": "61 patients: plain executor (--executor plain)",
}


def _pss(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().pss
    except (psutil.Error, AttributeError):  # gone, or no PSS on this system: fall back to RSS
        try:
            return process.memory_info().rss
        except psutil.Error:
            return 0


def measure(args: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak MB of the summed PSS of its process tree)."""
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [parent] + parent.children(recursive=True)
                peak = max(peak, sum(_pss(p) for p in tree))
            except psutil.Error:
                pass
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({' '.join(args)}):\n{err[-2000:]}")
    return wall, peak / 2**20


def build(data: Path, out: Path, *extra: str) -> tuple[float, float]:
    return measure(LIVINGPAPER + ["build", "--data", str(data), "--out", str(out), *extra])


def _median(runs: list[tuple[float, float]]) -> tuple[float, float, str]:
    walls = [w for w, _ in runs]
    spread = f" ({min(walls):.1f}-{max(walls):.1f})" if len(walls) > 1 else ""
    return statistics.median(walls), max(m for _, m in runs), spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000",
                        help="synthetic cohort sizes, comma-separated ('' for none)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each 61-patient case (median shown)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livingpaper-bench-"))
    default = ROOT / "data" / "cohort.csv"
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in SMALL_CASES}
    rows = []
    try:
        for round_ in range(args.repeat):
            for name, options, fresh in SMALL_CASES:
                out = work / f"{name if fresh else 'default'}-{round_}"
                print(f"round {round_ + 1}/{args.repeat}: {LABELS[name]} ...", file=sys.stderr, flush=True)
                runs[name].append(build(default, out, *options))
                if fresh and name != "default":
                    shutil.rmtree(out, ignore_errors=True)
        small = {name: _median(r) for name, r in runs.items()}
        ref, warm, book = small["reference"][0], small["serial_warm"][0], small["default"][0]
        notes = {
            "reference": "",
            "serial_warm": f"{warm / ref:.2f} x reference",
            "parallel_fresh": f"{small['parallel_fresh'][0] / ref:.2f} x reference",
            "default": f"{book / ref:.2f} x reference (goal <= 0.60); {book / warm:.2f} x warm one-after-another",
            "rebuild": f"{small['rebuild'][0] / book:.3f} x make book (goal <= 0.10)",
            "plain": f"{small['plain'][0] / ref:.2f} x reference; {small['plain'][0] / book:.1f} x make book",
        }
        for name, _, _ in SMALL_CASES:
            wall, mem, spread = small[name]
            rows.append((LABELS[name], wall, spread, mem, notes[name]))
        for n in [int(x) for x in args.sizes.split(",") if x]:
            print(f"{n:,} synthetic patients ...", file=sys.stderr, flush=True)
            data = synthetic.write(n, work)
            wall, mem = build(data, work / f"n{n}")
            shutil.rmtree(work / f"n{n}", ignore_errors=True)
            note = f"{wall / book:.2f} x make book of 61"
            if n == 100_000:
                note += " (goal <= 1.5)"
            if n == 1_000_000:
                note += f"; peak {'<' if mem < 2048 else '>='} 2 GB (goal < 2 GB)"
            rows.append((f"{n:,} synthetic patients (make book)", wall, "", mem, note))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cpu = platform.processor() or platform.machine()
    print(f"\nMachine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
          f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, {cpu}, Python {platform.python_version()}; "
          f"61-patient cases: median of {args.repeat} (range)")
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}} {'wall (s)':>16} {'peak (MB)':>10}  ratio")
    for case, wall, spread, mem, note in rows:
        print(f"{case:<{width}} {f'{wall:.1f}{spread}':>16} {mem:10.0f}  {note}")


if __name__ == "__main__":
    main()
