"""A build stopped by real signals (livingpaper.cli, livingpaper.build.pipeline and
livingpaper.build.processes): Ctrl-C, SIGTERM, kill -9, at the analysis or while chapters
execute, with either executor. Whatever stops it, every process it started ends with it,
it says so in one line (exit 130 for Ctrl-C, 128 + n for signal n), and the previous book
stays whole.

Each test runs ``livingpaper build`` as a user would, in a session of its own (Ctrl-C is
sent to the whole process group, as a terminal does), and watches its process tree.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import BOOK_COHORT
from livingpaper.build import pipeline

pytestmark = pytest.mark.slow


def tree_hash(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def previous_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupted")
    data = root / "cohort.csv"
    data.write_text(BOOK_COHORT)
    out = root / "book"
    pipeline.build(data, out, log=lambda _: None)
    return data, out


class Build:
    """A ``livingpaper build`` in its own session, its descendants recorded as they come."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([sys.executable, "-m", "livingpaper", "build", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.seen: set[int] = set()
        self.stdout: list[str] = []
        threading.Thread(target=lambda: self.stdout.extend(self.process.stdout), daemon=True).start()

    def watch(self) -> list[psutil.Process]:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.seen.update(c.pid for c in children)
        return children

    def wait_for(self, condition, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = self.watch()
            if condition(children):
                return
            if self.process.poll() is not None:
                pytest.fail(f"the build ended before the moment to stop it: {self.process.stderr.read()}")
            time.sleep(0.05)
        pytest.fail("the build never reached the moment to stop it")

    def chapters_running(self, children) -> bool:
        return any(line.startswith("[1/") for line in self.stdout) and len(children) >= 3

    def stop(self, signum: int, group: bool = False) -> tuple[int, str]:
        """Send ``signum`` to the build, or to its whole process group (``group``; always for
        Ctrl-C, which a terminal sends to the foreground group, as it does SIGHUP when it closes)."""
        self.watch()
        if signum == signal.SIGINT or group:
            os.killpg(self.process.pid, signum)
        else:
            os.kill(self.process.pid, signum)
        self.process.wait(timeout=120)
        return self.process.returncode, self.process.stderr.read()

    def survivors(self, grace_s: float = 15.0) -> list[str]:
        """Processes the build started that are still running after a grace period."""
        deadline = time.monotonic() + grace_s
        while True:
            alive = []
            for pid in self.seen:
                try:
                    proc = psutil.Process(pid)
                    if proc.status() != psutil.STATUS_ZOMBIE:
                        alive.append(f"{pid} {' '.join(proc.cmdline()[:4])}")
                except psutil.NoSuchProcess:
                    pass
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.2)


@pytest.mark.parametrize("signum, code, words", [
    (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
    (signal.SIGTERM, 128 + signal.SIGTERM, "stopped by SIGTERM"),
    (signal.SIGKILL, -signal.SIGKILL, None),
])
def test_a_build_stopped_while_chapters_execute_leaves_no_process_and_the_previous_book(previous_book, signum,
                                                                                          code, words):
    data, out = previous_book
    before = tree_hash(out)
    build = Build("--data", str(data), "--out", str(out), "--force", "--jobs", "3")
    build.wait_for(build.chapters_running)
    assert build.seen, "the build had started no process to stop"
    returncode, stderr = build.stop(signum)
    assert returncode == code
    if words:
        assert stderr.strip().splitlines() == [stderr.strip()], stderr  # one line, no traceback
        assert words in stderr and "previous book was left as it was" in stderr
    assert build.survivors() == []
    assert tree_hash(out) == before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_whole_process_group_gives_one_line_not_a_traceback_per_worker(previous_book, signum):
    # `kill -TERM -PGID`, or the terminal closing (SIGHUP): every worker gets the signal too.
    data, out = previous_book
    before = tree_hash(out)
    build = Build("--data", str(data), "--out", str(out), "--force", "--jobs", "3")
    build.wait_for(build.chapters_running)
    returncode, stderr = build.stop(signum, group=True)
    assert "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines() == [stderr.strip()], stderr
    assert returncode in (128 + signum, 1), stderr  # 1: a worker's end was noticed before the signal
    assert build.survivors() == []
    assert tree_hash(out) == before


def test_a_worker_killed_from_outside_fails_the_build_in_one_line(previous_book):
    # What the kernel's out-of-memory killer does to one process of the build.
    data, out = previous_book
    before = tree_hash(out)
    build = Build("--data", str(data), "--out", str(out), "--force", "--jobs", "3")
    build.wait_for(build.chapters_running)
    own = psutil.Process(build.process.pid)
    workers = [c for c in own.children() if c.cmdline() == own.cmdline()]  # forks of the build
    assert workers, "no worker process found"
    workers[0].kill()
    build.process.wait(timeout=120)
    stderr = build.process.stderr.read()
    assert build.process.returncode == 1, stderr
    assert stderr.strip().splitlines() == [stderr.strip()], stderr
    assert "ended unexpectedly" in stderr and "previous book was left as it was" in stderr
    assert build.survivors() == []
    assert tree_hash(out) == before


def test_ctrl_c_with_fresh_kernels_stops_the_kernels_the_workers_launched(previous_book):
    data, out = previous_book
    before = tree_hash(out)
    build = Build("--data", str(data), "--out", str(out), "--force", "--fresh-kernels", "--jobs", "3")
    build.wait_for(build.chapters_running)
    returncode, stderr = build.stop(signal.SIGINT)
    assert returncode == 130 and len(stderr.strip().splitlines()) == 1, stderr
    assert build.survivors() == []
    assert tree_hash(out) == before


def test_sigterm_during_the_analysis_of_a_large_cohort_stops_the_analysis_process(previous_book, tmp_path):
    data, out = previous_book
    lines = BOOK_COHORT.splitlines()
    big = tmp_path / "big.csv"
    with open(big, "w") as fh:
        fh.write(lines[0] + "\n")
        for i in range(150_000):
            fh.write(f"Z{i:07d}," + lines[1 + i % 7].split(",", 1)[1] + "\n")
    before = tree_hash(out)
    build = Build("--data", str(big), "--out", str(out), "--jobs", "2")
    kernel_server = "livingpaper.build.kernel_server"

    def analysing(children) -> bool:
        # The kernel server, and a fork of the build itself: the analysis process.
        own = [c for c in children if c.ppid() == build.process.pid and kernel_server not in " ".join(c.cmdline())]
        return bool(own) and not any(line.startswith("[") for line in build.stdout)

    build.wait_for(analysing)
    returncode, stderr = build.stop(signal.SIGTERM)
    assert returncode == 128 + signal.SIGTERM, stderr
    assert build.survivors() == []
    assert tree_hash(out) == before


def kernel_running(children) -> bool:
    """Is a chapter's kernel (a new process, under the plain executor) running?"""
    for child in children:
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                return True
        except psutil.Error:  # gone meanwhile
            pass
    return False


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)])
def test_a_plain_build_stopped_while_a_chapter_executes_leaves_no_process_and_the_previous_book(previous_book,
                                                                                               signum, code):
    data, out = previous_book
    before = tree_hash(out)
    build = Build("--data", str(data), "--out", str(out), "--force", "--executor", "plain")
    build.wait_for(kernel_running)
    returncode, stderr = build.stop(signum)
    assert returncode == code
    if signum == signal.SIGINT:
        assert stderr.strip().splitlines() == [stderr.strip()], stderr  # one line, no traceback
        assert "interrupted (Ctrl-C)" in stderr and "previous book was left as it was" in stderr
    assert build.survivors() == []
    assert tree_hash(out) == before
