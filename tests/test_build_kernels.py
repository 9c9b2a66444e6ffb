"""Warm kernels (livingpaper.build.kernels, livingpaper.build.kernel_server): a chapter executed in a
kernel forked from the kernel server gives the outputs a freshly launched kernel gives,
requests the server cannot serve faithfully are refused (and the kernel launched fresh),
and no kernel outlives its build.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import papermill
import psutil
import pytest
from livingpaper.build import book, execute, kernel_server, kernels, pipeline

pytestmark = pytest.mark.skipif(not kernels.available(), reason="forking kernels needs POSIX fork()")

#: A notebook that shows what could differ between a forked and a fresh kernel: working
#: folder and import path, environment, hash seed, execution counts, the matplotlib
#: backend and a figure glued as a PNG, a DataFrame's rich display, stderr.
PROBE_CELLS = [
    "import os, sys\nprint(os.getcwd() == expected_cwd, sys.path)",
    "print(os.environ.get('PYTHONHASHSEED'), hash('living paper'), sys.argv[0].endswith('ipykernel_launcher.py'))",
    "import matplotlib\nimport matplotlib.pyplot as plt\nprint(matplotlib.get_backend())",
    "from myst_nb import glue\nfig, ax = plt.subplots(figsize=(2, 2))\nax.plot([1, 2, 3], [3, 1, 2])\n"
    "glue('fig', fig, display=False)\nplt.close('all')",
    "import pandas as pd\npd.DataFrame({'hba1c': [7.5, 6.7]})",
    "import warnings\nwarnings.warn('shown on stderr')\nsum(range(10))",
]


def probe_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in PROBE_CELLS])
    nb.metadata["kernelspec"] = {"name": execute.KERNEL_NAME, "display_name": "Python (livingpaper)",
                                 "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def outputs(path: Path) -> list:
    """Execution counts and outputs of the probe's cells (not of the cell papermill injected),
    with the kernel's process id, which differs between any two kernels, masked."""
    nb = nbformat.read(path, as_version=4)
    cells = [(c.execution_count, c.outputs) for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    return json.loads(re.sub(r"ipykernel_\d+", "ipykernel_PID", json.dumps(cells)))


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """The environment a build gives its kernels (kernelspec, socket folder)."""
    execute.install_kernel(tmp_path / "jupyter")
    private = kernels.private_folder()
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv(kernels.IPC_DIR_ENV, str(private))
    monkeypatch.delenv(kernels.SERVER_ENV, raising=False)
    yield private
    subprocess.run(["rm", "-rf", str(private)])


def start_server(private: Path, monkeypatch, modules=("pandas", "matplotlib.pyplot", "myst_nb")):
    monkeypatch.setenv(kernels.SERVER_ENV, str(private / "kernels.sock"))
    return kernels.KernelServer(list(modules), {**os.environ, **execute.KERNEL_ENV}, private)


def run_probe(notebook: Path) -> None:
    papermill.execute_notebook(str(notebook), str(notebook), kernel_name=execute.KERNEL_NAME,
                               parameters={"expected_cwd": str(notebook.parent.resolve())},
                               cwd=str(notebook.parent), progress_bar=False,
                               kernel_manager_class=kernels.IpcKernelManager)


def test_a_forked_kernel_gives_the_outputs_of_a_fresh_one(tmp_path, kernel_env, monkeypatch):
    fresh = probe_notebook(tmp_path / "fresh")
    run_probe(fresh)

    server = start_server(kernel_env, monkeypatch)
    try:
        forked = probe_notebook(tmp_path / "forked")
        run_probe(forked)
    finally:
        stats = server.close()
    assert stats["forked"] == 1 and stats["refused"] == 0  # really forked, not fallen back

    assert outputs(forked) == outputs(fresh)
    texts = [outs[0].get("text", "") if outs else "" for _, outs in outputs(forked)]
    assert texts[0].startswith("True [")
    assert texts[1].split()[0] == "0" and texts[1].split()[2] == "True"
    assert "matplotlib_inline.backend_inline" in texts[2]
    cells = outputs(forked)
    assert "application/papermill.record/image/png" in cells[3][1][0]["data"]  # the inline backend's figure formatter is active
    assert "text/html" in cells[4][1][0]["data"]
    assert any(o.get("name") == "stderr" and "shown on stderr" in o.get("text", "") for o in cells[5][1])


def test_a_request_for_another_environment_is_refused_and_the_kernel_started_fresh(tmp_path, kernel_env, monkeypatch):
    server = start_server(kernel_env, monkeypatch)
    try:
        monkeypatch.setenv("LIVINGPAPER_TEST_ONLY_IN_THE_KERNEL", "1")  # not in the server's environment
        notebook = probe_notebook(tmp_path / "refused")
        run_probe(notebook)
    finally:
        stats = server.close()
    assert stats["forked"] == 0 and stats["refused"] == 1
    assert "LIVINGPAPER_TEST_ONLY_IN_THE_KERNEL" in stats["reasons"][0]
    assert outputs(notebook)[0][1][0]["text"].startswith("True [")  # it ran all the same


def test_refusals_name_what_differs():
    env = {"PATH": "/bin", "PYTHONHASHSEED": "0"}
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "conn.json"]
    assert kernel_server._refusal({"argv": argv, "env": {**env, "JPY_PARENT_PID": "1"}}, env) is None
    assert "PYTHONHASHSEED" in kernel_server._refusal({"argv": argv, "env": {**env, "PYTHONHASHSEED": "1"}}, env)
    assert "interpreter" in kernel_server._refusal({"argv": ["/usr/bin/python2", *argv[1:]], "env": env}, env)
    assert "ipykernel" in kernel_server._refusal({"argv": [sys.executable, "-m", "other"], "env": env}, env)
    assert "backend" in kernel_server._refusal({"argv": argv, "env": {**env, "MPLBACKEND": "agg"}}, env)
    # ipykernel sets the inline backend itself when MPLBACKEND is unset: the same thing
    inline = {**env, "MPLBACKEND": kernel_server.INLINE_BACKEND}
    assert kernel_server._refusal({"argv": argv, "env": inline}, env) is None


