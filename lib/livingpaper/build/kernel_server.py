"""The kernel server: imports the chapters' libraries once, then forks one kernel per request.

Run by the build as ``python -m livingpaper.build.kernel_server SOCKET MODULE...`` (see
:mod:`livingpaper.build.kernels`, which starts it and talks to it, for why and how). This module
imports nothing but the standard library (and :mod:`livingpaper.build.processes`, which imports
nothing else either), so that the server holds no state a freshly started kernel would not
have: only the modules it was asked to import.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

from livingpaper.build import processes  # the standard library only (ctypes, signal)

#: What ipykernel sets MPLBACKEND to when it is unset (ipykernel.kernelapp.init_gui_pylab).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Variables jupyter_client sets for each kernel; they are read at kernel start, not import.
PER_KERNEL = frozenset({"JPY_PARENT_PID", "JPY_SESSION_NAME"})
#: What the build writes on the server's standard input to stop it.
STOP = b"stop"
#: Always imported by the server: the kernel itself.
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "IPython.display")


def _effective_backend(env: dict[str, str]) -> str:
    return env.get("MPLBACKEND") or INLINE_BACKEND


def _refusal(request: dict[str, Any], server_env: dict[str, str]) -> str | None:
    """Why this request cannot be served by a fork of this server (None: it can)."""
    argv = request.get("argv") or []
    if len(argv) < 3 or argv[1:3] != ["-m", "ipykernel_launcher"]:
        return f"not an ipykernel command: {argv[:3]}"
    if os.path.realpath(argv[0]) != os.path.realpath(sys.executable):
        return f"another interpreter: {argv[0]}"
    env = request.get("env") or {}
    if _effective_backend(env) != _effective_backend(server_env):
        return "another matplotlib backend"
    differing = sorted(k for k in (set(env) | set(server_env)) - PER_KERNEL - {"MPLBACKEND"}
                       if env.get(k) != server_env.get(k))
    if differing:
        return "another environment: " + ", ".join(differing[:5])
    return None


def _become_kernel(request: dict[str, Any], server_cwd: str, sockets: list[socket.socket], server: int) -> None:
    """In the forked child: turn into ``python -m ipykernel_launcher ARGS`` and never return."""
    code = 1
    try:
        os.setsid()  # its own process group, as jupyter_client launches kernels
        processes.die_with_parent(server)  # the server: the kernel ends with it
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in any new Python process
        for sock in sockets:
            sock.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as in any new process
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.chdir(request["cwd"] or server_cwd)
        os.environ.clear()
        os.environ.update(request["env"])
        # The server is this kernel's parent: ipykernel's parent poller watches it.
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        # ipykernel_launcher removes the working folder from sys.path (init_path adds '' back).
        if sys.path and sys.path[0] in ("", server_cwd):
            del sys.path[0]
        sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *request["argv"][3:]]
        from ipykernel import kernelapp

        code = 0
        kernelapp.launch_new_instance()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on stderr like a crashing kernel
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()  # IPython saves its history at exit, as in a fresh kernel
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(socket_path: str, modules: list[str]) -> None:
    """The server's main loop (``python -m livingpaper.build.kernel_server SOCKET MODULE...``).

    Imports ``modules`` (those that fail are left to fail in the chapter, with the
    chapter's own error), then forks a kernel per request. It ends when the build says
    :data:`STOP` on its standard input, closes it, or ends (killed: the server's parent
    changes), killing the kernels still running, and writes its counts to ``SOCKET.json``.
    """
    children: dict[int, socket.socket] = {}
    stopping: list[int] = []

    def terminate(signum, frame) -> None:
        # Terminated (a failed build): with no kernel yet (still importing), end at once;
        # else leave the loop below, whose `finally` kills the kernels. Never an exception
        # raised into whatever code the signal interrupts.
        if not children:
            os._exit(0)
        stopping.append(signum)

    signal.signal(signal.SIGTERM, terminate)
    # (Started by the build with processes.popen_options(): killed with the build, however
    # it ends, and deaf to the terminal's Ctrl-C, which is the build's to handle.)
    server = os.getpid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)  # clients may connect while the imports below run; they wait
    server_env = dict(os.environ)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for name in [*KERNEL_MODULES, *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not a module (a class imported by name), or broken
            pass
    # Objects that exist now are never collected: the collector does not touch (and so
    # copy) their pages in the kernels.
    gc.collect()
    gc.freeze()
    server_cwd = os.getcwd()
    stats = {"forked": 0, "refused": 0, "reasons": []}
    stdin, build = sys.stdin.fileno(), os.getppid()
    try:
        while not stopping:
            readable, _, _ = select.select([listener, stdin], [], [], 0.02)
            if stdin in readable:
                message = os.read(stdin, 4096)
                if not message or STOP in message:
                    break
            if os.getppid() != build:  # the build was killed
                break
            if listener in readable:
                conn, _ = listener.accept()
                try:
                    request = json.loads(conn.makefile("r", encoding="utf-8").readline())
                    reason = _refusal(request, server_env)
                except (OSError, ValueError) as exc:
                    request, reason = {}, f"unreadable request: {exc}"
                if reason:
                    stats["refused"] += 1
                    stats["reasons"].append(reason)
                    _send(conn, {"refused": reason})
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    _become_kernel(request, server_cwd, [listener, conn, *children.values()], server)
                children[pid] = conn
                stats["forked"] += 1
                _send(conn, {"pid": pid})
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                conn = children.pop(pid, None)
                if conn is not None:
                    _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                    conn.close()
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)  # reaped here: no zombie is left for init to collect
            except OSError:
                pass
        Path(f"{socket_path}.json").write_text(json.dumps(stats), encoding="utf-8")


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.sendall((json.dumps(message) + "\n").encode())
    except OSError:  # the client went away; its kernel is reaped all the same
        pass


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
