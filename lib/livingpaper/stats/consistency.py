"""What the abstract implies: unreported quantities and an internal-consistency audit.

Everything here is computed from the paper's published figures alone
(``data/published.yaml``, read by :func:`livingpaper.inputs.published.load`), never from
patient data. Every published number stands for the interval of values that round to
it (a mean of 0.58 is anything in [0.575, 0.585)); from these intervals the module
derives

- the **subgroup sizes** compatible with the overall and subgroup means
  (:func:`livingpaper.stats.implied.derive_design` finds them from the intervals;
  :func:`granular_sizes` repeats the search with HbA1c recorded to 0.1 %, i.e. with
  integer sums, GRIM-style);
- for each feasible size, the **SD of the change** that each reported paired-t p-value
  implies, ``sd = mean * sqrt(n) / t_{n-1}(1 - p/2)``, and the **confidence interval**
  that the p-value implies, ``mean +/- mean * t_{n-1}(1 - alpha/2) / t_{n-1}(1 - p/2)``
  (the t version of Altman & Bland 2011), which needs no SD;
- the **overall p** that the subgroup figures imply, to check against the published
  "p < 0.0001";
- the **baseline means** each group can have within its definition.

It then lists every check that can be made, with its verdict: *consistent*,
*inconsistent*, *not informative* (a check that cannot fail at this precision, like GRIM
with 10 or more patients per mean), or *not verifiable* (the abstract gives no number to
check).

References
----------
Brown NJL, Heathers JAJ (2017). The GRIM test: a simple technique detects numerous
anomalies in the reporting of results in psychology. *Social Psychological and
Personality Science* 8(4), 363-369. doi:10.1177/1948550616673876

Altman DG, Bland JM (2011). How to obtain the confidence interval from a P value.
*BMJ* 343, d2090. doi:10.1136/bmj.d2090
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from livingpaper.domain import HBA1C_STEP
from livingpaper.formatting import (
    format_cells,
    round_up,
    significant_decimals,
)
from livingpaper.inputs import published as inputs_published
from livingpaper.stats.implied import _reported, implied_by_size
from livingpaper.stats.result import TidyResult

CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"
NOT_INFORMATIVE = "not informative"
NOT_VERIFIABLE = "not verifiable"
_EPS = 1e-9


@dataclass(frozen=True)
class Grim(TidyResult):
    """Result of :func:`grim`.

    Attributes
    ----------
    estimable : bool
    reason : str or None
    mean : float
        The reported mean.
    decimals : int
        Decimals it is reported to.
    n : int
    step : float
        Recording step of the individual values.
    granularity : float
        ``step / n``: the spacing of the means that n such values can have.
    informative : bool
        Whether the check can fail: the spacing is wider than the reporting resolution
        ``10**-decimals`` (with 0.1 % steps and two decimals, fewer than 10 values).
    consistent : bool or None
        Whether some sum of n recorded values gives a mean that rounds to the report.
    nearest_attainable : float or None
        The attainable mean closest to the reported one.
    """

    estimable: bool
    reason: str | None
    mean: float
    decimals: int
    n: int
    step: float
    granularity: float | None
    informative: bool
    consistent: bool | None
    nearest_attainable: float | None


def grim(mean: float, decimals: int, n: int, step: float = HBA1C_STEP) -> Grim:
    """GRIM-style granularity check of a reported mean (Brown & Heathers 2017).

    A mean of ``n`` values each recorded in steps of ``step`` is ``k * step / n`` for an
    integer ``k``. The reported mean, rounded to ``decimals``, stands for the interval
    ``[mean - h, mean + h)`` with ``h = 0.5 * 10**-decimals``; it is consistent when some
    ``k * step / n`` lies in it. The check is *informative* only when ``step / n`` is
    wider than the resolution ``10**-decimals``: otherwise every interval contains an
    attainable mean and the check cannot fail.
    """
    if n < 1:
        return Grim(estimable=False, reason="Not estimable: no values.", mean=mean, decimals=decimals, n=n,
                    step=step, granularity=None, informative=False, consistent=None, nearest_attainable=None)
    half = 0.5 * 10.0 ** (-decimals)
    unit = step / n
    k_low = math.ceil((mean - half) / unit - _EPS)
    k_high = math.ceil((mean + half) / unit - _EPS) - 1  # [low, high): the top end excluded
    consistent = k_low <= k_high
    nearest = round(mean / unit) * unit
    informative = unit > 10.0 ** (-decimals) + _EPS
    return Grim(estimable=True, reason=None, mean=float(mean), decimals=int(decimals), n=int(n), step=float(step),
                granularity=unit, informative=informative, consistent=consistent, nearest_attainable=nearest)


def _as_printed(p: float) -> str:
    """A p-value written out in decimals, as the paper prints it (0.0122, 0.0000002)."""
    decimals = max(0, -math.floor(math.log10(p)) + len(f"{p:g}".split("e")[0].replace(".", "").lstrip("0")) - 1)
    return f"{p:.{decimals}f}"


def _sizes_text(sizes: list[int] | tuple[int, ...]) -> str:
    sizes = sorted(sizes)
    if not sizes:
        return "no size"
    if sizes == list(range(sizes[0], sizes[-1] + 1)):
        return f"{sizes[0]} to {sizes[-1]}" if len(sizes) > 1 else f"{sizes[0]}"
    return ", ".join(str(s) for s in sizes)


def checks(published: dict[str, Any] | None = None, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every internal-consistency check of the published figures, with its verdict.

    Returns
    -------
    pandas.DataFrame
        ``check, verdict, detail``; ``verdict`` is one of :data:`CONSISTENT`,
        :data:`INCONSISTENT`, :data:`NOT_INFORMATIVE`, :data:`NOT_VERIFIABLE`.
    """
    published = published or inputs_published.load()
    rep = _reported(published)
    table = implied_by_size(published) if table is None else table
    fig = lambda i: inputs_published.figure(published, i)  # noqa: E731
    n = rep.n_total
    rows = []

    def add(check: str, verdict: str, detail: str) -> None:
        rows.append({"check": check, "verdict": verdict, "detail": detail})

    sizes = list(table["n_severe"]) if len(table) else []
    add("The overall change equals the size-weighted subgroup changes",
        CONSISTENT if sizes else INCONSISTENT,
        (f"{rep.points['baseline_mean']:g} − {rep.points['post_mean']:g} is met by "
         f"{rep.points['moderate_reduction']:g} and {rep.points['severe_reduction']:g} when {_sizes_text(sizes)} "
         f"of the {n} patients are in the severe group") if sizes else
        "no split of the patients gives the overall change from the subgroup changes")
    granular = [s for s, g in zip(sizes, table["granular"] if len(table) else []) if g]
    # Like GRIM, this check can only fail when some mean's possible values are spaced more
    # coarsely than its reported decimals; otherwise every size that meets the first check
    # meets this one too, and passing it says nothing.
    granular_informative = any(
        grim(rep.points[key], fig(figure_id).decimals, k).informative
        for key, figure_id, group_sizes in (
            ("baseline_mean", "baseline_mean", [n]), ("post_mean", "post_mean", [n]),
            ("moderate_reduction", "moderate_mean_reduction", [n - s for s in sizes]),
            ("severe_reduction", "severe_mean_reduction", sizes))
        for k in group_sizes)
    if not granular:
        verdict = INCONSISTENT
    else:
        verdict = CONSISTENT if granular_informative else NOT_INFORMATIVE
    detail = f"integer sums exist for severe-group sizes {_sizes_text(granular)}"
    if granular and not granular_informative:
        detail += (f"; with at least {min([n] + [n - s for s in sizes] + sizes)} patients per mean, every "
                   "reported mean is attainable, so this check cannot fail at the reported precision")
    add("The means can be formed from HbA1c values recorded to 0.1 % (sums of whole tenths)", verdict, detail)
    compatible = [s for s, ok in zip(sizes, table["baseline_compatible"] if len(table) else []) if ok]
    add("The baseline mean is attainable within the group definitions",
        CONSISTENT if compatible else INCONSISTENT,
        (f"a mean of {rep.points['baseline_mean']:g} % is reachable with moderate baselines in "
         f"{rep.moderate_min:g}–{rep.severe_above:g} % and severe ones above {rep.severe_above:g} % "
         f"for sizes {_sizes_text(compatible)}"))
    if sizes:
        worst = float(table["overall_p_max"].max())
        ok = [s for s, p in zip(sizes, table["overall_p_max"]) if p < rep.overall_p_below]
        verdict = CONSISTENT if ok else INCONSISTENT
        add(f"The overall p < {rep.overall_p_below:g} follows from the subgroup figures", verdict,
            (f"the largest overall p the subgroup means and p-values allow is "
             f"{round_up(worst, significant_decimals(worst, 2)):.2g} "
             f"(sizes meeting the bound: {_sizes_text(ok)})"))
    else:
        add(f"The overall p < {rep.overall_p_below:g} follows from the subgroup figures", NOT_VERIFIABLE,
            "no feasible group sizes")
    for label, key, decimals, group_sizes in (
        ("Baseline mean", "baseline_mean", fig("baseline_mean").decimals, [n]),
        ("Post-treatment mean", "post_mean", fig("post_mean").decimals, [n]),
        ("Moderate mean reduction", "moderate_reduction", fig("moderate_mean_reduction").decimals,
         [n - s for s in sizes]),
        ("Severe mean reduction", "severe_reduction", fig("severe_mean_reduction").decimals, sizes),
    ):
        results = [grim(rep.points[key], decimals, k) for k in group_sizes]
        informative = [r for r in results if r.informative]
        if not results:
            add(f"GRIM: {label.lower()}", NOT_VERIFIABLE, "no feasible group size")
        elif not informative:
            smallest = min(group_sizes)
            add(f"GRIM: {label.lower()}", NOT_INFORMATIVE,
                (f"with at least {smallest} patients, means of values recorded to {HBA1C_STEP:g} % are "
                 f"spaced {round_up(HBA1C_STEP / smallest, significant_decimals(HBA1C_STEP / smallest, 3)):.3g} "
                 "apart or less, no coarser than the reported "
                 f"{10.0 ** -decimals:g}: every reported value is attainable"))
        else:
            bad = [r.n for r in informative if not r.consistent]
            add(f"GRIM: {label.lower()}", INCONSISTENT if bad and len(bad) == len(informative) else CONSISTENT,
                f"attainable for n = {_sizes_text([r.n for r in informative if r.consistent])}")
    add(f"The severe p = {_as_printed(rep.points['severe_p'])} fits a paired t-test on the severe mean",
        NOT_VERIFIABLE, "any p can be produced by some SD of the change; the SD it implies is given in the table below")
    add(f"The moderate p < {_as_printed(rep.moderate_p_below)} fits a paired t-test on the moderate mean",
        NOT_VERIFIABLE, "a bound on p only bounds the SD of the change from above")
    add("Dose trend (higher dose, larger fall, not significant)", NOT_VERIFIABLE,
        "the abstract gives no group sizes, means or p-value for the dose groups")
    median, low, high = (fig(i).value for i in ("followup_median_months", "followup_min_months",
                                                "followup_max_months"))
    add("Follow-up median lies within its range", CONSISTENT if low <= median <= high else INCONSISTENT,
        f"median {median:g} months, range {low:g}–{high:g}")
    dmin, dmax = fig("dose_min_cells").value, fig("dose_max_cells").value
    cutoff = published["definitions"]["dose_cutoff_cells"]
    add("The dose cut-off splits the reported dose range", CONSISTENT if dmin < cutoff <= dmax else INCONSISTENT,
        f"cut-off {format_cells(cutoff)} cells within {format_cells(dmin)}–{format_cells(dmax)}")
    add("No serious adverse events", NOT_VERIFIABLE, "a count of zero cannot be checked against other figures")
    return pd.DataFrame(rows, columns=["check", "verdict", "detail"])


