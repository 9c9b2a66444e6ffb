"""The domain's vocabulary, defined once: the sections of the book, the MSC sources, the
HbA1c recording step. Every label and every population filter of the book reads it."""
from __future__ import annotations

from livingpaper.formatting import format_cells
from livingpaper.parameters import Parameters

MSC_SOURCES = ("umbilical_cord", "bone_marrow", "adipose")

#: HbA1c is recorded to 0.1 % (laboratories report one decimal).
HBA1C_STEP = 0.1
RECORDING_STEP = HBA1C_STEP




PAIRED_SECTIONS = ("overall", "moderate", "severe", "dose_high", "dose_low")


def definition(section: str, params: Parameters) -> str:
    """The population of a section in words, with the thresholds of this build."""
    return {
        "overall": "all patients with both a baseline and a post-treatment HbA1c",
        "moderate": f"patients with a baseline HbA1c from {params.moderate_min:.1f} % to "
                    f"{params.severe_above:.1f} % (inclusive)",
        "severe": f"patients with a baseline HbA1c above {params.severe_above:.1f} %",
        "dose_high": f"patients who received at least {format_cells(params.dose_cutoff_cells)} cells",
        "dose_low": f"patients who received fewer than {format_cells(params.dose_cutoff_cells)} cells",
    }[section]
