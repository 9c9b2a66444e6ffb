"""What of each section, on the reconstructed cohort, the reconstruction chose rather than
the paper reported (``reconstruction_caveat`` in ``results.json``)."""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

# ---------------------------------------------------------------------------
# What the reconstruction chose, section by section
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def reconstruction_caveats() -> dict[str, str]:
    """For each ``results.json`` section whose result, on the reconstructed cohort, reflects
    a choice of :mod:`livingpaper.reconstruction` rather than a figure of the paper: what
    was chosen, in words a clinician can use. Sections not listed depend on no such choice
    (the safety count is the paper's; the audit of the abstract uses no data).

    The numbers in the sentences are the reconstruction's own constants and design
    (:func:`livingpaper.stats.implied.derive_design`), never typed here.
    """
    from livingpaper import reconstruction
    from livingpaper.inputs import published
    from livingpaper.stats import (
        implied,  # imported when needed: the reconstruction is heavy
    )

    paper = published.load()
    design = implied.derive_design(paper)
    overall_p = published.figure(paper, "overall_p").value
    copula = f"{reconstruction.BASELINE_CHANGE_CORRELATION:.2f}"
    dose_rho = f"{reconstruction.DOSE_CHANGE_CORRELATION:.2f}"
    low, high = min(design.feasible_n_severe), max(design.feasible_n_severe)
    sizes = (f"the paper does not report the group sizes: the reconstruction put {design.n_severe} of "
             f"{design.n_total} patients in the severe group (any of {low} to {high} fits the published "
             "figures) and spread each group's changes as a normal distribution")
    within = ("the reconstruction imposed, within each severity group, a tendency for patients with a higher "
              f"baseline to fall more (a copula correlation of {copula}, a number borrowed from a study of another "
              "treatment; a choice, see the data chapter)")
    dose = ("which patient received which dose is the reconstruction's choice: it imposed a weak association "
            f"between dose and fall (a copula correlation of {dose_rho}) so that higher doses fall a little more "
            "without significance, as the paper says")
    shape = ("the reconstruction drew each group's changes from a normal distribution, so whether the "
             "bootstrap and rank-based intervals agree with the t interval reflects that choice, not the "
             "shape of the patients' changes")
    baselines = ("the paper does not report the groups' mean baselines: they come from the reconstruction's "
                 f"choice of baselines (a truncated normal distribution with the paper's overall mean, and "
                 f"{design.n_severe} severe patients), and they fix how much regression to the mean is expected")
    paired_text = (f"Made by the reconstruction: {sizes}. The group's mean fall and p are the paper's; its n, the "
                   "SDs, the confidence interval, the effect size and the Wilcoxon check follow from those "
                   "choices.")
    caveats = {
        "overall": ("Made by the reconstruction: the paper reports the mean HbA1c before and after and p < "
                    f"{overall_p:g}, not the spread of the changes. The SDs, the confidence interval, the effect size "
                    f"and the Wilcoxon check follow from the reconstruction's choices ({sizes})."),
        "moderate": paired_text,
        "severe": paired_text,
        "dose_high": ("Made by the reconstruction: the paper gives no numbers for the dose groups; which patient "
                      "received which dose is the reconstruction's choice, so this group's size and fall are "
                      "invented, not measured."),
        "dose_comparison": (f"Made by the reconstruction: {dose}. The difference between the dose groups is that "
                            "choice, not evidence about the dose."),
        "dose_correlation": (f"Made by the reconstruction: {dose}. This correlation measures that choice, not "
                             "the patients."),
        "dose_regression": (f"Made by the reconstruction: {dose}; and {within}. Neither the dose slope nor the "
                            "baseline slope is a finding."),
        "followup": ("Made by the reconstruction: the paper reports only the median and range of follow-up; the "
                     "reconstruction gave the follow-up times to the patients in random order, so any trend with "
                     f"time is chance by construction. The baseline term reflects that {within}."),
        "source_comparison": ("Made by the reconstruction: the paper does not report which patients received "
                              "which cells; the reconstruction split them into three equal groups at random. Any "
                              "difference between the sources here is chance by construction, not a property "
                              "of the cells."),
        "regression_to_mean": (f"Made by the reconstruction: {baselines}; and {within}, which affects the "
                               "interval."),
        "regression_to_mean_overall": ("Made by the reconstruction: the mean baseline is the paper's, but the "
                                       "interval of the fall beyond regression to the mean depends on the "
                                       f"reconstruction's spread of changes, and {within}."),
        "regression_to_mean_at_ancova_slope": (f"Made by the reconstruction: the slope it reads as a correlation "
                                               f"reflects that {within}; and {baselines}."),
        "ancova": (f"Made by the reconstruction: the slope of post-treatment on baseline HbA1c reflects that "
                   f"{within}. It is not a measurement of these patients, and neither is the adjusted fall, "
                   "which depends on it."),
        "change_on_baseline": (f"Made by the reconstruction: how the fall grows with the baseline reflects that "
                               f"{within}; its excess over regression to the mean is that choice, not a finding."),
        "bootstrap": f"Made by the reconstruction: {shape}.",
        "power": ("Made by the reconstruction: the planning SD is that of the reconstructed changes, which "
                  "follows from the published p-values and the reconstruction's choice of group sizes; the fall "
                  "beyond regression to the mean depends on its spread of changes."),
        "power_severe": (f"Made by the reconstruction: the planning SD and the fall beyond regression to the mean "
                         f"follow from its choices ({sizes}; {baselines})."),
        "replication": ("Made by the reconstruction: this cohort was built from the paper's own figures to match "
                        "them, so every claim agrees by construction: the verdicts check the pipeline, not the "
                        f"paper's finding. The reduction read at the paper's mean baseline also reflects that {within}."),
        "multiplicity": ("Made by the reconstruction: several of these p-values test patterns the reconstruction "
                         "imposed or drew at random (see each section); on this cohort they are not findings, "
                         "adjusted or not."),
    }
    caveats["dose_low"] = caveats["dose_high"]
    caveats["regression_to_mean_moderate"] = caveats["regression_to_mean"]
    caveats["bootstrap_moderate"] = caveats["bootstrap_severe"] = caveats["bootstrap"]
    return caveats


def reconstruction_caveat(section: str, reconstructed: bool) -> str | None:
    """The caveat of a ``results.json`` section on the reconstructed cohort; ``None`` on any
    other data, or when the section depends on no choice of the reconstruction."""
    return reconstruction_caveats().get(section) if reconstructed else None


def with_caveat(result: Any, section: str, reconstructed: bool) -> Any:
    """``result`` (a frozen result with a ``reconstruction_caveat`` field) carrying the
    caveat of its section (:func:`reconstruction_caveat`)."""
    caveat = reconstruction_caveat(section, reconstructed)
    return dataclasses.replace(result, reconstruction_caveat=caveat) if caveat != result.reconstruction_caveat \
        else result
