"""Published evidence around the paper: comparator trials, meta-analyses and anchors.

``data/evidence.csv`` holds one row per study arm, pooled estimate or natural-history /
regression-to-the-mean anchor, each with its citation key, the address of its source and
where in the source the number was found (the facts were collected in
``shared/evidence``; ``data/evidence.md`` documents every column and flag). This module

* loads and validates the file (:func:`load`; every problem is one line naming the file
  line, the row and the column), with the vocabulary it enforces;
* gives the regression-to-the-mean chapter its literature anchors (:func:`rtm_anchors`);
* lists the BibTeX keys the rows cite and those missing from the bibliography
  (:func:`citation_keys`, :func:`missing_citations`).

What is computed from the table (the forest plot's rows, the comparisons the evidence chapter
states, the rows it quotes by meaning) is in :mod:`livingpaper.stats.comparators`; the
chapter's tables are written by :mod:`livingpaper.present.evidence`.

Nothing here fills a gap: a number the source does not give stays empty.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from livingpaper.errors import EvidenceError
from livingpaper.escaping import terminal
from livingpaper.paths import EVIDENCE_CSV

# --------------------------------------------------------------------------------------
# Vocabulary (documented for readers in data/evidence.md; a test keeps the two in step)
# --------------------------------------------------------------------------------------

#: Columns of evidence.csv, in file order, with their meaning.
COLUMNS: dict[str, str] = {
    "row_id": "unique id of the row (lower case, digits, underscores)",
    "citation_key": "BibTeX key in references.bib or references-evidence.bib",
    "study": "short name of the study",
    "label": "short label shown in the figure and tables (at most 60 characters)",
    "year": "publication year (empty when not captured)",
    "design": "study design (fixed vocabulary, DESIGNS)",
    "diabetes_type": "population, as the source describes it",
    "cell_type": "cells given (or 'none' for drug-trial placebo arms)",
    "arm": "what the row is (fixed vocabulary, ARMS)",
    "arm_detail": "the arm in words (route, dose, time point)",
    "controlled": "true when the estimate is a contrast against a concurrent control",
    "n": "participants in the estimate (empty when not given)",
    "k_studies": "number of studies pooled (meta-analyses, reviews)",
    "followup": "follow-up of the study, as published",
    "timepoint": "time point of this row's numbers",
    "headline": "true for the study's main time point / main estimate (the rows the figure may show)",
    "measure": "what estimate measures (fixed vocabulary, MEASURES)",
    "estimate": "the number as published (in the source's sign convention)",
    "ci_low": "lower end of the published 95% confidence interval of estimate",
    "ci_high": "upper end of the published 95% confidence interval of estimate",
    "spread": "published SD or SE of estimate (spread_type says which)",
    "spread_low": "lower end of a published IQR or range of estimate",
    "spread_high": "upper end of a published IQR or range of estimate",
    "spread_type": "SD, SE, IQR or range (empty when no spread is published)",
    "i2_percent": "heterogeneity I-squared of a pooled estimate, %",
    "level_statistic": "what baseline_value and followup_value are (mean (SD), median (IQR), ...)",
    "baseline_value": "HbA1c level at baseline, % (as published)",
    "baseline_spread": "its spread as published (text: an SD, an SE or an IQR 'low-high')",
    "followup_value": "HbA1c level at the row's time point, % (as published)",
    "followup_spread": "its spread as published (text)",
    "p_within": "p-value of the within-arm change, as published (text)",
    "p_between": "p-value of the between-arm comparison, as published (text)",
    "sign_convention": "sign of estimate (fixed vocabulary, SIGN_CONVENTIONS)",
    "rtm_anchor": "true for the rows the regression-to-the-mean chapter uses (rtm_anchors())",
    "source_url": "address(es) of the source where the number was read, or a PubMed id",
    "source_location": "where in the source the number was found",
    "flags": "semicolon-separated flags (fixed vocabulary, FLAGS)",
    "notes": "everything else the source says that matters, and what is missing",
}

DESIGNS: dict[str, str] = {
    "RCT": "randomized controlled trial with a placebo, sham or usual-care arm",
    "randomized (no placebo)": "randomized between active strategies (e.g. two routes), no control arm",
    "non-randomized controlled": "controlled but not randomized",
    "single-arm": "one treated group, before/after",
    "meta-analysis": "pooled estimate over studies",
    "systematic review": "summary over studies without a pooled effect (e.g. a median across studies)",
    "observational": "cohort or survey, no intervention assigned",
}

ARMS: dict[str, str] = {
    "published (this paper)": "a figure published by Matsuoka et al. 2025 itself",
    "MSC": "the arm given the study's stem-cell product (cell_type names the cells; non-MSC or "
           "unconfirmed products carry non_msc_cells / cell_type_uncertain)",
    "placebo": "placebo or sham arm of a trial",
    "MSC vs placebo": "a trial's between-arm contrast, cells minus placebo",
    "pooled MSC vs control": "meta-analytic contrast, MSC minus control",
    "pooled before/after": "meta-analytic within-arm change of MSC arms (no control)",
    "pooled (contrast not stated)": "meta-analytic estimate whose comparator is not stated",
    "pooled placebo": "pooled change in placebo arms of drug trials",
    "anchor": "natural-history, variability or regression-to-the-mean fact",
}

MEASURES: dict[str, str] = {
    "change_percent": "within-group change, follow-up minus baseline, percentage points of HbA1c",
    "mean_difference_percent": "difference between arms (cells or MSC minus control), percentage points",
    "smd": "standardised mean difference (no unit; not comparable with percentage points)",
    "within_person_cv": "within-person coefficient of variation of HbA1c (a fraction, 0.083 = 8.3 %)",
    "population_mean_percent": "mean HbA1c of a patient population, %",
    "population_sd_percent": "between-patient SD of HbA1c in a population, percentage points",
    "drift_percent_per_6_months": "mean change in HbA1c per 6 months under usual care, percentage points",
    "baseline_slope": "change in HbA1c per percentage point of baseline HbA1c (regression slope)",
    "proportion_percent": "a proportion of patients, %",
}

#: Measures in percentage points of HbA1c: the only ones the forest plot puts on its axis.
PERCENT_MEASURES = ("change_percent", "mean_difference_percent")
#: Measures whose sign means fell / rose (sign_convention must say which).
SIGNED_MEASURES = PERCENT_MEASURES + ("smd", "drift_percent_per_6_months")

NEGATIVE_FELL, POSITIVE_FELL, NOT_APPLICABLE = "negative = fell", "positive = fell", "not applicable"
SIGN_CONVENTIONS: dict[str, str] = {
    NEGATIVE_FELL: "negative = HbA1c fell (or was lower with cells than with control)",
    POSITIVE_FELL: "the source reports a reduction as a positive number",
    NOT_APPLICABLE: "the measure has no fell/rose direction",
}

SPREAD_TYPES = ("", "SD", "SE", "IQR", "range")

#: Flags: name -> meaning (long form for tables; FLAG_SHORT for the figure's footnote).
FLAGS: dict[str, str] = {
    "reported_change_differs_from_means": "the stated change differs from the difference of the reported "
        "means by more than the rounding of the three published numbers can explain; the stated value is the "
        "estimate, the means are kept",
    "sign_reversed_in_source": "the source reports a reduction as a positive number; flipped in the figure",
    "third_party_copy": "read on a copy that is not the publisher, PubMed/PMC or an index record of the "
        "abstract (news, press release, commercial copy, non-publisher table)",
    "attribution_inferred": "the assignment of the number (or the row) to this study or arm is an inference",
    "non_msc_cells": "the cells are not MSCs",
    "cell_type_uncertain": "the cells are not confirmed as MSCs from the primary text",
    "standardised_not_percent": "a standardised mean difference: no percentage-point unit, not plotted",
    "contrast_unclear": "the source does not say whether the pooled estimate is against control or baseline",
    "mixed_diabetes_types": "type 1 and type 2 diabetes pooled together",
    "medians_not_means": "the levels are medians: their difference is not a mean change",
    "secondary_detail_conflict": "sources disagree on a detail other than HbA1c (dose, enrolment)",
    "derived_not_published": "computed by the evidence collector from published numbers, not published",
    "approximate": "published as an approximate value ('~')",
    "abstract_only": "read in the abstract (or an index record of it); the full text was not available",
}

FLAG_SHORT: dict[str, str] = {
    "reported_change_differs_from_means": "stated change differs from the difference of the reported means",
    "sign_reversed_in_source": "published as a positive reduction; sign flipped here",
    "third_party_copy": "read on a third-party copy",
    "attribution_inferred": "attribution to this study or arm inferred",
    "non_msc_cells": "cells are not MSCs",
    "cell_type_uncertain": "MSC not confirmed",
    "standardised_not_percent": "standardised (SMD), not percentage points",
    "contrast_unclear": "comparator not stated",
    "mixed_diabetes_types": "type 1 and type 2 diabetes pooled",
    "medians_not_means": "medians, not means",
    "secondary_detail_conflict": "sources disagree on dose or enrolment",
    "derived_not_published": "derived, not published",
    "approximate": "approximate value",
    "abstract_only": "abstract only",
}

def _half_unit(text: str) -> float:
    """Half a unit of the last published decimal: the most that rounding can hide."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals


