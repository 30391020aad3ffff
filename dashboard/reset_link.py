"""The filter panel's "Reset all filters" link goes to the page's bare path.

The panel is built once per page load, while the page changes in the browser; a fixed
``href="?"`` left ``/explorer?`` in the address bar (a URL without a query, but not the
canonical one: a bookmark of the reset page differed from the page's own address). So the
link's target follows the page: this callback sets it to the path alone on every navigation,
and the URL-sync callback then finds no query and every control at its default.
"""

from __future__ import annotations

from dash import Input, Output

RESET_ID = "reset-filters"  # the link of dashboard.filter_panel


def reset_href(pathname: str | None) -> str:
    """The reset link's target on the page at ``pathname``: the path, without any query."""
    return pathname or "/"


def register(app) -> None:
    @app.callback(Output(RESET_ID, "href"), Input("url", "pathname"))
    def follow_the_page(pathname):
        return reset_href(pathname)
