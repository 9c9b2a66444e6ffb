"""Every rule by which a number becomes text, for the pages, the tables and the figures.

Cells (:func:`format_cells`), p-values in prose and in tables (:func:`format_p`,
:func:`format_p_cell`), bounds that stay bounds at the precision shown
(:func:`round_down`, :func:`round_up`, :func:`bounds`, :func:`percent_down`,
:func:`percent_up`), numbers, intervals, percentages and percentage points. A rule changed here changes on every page.
"""
from __future__ import annotations

import math

_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")


def format_cells(x: float, pos: object = None) -> str:
    """A cell count in scientific notation: 1e8 -> '1×10⁸', 2.5e9 -> '2.5×10⁹' (plain Unicode).

    ``pos`` is ignored; it lets matplotlib use the function as a tick formatter.
    """
    if not math.isfinite(x) or x <= 0:
        return ""
    exponent = math.floor(math.log10(x) + 1e-9)
    mantissa = float(f"{x / 10**exponent:.2g}")
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:g}\u00d710{str(exponent).translate(_SUPERSCRIPT)}"


# ---------------------------------------------------------------------------
# p-values
# ---------------------------------------------------------------------------


def format_p(p: float | None) -> str:
    """Format a p-value for prose.

    Parameters
    ----------
    p : float or None
        A p-value in [0, 1], or ``None``/NaN when the test was not
        estimable.

    Returns
    -------
    str
        - ``None`` or NaN: ``"not estimable"``;
        - ``p < 0.0001``: ``"p < 0.0001"``;
        - ``0.0001 <= p < 0.001``: two significant digits, e.g.
          ``"p = 0.00043"``;
        - otherwise three significant digits, trailing zeros kept, e.g.
          ``"p = 0.0122"``, ``"p = 0.214"``, ``"p = 0.500"``, ``"p = 1.00"``;
        - ``0.999 < p < 1``: ``"p > 0.999"`` (never rounded up to 1).

    Raises
    ------
    ValueError
        If ``p`` lies outside [0, 1].
    """
    if p is None:
        return "not estimable"
    p = float(p)
    if math.isnan(p):
        return "not estimable"
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"A p-value must lie in [0, 1], got {p!r}.")
    if p < 0.0001:
        return "p < 0.0001"
    # '#' keeps trailing zeros so every value shows the same precision.
    if p < 0.001:
        return f"p = {p:#.2g}"
    if 0.999 < p < 1.0:
        return "p > 0.999"
    return f"p = {p:#.3g}"


def format_p_cell(p: float | None) -> str:
    """A p-value for a table cell: the rule of :func:`format_p` without ``"p = "``.

    ``"–"`` when not estimable, ``"< 0.0001"`` below 0.0001 (never three digits of an
    approximation's far tail, such as ``5.8e-07``), ``"> 0.999"`` just below 1, otherwise
    two or three significant digits, e.g. ``"0.00043"``, ``"0.0122"``, ``"0.214"``.
    """
    text = format_p(p)
    if text == "not estimable":
        return "–"
    return text[len("p = "):] if text.startswith("p = ") else text[len("p "):]


# ---------------------------------------------------------------------------
# Bounds at the precision shown
# ---------------------------------------------------------------------------

# Floating-point noise tolerated before a value counts as past a rounding step
# (2.25 is stored as 2.2499999999999996 and must not floor to 2.2 at two decimals).
_BOUND_EPS = 1e-9


def round_down(x: float, decimals: int) -> float:
    """``x`` rounded down to ``decimals`` places: a lower bound shown at that precision
    stays a lower bound (2.2523 at one decimal is 2.2, never 2.3)."""
    scale = 10.0 ** decimals
    return math.floor(float(x) * scale + _BOUND_EPS) / scale


def round_up(x: float, decimals: int) -> float:
    """``x`` rounded up to ``decimals`` places: an upper bound shown at that precision
    stays an upper bound (0.6934 at two decimals is 0.70, never 0.69)."""
    scale = 10.0 ** decimals
    return math.ceil(float(x) * scale - _BOUND_EPS) / scale


