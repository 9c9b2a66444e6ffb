"""Warm kernels: the chapters' libraries imported once per build, each kernel forked from that.

Before a chapter's first line runs, its kernel spends about 2 s of CPU importing pandas,
SciPy, statsmodels, matplotlib and this library, and a clean build executes 13 chapters:
most of its time went into importing the same modules 13 times (DESIGN.md, known pitfalls:
"a shared warm-up"). So a build starts one *kernel server* (:mod:`livingpaper.build.kernel_server`,
through :class:`KernelServer`), which imports every module the chapters import and waits; each chapter's kernel is a
``fork()`` of it that runs ipykernel exactly as ``python -m ipykernel_launcher`` does, in
its own session, working directory and environment, and executes that one chapter only.
The imported modules are shared copy-on-write, which also keeps memory down when several
kernels hold a large cohort.

A forked kernel behaves as a freshly launched one because:

- the server imports modules and does nothing else: it runs no chapter code, creates no
  ZeroMQ context, starts no thread of its own, and sets only what ipykernel itself sets
  before any chapter code runs (the inline matplotlib backend);
- the server runs the same interpreter with the same environment, hash seed included; a
  request for another interpreter or environment is refused and that kernel is launched
  the usual way (:class:`ForkingProvisioner` falls back to jupyter_client's own launcher);
- ``tests/test_build_kernels.py`` executes chapters both ways and compares their outputs.

Forking is POSIX only; elsewhere, or with ``--fresh-kernels``, every kernel is launched as
a new process as before. The protocol, over a Unix socket: the client sends one JSON line
``{"argv", "cwd", "env"}``; the server answers ``{"pid"}`` or ``{"refused": reason}`` and,
on the same connection, ``{"exit": code}`` when that kernel has ended (the server is the
kernel's parent and reaps it).
"""
from __future__ import annotations

import ast
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import default

from livingpaper.build import cache, kernel_server, processes

#: Environment variable holding the server's socket path, for the kernel managers of the
#: build's worker processes.
SERVER_ENV = "LIVINGPAPER_KERNEL_SERVER"
#: Environment variable naming the folder of the kernels' Unix sockets.
IPC_DIR_ENV = "LIVINGPAPER_IPC_DIR"
#: How long a build waits for the server to listen (kernels are launched fresh if it does not).
BIND_TIMEOUT_S = 10.0
#: How long a client waits for the server to finish importing and answer.
CONNECT_TIMEOUT_S = 120.0


def available() -> bool:
    """Can kernels be forked on this platform?"""
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and sys.platform != "win32"


def chapter_imports(templates: Iterable[Path]) -> list[str]:
    """Modules the code cells of these chapter templates import, as dotted names
    (``from livingpaper.results import document`` gives ``livingpaper.results`` and
    ``livingpaper.results.document``); a cell that is not Python (IPython magics) is left out."""
    found: set[str] = set()
    for template in templates:
        for tree in cache.code_cells(template):
            if tree is None:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module)
                    found.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return sorted(found)


class KernelServer:
    """The build's kernel server: started early (it imports while the build loads the data),
    used by every kernel manager of the build through :data:`SERVER_ENV`, closed at the end."""

    def __init__(self, modules: list[str], env: dict[str, str], folder: Path):
        self.socket_path = str(folder / "kernels.sock")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "livingpaper.build.kernel_server", self.socket_path, *modules],
            env=env, stdin=subprocess.PIPE, cwd=folder, **processes.popen_options())
        self.stats: dict[str, Any] = {}
        # The server listens before it imports anything (a few hundredths of a second): from
        # then on a kernel can be asked for, and waits in the queue until the imports are done.
        deadline = time.monotonic() + BIND_TIMEOUT_S
        while not os.path.exists(self.socket_path) and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)

    def kill(self) -> None:
        """Stop the server at once (a failed build), with the kernels it forked; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()  # the server kills its kernels, then ends
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def close(self) -> dict[str, Any]:
        """Stop the server (kernels still running are killed); returns its counts."""
        if self.process.poll() is None:
            try:
                # Said, not only closed: forked worker processes may hold the pipe open too.
                self.process.communicate(input=kernel_server.STOP + b"\n", timeout=30)
            except subprocess.TimeoutExpired:  # still importing: nothing to count
                self.process.kill()
                self.process.wait()
        try:
            self.stats = json.loads(Path(f"{self.socket_path}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.stats = {}
        return self.stats


class ForkedKernel:
    """A kernel forked by the server, with the part of :class:`subprocess.Popen`'s interface
    that jupyter_client's provisioner uses (poll, wait, send_signal, terminate, kill)."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int):
        self._conn, self._reader = conn, conn.makefile("r", encoding="utf-8")
        self.pid, self.returncode = pid, None

    def _read_exit(self) -> None:
        line = self._reader.readline()
        # No line: the server died; its kernels die with it (their parent poller sees it).
        self.returncode = json.loads(line).get("exit", -1) if line else -1
        self._reader.close()
        self._conn.close()

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._conn], [], [], 0)[0]:
            self._read_exit()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._conn], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self._read_exit()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def request_kernel(socket_path: str, argv: list[str], cwd: str | None, env: dict[str, str]) -> ForkedKernel | None:
    """Ask the server for a kernel; None when it refuses or cannot be reached."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    try:
        conn.connect(socket_path)
        conn.settimeout(max(1.0, deadline - time.monotonic()))
        conn.sendall((json.dumps({"argv": list(argv), "cwd": str(cwd) if cwd else None, "env": dict(env)}) + "\n").encode())
        reader = conn.makefile("r", encoding="utf-8")
        reply = json.loads(reader.readline() or "{}")
        reader.close()
        conn.settimeout(None)
    except (OSError, ValueError):
        conn.close()
        return None
    if "pid" not in reply:
        conn.close()
        return None
    return ForkedKernel(conn, int(reply["pid"]))


class ForkingProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching by fork from the build's kernel server
    when there is one (and it accepts), else as a new process as usual; either way the
    kernel dies with the process that started it (:mod:`livingpaper.build.processes`)."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        parent = os.getpid()
        kwargs.setdefault("preexec_fn", lambda: processes.die_with_parent(parent))
        address = os.environ.get(SERVER_ENV)
        # Without a cwd, Popen would start the kernel in this process's working folder
        # (papermill changes into the notebook's folder rather than passing cwd).
        cwd = kwargs.get("cwd") or os.getcwd()
        process = request_kernel(address, cmd, cwd, kwargs.get("env") or dict(os.environ)) if address else None
        if process is None:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = process
        self.pid = self.pgid = process.pid  # the kernel leads its own session
        self.cwd = cwd
        return self.connection_info


class IpcKernelManager(AsyncKernelManager):
    """The kernel manager of every chapter. Kernels talk over Unix sockets in a private
    folder, not TCP ports, so that kernels started in parallel cannot collide on a port
    (papermill#511, #239); when the build runs a kernel server, they are forked from it."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # Short paths: a Unix socket path is limited to about 100 characters.
        base = os.environ.get(IPC_DIR_ENV) or tempfile.gettempdir()
        return os.path.join(tempfile.mkdtemp(prefix="k", dir=base), "ipc")

    async def _async_pre_start_kernel(self, **kw: Any):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkingProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


def private_folder() -> Path:
    """A short private folder for the server's socket (Unix socket paths are short)."""
    return Path(tempfile.mkdtemp(prefix="lpk-"))
