"""The domain's vocabulary, defined once: the sections of the book, the claims of the paper,
the MSC sources, the HbA1c recording step.

Every label of a section (a page title, a table header, a figure legend, a sentence), and
every population filter, reads :data:`SECTIONS`; a new population is one entry here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from livingpaper.formatting import format_cells
from livingpaper.parameters import Parameters

if TYPE_CHECKING:  # the registry is read by modules that never load pandas
    import pandas as pd


@dataclass(frozen=True)
class Section:
    """One population of the book, analysed before and after the infusion.

    key : its name in ``results.json`` (``"moderate"``).
    title : the title of its page (``"Moderate diabetes"``).
    label : in a table header or at the start of a sentence (``"Moderate group"``).
    short_label : on a figure's axis or legend (``"Moderate"``).
    in_sentence : inside a sentence (``"the moderate group"``).
    members : which analysed patients belong to it: ``members(data, params)`` is a boolean
        Series over ``data`` (patients with both HbA1c values).
    definition : the population in words, with the thresholds of the build.
    """

    key: str
    title: str
    label: str
    short_label: str
    in_sentence: str
    members: Callable[["pd.DataFrame", Parameters], "pd.Series"]
    definition: Callable[[Parameters], str]


def _dosed(data: "pd.DataFrame") -> "pd.Series":
    return data["dose_cells"].notna()


SECTIONS: dict[str, Section] = {s.key: s for s in (
    Section("overall", "All patients", "All patients", "All patients", "all patients",
            lambda data, p: data["hba1c_baseline"].notna(),
            lambda p: "all patients with both a baseline and a post-treatment HbA1c"),
    Section("moderate", "Moderate diabetes", "Moderate group", "Moderate", "the moderate group",
            lambda data, p: data["hba1c_baseline"].between(p.moderate_min, p.severe_above),
            lambda p: f"patients with a baseline HbA1c from {p.moderate_min:.1f} % to {p.severe_above:.1f} % "
                      "(inclusive)"),
    Section("severe", "Severe diabetes", "Severe group", "Severe", "the severe group",
            lambda data, p: data["hba1c_baseline"] > p.severe_above,
            lambda p: f"patients with a baseline HbA1c above {p.severe_above:.1f} %"),
    Section("dose_high", "High dose", "High-dose group", "High dose", "the high-dose group",
            lambda data, p: _dosed(data) & (data["dose_cells"] >= p.dose_cutoff_cells),
            lambda p: f"patients who received at least {format_cells(p.dose_cutoff_cells)} cells"),
    Section("dose_low", "Low dose", "Low-dose group", "Low dose", "the low-dose group",
            lambda data, p: _dosed(data) & (data["dose_cells"] < p.dose_cutoff_cells),
            lambda p: f"patients who received fewer than {format_cells(p.dose_cutoff_cells)} cells"),
)}
#: The paired sections of results.json, in the book's order.
PAIRED_SECTIONS = tuple(SECTIONS)
#: The severity groups (and everybody) of the paper: what its before/after claims are about.
SEVERITY_SECTIONS = ("overall", "moderate", "severe")


def section(key: str) -> Section:
    """The section ``key``; a clear error for a name the book does not know."""
    try:
        return SECTIONS[key]
    except KeyError:
        raise KeyError(f"unknown section {key!r}; expected one of {', '.join(SECTIONS)}") from None


def definition(key: str, params: Parameters) -> str:
    """The population of a section in words, with the thresholds of this build."""
    return section(key).definition(params)


@dataclass(frozen=True)
class Claim:
    """A claim of the paper that a replication assesses: its label in a table header and
    on a figure, and its name inside a sentence."""

    key: str
    label: str
    short_label: str
    in_sentence: str


CLAIMS: dict[str, Claim] = {
    **{k: Claim(k, SECTIONS[k].label, SECTIONS[k].short_label, SECTIONS[k].in_sentence) for k in SEVERITY_SECTIONS},
    "dose": Claim("dose", "Dose trend (high \u2212 low dose)", "Dose trend", "the dose trend"),
}

#: The tissues MSCs are derived from, as the data file writes them, and as a reader reads them.
MSC_SOURCES = ("umbilical_cord", "bone_marrow", "adipose")
SOURCE_LABELS = {"umbilical_cord": "Umbilical cord", "bone_marrow": "Bone marrow", "adipose": "Adipose tissue"}


def source_label(source: str) -> str:
    """An MSC source as a reader reads it (``umbilical_cord`` -> ``Umbilical cord``); a source
    the registry does not know, with its underscores as spaces."""
    return SOURCE_LABELS.get(source, str(source).replace("_", " "))


#: The verdicts of a replication (livingpaper.stats.replication), as results.json writes them.
VERDICTS = ("consistent", "inconsistent", "inconclusive", "not_assessable")


def verdict_name(verdict: str) -> str:
    """A verdict as the pages and the terminal print it (``not_assessable`` -> ``not assessable``)."""
    return str(verdict).replace("_", " ")

#: HbA1c is recorded to 0.1 % (laboratories report one decimal).
HBA1C_STEP = 0.1
