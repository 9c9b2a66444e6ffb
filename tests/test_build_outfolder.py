"""Tests for livingpaper.build.outfolder: the build never deletes what it did not write.

These tests work on folders made here, without building a book: a "book" is a folder with
the marker the build writes, listing its files.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from livingpaper import paths
from livingpaper.build import outfolder
from livingpaper.errors import BuildError


def make_book(folder: Path, text: str = "old") -> Path:
    folder.mkdir(parents=True)
    (folder / "html").mkdir()
    (folder / "html" / "index.html").write_text(text)
    (folder / "results.json").write_text("{}")
    outfolder.mark(folder, "book", outfolder.files_of(folder))
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "data" / "cohort.csv"
    path.parent.mkdir()
    path.write_text("patient_id\n")
    return path


def test_a_folder_that_merely_looks_like_a_book_is_refused_and_left_as_it_is(tmp_path, data):
    lookalike = tmp_path / "thesis"
    lookalike.mkdir()
    for name, text in {"results.json": "{}", "provenance.json": "{}", "build.json": "{}", "thesis.tex": "work"}.items():
        (lookalike / name).write_text(text)
    before = tree(lookalike)
    with pytest.raises(BuildError, match="not a book built by livingpaper"):
        outfolder.check(lookalike, data)
    assert tree(lookalike) == before


def test_a_book_holding_a_file_the_build_did_not_write_is_refused(tmp_path, data):
    book = make_book(tmp_path / "book")
    (book / "html" / "my notes.txt").write_text("mine")
    with pytest.raises(BuildError, match=r"holds files the build did not write \(html/my notes.txt\)"):
        outfolder.check(book, data)


def test_an_empty_folder_and_a_book_of_its_own_files_are_accepted(tmp_path, data):
    (tmp_path / "empty").mkdir()
    outfolder.check(tmp_path / "empty", data)
    outfolder.check(make_book(tmp_path / "book"), data)
    outfolder.check(tmp_path / "new", data)


def test_a_marker_of_a_build_still_writing_is_not_a_book(tmp_path, data):
    folder = tmp_path / "half"
    folder.mkdir()
    outfolder.mark(folder, "staging")
    with pytest.raises(BuildError, match="not a book"):
        outfolder.check(folder, data)


@pytest.mark.parametrize("inside", ["_static", "_ext", "bench", ".ci", ".git", "data", "chapters", "lib", "tests",
                                    "lib/livingpaper", ".", "new_folder", ".venv"])
def test_out_anywhere_in_the_checkout_but_the_default_build_folder_is_refused(inside, data):
    # In a checkout made by `git worktree add`, .git is a file: refused as a file first.
    reason = "is a file, not a folder" if (paths.ROOT / inside).is_file() else "inside the source tree"
    with pytest.raises(BuildError, match=reason):
        outfolder.check(outfolder.resolve_out(paths.ROOT / inside), data)


def test_the_default_build_folder_of_the_checkout_is_allowed(data):
    out = outfolder.resolve_out(paths.ROOT / "_build")
    if out.exists() and outfolder.read_marker(out) is None and any(out.iterdir()):
        pytest.skip("this checkout's _build/ was written by an older version")
    outfolder.check(out, data)


def test_out_that_holds_the_checkout_is_refused(data):
    with pytest.raises(BuildError, match="source tree"):
        outfolder.check(outfolder.resolve_out(paths.ROOT.parent), data)


def test_out_that_is_a_file_or_the_data_file_is_refused(tmp_path, data):
    with pytest.raises(BuildError, match="is the data file itself"):
        outfolder.check(outfolder.resolve_out(data), data)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(BuildError, match="is a file, not a folder"):
        outfolder.check(outfolder.resolve_out(other), data)
    assert data.read_text() == "patient_id\n" and other.read_text() == "x"


def test_data_inside_out_or_inside_the_builds_own_folders_is_refused(tmp_path):
    book = make_book(tmp_path / "book")
    inside = book / "cohort.csv"
    inside.write_text("x")
    with pytest.raises(BuildError, match="lies inside --out"):
        outfolder.check(book, inside)
    failed = tmp_path / ".book.failed"
    failed.mkdir()
    (failed / "cohort.csv").write_text("x")
    with pytest.raises(BuildError, match="lies inside --out"):
        outfolder.check(book, failed / "cohort.csv")


def test_a_symbolic_link_to_a_folder_is_followed_and_a_dangling_one_refused(tmp_path):
    target = make_book(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert outfolder.resolve_out(link) == target.resolve()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(BuildError, match="symbolic link to .* which does not exist"):
        outfolder.resolve_out(tmp_path / "dangling")


def test_publish_replaces_the_old_book_by_the_new_one_in_one_step(tmp_path):
    out, staging = make_book(tmp_path / "book", "old"), make_book(tmp_path / ".book.staging-1", "new")
    outfolder.publish(staging, out)
    assert (out / "html" / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]


def test_publish_without_an_atomic_exchange_still_ends_with_the_new_book(tmp_path, monkeypatch):
    monkeypatch.setattr(outfolder, "_exchange", lambda a, b: False)
    out, staging = make_book(tmp_path / "book", "old"), make_book(tmp_path / ".book.staging-1", "new")
    outfolder.publish(staging, out)
    assert (out / "html" / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]


@pytest.mark.parametrize("exchange", [True, False])
def test_a_file_put_into_out_while_the_build_ran_is_not_deleted_by_publish(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(outfolder, "_exchange", lambda a, b: False)
    out, staging = make_book(tmp_path / "book", "old"), make_book(tmp_path / ".book.staging-1", "new")
    (out / "thesis.docx").write_text("a year of work")  # after the check at the build's start
    with pytest.raises(BuildError, match=r"holds files the build did not write \(thesis.docx\)"):
        outfolder.publish(staging, out)
    assert (out / "thesis.docx").read_text() == "a year of work"
    assert (out / "html" / "index.html").read_text() == "old"


def test_a_swap_interrupted_between_its_two_renames_is_restored_not_deleted(tmp_path):
    # The state a kill between "OUT -> .OUT.old" and "staging -> OUT" leaves behind.
    old = make_book(tmp_path / ".book.old", "old")
    staging = make_book(tmp_path / ".book.staging-999999", "new")
    messages = []
    outfolder.recover(tmp_path / "book", messages.append)
    assert (tmp_path / "book" / "html" / "index.html").read_text() == "old"
    assert not old.exists() and staging.exists() and "Restored" in messages[0]
    outfolder.remove_stale(tmp_path / "book")  # the dead build's staging folder: its own, removed
    assert not staging.exists()


def test_after_a_completed_swap_the_old_book_put_aside_is_removed(tmp_path):
    make_book(tmp_path / ".book.old", "old")
    make_book(tmp_path / "book", "new")
    outfolder.recover(tmp_path / "book", print)
    assert not (tmp_path / ".book.old").exists()
    assert (tmp_path / "book" / "html" / "index.html").read_text() == "new"


def test_folders_named_like_the_builds_own_but_not_written_by_it_are_left_alone(tmp_path):
    for name in (".book.old", ".book.failed", f".book.staging-{2 ** 22 + 7}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keep.txt").write_text("mine")
    outfolder.recover(tmp_path / "book", print)
    outfolder.remove_stale(tmp_path / "book")
    staging = make_book(tmp_path / ".book.staging-1", "new")
    kept = outfolder.keep_failed(staging, tmp_path / "book")
    assert kept == staging  # not renamed over someone's .book.failed
    for name in (".book.old", ".book.failed", f".book.staging-{2 ** 22 + 7}"):
        assert (tmp_path / name / "keep.txt").read_text() == "mine"


def test_a_staging_folder_of_a_running_build_is_kept(tmp_path):
    running = make_book(tmp_path / f".book.staging-{os.getpid()}")
    outfolder.remove_stale(tmp_path / "book")
    assert running.exists()