_FLOAT_COLUMNS = ("estimate", "ci_low", "ci_high", "spread", "spread_low", "spread_high", "i2_percent",
                  "baseline_value", "followup_value")
_INT_COLUMNS = ("year", "n", "k_studies")
_BOOL_COLUMNS = ("controlled", "headline", "rtm_anchor")
_REQUIRED_TEXT = ("row_id", "citation_key", "study", "label", "design", "arm", "measure",
                  "sign_convention", "source_url", "source_location")
_ROW_ID = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
_LABEL_MAX = 60
_RTM_MEASURES = ("population_mean_percent", "population_sd_percent", "within_person_cv")


def _parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def flags_of(value: Any) -> list[str]:
    """The flags of a row (its ``flags`` cell, semicolon-separated) as a list."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [f.strip() for f in str(value).split(";") if f.strip()]


def validate(frame: pd.DataFrame, name: str = "evidence.csv") -> list[str]:
    """Every problem of a raw evidence table (all cells text), one line each.

    Each line names the file line (the header is line 1), the ``row_id`` and the column,
    e.g. ``evidence.csv line 7 (zang2022_msc), column estimate: 'abc' is not a number``.
    Returns an empty list when the table is valid.
    """
    problems: list[str] = []
    missing = [c for c in COLUMNS if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if missing:
        problems.append(f"{name}: missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"{name}: unknown column(s): {', '.join(terminal(c) for c in unknown)} (see data/evidence.md)")
    if missing:
        return problems

    seen: dict[str, int] = {}
    anchors: dict[str, list[str]] = {m: [] for m in _RTM_MEASURES}
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2
        rid = terminal(row["row_id"]) if row["row_id"] else "?"

        def bad(column: str, message: str) -> None:
            problems.append(f"{name} line {line} ({rid}), column {column}: {message}")

        for column in _REQUIRED_TEXT:
            if not row[column]:
                bad(column, "is empty (every row needs it)")
        if row["row_id"]:
            if not _ROW_ID.match(row["row_id"]):
                bad("row_id", f"{row['row_id']!r} must be lower case letters, digits and single underscores")
            if row["row_id"] in seen:
                bad("row_id", f"{row['row_id']!r} repeats line {seen[row['row_id']]}")
            seen.setdefault(row["row_id"], line)
        if len(row["label"]) > _LABEL_MAX:
            bad("label", f"is {len(row['label'])} characters; at most {_LABEL_MAX} fit the figure")
        for column, vocabulary in (("design", DESIGNS), ("arm", ARMS), ("measure", MEASURES),
                                   ("sign_convention", SIGN_CONVENTIONS)):
            if row[column] and row[column] not in vocabulary:
                bad(column, f"{row[column]!r} is not one of: {', '.join(vocabulary)}")
        if row["spread_type"] not in SPREAD_TYPES:
            bad("spread_type", f"{row['spread_type']!r} is not one of: {', '.join(SPREAD_TYPES[1:])} (or empty)")

        numbers: dict[str, float | None] = {}
        for column in _FLOAT_COLUMNS:
            numbers[column] = _parse_float(row[column]) if row[column] else None
            if row[column] and numbers[column] is None:
                bad(column, f"{row[column]!r} is not a number")
        for column in _INT_COLUMNS:
            if row[column] and _parse_int(row[column]) is None:
                bad(column, f"{row[column]!r} is not a whole number")
        for column in _BOOL_COLUMNS:
            if row[column] not in ("true", "false"):
                bad(column, f"{row[column]!r} must be true or false")

        flags = flags_of(row["flags"])
        for flag in flags:
            if flag not in FLAGS:
                bad("flags", f"unknown flag {flag!r} (known: {', '.join(FLAGS)})")
        if len(set(flags)) != len(flags):
            bad("flags", "a flag is repeated")

        est, lo, hi = numbers["estimate"], numbers["ci_low"], numbers["ci_high"]
        if (lo is None) != (hi is None):
            bad("ci_low" if lo is None else "ci_high", "a confidence interval needs both ends")
        if lo is not None and hi is not None:
            if est is None:
                bad("estimate", "is empty but a confidence interval is given")
            if lo > hi:
                bad("ci_low", f"{lo} is above ci_high {hi}")
            elif est is not None and not lo <= est <= hi:
                bad("estimate", f"{est} lies outside its confidence interval {lo} to {hi}")
        spread_type = row["spread_type"]
        if spread_type in ("SD", "SE") and numbers["spread"] is None:
            bad("spread", f"spread_type is {spread_type} but spread is empty")
        if spread_type in ("IQR", "range") and (numbers["spread_low"] is None or numbers["spread_high"] is None):
            bad("spread_low", f"spread_type is {spread_type} but spread_low/spread_high are empty")
        if spread_type == "" and any(numbers[c] is not None for c in ("spread", "spread_low", "spread_high")):
            bad("spread_type", "is empty but a spread is given")

        measure, sign = row["measure"], row["sign_convention"]
        if measure in SIGNED_MEASURES and sign == NOT_APPLICABLE:
            bad("sign_convention", f"{measure} has a direction: say {NEGATIVE_FELL!r} or {POSITIVE_FELL!r}")
        if measure in MEASURES and measure not in SIGNED_MEASURES and sign in (NEGATIVE_FELL, POSITIVE_FELL):
            bad("sign_convention", f"{measure} has no fell/rose direction: use {NOT_APPLICABLE!r}")
        if (sign == POSITIVE_FELL) != ("sign_reversed_in_source" in flags):
            bad("flags", "sign_reversed_in_source goes with sign_convention 'positive = fell', and only with it")
        if (measure == "smd") != ("standardised_not_percent" in flags):
            bad("flags", "standardised_not_percent goes with measure smd, and only with it")
        controlled = row["controlled"] == "true"
        if controlled != (row["arm"] in ("MSC vs placebo", "pooled MSC vs control")):
            bad("controlled", "is true exactly for the arms 'MSC vs placebo' and 'pooled MSC vs control'")

        # A stated change and the difference of the reported means must agree, or say they do not.
        base, follow = numbers["baseline_value"], numbers["followup_value"]
        comparable = (measure == "change_percent" and est is not None and base is not None
                      and follow is not None and row["level_statistic"].startswith("mean"))
        if comparable:
            stated = -est if sign == POSITIVE_FELL else est
            # Rounding of the three published numbers explains at most the sum of their
            # half-units (e.g. 0.015 for two-decimal values); a larger gap is a disagreement.
            tolerance = sum(_half_unit(row[c]) for c in ("estimate", "baseline_value", "followup_value"))
            differs = abs(stated - (follow - base)) > tolerance + 1e-9
            if differs and "reported_change_differs_from_means" not in flags:
                bad("flags", f"the stated change {est} differs from the difference of the means "
                             f"{follow} - {base} = {follow - base:.2f}: add reported_change_differs_from_means")
            if not differs and "reported_change_differs_from_means" in flags:
                bad("flags", "reported_change_differs_from_means is set but the stated change agrees with the means")
        elif "reported_change_differs_from_means" in flags:
            bad("flags", "reported_change_differs_from_means needs a stated change and both mean levels")

        if row["rtm_anchor"] == "true":
            if measure not in _RTM_MEASURES:
                bad("rtm_anchor", f"only {', '.join(_RTM_MEASURES)} rows can be anchors")
            elif est is None or est <= 0:
                bad("estimate", "an anchor needs a positive estimate")
            else:
                anchors[measure].append(f"line {line} ({rid})")
    for measure, where in anchors.items():
        if len(where) > 1:
            problems.append(f"{name}: more than one rtm_anchor row for {measure}: {', '.join(where)}")
    return problems


def load(path: str | Path = EVIDENCE_CSV) -> pd.DataFrame:
    """Read and validate the evidence file.

    Parameters
    ----------
    path : path of a CSV file in the layout of ``data/evidence.csv`` (default: that file).

    Returns
    -------
    pandas.DataFrame
        One row per evidence row, columns as in :data:`COLUMNS`: numbers as ``float``
        (NaN where the source gives none), ``year``/``n``/``k_studies`` as nullable
        integers, ``controlled``/``headline``/``rtm_anchor`` as ``bool``, everything else
        as text (``""`` when empty); plus, for each number column, ``<column>_text`` with
        the number exactly as written in the file. ``attrs["path"]`` is the file read.

    Raises
    ------
    EvidenceError
        With one line per problem (file line, row id, column).
    """
    path = Path(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    raw = raw.apply(lambda col: col.str.strip())
    problems = validate(raw, terminal(path.name))
    if problems:
        raise EvidenceError(problems)
    frame = raw.copy()
    for column in _FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(raw[column].mask(raw[column] == "")).astype(float)
        # The number as published (trailing zeros kept: "7.80", "-0.60"), for the tables.
        frame[f"{column}_text"] = raw[column]
    for column in _INT_COLUMNS:
        frame[column] = pd.to_numeric(raw[column].mask(raw[column] == "")).astype("Int64")
    for column in _BOOL_COLUMNS:
        frame[column] = frame[column] == "true"
    frame.attrs["path"] = str(path)
    return frame


# --------------------------------------------------------------------------------------
# Regression-to-the-mean anchors (a contract: the regression-to-the-mean chapter uses it)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RtmAnchors:
    """Literature values for the regression-to-the-mean chapter.

    population_mean_percent : mean HbA1c (%) of patients in comparable clinics.
    population_sd_percent : between-patient SD of single HbA1c values there (points).
    within_person_cv : within-person coefficient of variation of HbA1c (fraction).
    within_person_sd_percent : ``within_person_cv * population_mean_percent`` (points).
    reliability : ``1 - within_person_sd_percent**2 / population_sd_percent**2``, the
        test-retest correlation of two HbA1c values of the same patients when the
        population SD contains the within-person variation.
    citations : field name -> citation key; the two derived fields list both sources,
        comma-separated (as ``{cite:p}`` accepts them).
    """

    population_mean_percent: float
    population_sd_percent: float
    within_person_cv: float
    within_person_sd_percent: float
    reliability: float
    citations: dict

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rtm_anchors(evidence: pd.DataFrame | None = None) -> RtmAnchors:
    """The regression-to-the-mean anchors: the rows of the evidence file marked ``rtm_anchor``.

    Parameters
    ----------
    evidence : the loaded evidence table (default: :func:`load` of the shipped file).

    Returns
    -------
    RtmAnchors
        The three published values (population mean and SD of HbA1c; within-person CV)
        and two derived ones. The within-person SD is the CV times the population mean
        (a CV is an SD relative to the mean). The reliability follows the classical
        test-theory split of the variance of one measurement into between-person
        (true-score) and within-person parts: ``r = (s_pop**2 - s_within**2) / s_pop**2``
        (Lord and Novick 1968, ch. 3); it is the expected correlation of a patient's
        HbA1c with a repeat value, and ``1 - r`` is the share of a deviation from the
        population mean expected to regress at retest.

    Raises
    ------
    EvidenceError
        When an anchor row is missing, or the within-person SD is not below the
        population SD (a reliability at or below zero means the anchors are inconsistent).

    References
    ----------
    Lord FM, Novick MR. Statistical Theories of Mental Test Scores. Addison-Wesley; 1968.
    """
    evidence = load() if evidence is None else evidence
    values: dict[str, float] = {}
    keys: dict[str, str] = {}
    marked = evidence[evidence["rtm_anchor"]]
    for measure in _RTM_MEASURES:
        rows = marked[marked["measure"] == measure]
        if len(rows) != 1:
            raise EvidenceError([f"evidence: expected one rtm_anchor row with measure {measure}, found {len(rows)}"])
        values[measure] = float(rows["estimate"].iloc[0])
        keys[measure] = str(rows["citation_key"].iloc[0])
    mean, sd, cv = values["population_mean_percent"], values["population_sd_percent"], values["within_person_cv"]
    within_sd = cv * mean
    if not within_sd < sd:
        raise EvidenceError([f"evidence: the within-person SD ({within_sd:.3f} = {cv} x {mean}) is not below the "
                             f"population SD ({sd}); the anchors are inconsistent"])
    both = ",".join(dict.fromkeys([keys["within_person_cv"], keys["population_mean_percent"],
                                   keys["population_sd_percent"]]))
    return RtmAnchors(
        population_mean_percent=mean,
        population_sd_percent=sd,
        within_person_cv=cv,
        within_person_sd_percent=float(within_sd),
        reliability=float(1.0 - within_sd**2 / sd**2),
        citations={
            "population_mean_percent": keys["population_mean_percent"],
            "population_sd_percent": keys["population_sd_percent"],
            "within_person_cv": keys["within_person_cv"],
            "within_person_sd_percent": ",".join(dict.fromkeys([keys["within_person_cv"],
                                                                keys["population_mean_percent"]])),
            "reliability": both,
        },
    )


# --------------------------------------------------------------------------------------
# Citations
# --------------------------------------------------------------------------------------


def citation_keys(bibfiles: Iterable[str | Path]) -> set[str]:
    """The entry keys of BibTeX files (parsed with pybtex, the parser Jupyter Book uses)."""
    from pybtex.database import parse_file

    keys: set[str] = set()
    for bib in bibfiles:
        keys |= set(parse_file(str(bib), bib_format="bibtex").entries.keys())
    return keys


def missing_citations(evidence: pd.DataFrame, bibfiles: Iterable[str | Path]) -> list[str]:
    """One line per evidence row whose citation key is in none of ``bibfiles``."""
    keys = citation_keys(bibfiles)
    return [f"row {r.row_id}: citation key {r.citation_key!r} is not in the bibliography"
            for r in evidence.itertuples() if r.citation_key not in keys]
