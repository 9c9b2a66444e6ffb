"""Synthetic cohorts in the book's data format, of any size, for the benchmarks.

Deterministic (seeded): the same n gives the same file. The values are plausible, not a
model of any real cohort: baseline HbA1c ~ N(7.5, 0.9) truncated at 6.2, a reduction that
grows with baseline plus noise, doses from the clinical levels, three MSC sources.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

DOSES = np.array([1e8, 2e8, 3e8, 5e8, 1e9, 1.5e9, 2e9])
SOURCES = np.array(["umbilical_cord", "bone_marrow", "adipose"])


def cohort(n: int, seed: int = 20251125) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    baseline = np.clip(rng.normal(7.5, 0.9, n), 6.2, 14.0).round(1)
    reduction = 0.3 * (baseline - 7.0) + rng.normal(0.6, 0.8, n)
    post = np.clip(baseline - reduction, 4.5, 15.0).round(1)
    return pd.DataFrame({
        "patient_id": [f"S{i:07d}" for i in range(1, n + 1)],
        "hba1c_baseline": baseline,
        "hba1c_post": post,
        "dose_cells": rng.choice(DOSES, n).astype(np.int64),
        "msc_source": rng.choice(SOURCES, n),
        "followup_months": rng.integers(6, 69, n),
        "serious_adverse_event": (rng.random(n) < 0.002).astype(int),
    })


def write(n: int, folder: Path) -> Path:
    path = Path(folder) / f"synthetic_{n}.csv"
    if not path.is_file():
        cohort(n).to_csv(path, index=False, float_format="%.1f")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    for n in args.n:
        print(write(n, args.out))