@dataclass(frozen=True)
class PublishedConsistency(TidyResult):
    """Result of :func:`audit`: the summary that goes to ``results.json``.

    Ranges run over every severe-group size the published means allow.

    Attributes
    ----------
    estimable : bool
    reason : str or None
    n_total : int or None
    n_severe_min, n_severe_max : int or None
        Feasible severe-group sizes (rounding intervals of the means).
    n_severe_granular_min, n_severe_granular_max : int or None
        The same with HbA1c recorded to 0.1 % (integer sums).
    sd_reduction_severe_min, sd_reduction_severe_max : float or None
        SD of the change in the severe group implied by p = 0.0122 (percentage points).
    sd_reduction_moderate_max : float or None
        Upper bound of the moderate SD implied by p < 0.0000002.
    severe_ci95_low, severe_ci95_high : float or None
        Widest implied 95 % CI of the severe mean reduction over the feasible sizes.
    overall_p_max : float or None
        Largest overall paired-t p compatible with the subgroup figures.
    difference_p_min, difference_p_max : float or None
        Range of the implied Welch p for severe vs moderate reduction.
    severe_baseline_mean_max : float or None
        Highest mean baseline (%) the severe group can have.
    n_checks, n_consistent, n_inconsistent, n_not_informative, n_not_verifiable : int
    all_consistent : bool or None
        No check is inconsistent.
    reconstruction_caveat : str or None
        Always ``None``: the audit uses the published figures only, never the data.
    """

    estimable: bool
    reason: str | None
    n_total: int | None
    n_severe_min: int | None
    n_severe_max: int | None
    n_severe_granular_min: int | None
    n_severe_granular_max: int | None
    sd_reduction_severe_min: float | None
    sd_reduction_severe_max: float | None
    sd_reduction_moderate_max: float | None
    severe_ci95_low: float | None
    severe_ci95_high: float | None
    overall_p_max: float | None
    difference_p_min: float | None
    difference_p_max: float | None
    severe_baseline_mean_max: float | None
    n_checks: int
    n_consistent: int
    n_inconsistent: int
    n_not_informative: int
    n_not_verifiable: int
    all_consistent: bool | None
    reconstruction_caveat: str | None = None


