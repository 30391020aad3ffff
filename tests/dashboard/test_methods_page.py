"""The methods page renders its text as written: an interval reads as text, not as an empty
link; the generated tables' markers never show; code keeps its brackets."""

from __future__ import annotations

import re

from dash import dcc

from dashboard.pages.methods import METHODS_MD, layout, methods_markdown


def _rendered_markdown(app_ctx) -> str:
    page = layout(app_ctx)
    (markdown,) = [c for c in page._traverse() if isinstance(c, dcc.Markdown)
                   and "Cronbach" in str(c.children)]
    return markdown.children


def test_an_interval_in_brackets_reads_as_text_not_a_link():
    text = methods_markdown("The CI is [0.195, 0.840] here; see [the source](https://x.org).")
    assert r"\[0.195, 0.840\]" in text
    assert "[the source](https://x.org)" in text  # a real link stays a link


def test_code_keeps_its_brackets_and_comments_are_dropped():
    text = methods_markdown("<!-- tier-table:start -->\n`x[1]` and\n```\na[2]\n```\n"
                            "<!-- tier-table:end -->\n")
    assert "<!--" not in text
    assert "`x[1]`" in text and "a[2]" in text and r"\[" not in text


def test_the_methods_page_shows_no_marker_and_no_bare_interval(evaluator):
    source = METHODS_MD.read_text(encoding="utf-8")
    assert "<!--" in source and re.search(r"\[-?\d+\.\d+, -?\d+\.\d+\]", source)
    shown = _rendered_markdown(evaluator)
    assert "<!--" not in shown
    outside_code = re.sub(r"```.*?```|`[^`\n]*`", "", shown, flags=re.S)
    assert not re.search(r"(?<!\\)\[-?\d+\.\d+, -?\d+\.\d+(?<!\\)\]", outside_code)
