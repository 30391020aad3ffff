"""The HTML report in a real browser (Debian's Chromium through Playwright): with every request
to anything but the file itself and inline data refused, it asks for nothing else, every part
of it loads and draws, and printed on A4 or US Letter its figures and tables fit within the
page's content width."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

MM = 96 / 25.4  # CSS pixels per millimetre
CONTENT_MM = {"A4": 210 - 40, "Letter": 215.9 - 40}  # portrait, 20 mm side margins


def _open_offline(page, path):
    """Open the report with every non-file, non-data request aborted; the requests seen."""
    requests, failed = [], []

    def guard(route):
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", guard)
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return requests, failed


def test_html_report_requests_nothing_from_any_host_and_everything_loads(page, demo_report):
    requests, failed = _open_offline(page, demo_report["html"])
    assert requests == [demo_report["html"].resolve().as_uri()]
    assert failed == []
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.querySelectorAll('link, img, iframe, object').length") == 0
    drawn = page.evaluate("""Array.from(document.querySelectorAll('figure svg')).map(
        (svg) => [svg.getBoundingClientRect().width, svg.querySelectorAll('circle, rect').length])""")
    assert len(drawn) >= 3  # the flow, the change per outcome, the follow-up
    assert all(width > 100 and marks > 0 for width, marks in drawn)
    assert page.locator("h1").inner_text() == "Outcomes report: SP01"


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printed_figures_and_tables_fit_the_page_width(page, demo_report, paper):
    _open_offline(page, demo_report["html"])
    page.emulate_media(media="print")
    width = CONTENT_MM[paper] * MM
    page.set_viewport_size({"width": round(width), "height": 1000})
    rights = page.evaluate("""Array.from(document.querySelectorAll('figure, svg, table')).map(
        (el) => el.getBoundingClientRect().right)""")
    assert len(rights) >= 10
    assert max(rights) <= width + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= round(width)
