"""Real-browser tests: headless Chromium (Playwright) against the app on the demo database."""

from __future__ import annotations

import re

import pytest

from tests.support import page_headings

pytestmark = pytest.mark.browser

PAGES = page_headings("evaluator")  # what live_app's local user, an evaluator, sees: path -> h1
# Cards the demo data leaves empty, and the start of the explanation each shows instead.
EMPTY_ON_DEMO = {  # the demo links waves by participant id, not by self-generated codes
    "card-quality-linkage": "No export was linked by a self-generated code",
}
# What a chart card shows: a Plotly chart that holds data and has drawn it, or its HTML
# content (statistics grid, tier list, table); and the text of its empty state, if any.
CARD_CONTENT = """(card) => {
  const hasData = (trace) => ["x", "y", "z", "values"].some(
    (key) => Array.isArray(trace[key]) && trace[key].length > 0);
  const plots = Array.from(card.querySelectorAll(".chart-body .js-plotly-plot"));
  const empty = card.querySelector(".empty-state");
  return {
    chart: plots.some((gd) => (gd.data || []).some(hasData) && gd.querySelector(".trace, .hm")),
    html: card.querySelector(".stat-grid, .tier-list, .table-scroll") !== null,
    empty: empty ? empty.innerText : null,
  };
}"""


