"""MyST Markdown helpers: outside text escaped, tables, lists cut at a length."""
from __future__ import annotations

from typing import Any

import pandas as pd
from IPython.display import Markdown

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


def more(total: int, where: str) -> str:
    """What a table cut at :data:`MAX_LISTED` rows leaves out, and where it is."""
    return f"\n\n… and {total - MAX_LISTED} more, all listed in {where}." if total > MAX_LISTED else ""


#: How every result's ``reason`` begins when it could not be computed.
NOT_ESTIMABLE = "Not estimable: "


def because(reason: str | None) -> str:
    """A result's ``reason`` as the end of a sentence that has already said "not estimable"
    (so that no page says it twice)."""
    text = reason or "no reason was given."
    return escape(text[len(NOT_ESTIMABLE):] if text.startswith(NOT_ESTIMABLE) else text)


def not_estimable(subject: str, reason: str | None) -> str:
    """The one sentence for a result that could not be computed: "<subject> is not
    estimable: <why>"."""
    return f"{subject} is not estimable: {because(reason)}"


def reconstruction_note(caveat: str | None) -> str:
    """A result's ``reconstruction_caveat`` as a MyST admonition placed under it ("" when
    there is none: other data, or a result the reconstruction did not shape)."""
    if not caveat:
        return ""
    prefix = "Made by the reconstruction: "
    body = caveat[len(prefix):] if caveat.startswith(prefix) else caveat
    body = body[:1].upper() + body[1:]
    return f":::{{admonition}} Made by the reconstruction, not found in patients\n:class: caution\n{escape(body)}\n:::"


def with_note(text: str, result: Any) -> Markdown:
    """A headline followed, on the reconstructed cohort, by what the reconstruction chose."""
    note = reconstruction_note(getattr(result, "reconstruction_caveat", None))
    return Markdown(text + (f"\n\n{note}" if note else ""))