def significant_decimals(x: float, digits: int) -> int:
    """Decimals that show ``x`` to ``digits`` significant digits (0.0801 at 2 digits: 4)."""
    if x == 0 or not math.isfinite(x):
        return digits - 1
    return max(0, digits - 1 - math.floor(math.log10(abs(x))))


# ---------------------------------------------------------------------------
# Numbers, intervals and percentages on a page
# ---------------------------------------------------------------------------

#: What a table cell shows for a value that could not be computed.
MISSING = "–"


def number(x: float | None, decimals: int = 2) -> str:
    """A number at ``decimals`` places (``"–"`` when missing): ``1.5 -> "1.50"``."""
    return MISSING if x is None else f"{x:.{decimals}f}"


def span(low: float | None, high: float | None, decimals: int = 2) -> str:
    """An interval in words: ``"0.39 to 0.77"`` (``"–"`` when an end is missing)."""
    return MISSING if low is None or high is None else f"{low:.{decimals}f} to {high:.{decimals}f}"


def bounds(low: float | None, high: float | None, decimals: int = 2) -> str:
    """A range of what the figures allow, widened to the precision shown: the lower end
    rounded down and the upper end rounded up, so that neither bound is overstated."""
    if low is None or high is None:
        return MISSING
    return f"{round_down(low, decimals):.{decimals}f} to {round_up(high, decimals):.{decimals}f}"


def with_range(value: float | None, low: float | None, high: float | None, decimals: int = 2) -> str:
    """A value with the range (or interval) it lies in: a median with its range, ``"12 (3 to
    40)"`` (``"–"`` when the value is missing)."""
    return MISSING if value is None else f"{value:.{decimals}f} ({span(low, high, decimals)})"


def percent(x: float | None, decimals: int = 1) -> str:
    """A proportion as a percentage: ``0.265 -> "26.5 %"``."""
    return MISSING if x is None else f"{100 * x:.{decimals}f} %"


def percent_down(x: float | None, decimals: int = 1) -> str:
    """A lower bound (or a rate that must stay below a bound) as a percentage, rounded
    down: ``0.003996 -> "0.3 %"``, ``0.2646 -> "26.4 %"`` (:func:`round_down`)."""
    return MISSING if x is None else percent(round_down(x, decimals + 2), decimals)


def percent_up(x: float | None, decimals: int = 1) -> str:
    """An upper bound as a percentage, rounded up so that it is never understated:
    ``0.113466 -> "11.4 %"`` (:func:`round_up`)."""
    return MISSING if x is None else percent(round_up(x, decimals + 2), decimals)


def p_with_holm(p: float | None, p_holm: float | None = None) -> str:
    """A raw p with its Holm-adjusted p beside it (a family of tests): ``"p = 0.041,
    Holm-adjusted p = 0.287"``."""
    text = format_p(p)
    if p is not None and p_holm is not None:
        text += f", Holm-adjusted {format_p(p_holm)}"
    return text


def df_text(value: float | None) -> str:
    """Degrees of freedom: whole for the paired t-test (``"60"``), one decimal for Welch's
    (``"37.8"``)."""
    if value is None:
        return MISSING
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def minus(text: str) -> str:
    """A number's text with the typographic minus sign (U+2212) for the hyphen."""
    return text.replace("-", "\u2212")


def points(value: float | None, decimals: int = 2) -> str:
    """Percentage points with a typographic minus, never ``"−0.00"``."""
    if value is None:
        return MISSING
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else minus(text)


def points_span(low: float | None, high: float | None, decimals: int = 2) -> str:
    """An interval of percentage points with typographic minus signs."""
    return MISSING if low is None or high is None else f"{points(low, decimals)} to {points(high, decimals)}"


def compact(x: float | None, decimals: int = 3) -> str:
    """A number as a source writes it: at most ``decimals`` places, no trailing zeros,
    typographic minus (``-0.250 -> "−0.25"``); ``"–"`` when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    return minus(f"{float(x):.{decimals}f}".rstrip("0").rstrip("."))


def signed_points(x: float) -> str:
    """A signed number of percentage points, two decimals, typographic minus: ``"+0.79"``."""
    return minus(f"{x:+.2f}")
