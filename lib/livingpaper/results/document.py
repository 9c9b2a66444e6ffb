"""``results.json``: every number of the book, computed once per build, and read back.

:func:`results` computes the document (contract in DESIGN.md):

- ``dataset``, ``parameters``, ``cohort`` (the file, the thresholds, who the patients are
  and how they flowed through the analysis);
- ``sections``: one population analysed one way (``overall``, ``moderate``, ``severe``,
  ``dose_high``, ``dose_low``: paired before/after; ``dose_comparison``: Welch's t-test of
  the reductions, high minus low; ``dose_correlation``: Pearson and Spearman of dose with
  the reduction; the sections beyond the paper, :mod:`livingpaper.results.beyond`;
  ``replication``: each claim of the paper against this cohort,
  :mod:`livingpaper.stats.replication`);
- ``published``: the paper's figures beside this build's, and what the abstract implies
  (:mod:`livingpaper.stats.implied`, :mod:`livingpaper.stats.consistency`);
- ``reconstruction``: how the default cohort was reconstructed (the same on every build);
- ``curves``: the figures' points that need no patient rows.

The chapters never compute these again: :func:`of_build` gives them the build's document,
and :func:`section`, :func:`beyond`, :func:`published_comparison`, :func:`implied_tables`
read it back into the typed results the presentation expects.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from livingpaper import reconstruction
from livingpaper.domain import CLAIMS, PAIRED_SECTIONS, verdict_name
from livingpaper.escaping import terminal
from livingpaper.formatting import span
from livingpaper.inputs import evidence, published
from livingpaper.inputs.cohort import Cohort
from livingpaper.inputs.cohort import load as load_cohort
from livingpaper.parameters import Parameters
from livingpaper.results import beyond as beyond_analyses
from livingpaper.results.caveats import with_caveat
from livingpaper.results.populations import cohort_summary, population
from livingpaper.stats import comparators, consistency, implied, replication
from livingpaper.stats.paired import (
    DoseComparison,
    DoseCorrelation,
    PairedReduction,
    paired_reduction,
    spearman_of_gaussian_copula,
)
from livingpaper.stats.paired import dose_comparison as compare_doses
from livingpaper.stats.paired import dose_correlation as correlate_dose
from livingpaper.stats.result import _plain

# ---------------------------------------------------------------------------
# The lines a build prints at its end
# ---------------------------------------------------------------------------

_CLAIM_LABELS = {key: claim.short_label.lower() for key, claim in CLAIMS.items()}


def replication_summary_lines(results: dict[str, Any]) -> list[str]:
    """What a build prints last: the verdict of each claim, with the numbers behind it.

    ``results`` is a ``results.json`` document; returns no line when it has no
    ``replication`` section (a document of an older build).
    """
    section = results.get("sections", {}).get("replication")
    if not section:
        return []
    data = terminal(results.get("dataset", {}).get("path", "this file"))  # a file's name, from outside
    if section["reconstructed"]:
        head = (f"Replication criteria on {data}, the reconstructed cohort: it was made to match the paper, so "
                "agreement is by construction, not a replication.")
    else:
        head = f"Replication of Matsuoka et al. 2025 on {data}:"
    lines = [head]
    width = max(len(v) for v in _CLAIM_LABELS.values())
    for name, claim in section["claims"].items():
        verdict = verdict_name(claim["verdict"])
        numbers = ""
        if claim["estimate"] is not None and claim["ci95_low"] is not None and claim["published_estimate"] is not None:
            numbers = (f"{claim['estimate']:.2f} (95% CI {span(claim['ci95_low'], claim['ci95_high'])}) "
                       f"vs paper {claim['published_estimate']:.2f}")
            if claim["prediction_low"] is not None:
                numbers += f", widest 95% prediction interval {span(claim['prediction_low'], claim['prediction_high'])}"
            numbers += ". "
        lines.append(f"  {_CLAIM_LABELS.get(name, name):<{width}}  {verdict:<14}  {numbers}{claim['reason']}")
    return lines


def paired(cohort: Cohort, section: str, params: Parameters, reconstructed: bool = False) -> PairedReduction:
    """One paired section: the reduction of HbA1c in a population of the registry."""
    return with_caveat(paired_reduction(population(cohort, section, params)), section, reconstructed)


def dose_comparison(cohort: Cohort, params: Parameters, reconstructed: bool = False) -> DoseComparison:
    result = compare_doses(population(cohort, "dose_high", params), population(cohort, "dose_low", params))
    return with_caveat(result, "dose_comparison", reconstructed)


def dose_correlation(cohort: Cohort, reconstructed: bool = False) -> DoseCorrelation:
    result = correlate_dose(cohort.analysed.dropna(subset=["dose_cells"]))
    return with_caveat(result, "dose_correlation", reconstructed)


def results(cohort: Cohort, params: Parameters, reconstructed: bool) -> dict[str, Any]:
    """Every number of the book, in the ``results.json`` contract of DESIGN.md."""
    paper = published.load()
    reductions = {name: paired(cohort, name, params, reconstructed) for name in PAIRED_SECTIONS}
    sections: dict[str, Any] = {name: result.to_dict() for name, result in reductions.items()}
    sections["dose_comparison"] = dose_comparison(cohort, params, reconstructed).to_dict()
    sections["dose_correlation"] = dose_correlation(cohort, reconstructed).to_dict()
    analysed_beyond = beyond_analyses.analyse(cohort, params, evidence.rtm_anchors(), published=paper,
                                              reconstructed=reconstructed, paired=reductions)
    sections.update(analysed_beyond.sections())
    sections["replication"] = with_caveat(replication.replicate(sections, cohort.analysed, params, reconstructed,
                                                                published=paper),
                                          "replication", reconstructed).to_dict()
    document = {
        "dataset": {
            "path": cohort.path.name,
            "sha256": cohort.sha256,
            "n_rows": int(cohort.n_rows),
            "n_analysed": int(cohort.n_analysed),
            "excluded": cohort.excluded,
            "reconstructed": bool(reconstructed),
        },
        "parameters": params.to_dict(),
        "cohort": cohort_summary(cohort, params),
        "sections": sections,
    }
    document["published"] = _published(document, analysed_beyond, paper)
    document["reconstruction"] = _reconstruction(paper)
    document["curves"] = {"power": _records(beyond_analyses.power_curve(analysed_beyond))}
    return document


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records, every value a plain Python value (NaN as null)."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _published(document: dict[str, Any], analysed: beyond_analyses.Beyond, paper: dict[str, Any]) -> dict[str, Any]:
    """The paper's figures beside this build's, and what the abstract implies (the tables
    the audit of the analyses beyond the paper already made)."""
    comparison = published.comparison_table(paper, document)
    comparison.insert(1, "section", [published.figure(paper, i).section for i in comparison["id"]])
    return {
        "comparison": _records(comparison),
        "implied_by_size": _records(analysed.implied_by_size),
        "checks": _records(analysed.checks),
        "this_build": _records(consistency.build_comparison(analysed.consistency, document["sections"])),
    }


def _reconstruction(paper: dict[str, Any]) -> dict[str, Any]:
    """How the default cohort was reconstructed from the paper (the data chapter shows it
    whatever data a build uses; the reconstruction's own choices are in its module)."""
    design = implied.derive_design(paper)
    table = evidence.load()
    copula_source = "baselinehba1c2016_slope"
    r_squared = comparators.reported_r_squared(table, copula_source)
    return {
        "n_total": design.n_total, "n_severe": design.n_severe, "n_moderate": design.n_moderate,
        "feasible_n_severe_min": min(design.feasible_n_severe),
        "feasible_n_severe_max": max(design.feasible_n_severe),
        "sd_reduction_severe_range": list(design.sd_reduction_severe_range),
        "sd_reduction_moderate_range": list(design.sd_reduction_moderate_range),
        "baseline_mu": design.baseline_mu, "baseline_sigma": design.baseline_sigma,
        "baseline_change_copula": reconstruction.BASELINE_CHANGE_CORRELATION,
        "baseline_change_rank_correlation": spearman_of_gaussian_copula(reconstruction.BASELINE_CHANGE_CORRELATION),
        "dose_change_copula": reconstruction.DOSE_CHANGE_CORRELATION,
        "copula_source": copula_source,
        "copula_source_slope": comparators.value(table, copula_source),
        "copula_source_r_squared": r_squared,
        "copula_source_r": None if r_squared is None else r_squared ** 0.5,
    }


# ---------------------------------------------------------------------------
# Read back: the document of a build, as the chapters use it
# ---------------------------------------------------------------------------

#: The result type of every section, by its key in ``results.json``.
SECTION_TYPES: dict[str, type] = {
    **{name: PairedReduction for name in PAIRED_SECTIONS},
    "dose_comparison": DoseComparison,
    "dose_correlation": DoseCorrelation,
    **beyond_analyses.SECTION_TYPES,
    "replication": replication.Replication,
}


def section(results: dict[str, Any], name: str):
    """A section of a results document as its typed result: what the chapters display, so
    that a page shows exactly the numbers of ``results.json``, computed once."""
    return SECTION_TYPES[name].from_dict(results["sections"][name])


def beyond(results: dict[str, Any]) -> beyond_analyses.Beyond:
    """Every analysis beyond the paper, read back from the document."""
    return beyond_analyses.from_sections(results["sections"])


def published_comparison(results: dict[str, Any], sections: list[str] | None = None) -> pd.DataFrame:
    """Published beside this build, one row per figure of the paper (``id, section, figure,
    published, reproduced, match``), for the sections asked for (all by default)."""
    frame = pd.DataFrame(results["published"]["comparison"],
                         columns=["id", "section", "figure", "published", "reproduced", "match"])
    return frame if sections is None else frame[frame["section"].isin(sections)].reset_index(drop=True)


def implied_tables(results: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What the abstract implies, by feasible severe-group size; the checks of its figures;
    and this build against the implied ranges (tables of the "What the abstract implies"
    chapter)."""
    block = results["published"]
    return (pd.DataFrame(block["implied_by_size"]), pd.DataFrame(block["checks"]),
            pd.DataFrame(block["this_build"], columns=["quantity", "kind", "implied_low", "implied_high",
                                                       "this_build", "within"], dtype=object))


def power_curve(results: dict[str, Any]) -> pd.DataFrame:
    """The points of the power figure."""
    return pd.DataFrame(results["curves"]["power"], columns=list(beyond_analyses.POWER_CURVE_COLUMNS))


def of_build(results_path: str, data: Cohort | str, params: Parameters, reconstructed: bool) -> dict[str, Any]:
    """The build's ``results.json`` when a chapter runs inside a build (computed once for
    all chapters); for a chapter run on its own, the same document computed here from the
    data (``data``: the cohort, or the path of its file)."""
    if results_path:
        with open(results_path, encoding="utf-8") as fh:
            return json.load(fh)
    return results(data if isinstance(data, Cohort) else load_cohort(data), params, reconstructed)