@pytest.fixture
def watched(page):
    """The page, with a list collecting console errors, page errors and failed callbacks."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error"
            else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 500 else None)
    page.set_default_timeout(20_000)
    return page, problems


def _settle(page):
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading]')")


def _cards(page) -> dict[str, dict]:
    """Each chart card of the page by id, with what it shows (see CARD_CONTENT)."""
    return {card.get_attribute("id"): card.evaluate(CARD_CONTENT)
            for card in page.locator(".chart-card").all()}


def test_every_page_renders_with_nav_and_no_errors(live_app, watched):
    page, problems = watched
    for path, title in PAGES.items():
        page.goto(live_app.url + path)
        page.get_by_role("heading", level=1, name=title).wait_for()
        _settle(page)
        for target, name in PAGES.items():  # every page reachable from every page
            link = page.get_by_role("link", name=name, exact=True).first
            assert link.get_attribute("href").split("?")[0] == target
        if path != "/methods":
            assert page.locator(".chart-title").count() >= 2
            page.locator(".chart-subtitle").filter(has_text=re.compile(r"\d")).first.wait_for()
            cards = _cards(page)
            assert len(cards) == page.locator(".chart-title").count()
            for card, shown in cards.items():
                if card in EMPTY_ON_DEMO:
                    assert shown["empty"].startswith(EMPTY_ON_DEMO[card]), (card, shown)
                else:
                    assert shown["empty"] is None and (shown["chart"] or shown["html"]), \
                        (card, shown)
        else:
            assert page.locator("#data-dictionary details").count() >= 5
        assert problems == [], path


def test_filter_change_updates_url_charts_and_restores_on_reload(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/explorer")
    subtitle = page.locator("#card-explorer-dumbbell .chart-subtitle")
    subtitle.filter(has_text="matched pairs").wait_for()
    before = subtitle.inner_text()
    page.locator("#f-supervision").get_by_label("With", exact=True).check()
    page.wait_for_url(re.compile(r"supervision=yes"))
    page.wait_for_function(
        "(old) => { const e = document.querySelector('#card-explorer-dumbbell "
        ".chart-subtitle'); return e && e.innerText && e.innerText !== old; }", arg=before)
    after = subtitle.inner_text()
    assert after != before
    assert "supervision: yes" in page.locator("#active-filters").inner_text()
    url = page.url
    page.reload()
    _settle(page)
    subtitle.filter(has_text="matched pairs").wait_for()
    assert page.url == url
    assert page.locator("#f-supervision").get_by_label("With", exact=True).is_checked()
    assert subtitle.inner_text() == after
    # navigation keeps the state
    page.get_by_role("link", name="Trends", exact=True).first.click()
    page.wait_for_url(re.compile(r"/trends\?.*supervision=yes"))
    assert problems == []


def test_suppressed_cell_is_marked(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/explorer?scale=CONF")
    card = page.locator("#card-explorer-heatmap")
    card.locator(".chart-notes").filter(has_text="suppressed").wait_for()
    assert "fewer than 11" in card.locator(".chart-notes").inner_text()
    card.locator("svg text", has_text="not shown").first.wait_for()
    # the table shows the cell as suppressed, without numbers
    card.get_by_role("button", name="Show as table").click()
    table = card.locator(".chart-table table")
    table.wait_for()
    suppressed_rows = table.locator("tr", has=page.locator("td", has_text=re.compile("^yes$")))
    assert suppressed_rows.count() >= 1
    cells = suppressed_rows.first.locator("td").all_inner_texts()
    assert cells[2] == "–"  # n_pairs hidden
    assert problems == []


def test_table_toggle_and_csv_download(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/explorer?audience=educator")
    card = page.locator("#card-explorer-reliable")
    card.locator(".chart-subtitle").filter(has_text="matched pairs").wait_for()
    card.get_by_role("button", name="Show as table").click()
    table = card.locator(".chart-table table")
    table.wait_for()
    assert card.get_by_role("button", name="Show as chart").get_attribute(
        "aria-pressed") == "true"
    assert card.locator(".chart-body").is_hidden()
    n_rows = table.locator("tbody tr").count()
    headers = table.locator("th").all_inner_texts()
    with page.expect_download() as info:
        card.get_by_role("button", name="Download CSV").click()
    download = info.value
    lines = open(download.path(), encoding="utf-8").read().strip().splitlines()
    text = [line for line in lines if not line.startswith("#")]  # below its header lines
    assert lines[0].startswith("# Attune chart data")
    assert text[0].split(",")[:2] == headers[:2]
    assert len(text) - 1 == n_rows
    assert download.suggested_filename.endswith(".csv")
    card.get_by_role("button", name="Show as chart").click()
    card.locator(".chart-body").wait_for(state="visible")
    assert problems == []


def test_empty_state_explains_itself(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/explorer?program=P01&format=degree")
    page.get_by_text("No cohorts match these filters").first.wait_for()
    page.goto(live_app.url + "/?sponsor=SP01&program=P01&audience=other&supervision=no")
    page.locator("#card-overview-effects .chart-body .empty-state").wait_for()
    assert problems == []


def test_back_button_restores_previous_filters(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/trends?by=format")
    _settle(page)
    page.locator("#f-by").get_by_label("Audience", exact=True).check()
    page.wait_for_url(re.compile(r"by=audience"))
    page.go_back()
    page.wait_for_url(re.compile(r"by=format"))
    page.wait_for_function(
        "() => document.querySelector('#f-by input[value=format]').checked")
    assert problems == []


def test_printed_page_keeps_filters_and_suppression_notes_but_not_controls(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/explorer?scale=CONF&supervision=any")
    notes = page.locator("#card-explorer-heatmap .chart-notes")
    notes.filter(has_text="suppressed").wait_for()
    _settle(page)
    on_screen = page.locator("#active-filters").inner_text()
    page.emulate_media(media="print")
    assert page.locator("#filters").is_hidden()
    assert page.locator(".site-nav").is_hidden()
    assert page.get_by_role("button", name="Download CSV").first.is_hidden()
    assert page.locator("#active-filters").is_visible()
    assert page.locator("#active-filters").inner_text() == on_screen
    assert "Confidence" in on_screen
    assert notes.is_visible()
    assert page.locator("#card-explorer-heatmap .chart-title").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.emulate_media(media="screen")
    assert page.locator("#filters").is_visible()
    assert problems == []


def test_design_statement_is_shown_and_printed_on_the_outcomes_page(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/")
    note = page.get_by_test_id("design-note")
    note.wait_for()
    assert "without a comparison group it cannot show what caused the change" in \
        note.inner_text()
    page.emulate_media(media="print")  # on paper, once: in the line above the page
    line = page.locator(".print-line")
    assert line.is_visible() and not note.is_visible()
    assert "without a comparison group it cannot show what caused the change" in \
        line.inner_text()
    page.emulate_media(media="screen")
    assert problems == []


def _tab_to(page, selector: str, presses: int = 60) -> None:
    """Press Tab until the keyboard focus is inside ``selector``; fail if it never gets there."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!document.activeElement.closest(s)", selector):
            return
    pytest.fail(f"{selector} cannot be reached with Tab")


def test_filters_work_from_the_keyboard_alone(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/explorer")
    _settle(page)
    # Tab from the top of the page to the audience filter, as a keyboard user would.
    _tab_to(page, "#f-audience")
    page.keyboard.press("Enter")  # opens the list, with the focus in its search box
    page.wait_for_function("() => document.activeElement.matches('input.dash-dropdown-search')")
    page.keyboard.type("Educ")
    # Wait until the list shows only the match, then choose it.
    page.wait_for_function(
        "() => { const o = document.querySelectorAll('.dash-dropdown-options [role=option]');"
        " return o.length === 1 && o[0].innerText.includes('Educators'); }")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"audience=educator"))
    page.keyboard.press("Escape")
    # The grouping radio buttons: reach them with Tab, choose with the arrow keys.
    _tab_to(page, "#f-by")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"by=audience"))
    assert problems == []


