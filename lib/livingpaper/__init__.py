"""Helper library of the living paper on Matsuoka et al. 2025 (single IV MSC infusion, HbA1c).

Modules, one step each: ``tables`` (the table in a file), ``dataset`` (validate),
``identifiers`` (direct identifiers, never published), ``escaping`` (outside text for each
output), ``reconstruction`` (the default
cohort from the published figures), ``published`` (the paper's figures and their
comparison), ``stats`` (tests and intervals), ``analysis`` (populations and the results
document), ``figures``, ``report`` (what the chapters show). The build: ``parameters``,
``book`` (the chapters), ``cache`` (what each chapter depends on), ``execute`` (papermill,
several chapters at once), ``kernels`` and ``kernel_server`` (kernels forked from one warm
process), ``render`` (Jupyter Book, the PDF), ``outfolder`` (what OUT may be, the atomic swap),
``processes`` (child processes end with the build), ``pipeline`` (the steps in order) and
``cli``.
"""
from __future__ import annotations

__version__ = "0.1.0"
