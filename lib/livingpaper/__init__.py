"""Helper library of the living paper on Matsuoka et al. 2025 (single IV MSC infusion, HbA1c).

In layers (ARCHITECTURE.md at the top of the repository is the map): the ground modules
(``paths``, ``errors``, ``parameters``, ``domain``, ``formatting``, ``hashing``,
``escaping``); ``inputs`` (files in, validated objects out); ``stats`` (DataFrames in,
frozen results out); ``results`` and ``reconstruction`` (the book's analyses, once per
build, into ``results.json``); ``present`` (typed results in, Markdown and figures out);
``build`` (from a data file to the book); ``cli``. A module imports only its own layer or
below; nothing but the command line imports the build.
"""
from __future__ import annotations

__version__ = "0.1.0"
