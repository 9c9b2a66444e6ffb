"""Provenance of a build: which data, code and packages produced the book."""
from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
from typing import Any

from livingpaper import paths


def git_state() -> dict[str, Any]:
    """The commit of the source tree and whether tracked files differ from it."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(paths.ROOT), *args], capture_output=True, text=True,
                                 timeout=30, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[tuple[str, str], ...]:
    # Reading every package's metadata takes a fifth of a second; the set of installed
    # packages does not change while a build runs.
    versions = {dist.metadata["Name"].lower(): dist.version for dist in importlib.metadata.distributions()
                if dist.metadata["Name"]}
    return tuple(sorted(versions.items()))


def package_versions() -> dict[str, str]:
    """Every installed distribution and its version, sorted by name."""
    return dict(_installed())


def record(results: dict[str, Any], command: list[str], load_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance document written beside ``results.json``."""
    return {
        "data": {
            "file": results["dataset"]["path"],
            "sha256": results["dataset"]["sha256"],
            "n_rows": results["dataset"]["n_rows"],
            "reconstructed": results["dataset"]["reconstructed"],
        },
        "parameters": results["parameters"],
        "load_options": load_options or {},
        "code": git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        # A file name's bytes that are not UTF-8 become U+FFFD: the record is written as UTF-8.
        "command": [os.fsencode(part).decode("utf-8", errors="replace") for part in command],
        "built_at_utc": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
