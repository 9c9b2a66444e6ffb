"""The paper's published figures, and their comparison with a reproduced result.

The figures live in ``data/published.yaml``, each with the sentence of the paper it
comes from and the rule by which a reproduced value "matches" it at the precision the
paper reports (a mean given to two decimals matches any value that rounds to it; a
``p < 0.0001`` matches any smaller p).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from livingpaper import paths

# Floating-point slack for interval ends (a mean of 7.485 computed as 7.48499999).
_EPS = 1e-9


@dataclass(frozen=True)
class PublishedFigure:
    """One number (or label set) reported by the paper."""

    id: str
    label: str
    kind: str
    value: Any
    section: str
    field: str
    quote: str
    decimals: int | None = None
    significant_digits: int | None = None
    alpha: float | None = None

    def interval(self) -> tuple[float, float]:
        """Values that round to the published figure: ``[low, high)``.

        For ``value`` figures, half a unit of the last reported decimal either side;
        for ``p_equal`` figures, half a unit of the last significant digit.
        """
        if self.kind == "p_equal":
            decimals = self.significant_digits - 1 - math.floor(math.log10(abs(self.value)))
        else:
            decimals = self.decimals or 0
        half = 0.5 * 10.0 ** (-decimals)
        return float(self.value) - half, float(self.value) + half


def load(path: str | Path = paths.PUBLISHED_FIGURES) -> dict[str, Any]:
    """Read ``published.yaml``: ``{"paper", "definitions", "figures": [PublishedFigure]}``."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    raw["figures"] = [PublishedFigure(**fig) for fig in raw["figures"]]
    return raw


def figure(published: dict[str, Any], figure_id: str) -> PublishedFigure:
    """The published figure with this id."""
    for fig in published["figures"]:
        if fig.id == figure_id:
            return fig
    raise KeyError(figure_id)


def scalar_values(published: dict[str, Any]) -> dict[str, float | int]:
    """Every numeric published figure and definition by id (for quoting the paper in prose)."""
    values: dict[str, float | int] = {}
    for key, value in published["definitions"].items():
        if isinstance(value, (int, float)):
            values[key] = value
    for fig in published["figures"]:
        if isinstance(fig.value, (int, float)) and not isinstance(fig.value, bool):
            values[fig.id] = fig.value
    return values


def _lookup(results: dict[str, Any], fig: PublishedFigure) -> Any:
    if fig.section == "cohort":
        return results.get("cohort", {}).get(fig.field)
    return results.get("sections", {}).get(fig.section, {}).get(fig.field)


def matches(fig: PublishedFigure, reproduced: Any, results: dict[str, Any] | None = None) -> bool:
    """Does ``reproduced`` agree with the published figure at the paper's precision?"""
    if reproduced is None:
        return False
    if fig.kind == "count":
        return int(reproduced) == int(fig.value)
    if fig.kind in ("value", "p_equal"):
        low, high = fig.interval()
        return low - _EPS <= float(reproduced) < high - _EPS
    if fig.kind == "p_below":
        return float(reproduced) < float(fig.value)
    if fig.kind in ("minimum", "maximum"):
        decimals = fig.decimals if fig.decimals is not None else 12
        return round(float(reproduced), decimals) == round(float(fig.value), decimals)
    if fig.kind == "set":
        return set(reproduced) == set(fig.value)
    if fig.kind == "not_significant_trend":
        comparison = (results or {}).get("sections", {}).get(fig.section, {})
        p = comparison.get("p")
        return p is not None and float(reproduced) > 0 and float(p) >= float(fig.alpha)
    raise ValueError(f"unknown kind of published figure: {fig.kind!r}")


def _format_reproduced(fig: PublishedFigure, value: Any, results: dict[str, Any]) -> str:
    if value is None:
        return "not estimable"
    if fig.kind == "count":
        return f"{int(value)}"
    if fig.kind in ("p_below", "p_equal"):
        return f"{float(value):.3g}"
    if fig.kind == "set":
        return ", ".join(sorted(value))
    if fig.kind == "not_significant_trend":
        p = results.get("sections", {}).get(fig.section, {}).get("p")
        p_text = "p not estimable" if p is None else f"p = {p:.3g}"
        return f"high − low = {float(value):+.2f}, {p_text}"
    if fig.kind in ("minimum", "maximum") and abs(float(value)) >= 1e4:
        return f"{float(value):.3g}"
    decimals = (fig.decimals or 0) + 2
    return f"{float(value):.{decimals}f}"


def _format_published(fig: PublishedFigure) -> str:
    if fig.kind == "p_below":
        return f"< {fig.value:g}"
    if fig.kind == "set":
        return ", ".join(sorted(fig.value))
    if fig.kind == "not_significant_trend":
        return str(fig.value)
    if fig.kind in ("value",) and fig.decimals is not None:
        return f"{float(fig.value):.{fig.decimals}f}"
    if isinstance(fig.value, float) and abs(fig.value) >= 1e4:
        return f"{fig.value:.3g}"
    return f"{fig.value:g}" if isinstance(fig.value, float) else str(fig.value)


def comparison_table(
    published: dict[str, Any], results: dict[str, Any], sections: list[str] | None = None
) -> pd.DataFrame:
    """Published vs reproduced, one row per published figure.

    Parameters
    ----------
    published : the dict returned by :func:`load`.
    results : a results dict with the shape of ``results.json`` (``cohort`` and ``sections``).
    sections : keep only the figures of these sections (``None`` = all).

    Returns
    -------
    DataFrame with columns ``id, figure, published, reproduced, match`` where ``match`` is
    a bool (the book renders it as a mark) and ``reproduced`` is shown with two more
    decimals than the paper gives, so a reader sees how close the match is.
    """
    rows = []
    for fig in published["figures"]:
        if sections is not None and fig.section not in sections:
            continue
        value = _lookup(results, fig)
        rows.append(
            {
                "id": fig.id,
                "figure": fig.label,
                "published": _format_published(fig),
                "reproduced": _format_reproduced(fig, value, results),
                "match": matches(fig, value, results),
            }
        )
    return pd.DataFrame(rows, columns=["id", "figure", "published", "reproduced", "match"])
