"""The book's analyses: populations, sections and the results document.

A *section* is one population analysed one way (``overall``, ``moderate``, ``severe``,
``dose_high``, ``dose_low``: paired before/after; ``dose_comparison``: Welch's t-test of
the reductions, high minus low; ``dose_correlation``: Pearson and Spearman of dose with
the reduction; ``replication``: each claim of the paper against this cohort,
:mod:`livingpaper.stats.replication`). :func:`results` computes all of them and returns the dictionary written
to ``results.json`` (contract in DESIGN.md); the chapters call the same functions, so
the book and ``results.json`` cannot disagree.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from livingpaper.domain import PAIRED_SECTIONS
from livingpaper.inputs.cohort import Cohort
from livingpaper.parameters import Parameters
from livingpaper.results.caveats import with_caveat
from livingpaper.results.populations import cohort_summary, population
from livingpaper.stats import paired as stats_paired

# ---------------------------------------------------------------------------
# The lines a build prints at its end
# ---------------------------------------------------------------------------

_CLAIM_LABELS = {"overall": "all patients", "moderate": "moderate", "severe": "severe", "dose": "dose trend"}


def replication_summary_lines(results: dict[str, Any]) -> list[str]:
    """What a build prints last: the verdict of each claim, with the numbers behind it.

    ``results`` is a ``results.json`` document; returns no line when it has no
    ``replication`` section (a document of an older build).
    """
    section = results.get("sections", {}).get("replication")
    if not section:
        return []
    data = results.get("dataset", {}).get("path", "this file")
    if section["reconstructed"]:
        head = (f"Replication criteria on {data}, the reconstructed cohort: it was made to match the paper, so "
                "agreement is by construction, not a replication.")
    else:
        head = f"Replication of Matsuoka et al. 2025 on {data}:"
    lines = [head]
    width = max(len(v) for v in _CLAIM_LABELS.values())
    for name, claim in section["claims"].items():
        verdict = claim["verdict"].replace("_", " ")
        numbers = ""
        if claim["estimate"] is not None and claim["ci95_low"] is not None and claim["published_estimate"] is not None:
            numbers = (f"{claim['estimate']:.2f} (95% CI {claim['ci95_low']:.2f} to {claim['ci95_high']:.2f}) "
                       f"vs paper {claim['published_estimate']:.2f}")
            if claim["prediction_low"] is not None:
                numbers += (f", widest 95% prediction interval {claim['prediction_low']:.2f} to "
                            f"{claim['prediction_high']:.2f}")
            numbers += ". "
        lines.append(f"  {_CLAIM_LABELS.get(name, name):<{width}}  {verdict:<14}  {numbers}{claim['reason']}")
    return lines


def paired(cohort: Cohort, section: str, params: Parameters, reconstructed: bool = False) -> stats_paired.PairedReduction:
    return with_caveat(stats_paired.paired_reduction(population(cohort, section, params)), section, reconstructed)


def dose_comparison(cohort: Cohort, params: Parameters, reconstructed: bool = False) -> stats_paired.DoseComparison:
    result = stats_paired.dose_comparison(population(cohort, "dose_high", params), population(cohort, "dose_low", params))
    return with_caveat(result, "dose_comparison", reconstructed)


def dose_correlation(cohort: Cohort, reconstructed: bool = False) -> stats_paired.DoseCorrelation:
    result = stats_paired.dose_correlation(cohort.analysed.dropna(subset=["dose_cells"]))
    return with_caveat(result, "dose_correlation", reconstructed)


def results(cohort: Cohort, params: Parameters, reconstructed: bool) -> dict[str, Any]:
    """Every number of the book, in the ``results.json`` contract of DESIGN.md."""
    sections: dict[str, Any] = {name: paired(cohort, name, params, reconstructed).to_dict()
                                for name in PAIRED_SECTIONS}
    sections["dose_comparison"] = dose_comparison(cohort, params, reconstructed).to_dict()
    sections["dose_correlation"] = dose_correlation(cohort, reconstructed).to_dict()
    # Imported here: beyond and evidence build on this module.
    from livingpaper.inputs import evidence
    from livingpaper.results import beyond
    from livingpaper.stats import replication
    sections.update(beyond.sections(cohort, params, evidence.rtm_anchors(), reconstructed=reconstructed))
    sections["replication"] = with_caveat(replication.replicate(sections, cohort.analysed, params, reconstructed),
                                          "replication", reconstructed).to_dict()
    return {
        "dataset": {
            "path": cohort.path.name,
            "sha256": cohort.sha256,
            "n_rows": int(cohort.n_rows),
            "n_analysed": int(cohort.n_analysed),
            "excluded": cohort.excluded,
            "reconstructed": bool(reconstructed),
        },
        "parameters": params.to_dict(),
        "cohort": cohort_summary(cohort),
        "sections": sections,
    }


_RESULT_TYPES = {**{name: stats_paired.PairedReduction for name in PAIRED_SECTIONS},
                 "dose_comparison": stats_paired.DoseComparison, "dose_correlation": stats_paired.DoseCorrelation}


def section_result(results: dict[str, Any], name: str):
    """A section of a results document as its result object (what the chapters display),
    so that a page shows exactly the numbers of results.json, computed once. Keys the
    result type does not know (a document written by another version) are left out.
    ``replication`` gives a :class:`livingpaper.stats.replication.Replication`."""
    if name == "replication":
        from livingpaper.stats.replication import Replication

        return Replication.from_dict(results["sections"][name])
    kind = _RESULT_TYPES[name]
    known = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in results["sections"][name].items() if k in known})


def results_of_build(results_path: str, cohort: Cohort, params: Parameters, reconstructed: bool) -> dict[str, Any]:
    """The build's results.json when a chapter runs inside a build (computed once for all
    chapters), else the same document computed here (a chapter run on its own)."""
    if results_path:
        with open(results_path, encoding="utf-8") as fh:
            return json.load(fh)
    return results(cohort, params, reconstructed)
