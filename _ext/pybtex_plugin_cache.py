"""Sphinx extension: look pybtex plugins up once, not once per citation.

pybtex finds its styles and backends through the entry points of the installed packages,
and sphinxcontrib-bibtex asks for them at every citation it resolves: with about 150
citations that scan of package metadata took over a second of every build. The answer
cannot change while Sphinx runs, so it is memoised (failures are not, so a plugin
registered later is still found).
"""
from __future__ import annotations

import functools

import pybtex.plugin


def setup(app):
    if not hasattr(pybtex.plugin._load_entry_point, "cache_info"):
        pybtex.plugin._load_entry_point = functools.lru_cache(maxsize=None)(pybtex.plugin._load_entry_point)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