def test_no_kernel_outlives_the_server(tmp_path, kernel_env, monkeypatch):
    server = start_server(kernel_env, monkeypatch, modules=())
    manager = kernels.IpcKernelManager(kernel_name=execute.KERNEL_NAME)

    async def start():
        await manager.start_kernel(cwd=str(tmp_path))
        return manager.provisioner.process

    process = asyncio.run(start())
    assert isinstance(process, kernels.ForkedKernel) and process.poll() is None
    os.kill(process.pid, 0)  # alive
    server.close()  # the build ended (or was killed): its standard input closed
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)


def test_the_server_ends_when_the_build_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from livingpaper.build import kernels
        server = kernels.KernelServer([], dict(os.environ), Path({str(tmp_path)!r}))
        print(server.process.pid, flush=True)
        time.sleep(60)
        """)
    build = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    server_pid = int(build.stdout.readline())
    assert psutil.pid_exists(server_pid)
    build.kill()
    build.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and running(server_pid):
        time.sleep(0.05)
    assert not running(server_pid)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_server_preloads_what_the_chapters_import(tmp_path):
    template = tmp_path / "chapter.md"
    template.write_text(textwrap.dedent("""\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
        kernelspec:
          display_name: Python 3
          language: python
          name: python3
        ---
        # A chapter

        ```{code-cell} ipython3
        import json
        import matplotlib.pyplot as plt
        from livingpaper.results import document
        from livingpaper.present import paired
        from IPython.display import Markdown
        ```

        ```{code-cell} ipython3
        %matplotlib inline
        import not_preloaded_because_the_cell_is_ipython
        ```
        """))
    found = kernels.chapter_imports([template])
    assert {"json", "matplotlib.pyplot", "livingpaper.results", "livingpaper.results.document",
            "livingpaper.present", "livingpaper.present.paired", "IPython.display",
            "IPython.display.Markdown"} <= set(found)
    assert not any("not_preloaded" in name for name in found)




@pytest.mark.slow
def test_the_whole_book_is_the_same_with_warm_and_fresh_kernels(tmp_path, book_csv):
    data = book_csv
    pipeline.build(data, tmp_path / "warm", log=lambda _: None)
    pipeline.build(data, tmp_path / "fresh", log=lambda _: None, fresh_kernels=True)
    records = json.loads((tmp_path / "warm" / "build.json").read_text())["kernels"]
    assert records["forked"] == len([c for c in book.CHAPTERS if c.execute]) and records["refused"] == 0
    assert json.loads((tmp_path / "fresh" / "build.json").read_text())["kernels"]["mode"] == "fresh process each"
    # Everything but the cells that hold this build's own paths and records.
    provenance_pages = {"reproducibility.ipynb", "cite.ipynb", "changes.ipynb"}
    compared = 0
    for warm in sorted((tmp_path / "warm" / "notebooks").rglob("*.ipynb")):
        if warm.name in provenance_pages:
            continue
        fresh = tmp_path / "fresh" / "notebooks" / warm.relative_to(tmp_path / "warm" / "notebooks")
        cells = [[(c.source, c.get("outputs"), c.get("execution_count"))
                  for c in nbformat.read(nb, as_version=4).cells
                  if "injected-parameters" not in c.metadata.get("tags", [])] for nb in (warm, fresh)]
        assert cells[0] == cells[1], warm.name
        compared += 1
    assert compared >= 9
    assert (tmp_path / "warm" / "results.json").read_bytes() == (tmp_path / "fresh" / "results.json").read_bytes()
