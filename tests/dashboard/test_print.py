"""The sponsor's pages on paper, A4 and US Letter portrait: headless Chromium prints each page
(``emulate_media("print")`` and ``page.pdf``) as a sponsor signed in on a wide screen. Every
chart prints as its copy drawn at the printable width, no text of the PDF lies outside the
printable area, a page break never splits a chart, and the printout carries the filters, the
design statement and the day it was printed."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from dashboard.style import DESIGN_STATEMENT
from tests.support import SVG_TEXT_BOXES, chart_text_problems, page_headings

pytestmark = pytest.mark.browser

PDFTOTEXT = "/usr/bin/pdftotext"
MM = 96 / 25.4  # CSS pixels per millimetre
PT_PER_MM = 72 / 25.4
MARGIN_MM = 14  # attune.css's @page margin
PAGE_CHART_MM = 215  # attune.css: the tallest a printed chart is shown (fits A4 and Letter)
PAPER_MM = {"A4": (210, 297), "Letter": (215.9, 279.4)}
PRINTED_PAGES = page_headings("sponsor", charts_only=True)  # the sponsor's pages with charts
SLACK_PX = 1
# Every chart drawn on the page has its print copy: an SVG image drawn at the print width.
COPIES_READY = """() => {
  const charts = Array.from(document.querySelectorAll(".chart-body .js-plotly-plot"));
  return charts.length > 0 && charts.every((gd) => {
    const copy = gd.parentElement.querySelector(":scope > img.print-copy");
    return copy && copy.complete && copy.naturalWidth > 0;
  });
}"""
# Under print media: each chart card's printed figure (its print copy, or what else the card
# shows) with its box, the image's own width, and the box of the printed content.
PRINTED_BOXES = """() => {
  const app = document.querySelector(".app").getBoundingClientRect();
  return Array.from(document.querySelectorAll(".chart-card .chart-body")).map((body) => {
    const shown = Array.from(body.querySelectorAll("*"))
      .filter((e) => e.getBoundingClientRect().width > 0);
    const plotly = Array.from(body.querySelectorAll(".js-plotly-plot"))
      .filter((e) => e.getBoundingClientRect().width > 0).length;
    const copies = Array.from(body.querySelectorAll("img.print-copy"))
      .filter((e) => e.getBoundingClientRect().width > 0);
    return {card: body.closest(".chart-card").id, app_left: app.left,
            right: Math.max(body.getBoundingClientRect().right,
                            ...shown.map((e) => e.getBoundingClientRect().right)),
            plotly_shown: plotly,
            copies: copies.map((c) => ({drawn: c.naturalWidth, drawn_height: c.naturalHeight,
                                        shown: c.getBoundingClientRect().width,
                                        shown_height: c.getBoundingClientRect().height}))};
  });
}"""
# Marks the top and the bottom of every chart figure with a token that prints as text
# (absolutely placed, so it takes no room): a figure split by a page break has its two tokens
# on different pages of the PDF.
MARK_CHARTS = """() => Array.from(document.querySelectorAll(".chart-card .chart-body"))
  .filter((body) => body.querySelector("img.print-copy"))
  .map((body, i) => {
    body.style.position = "relative";
    for (const [end, edge] of [["top", "top"], ["end", "bottom"]]) {
      const mark = document.createElement("span");
      mark.className = "split-probe";
      mark.textContent = `QZ${i}${end}QZ`;
      mark.style.cssText = `position:absolute;left:0;${edge}:0;font-size:4px;line-height:1`;
      body.appendChild(mark);
    }
    return body.closest(".chart-card").id;
  })"""
# Each shown print copy's SVG, drawn inline off the page, with its text boxes (as
# tests.support.chart_text_problems reads them): what the paper shows of the chart.
PRINT_COPY_TEXT = """() => Array.from(document.querySelectorAll(".chart-card img.print-copy"))
  .filter((img) => img.getBoundingClientRect().width > 0)
  .map((img) => {
    const [head, data] = img.src.split(",", 2);
    const holder = document.createElement("div");
    holder.style.cssText = "position:absolute;left:0;top:0";
    holder.innerHTML = head.endsWith(";base64") ? atob(data) : decodeURIComponent(data);
    document.body.appendChild(holder);
    const svg = holder.querySelector("svg").getBoundingClientRect();
    const texts = (TEXT_BOXES)(holder);
    holder.remove();
    return {card: img.closest(".chart-card").id, texts: texts,
            box: {left: svg.left, right: svg.right, top: svg.top, bottom: svg.bottom}};
  })""".replace("TEXT_BOXES", SVG_TEXT_BOXES)
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"([^<]*)</word>")
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')


@pytest.fixture(scope="module")
def desk(browser, sign_in_as_sponsor, sponsor_site):
    """One wide-screen browser context for the module, signed in as the sponsor; ``open(path)``
    loads a page and waits until every chart has answered and has its print copy."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in_as_sponsor(page)

    def open_page(path: str):
        page.emulate_media(media="screen")
        page.goto(sponsor_site.url + path)
        page.get_by_role("heading", level=1, name=PRINTED_PAGES[path], exact=True).wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => !document.querySelector('[data-dash-is-loading]')")
        page.wait_for_function(COPIES_READY)
        return page

    yield open_page
    context.close()


