"""MyST Markdown helpers: outside text escaped, tables, lists cut at a length."""
from __future__ import annotations

from typing import Any

import pandas as pd

from livingpaper import escaping


def escape(text: Any) -> str:
    """Text from the data, safe to place in MyST Markdown, in prose or in a table cell (no
    markup, no HTML; a line break shows as ``\\n``): :func:`livingpaper.escaping.markdown`."""
    return escaping.markdown(text)


def code(text: Any, in_table: bool = False) -> str:
    """Text from outside as inline code, shown literally: :func:`livingpaper.escaping.code`
    (``in_table``: inside a pipe table)."""
    return escaping.code(text, in_table=in_table)


def markdown_table(frame: pd.DataFrame, escape_cells: bool = True, numeric: bool = True) -> str:
    """A pipe table; cells are escaped unless the caller built them from numbers.

    The first column is left-aligned; the others are right-aligned when ``numeric``.
    """
    cell = escape if escape_cells else str
    other = "--:" if numeric else ":--"
    lines = ["| " + " | ".join(escape(c) for c in frame.columns) + " |",
             "|" + "|".join(":--" if i == 0 else other for i in range(len(frame.columns))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


#: Tables list at most this many rows of patients or changes; the rest are counted.
MAX_LISTED = 50


def _more(total: int, where: str) -> str:
    return f"\n\n… and {total - MAX_LISTED} more, all listed in {where}." if total > MAX_LISTED else ""
