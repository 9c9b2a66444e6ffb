"""The output folder OUT: which folders are books, which may be replaced, and how.

Nothing the build did not write is ever deleted or changed:

- a book is recognised by a marker file that only the build writes (:data:`MARKER`), which
  lists every file of the book; a folder is replaced only if it is empty, or a book whose
  files are all listed in its marker (a file the user put there since stops the build);
- the build's own folders beside OUT (``.OUT.staging-PID`` while it runs, ``.OUT.failed``
  after a failure, ``.OUT.old`` for a moment during the swap) carry the marker too, and a
  folder of that name without it is left alone;
- OUT may not lie in the source tree (except the default ``_build/``), be a file, or hold
  the data file; a symbolic link to a folder is followed (the link itself stays);
- the new book replaces the old one in one atomic step (Linux ``renameat2`` with
  ``RENAME_EXCHANGE``): at every instant OUT holds a complete book, old or new. Where the
  exchange is not available, two renames are used, and a build that finds the old book
  put aside by an interrupted swap restores it before anything else.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Iterable

from livingpaper import paths
from livingpaper.errors import BuildError
from livingpaper.escaping import terminal

#: Written by the build into every folder it creates beside or as OUT.
MARKER = ".livingpaper-book.json"
_WRITER = "livingpaper"


def read_marker(folder: Path) -> dict | None:
    """The marker of a folder the build wrote, or None (no marker, or not one of ours)."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("written_by") == _WRITER else None


def is_ours(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and read_marker(folder) is not None


def mark(folder: Path, state: str, files: Iterable[str] = ()) -> None:
    """Write the marker: ``state`` is "staging" while the build writes, "book" when the
    folder is a complete book, whose ``files`` it lists."""
    (folder / MARKER).write_text(json.dumps({"written_by": _WRITER, "state": state, "files": sorted(files)},
                                            indent=1) + "\n", encoding="utf-8")


def files_of(folder: Path) -> list[str]:
    """Every file and symbolic link under ``folder``, relative, the marker excepted."""
    found = []
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        found += [(base / f).as_posix() for f in files]
        found += [(base / d).as_posix() for d in dirs if (Path(root) / d).is_symlink()]
    return sorted(f for f in found if f != MARKER)


def sibling(out: Path, role: str) -> Path:
    """The build's folder beside OUT: ``.OUT.failed``, ``.OUT.old``, ``.OUT.staging-PID``."""
    return out.with_name(f".{out.name}.{role}")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def resolve_out(out: Path) -> Path:
    """OUT as an absolute path, a symbolic link followed to the folder it names."""
    out = Path(os.path.abspath(out))
    if out.is_symlink():
        target = Path(os.path.realpath(out))
        if not target.exists():
            raise BuildError(f"--out {terminal(out)} is a symbolic link to {terminal(target)}, which does not exist")
        return target
    return Path(os.path.realpath(out.parent)) / out.name


def check(out: Path, data: Path) -> None:
    """Refuse an OUT that the build may not replace; ``out`` is resolved (:func:`resolve_out`)."""
    data = Path(os.path.realpath(data))
    if out.exists() and not out.is_dir():
        what = "the data file itself" if data == out else "a file, not a folder"
        raise BuildError(f"--out {terminal(out)} is {what}; give a folder for the book")
    root = paths.ROOT
    if _inside(out, root) and not _inside(out, paths.DEFAULT_OUT) or _inside(root, out) or out == Path(out.anchor):
        raise BuildError(f"--out {terminal(out)} is inside the source tree ({terminal(root)}) or holds it; the "
                         f"book may go to {terminal(paths.DEFAULT_OUT)} (the default) or to a folder outside the checkout")
    ours_beside = any(p.parent == out.parent and p.name.startswith(f".{out.name}.") for p in (data, *data.parents))
    if _inside(data, out) or ours_beside:
        raise BuildError(f"the data file {terminal(data)} lies inside --out {terminal(out)}, which the build "
                         "replaces; move the data file or choose another --out")
    if out.is_dir():
        _check_replaceable(out)


def _check_replaceable(out: Path) -> None:
    entries = list(out.iterdir())
    if not entries:
        return
    marker = read_marker(out)
    if marker is None or marker.get("state") != "book":
        raise BuildError(f"{terminal(out)} exists and is not a book built by livingpaper (it has no "
                         f"{MARKER}; a book of a version before that marker has none either: delete it "
                         "yourself if it is one); choose another --out (nothing was changed)")
    foreign = sorted(set(files_of(out)) - set(marker.get("files", ())))
    if foreign:
        shown = ", ".join(terminal(f) for f in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise BuildError(f"{terminal(out)} holds files the build did not write ({shown}); move them elsewhere "
                         "or choose another --out (nothing was changed)")


def recover(out: Path, log) -> None:
    """Restore the book put aside by a swap that was interrupted between its two renames."""
    old = sibling(out, "old")
    if not is_ours(old):
        return
    if not out.exists():
        old.rename(out)
        log(f"Restored the previous book in {terminal(out)}: an earlier build was interrupted while replacing it.")
    elif is_ours(out):
        shutil.rmtree(old)  # the swap had completed: this is the book it replaced


def remove_stale(out: Path) -> None:
    """The staging folders of builds that were killed (their process is gone): removed,
    only if the build wrote them."""
    for folder in out.parent.glob(f".{out.name}.staging-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        try:
            os.kill(int(pid), 0)
            continue  # a build still running
        except PermissionError:  # alive, someone else's
            continue
        except (ValueError, ProcessLookupError):
            pass
        if is_ours(folder):
            shutil.rmtree(folder, ignore_errors=True)


def keep_failed(staging: Path, out: Path) -> Path | None:
    """A failed build's staging folder, kept as ``.OUT.failed`` for inspection (the previous
    failed build's folder, if ours, is replaced)."""
    if not staging.exists():
        return None
    failed = sibling(out, "failed")
    if failed.exists():
        if not is_ours(failed):
            return staging  # someone's folder of that name: the staging folder keeps its own
        shutil.rmtree(failed, ignore_errors=True)
    staging.rename(failed)
    return failed


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2); False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # this kernel or file system cannot
        return False
    raise OSError(code, os.strerror(code), str(b))


def publish(staging: Path, out: Path) -> None:
    """Make the complete book in ``staging`` the book in OUT, atomically; OUT is checked
    again first (:func:`check` ran when the build started, and a file put into OUT since
    would go with the old book)."""
    if out.is_dir():
        _check_replaceable(out)
    if not out.exists():
        staging.rename(out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging)  # now the old book
        return
    old = sibling(out, "old")
    out.rename(old)  # an interruption here leaves the old book in .OUT.old: recover() restores it
    staging.rename(out)
    shutil.rmtree(old)
