"""How numbers are written for readers (shared by the text and the figures)."""
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
