"""Screenshots of every page for the README: ``python -m dashboard.screenshots OUT_DIR [--db F]``.

Serves the app on the demo database (built from the packaged demo data into a temporary file
when --db is not given) and saves one PNG per page with Playwright and Debian's Chromium.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
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


def _demo_db(folder: Path) -> Path:
    from etl.ingest import ingest

    os.environ.setdefault("ATTUNE_KEY_FILE", str(folder / "demo.key"))
    path = folder / "demo.duckdb"
    ingest([DEMO_DATA], path)
    return path


def take(out_dir: Path, db: Path | None = None, width: int = 1100,
         max_height: int = 1500) -> list[Path]:
    """One PNG per page (the top ``max_height`` pixels, to keep each file small)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from dashboard.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        database = db or _demo_db(Path(tmp))
        app = create_app(database, login_required=False)
        app.attune.db.snapshot()
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        saved = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": width, "height": 900})
                for name, path in SHOTS:
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    try:
                        page.wait_for_function(
                            "() => !document.querySelector('[data-dash-is-loading]')",
                            timeout=15_000)
                    except PlaywrightTimeout:
                        print(f"{name}: still loading after 15 s; capturing anyway")
                    page.wait_for_timeout(800)
                    target = out_dir / f"{name}.png"
                    height = min(page.evaluate("document.body.scrollHeight"), max_height)
                    page.screenshot(path=str(target), full_page=True,
                                    clip={"x": 0, "y": 0, "width": width, "height": height})
                    saved.append(target)
                browser.close()
        finally:
            server.shutdown()
            thread.join(timeout=10)
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
