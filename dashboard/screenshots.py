"""Screenshots of every page for the README: ``python -m dashboard.screenshots OUT_DIR [--db F]``.

Serves the app on the demo database (built from the packaged demo data into a temporary file
when --db is not given) and saves one PNG per page with Playwright and Debian's Chromium; then,
as a sponsor (SP01), the first screen of a phone (390 × 844) on the outcomes page and on the
explorer's heatmap (its phone list), and the first page of the outcomes page printed on A4
(Chromium's PDF, rendered to PNG by poppler's ``pdftoppm``).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from schemas.settings import DEMO_DATA

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = [
    ("overview", "/"),
    ("explorer", "/explorer?scale=CONF"),
    ("trends", "/trends?by=format"),
    ("attrition", "/attrition"),
    ("comparisons", "/comparisons"),
    ("evidence", "/evidence"),
    ("quality", "/quality"),
    ("methods", "/methods"),
]
PHONE = {"width": 390, "height": 844}
PHONE_SHOTS = [  # name, page, the element scrolled to the top of the screen (None: the top)
    ("phone-overview", "/", None),
    ("phone-explorer", "/explorer?scale=CONF", "#card-explorer-heatmap"),
]
PRINT_SHOT = ("print-overview", "/")  # its first A4 page
PDFTOPPM = "/usr/bin/pdftoppm"
SHOT_SPONSOR = "SP01"
SETTLED = "() => !document.querySelector('[data-dash-is-loading]')"


def _demo_db(folder: Path) -> Path:
    from etl.ingest import ingest

    os.environ.setdefault("ATTUNE_KEY_FILE", str(folder / "demo.key"))
    path = folder / "demo.duckdb"
    ingest([DEMO_DATA], path)
    return path


@contextmanager
def _served(app) -> Iterator[str]:
    """``app`` served from a thread on a free local port; yields its address."""
    from werkzeug.serving import make_server

    app.attune.db.snapshot()
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _load(page, url: str, name: str) -> None:
    """Open ``url`` and wait until every callback has answered (or 15 s have passed)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url)
    page.wait_for_load_state("networkidle")
    try:
        page.wait_for_function(SETTLED, timeout=15_000)
    except PlaywrightTimeout:
        print(f"{name}: still loading after 15 s; capturing anyway")
    page.wait_for_timeout(800)  # Plotly's last redraw and the print copies (assets/attune.js)


def take(out_dir: Path, db: Path | None = None, width: int = 1100,
         max_height: int = 1500) -> list[Path]:
    """One PNG per page (the top ``max_height`` pixels, to keep each file small), then the
    sponsor's phone and print shots (``take_sponsor``)."""
    from playwright.sync_api import sync_playwright

    from dashboard.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        database = db or _demo_db(Path(tmp))
        saved = []
        with _served(create_app(database, login_required=False)) as base, \
                sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": width, "height": 900})
            for name, path in SHOTS:
                _load(page, base + path, name)
                target = out_dir / f"{name}.png"
                height = min(page.evaluate("document.body.scrollHeight"), max_height)
                # The screen made as tall as the shot: a full-page capture of a long page
                # (the methods page's dictionary) can stall Chromium past any timeout.
                page.set_viewport_size({"width": width, "height": height})
                page.screenshot(path=str(target))
                page.set_viewport_size({"width": width, "height": 900})
                saved.append(target)
            browser.close()
        saved += take_sponsor(out_dir, database, Path(tmp))
    return saved


def take_sponsor(out_dir: Path, database: Path, tmp: Path) -> list[Path]:
    """As sponsor ``SHOT_SPONSOR``: each of ``PHONE_SHOTS`` (one phone screen, at twice the
    pixels), and ``PRINT_SHOT``'s first A4 page, printed by Chromium and drawn at 100 dpi."""
    from playwright.sync_api import sync_playwright

    from dashboard.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app(database, login_required=False, local_role="sponsor",
                     local_sponsor=SHOT_SPONSOR)
    saved = []
    with _served(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                    device_scale_factor=2).new_page()
        for name, path, top in PHONE_SHOTS:
            _load(phone, base + path, name)
            if top:
                phone.evaluate("(sel) => window.scrollTo(0, document.querySelector(sel)"
                               ".getBoundingClientRect().top + window.scrollY)", top)
            target = out_dir / f"{name}.png"
            phone.screenshot(path=str(target))
            saved.append(target)
        name, path = PRINT_SHOT
        desk = browser.new_page(viewport={"width": 1280, "height": 900})
        _load(desk, base + path, name)
        desk.emulate_media(media="print")
        pdf = tmp / f"{name}.pdf"
        desk.pdf(path=str(pdf), format="A4", print_background=True)
        subprocess.run([PDFTOPPM, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(out_dir / name)], check=True)
        saved.append(out_dir / f"{name}.png")
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--db", type=Path, default=None, help="database (default: demo data)")
    args = parser.parse_args()
    for path in take(args.out_dir, args.db):
        print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
