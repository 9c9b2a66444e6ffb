"""Tests for livingpaper.present.markdown: notes and sentences every page shares.

What a reader sees is checked by rendering the Markdown with the MyST parser the book
uses (markdown-it with the MyST plugins) and reading the text back out of the HTML, so
the tests judge the rendered page, not the exact escaping characters chosen.
"""
from __future__ import annotations

import re

import pytest
from conftest import rendered
from livingpaper.present import cohort as present_cohort
from livingpaper.present import markdown as present_markdown

HOSTILE_TEXT = [
    "<script>alert(1)</script>",
    "**bold**",
    "[link](http://x)",
    "a|b",
    "![img](x.png)",
    "`code`",
    "{doc}`intro`",
    "$x^2$",
    "# heading",
    "~~gone~~",
    "<b>bold</b>",
    "R&D &amp; co",
    "back\\slash",
    "patient's \"id\"",
    "x_y_z",
    ":::{note}",
]


# --------------------------------------------------------------------------- escape


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_escaped_data_renders_as_the_same_text_and_no_markup(text):
    page = rendered(present_markdown.escape(text))
    assert page.tags == ["p"], (text, page.tags)  # a paragraph of text, nothing else
    assert "".join(page.text).strip() == text


def test_escaped_script_tag_contains_no_raw_angle_bracket():
    escaped = present_markdown.escape("<script>alert(1)</script>")
    assert "<" not in escaped and ">" not in escaped


@pytest.mark.parametrize("text, specials", [
    ("**bold**", "*"),
    ("[link](http://x)", "[]()"),
    ("a|b", "|"),
    ("{doc}`x` $y$", "{}`$"),
])
def test_markdown_specials_are_backslash_escaped(text, specials):
    escaped = present_markdown.escape(text)
    for char in specials:
        assert escaped.count("\\" + char) == text.count(char), (char, escaped)
    assert not re.search(r"(?<!\\)[*\[\]()|{}`$]", escaped), escaped


def test_escape_of_plain_text_changes_nothing():
    assert present_markdown.escape("MSC-001 umbilical cord 7.5") == "MSC-001 umbilical cord 7.5"


def test_long_exclusion_lists_are_cut_and_counted_not_printed_in_full():
    excluded = [{"row": i + 2, "patient_id": f"P{i:05d}", "reason": "post-treatment HbA1c missing"}
                for i in range(present_markdown.MAX_LISTED + 70)]
    table = present_cohort.exclusions_table(excluded)
    assert "P00000" in table and f"P{present_markdown.MAX_LISTED - 1:05d}" in table
    assert f"P{present_markdown.MAX_LISTED:05d}" not in table
    assert "… and 70 more" in table


def test_a_result_without_a_caveat_shows_no_note_and_one_with_a_caveat_a_caution():
    assert present_markdown.reconstruction_note(None) == ""
    note = present_markdown.reconstruction_note("Made by the reconstruction: a *choice*.")
    assert note.startswith(":::{admonition}") and ":class: caution" in note and note.endswith(":::")
    assert "A \\*choice\\*." in note
