"""Text from outside the book, made safe for each place it lands.

File names, patient ids, column and sheet names come from the user's files and folders;
none of them may change the meaning of what they are placed in: end a table cell, close
a code block, open an HTML tag, break a BibTeX entry, or move a terminal's cursor. Each
output kind has one function here, and every piece of outside text goes through it:

=================  ==========================================================
output kind        function
=================  ==========================================================
terminal           :func:`terminal` (control characters shown, not obeyed)
MyST inline text   :func:`markdown` (also safe in a table cell)
MyST inline code   :func:`code` (``in_table=True`` inside a pipe table)
MyST code block    :func:`fenced` (a fence longer than any in the content)
BibTeX / LaTeX     :func:`latex`
JSON               ``json.dumps`` (escapes everything itself)
=================  ==========================================================

All of them first make invisible characters visible (:func:`visible`): a line break in a
file name is shown as ``\\n``, an escape character as ``\\x1b``, a right-to-left override
as ``\\u202e``, so the text reads the same wherever it is shown.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code_point = ord(char)
    return f"\\x{code_point:02x}" if code_point < 0x100 else f"\\u{code_point:04x}"


def visible(text: Any) -> str:
    """``text`` with every character that is not printed as itself (control characters, line
    and paragraph separators, bidirectional overrides and other format characters) replaced
    by its escape sequence, so that it can be neither obeyed nor hidden."""
    text = str(text)
    if text.isprintable():  # the usual case, in one C call
        return text
    # A space is printable; every other separator (Zl, Zp, and Zs such as NBSP) is kept only
    # when it is an ordinary, visible space.
    return "".join(c if c.isprintable() or (c.isspace() and unicodedata.category(c) == "Zs") else _shown(c)
                   for c in text)


def terminal(text: Any) -> str:
    """Outside text for a message on the terminal (one line, nothing interpreted)."""
    return visible(text)


_COLOURS = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def without_colours(text: str) -> str:
    """A tool's output (Sphinx's log, a kernel's traceback) without its terminal colour codes,
    before it is shown in a message of ours."""
    return _COLOURS.sub("", text)


# Markdown punctuation is backslash-escaped; <, > and & become entities (never raw HTML).
_MARKDOWN = {c: "\\" + c for c in "\\`*_{}[]()#+!|~$^:"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MARKDOWN_TABLE = str.maketrans(_MARKDOWN)


def markdown(text: Any) -> str:
    """Outside text as MyST inline text, shown as it is: no emphasis, link, role, HTML or
    table-cell boundary can come from it (``|`` is escaped, so it is safe in a cell too)."""
    return visible(text).translate(_MARKDOWN_TABLE)


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(re.escape(char) + "+", text)), default=0)


def code(text: Any, in_table: bool = False) -> str:
    """Outside text as MyST inline code (shown literally). The delimiter is one backtick more
    than the longest run inside (CommonMark code spans). In a pipe table the cell would end
    at a ``|`` even inside code, so ``in_table`` escapes it as ``\\|`` (markdown-it removes the
    backslash there; outside a table it would be shown)."""
    body = visible(text)
    if in_table:
        body = body.replace("|", "\\|")
    ticks = "`" * (_longest_run(body, "`") + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def fenced(content: str, info: str = "") -> str:
    """A MyST code block around ``content`` (the caller has made outside parts of it visible):
    the fence is longer than any run of backticks inside, so nothing in it can close it."""
    fence = "`" * max(3, _longest_run(content, "`") + 1)
    body = content if content.endswith("\n") else content + "\n"
    return f"{fence}{info}\n{body}{fence}"


_LATEX = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "$": r"\$", "&": r"\&", "#": r"\#",
          "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}"}
_LATEX_TABLE = str.maketrans(_LATEX)


def latex(text: Any) -> str:
    """Outside text inside a braced BibTeX field: LaTeX's special characters escaped. Braces
    become ``\\textbraceleft{}``/``\\textbraceright{}``, whose own braces pair up: BibTeX counts
    every brace, escaped or not, so ``\\{`` alone would unbalance the field."""
    return visible(text).translate(_LATEX_TABLE)
