"""Benchmarks of the build: `make bench` prints one table.

Cases (each a fresh output folder; the book is built by the real command line):
- the default cohort, chapters executed one after another (--jobs 1) and in parallel
  (default: one per core), side by side in the same run;
- a rebuild of the parallel book with nothing changed;
- synthetic cohorts of 10^3 ... 10^6 patients (bench/synthetic.py).
For each: wall time, peak memory of the whole process tree (the build, its worker
processes and kernels, sampled every 0.25 s), and the ratios the performance goals are
stated in. Memory is the sum of the processes' proportional set sizes (PSS): pages that
forked processes share are counted once, not once per process as a sum of RSS would.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000",
                        help="synthetic cohort sizes, comma-separated ('' for none)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livingpaper-bench-"))
    rows = []
    try:
        default = ROOT / "data" / "cohort.csv"
        serial = build(default, work / "serial", "--jobs", "1")
        parallel = build(default, work / "parallel")
        rebuild = build(default, work / "parallel")
        rows += [("61 patients, serial (--jobs 1)", *serial, ""),
                 ("61 patients, parallel (default --jobs)", *parallel, f"{parallel[0] / serial[0]:.2f} x serial (goal <= 0.60)"),
                 ("61 patients, rebuild, no change", *rebuild, f"{rebuild[0] / parallel[0]:.2f} x clean (goal <= 0.10)")]
        for n in [int(x) for x in args.sizes.split(",") if x]:
            data = synthetic.write(n, work)
            wall, mem = build(data, work / f"n{n}")
            note = f"{wall / parallel[0]:.2f} x 61-patient build"
            if n == 100_000:
                note += " (goal <= 1.5)"
            if n == 1_000_000:
                note += f"; peak {'<' if mem < 2048 else '>='} 2 GB (goal < 2 GB)"
            rows.append((f"{n:,} synthetic patients", wall, mem, note))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cpu = platform.processor() or platform.machine()
    print(f"\nMachine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
          f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, {cpu}, Python {platform.python_version()}")
    print(f"{'case':<40} {'wall (s)':>9} {'peak (MB)':>10}  ratio")
    for case, wall, mem, note in rows:
        print(f"{case:<40} {wall:9.1f} {mem:10.0f}  {note}")


if __name__ == "__main__":
    main()