def pdf_words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words with their boxes (points), read back by pdftotext."""
    xml = subprocess.run([PDFTOTEXT, "-bbox", str(pdf), "-"], check=True, capture_output=True,
                         text=True).stdout
    pages = xml.split("<page ")[1:]
    return [[(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in WORD.findall(p)]
            for p in pages]


def pdf_text(pdf: Path) -> str:
    return subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


@pytest.mark.parametrize("path", PRINTED_PAGES)
def test_every_chart_prints_at_the_printable_width(desk, path):
    page = desk(path)
    page.emulate_media(media="print")
    boxes = page.evaluate(PRINTED_BOXES)
    assert boxes, path
    printable = min(w for w, _ in PAPER_MM.values()) - 2 * MARGIN_MM  # A4's, the narrower
    for box in boxes:
        assert box["plotly_shown"] == 0, f"{path} {box['card']}: the screen chart prints"
        assert box["right"] - box["app_left"] <= printable * MM + SLACK_PX, (path, box)
        for copy in box["copies"]:
            assert copy["drawn"] <= printable * MM, (path, box)  # drawn for paper, not shrunk
            if copy["drawn_height"] <= PAGE_CHART_MM * MM:
                assert copy["shown"] >= 0.95 * copy["drawn"], (path, box)  # at its own size
            else:  # taller than a page: shown whole, as tall as a page allows, no smaller
                assert copy["shown_height"] >= 0.95 * PAGE_CHART_MM * MM, (path, box)
    assert chart_text_problems(page.evaluate(PRINT_COPY_TEXT)) == [], path


@pytest.mark.parametrize("paper", PAPER_MM)
@pytest.mark.parametrize("path", PRINTED_PAGES)
def test_printed_page_keeps_each_chart_whole_and_inside_the_margins(desk, path, paper,
                                                                    tmp_path):
    page = desk(path)
    marked = page.evaluate(MARK_CHARTS)
    assert marked, path
    pdf = tmp_path / "page.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format=paper, print_background=True)
    pages = pdf_words(pdf)
    width_pt, _ = (mm * PT_PER_MM for mm in PAPER_MM[paper])
    margin_pt = MARGIN_MM * PT_PER_MM
    for number, words in enumerate(pages, start=1):
        outside = [w for w in words if w[0] < margin_pt - 1 or w[2] > width_pt - margin_pt + 1]
        assert outside == [], f"{path} on {paper}, page {number}: text beyond the margin"
    where: dict[str, set[int]] = {}
    for number, words in enumerate(pages, start=1):
        for *_, word in words:
            found = re.fullmatch(r"QZ(\d+)(top|end)QZ", word)
            if found:
                where.setdefault(marked[int(found.group(1))], set()).add(number)
    assert set(where) == set(marked), (path, paper, where)
    split = {card: sorted(on) for card, on in where.items() if len(on) > 1}
    assert split == {}, f"{path} on {paper}: a page break splits {split}"


@pytest.mark.parametrize("path", ["/", "/explorer"])
def test_printout_carries_filters_design_statement_and_date(desk, path, tmp_path):
    page = desk(path)
    pdf = tmp_path / "page.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format="A4")
    text = " ".join(pdf_text(pdf).split())
    assert text.count(" ".join(DESIGN_STATEMENT.split())) == 1  # stated once, not twice
    assert f"Printed {dt.date.today().isoformat()}" in text
    shown = " ".join(page.locator("#active-filters").inner_text().split())
    assert shown.startswith("Showing:") and shown[:60] in text
    for control in ("Reset all filters", "Sign out", "Filters:", "Download outcomes report",
                    "Download CSV", "Show as table"):  # no controls on paper
        assert control not in text
