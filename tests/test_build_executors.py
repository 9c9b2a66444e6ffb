"""The two executors (livingpaper.build.executors): the plain one (papermill with a new kernel
per chapter, one after another, then `jupyter-book build`) builds the same book as the fast
one, and fails the same way: the chapter and cell named, the previous book left, no process
left behind.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import nbformat
import psutil
import pytest
from livingpaper import errors, paths
from livingpaper.build import executors, pipeline, provenance


def test_the_executors_are_those_the_build_and_the_command_line_name():
    assert tuple(executors.EXECUTORS) == pipeline.EXECUTORS
    for name, kind in executors.EXECUTORS.items():
        executor = executors.create(name, Path("book"), Path("sphinx"))
        assert type(executor) is kind and executor.name == name


def test_an_unknown_executor_is_refused_before_anything_is_written(tmp_path, book_csv):
    with pytest.raises(errors.BuildError, match="no executor called 'quick': fast or plain"):
        pipeline.build(book_csv, tmp_path / "book", log=lambda _: None, executor="quick")
    assert list(tmp_path.iterdir()) == []


def test_the_plain_executor_refuses_to_execute_chapters_at_once(tmp_path, book_csv):
    with pytest.raises(errors.BuildError, match="--jobs 2 .* plain executor"):
        pipeline.build(book_csv, tmp_path / "book", log=lambda _: None, executor="plain", jobs=2)
    assert list(tmp_path.iterdir()) == []


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


#: Both books are said to be built at this time: the only thing in them that may differ.
BUILT_AT = "2026-01-02T03:04:05+00:00"


@pytest.fixture(scope="module")
def fast_and_plain(tmp_path_factory, book_csv):
    root = tmp_path_factory.mktemp("executors")
    logs: dict[str, list[str]] = {"fast": [], "plain": []}
    record = provenance.record
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(provenance, "record", lambda *args, **kw: {**record(*args, **kw), "built_at_utc": BUILT_AT})
        for name in logs:
            pipeline.build(book_csv, root / name, log=logs[name].append, executor=name)
    return root / "fast", root / "plain", logs, book_csv


@pytest.mark.slow
def test_the_plain_executor_builds_the_same_book_as_the_fast_one(fast_and_plain):
    fast, plain, _, _ = fast_and_plain
    assert (fast / "results.json").read_bytes() == (plain / "results.json").read_bytes()
    assert json.loads((plain / "provenance.json").read_text())["built_at_utc"] == BUILT_AT
    # Every page (the records pages too), figure, style and the search index, byte for byte;
    # not _sources/, copies of the executed notebooks, which carry papermill's timing of each cell.
    pages = {out: {name: content for name, content in files(out / "html").items() if not name.startswith("_sources/")}
             for out in (fast, plain)}
    assert sorted(pages[fast]) == sorted(pages[plain])
    assert len([name for name in pages[fast] if name.endswith(".html")]) >= 15
    assert [name for name in pages[fast] if pages[fast][name] != pages[plain][name]] == []
    assert sorted(files(fast / "html")) == sorted(files(plain / "html"))
    reproducibility = (plain / "html" / "chapters" / "reproducibility.html").read_text()
    assert BUILT_AT.split("T")[0] in reproducibility  # the records pages were compared, not left out


@pytest.mark.slow
def test_the_plain_executor_gives_every_cell_the_outputs_the_fast_one_gives(fast_and_plain):
    fast, plain, _, _ = fast_and_plain
    notebooks = sorted(p.relative_to(fast / "notebooks") for p in (fast / "notebooks").rglob("*.ipynb"))
    assert notebooks == sorted(p.relative_to(plain / "notebooks") for p in (plain / "notebooks").rglob("*.ipynb"))

    def cells(out: Path, notebook: Path) -> list:
        nb = nbformat.read(out / "notebooks" / notebook, as_version=4)
        return [(c.source, c.get("outputs"), c.get("execution_count")) for c in nb.cells
                if "injected-parameters" not in c.metadata.get("tags", [])]  # this build's paths

    assert [str(n) for n in notebooks if cells(fast, n) != cells(plain, n)] == []


@pytest.mark.slow
def test_build_json_says_how_each_book_was_executed(fast_and_plain):
    fast, plain, logs, _ = fast_and_plain
    records = {out.name: json.loads((out / "build.json").read_text()) for out in (fast, plain)}
    assert records["plain"]["executor"] == "plain" and records["plain"]["jobs"] == 1
    assert records["plain"]["kernels"] == {"mode": "fresh process each"}
    assert records["fast"]["executor"] == "fast" and records["fast"]["jobs"] >= 2
    # One after another in the book's order, each chapter's time logged as the fast one does.
    executed = [re.match(r"\[(\d+)/(\d+)\] (\S+)", line) for line in logs["plain"] if line.startswith("[") and "/" in line]
    assert [m.group(3) for m in executed if m] == records["plain"]["executed"]
    assert set(records["plain"]["seconds"]) == set(records["plain"]["executed"])


def tree(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_failing_chapter_under_the_plain_executor_is_reported_as_under_the_fast_one(fast_and_plain, tmp_path,
                                                                                       monkeypatch):
    _, out, _, data = fast_and_plain
    before = tree(out)
    broken = tmp_path / "chapters"
    shutil.copytree(paths.CHAPTERS_DIR, broken)
    intro = (broken / "intro.md").read_text()
    assert "paper = published.load()" in intro
    (broken / "intro.md").write_text(intro.replace("paper = published.load()", "paper = 1 / 0"))
    monkeypatch.setattr(paths, "CHAPTERS_DIR", broken)
    with pytest.raises(errors.BuildError, match=r"chapter 'intro' \(intro.md\) failed in cell \d+: ZeroDivisionError"):
        pipeline.build(data, out, log=lambda _: None, executor="plain")
    assert tree(out) == before
    assert (out.parent / f".{out.name}.failed").is_dir()
    assert psutil.Process().children(recursive=True) == []  # no kernel, no renderer left