_NO_AUDIT = dict(n_total=None, n_severe_min=None, n_severe_max=None, n_severe_granular_min=None,
                 n_severe_granular_max=None, sd_reduction_severe_min=None, sd_reduction_severe_max=None,
                 sd_reduction_moderate_max=None, severe_ci95_low=None, severe_ci95_high=None, overall_p_max=None,
                 difference_p_min=None, difference_p_max=None, severe_baseline_mean_max=None, n_checks=0,
                 n_consistent=0, n_inconsistent=0, n_not_informative=0, n_not_verifiable=0, all_consistent=None)


@dataclass(frozen=True)
class Audit:
    """What :func:`audited` returns: the summary that goes to ``results.json``, and the two
    tables it summarises (empty when the figures could not be audited)."""

    summary: PublishedConsistency
    implied_by_size: pd.DataFrame = dataclasses.field(compare=False, repr=False)
    checks: pd.DataFrame = dataclasses.field(compare=False, repr=False)


def audit(published: dict[str, Any] | None = None) -> PublishedConsistency:
    """Summarise what the published figures imply and how many checks they pass
    (:func:`audited` without its tables)."""
    return audited(published).summary


def audited(published: dict[str, Any] | None = None) -> Audit:
    """The audit of the published figures: what they imply for every feasible severe-group
    size (:func:`livingpaper.stats.implied.implied_by_size`), every check with its verdict
    (:func:`checks`), and the summary of both, each computed once.

    Not estimable (with the reason, and empty tables) when the published-figures file lacks
    a figure the derivation needs, or when the means admit no subgroup split.
    """
    try:
        published = published or inputs_published.load()
        table = implied_by_size(published)
        verdicts = checks(published, table)
    except (KeyError, ValueError, TypeError) as exc:
        summary = PublishedConsistency(
            estimable=False,
            reason=f"Not estimable: the published figures needed for the audit are missing or unusable ({exc}).",
            **_NO_AUDIT)
        return Audit(summary, pd.DataFrame(), pd.DataFrame())
    counts = verdicts["verdict"].value_counts()
    count = lambda v: int(counts.get(v, 0))  # noqa: E731
    granular = list(table.loc[table["granular"], "n_severe"])
    summary = PublishedConsistency(
        estimable=True, reason=None, n_total=int(_reported(published).n_total),
        n_severe_min=int(table["n_severe"].min()), n_severe_max=int(table["n_severe"].max()),
        n_severe_granular_min=int(min(granular)) if granular else None,
        n_severe_granular_max=int(max(granular)) if granular else None,
        sd_reduction_severe_min=float(table["sd_severe_low"].min()),
        sd_reduction_severe_max=float(table["sd_severe_high"].max()),
        sd_reduction_moderate_max=float(table["sd_moderate_max"].max()),
        severe_ci95_low=float(table["severe_ci95_low"].min()),
        severe_ci95_high=float(table["severe_ci95_high"].max()),
        overall_p_max=float(table["overall_p_max"].max()),
        difference_p_min=float(table["difference_p_low"].min()),
        difference_p_max=float(table["difference_p_high"].max()),
        severe_baseline_mean_max=float(table["severe_baseline_mean_max"].max()),
        n_checks=int(len(verdicts)), n_consistent=count(CONSISTENT), n_inconsistent=count(INCONSISTENT),
        n_not_informative=count(NOT_INFORMATIVE), n_not_verifiable=count(NOT_VERIFIABLE),
        all_consistent=count(INCONSISTENT) == 0,
    )
    return Audit(summary, table, verdicts)


