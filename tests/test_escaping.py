"""Tests for livingpaper.escaping: outside text keeps its meaning wherever it lands.

Each escape is checked by what the real consumer makes of it: MyST's own Markdown parser
(markdown-it, as the book uses it) for the Markdown kinds, pybtex for BibTeX.
"""
from __future__ import annotations

import html
import re

import pytest
from livingpaper import escaping
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser
from pybtex.database import parse_string

HOSTILE = [
    "a|b",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "line one\nline two",
    "```\n# heading\n```",
    "**bold** _em_ [link](http://x) {cite}`x` $math$",
    "\x1b[31mred\x1b[0m",
    "right-to-left \u202eoverride",
    "`tick` ``two`` ```three```",
    "back\\slash",
]


@pytest.fixture(scope="module")
def myst():
    parser = create_md_parser(MdParserConfig(), RendererHTML)
    return parser.render


def text_of(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize("outside", HOSTILE)
def test_markdown_text_renders_as_the_same_visible_text_without_any_tag(myst, outside):
    rendered = myst(escaping.markdown(outside))
    assert re.findall(r"<(\w+)", rendered) == ["p"]
    assert text_of(rendered).strip() == escaping.visible(outside)


@pytest.mark.parametrize("outside", HOSTILE)
def test_outside_text_in_a_table_cell_stays_in_its_cell(myst, outside):
    table = f"| a | b |\n|:--|:--|\n| {escaping.markdown(outside)} | {escaping.code(outside, in_table=True)} |\n"
    rendered = myst(table)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rendered, re.S)
    assert len(cells) == 2, rendered
    assert text_of(cells[0]) == escaping.visible(outside)
    assert re.findall(r"<(\w+)", cells[1]) == ["code"]
    assert text_of(cells[1]) == escaping.visible(outside)
    assert "<img" not in rendered and "<script" not in rendered


@pytest.mark.parametrize("outside", HOSTILE)
def test_inline_code_shows_the_text_literally(myst, outside):
    rendered = myst(f"File {escaping.code(outside)} here.")
    codes = re.findall(r"<code>(.*?)</code>", rendered, re.S)
    assert len(codes) == 1
    assert html.unescape(codes[0]) == escaping.visible(outside)


@pytest.mark.parametrize("outside", HOSTILE)
def test_a_fenced_block_cannot_be_closed_from_inside(myst, outside):
    content = f"@misc{{x,\n  note = {{{escaping.visible(outside)}}}\n}}\n"
    rendered = myst(escaping.fenced(content, "bibtex") + "\n\nafter")
    assert rendered.count("<pre>") == 1
    assert html.unescape(re.search(r"<code[^>]*>(.*?)</code>", rendered, re.S).group(1)) == content
    assert rendered.rstrip().endswith("<p>after</p>")


def test_visible_shows_line_breaks_escapes_and_direction_overrides_as_text():
    assert escaping.visible("a\nb\tc\x1b[0m\u202ed\x00") == "a\\nb\\tc\\x1b[0m\\u202ed\\x00"
    assert escaping.visible("plain café 氏名 a b") == "plain café 氏名 a b"  # printable text is untouched


def test_terminal_text_holds_no_control_character():
    for outside in HOSTILE:
        shown = escaping.terminal(outside)
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c == "\u202e" for c in shown), shown


def test_without_colours_removes_terminal_colour_codes_only():
    assert escaping.without_colours("\x1b[91mWARNING\x1b[39;49;00m: disk full") == "WARNING: disk full"


@pytest.mark.parametrize("outside", HOSTILE + ["{unbalanced", "close}", "100% & $5 #1 ~x ^y _z"])
def test_latex_escaped_text_keeps_a_bibtex_entry_whole(outside):
    entry = f"@misc{{k,\n  note = {{Built from {escaping.latex(outside)}}},\n  year = {{2026}}\n}}\n"
    parsed = parse_string(entry, "bibtex").entries["k"]
    assert parsed.fields["year"] == "2026"  # the field after the note is still a field
    assert "\n" not in parsed.fields["note"]
    assert parsed.fields["note"].count("{") == parsed.fields["note"].count("}")
