"""Child processes that end when the build ends, however it ends.

A build starts processes of several kinds: the analysis process, the worker processes
that execute chapters, the kernel server and the kernels it forks (or, with fresh
kernels, the kernels the workers launch), the Sphinx renderer and Chromium. Each of them
asks the kernel to kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``), so that a
build killed with ``kill -9`` leaves nothing running, and ignores the terminal's Ctrl-C,
which the build itself handles (it stops them, and prints one line instead of one
traceback per process); forked workers also leave SIGTERM and SIGHUP to the build.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
try:
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover - no C library to ask
    _LIBC = None


def die_with_parent(parent: int | None = None) -> None:
    """In a child: be killed (SIGKILL) when the parent dies; if it has died already, end now.

    ``parent``: the parent's pid as the parent saw it before starting this process (the
    check that closes the window between the start and this call). Elsewhere than on
    Linux this does nothing; the kernel server and ipykernel also watch their parent.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def ignore_interrupt() -> None:
    """Ctrl-C reaches every process of the terminal's foreground group: the build handles it
    for all of them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def child_setup(parent: int | None = None) -> None:
    """What every child of the build does first (before exec, or at the start of a worker)."""
    die_with_parent(parent)
    ignore_interrupt()


def worker_setup(parent: int | None = None) -> None:
    """What a forked worker (the analysis process, a chapter's worker) does first: as every
    child, and it also ignores SIGTERM and SIGHUP, whose handler it inherited from the build
    (it would raise, in the worker, an exception meant for the build, with a traceback). The
    build gets the same signal when it is sent to the whole group, and stops its workers."""
    child_setup(parent)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if callable(signal.getsignal(signum)):
            signal.signal(signum, signal.SIG_IGN)


def popen_options() -> dict:
    """Keyword arguments for :class:`subprocess.Popen` that give the child :func:`child_setup`."""
    parent = os.getpid()
    return {"preexec_fn": lambda: child_setup(parent)}


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """Set environment variables for the processes a build starts, and restore them after it."""
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
