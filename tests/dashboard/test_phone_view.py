"""The sponsor's view on a phone: headless Chromium emulating a 390 × 844 touch screen, signed
in as a sponsor, on every page a sponsor may open. Nothing is wider than the screen, the first
headline number is on the first screen, there is no sponsor filter, no chart's text overlaps
other text or is cut by the chart's edge, and the folded filters open and close with the
keyboard."""

from __future__ import annotations

import re

import pytest

from dashboard import access
from dashboard.pages import PAGES, uses_filters
from tests.support import SVG_TEXT_BOXES, chart_text_problems

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844
# Every page the sponsor role may open, with its heading (its name), and those without filters.
SPONSOR_PAGES = {p.PATH: p.NAME for p in PAGES if "sponsor" in access.page_roles(p)}
NO_FILTERS = {p.PATH for p in PAGES if not uses_filters(p)}
# Every shown chart's SVG text boxes (non-empty, drawn), by chart card, with the box of the
# chart's main SVG: what the reader sees of the chart.
CHART_TEXT = """() => Array.from(document.querySelectorAll(".chart-card .js-plotly-plot"))
  .filter((gd) => gd.getBoundingClientRect().width > 0)
  .map((gd) => {
    const svg = gd.querySelector("svg.main-svg").getBoundingClientRect();
    return {card: gd.closest(".chart-card").id, texts: (TEXT_BOXES)(gd),
            box: {left: svg.left, right: svg.right, top: svg.top, bottom: svg.bottom}};
  })""".replace("TEXT_BOXES", SVG_TEXT_BOXES)


@pytest.fixture(scope="module")
def phone(browser, sign_in_as_sponsor, sponsor_site):
    """One phone-sized, touch, 3× browser context for the module, signed in as the sponsor;
    ``open(path)`` loads a page and waits until every callback has answered."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True,
                                  has_touch=True, device_scale_factor=3)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in_as_sponsor(page)
    page.locator("#who-name").filter(has_text="sponsor SP01").wait_for()

    def open_page(path: str):
        page.goto(sponsor_site.url + path)
        page.get_by_role("heading", level=1, name=SPONSOR_PAGES[path], exact=True).wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => !document.querySelector('[data-dash-is-loading]')")
        return page

    yield open_page
    context.close()


@pytest.mark.parametrize("path", SPONSOR_PAGES)
def test_sponsor_page_fits_a_phone_with_readable_charts_and_no_sponsor_filter(phone, path):
    page = phone(path)
    assert len(SPONSOR_PAGES) >= 7
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
    sponsor_control = page.locator("#f-sponsor")
    assert sponsor_control.count() == 0 or not sponsor_control.is_visible()
    if path in NO_FILTERS:
        assert not page.locator("#filters").is_visible(), path
    else:  # opened, the panel has no sponsor control either
        page.locator("#filters-toggle").click()
        page.locator("#filters-body").wait_for(state="visible")
        assert page.locator("#filters-body label:visible, #filters-body legend:visible") \
            .filter(has_text="Sponsor").count() == 0, path
        page.locator("#filters-toggle").click()
        page.locator("#filters-body").wait_for(state="hidden")
    assert chart_text_problems(page.evaluate(CHART_TEXT)) == [], path


def test_first_headline_number_is_on_the_first_phone_screen(phone):
    page = phone("/")
    number = page.locator(".stat-card .stat-value").first
    number.wait_for()
    box = number.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, box
    assert any(ch.isdigit() for ch in number.inner_text())


@pytest.mark.parametrize("key", ["Enter", " "])
def test_filters_fold_opens_and_closes_with_the_keyboard(phone, key):
    page = phone("/")
    toggle = page.locator("#filters-toggle")
    body = page.locator("#filters-body")
    assert toggle.get_attribute("aria-expanded") == "false" and not body.is_visible()
    assert "Filters" in toggle.inner_text()
    toggle.focus()
    page.keyboard.press(key)
    page.wait_for_function(
        "() => document.querySelector('#filters-toggle').getAttribute('aria-expanded')"
        " === 'true'")
    body.wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "filters-toggle"
    page.keyboard.press(key)
    page.wait_for_function(
        "() => document.querySelector('#filters-toggle').getAttribute('aria-expanded')"
        " === 'false'")
    body.wait_for(state="hidden")


def test_explorer_heatmap_is_a_list_on_a_phone(phone):
    page = phone("/explorer")
    cells = page.get_by_test_id("heatmap-list")
    cells.wait_for(state="visible")
    assert not page.locator("#card-explorer-heatmap .js-plotly-plot").first.is_visible()
    assert cells.locator("li").count() >= 1


WHY_HIDDEN = re.compile(r"fewer than|too few|small group|protect", re.IGNORECASE)


def test_explorer_tells_a_sponsor_only_that_groups_are_not_shown(phone):
    page = phone("/explorer")
    notes = page.locator(".chart-card .chart-notes")
    notes.filter(has_text="not shown").first.wait_for(state="attached")
    cards = page.locator(".chart-card")
    for i in range(cards.count()):
        text = cards.nth(i).text_content()
        assert not WHY_HIDDEN.search(text), (cards.nth(i).get_attribute("id"), text)