# Each chart card of the page with its text that leaves its plot: an annotation, tick label or
# legend entry whose box crosses the plot's edge is cut (Plotly clips nothing it draws in
# its own SVG, but the card hides what is outside it).
CUT_LABELS = """() => Array.from(document.querySelectorAll('.chart-card')).map((card) => {
  const plot = card.querySelector('.js-plotly-plot');
  const out = [];
  if (plot) {
    const edge = plot.getBoundingClientRect();
    for (const el of plot.querySelectorAll('.annotation-text, .xtick text, .ytick text, '
                                           + '.legendtext, .g-xtitle text, .g-ytitle text')) {
      const r = el.getBoundingClientRect();
      if (r.width && (r.left < edge.left - 1 || r.right > edge.right + 1)) {
        out.push(el.textContent);
      }
    }
  }
  return {id: card.id, wide: card.scrollWidth > card.clientWidth, cut: out};
})"""


def test_evidence_page_at_phone_width_draws_funnel_and_bubble_without_cut_labels(
        live_app, watched):
    page, problems = watched
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_app.url + "/evidence?scale=CONF")
    page.get_by_role("heading", level=1, name="Evidence").wait_for()
    _settle(page)
    funnel = page.locator("#card-evidence-bias .js-plotly-plot")
    bubble = page.locator("#card-evidence-moderators .js-plotly-plot")
    funnel.locator(".trace").first.wait_for()
    bubble.locator(".trace").first.wait_for()
    # trim-and-fill's studies drawn hollow: an open-circle marker path in the funnel
    hollow = funnel.evaluate(
        "(gd) => gd.data.filter((t) => (t.name || '').startsWith('Filled by trim-and-fill'))"
        ".map((t) => t.marker.symbol)")
    assert hollow == ["circle-open"]
    forest = page.locator("#card-evidence-forest svg.main-svg").first
    forest.wait_for()
    text = page.locator("#card-evidence-forest").inner_text() + forest.text_content()
    assert "Our programmes: within-person change" in text
    page.locator("#card-evidence-certainty .certainty-list").get_by_text(
        "Certainty: very low.").first.wait_for()
    page.locator("#card-evidence-study-tiers .tier-list").get_by_text(
        "Risk of bias: not assessed.").first.wait_for()
    for card in page.evaluate(CUT_LABELS):
        assert not card["wide"] and card["cut"] == [], card
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # another domain, from the keyboard: a small domain explains why it has no funnel
    page.get_by_label("Knowledge (k = 4)").focus()
    page.keyboard.press("Space")
    page.locator("#card-evidence-bias .empty-state").filter(
        has_text="at least 10 studies").wait_for()
    page.locator("#card-evidence-forest .chart-title").filter(
        has_text="Knowledge").wait_for()
    _settle(page)
    for card in page.evaluate(CUT_LABELS):
        assert not card["wide"] and card["cut"] == [], card
    assert problems == []


def test_filter_dropdowns_show_their_whole_value(live_app, watched):
    """The panel's dropdowns wrap a long choice instead of cutting it ("Before t…")."""
    page, problems = watched
    page.goto(live_app.url + "/explorer")
    for control in ("wf", "wt", "scale"):
        value = page.locator(f"#f-{control}-value")
        value.filter(has_text=re.compile(r"\w")).wait_for()
        widths = value.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert widths[0] <= widths[1], (control, value.inner_text(), widths)
    assert problems == []


def test_gap_map_legend_clears_the_domain_labels(live_app, watched):
    """The evidence gap map labels its columns along the top: the legend keeps off them."""
    page, problems = watched
    page.goto(live_app.url + "/evidence")
    card = page.locator("#card-evidence-gap")
    card.locator(".legend").wait_for()
    card.locator(".xtick text").first.wait_for()
    boxes = card.evaluate("""c => {
        const box = e => { const r = e.getBoundingClientRect();
                           return [r.left, r.top, r.right, r.bottom]; };
        return {legend: box(c.querySelector('.legend')),
                ticks: [...c.querySelectorAll('.xtick text')].map(box)}; }""")
    lx0, ly0, lx1, ly1 = boxes["legend"]
    overlapping = [t for t in boxes["ticks"]
                   if t[0] < lx1 and lx0 < t[2] and t[1] < ly1 and ly0 < t[3]]
    assert boxes["ticks"] and not overlapping, (boxes["legend"], overlapping)
    assert problems == []


def test_reset_returns_to_the_pages_bare_address(live_app, watched):
    page, problems = watched
    page.goto(live_app.url + "/explorer?audience=educator")
    page.locator("#f-audience-value").filter(has_text="Educators").wait_for()
    page.get_by_role("link", name="Reset all filters").click()
    page.wait_for_url(live_app.url + "/explorer")
    page.locator("#f-audience-value").filter(has_text="All").wait_for()
    assert page.url == live_app.url + "/explorer"
    assert problems == []


def test_the_filter_panel_shows_only_where_filters_apply(live_app, watched):
    page, problems = watched
    for path, applies in (("/quality", False), ("/methods", False), ("/explorer", True)):
        page.goto(live_app.url + path)
        page.locator("h1").first.wait_for()
        _settle(page)
        assert page.locator("#filters").is_visible() == applies, path
    assert problems == []