#: How a row of :func:`build_comparison` is a number: a count of patients, an SD in
#: percentage points, or a p-value.
COUNT, POINTS, P_VALUE = "count", "points", "p"


def build_comparison(summary: PublishedConsistency, sections: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Is this build's data compatible with what the abstract implies?

    Parameters
    ----------
    summary : PublishedConsistency
        From :func:`audit`.
    sections : dict
        ``results["sections"]`` of this build (``overall``, ``moderate``, ``severe``).

    Returns
    -------
    pandas.DataFrame
        ``quantity, kind, implied_low, implied_high, this_build, within``: the numbers as
        they are, unrounded (the page writes them, :mod:`livingpaper.present.beyond`);
        ``kind`` is :data:`COUNT`, :data:`POINTS` or :data:`P_VALUE`; ``implied_low`` is
        ``None`` for an upper bound only; ``this_build`` is ``None`` when this build cannot
        give the number, and ``within`` is True/False, or None then.
    """
    columns = ["quantity", "kind", "implied_low", "implied_high", "this_build", "within"]
    if not summary.estimable:
        return pd.DataFrame(columns=columns)
    sev, mod, overall = (sections.get(k, {}) for k in ("severe", "moderate", "overall"))

    def row(quantity: str, kind: str, value: Any, low: float | None, high: float | None) -> dict[str, Any]:
        inside = None if value is None else bool((low is None or value >= low - _EPS)
                                                 and (high is None or value <= high + _EPS))
        return {"quantity": quantity, "kind": kind, "implied_low": low, "implied_high": high, "this_build": value,
                "within": inside}

    rows = [
        row("Patients in the severe group", COUNT, sev.get("n"), summary.n_severe_min, summary.n_severe_max),
        row("SD of the change, severe group (percentage points)", POINTS, sev.get("sd_reduction"),
            summary.sd_reduction_severe_min, summary.sd_reduction_severe_max),
        row("SD of the change, moderate group (percentage points)", POINTS, mod.get("sd_reduction"), None,
            summary.sd_reduction_moderate_max),
        row("Overall paired t-test p", P_VALUE, overall.get("p"), None, summary.overall_p_max),
    ]
    return pd.DataFrame(rows, columns=columns, dtype=object)
