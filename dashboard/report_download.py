"""Downloading the outcomes report from the dashboard: ``GET /report.html`` and ``/report.pdf``
(``?sponsor=ID&from=YYYY-MM-DD&to=YYYY-MM-DD&scale=S``), the same files `attune report`
writes (``reports``), behind the same request guard as the pages (``dashboard.access``).

Who gets which sponsor is decided here, on the server, from the request's user only:

* a sponsor, signed in or through a share link, always gets their own sponsor's report,
  whatever ``sponsor`` says (naming another is audited as a refused attempt, and the answer
  is their own report); a share link's report keeps to the scales the link was made for;
* evaluators and admins may ask for any sponsor with cohorts;
* researchers may too: their role sees every programme's data, and a report holds published
  figures only, never more than their role may already see.

Every download is written to the audit log with the user, the sponsor and the period.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from dash import html
from flask import Blueprint, Response, request

from dashboard import access
from dashboard.access import client_address, guard_state
from reports.content import ReportRefused
from reports.files import write_report
from reports.pdf import PdfUnavailable
from warehouse.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

PATHS = {"html": "/report.html", "pdf": "/report.pdf"}
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
ANY_SPONSOR = ("admin", "evaluator", "researcher")  # the roles that may choose the sponsor
NO_PDF = "The PDF cannot be made on this server just now; the HTML report can be downloaded."
UNAVAILABLE = "The database cannot be read just now; the reason is in the server's log."


def download_links(app_ctx) -> html.Div:
    """The Outcomes page's "Download outcomes report": a sponsor's own report, or for the roles
    that may choose, a sponsor dropdown with one button per format (a plain GET form)."""
    user = access.current_user()
    if user is None or not access.is_sponsor(user):
        try:
            sponsors = app_ctx.raw_options().get("sponsors", []) \
                if access.role_in(ANY_SPONSOR) else []
        except DatabaseUnavailable:  # the page says so itself; no form to offer meanwhile
            sponsors = []
        if not sponsors:
            return html.Div()
        return html.Form(action=PATHS["pdf"], method="GET", className="report-download",
                         **{"data-testid": "report-download"}, children=[
            html.Label(["Download outcomes report for sponsor ", html.Select(
                name="sponsor", children=[html.Option(s, value=s) for s in sponsors])]),
            html.Button("PDF", type="submit", formAction=PATHS["pdf"]),
            html.Button("HTML", type="submit", formAction=PATHS["html"]),
        ])
    return html.P(className="report-download", **{"data-testid": "report-download"}, children=[
        "Download outcomes report: ", html.A("PDF", href=PATHS["pdf"]), " \u00b7 ",
        html.A("HTML", href=PATHS["html"])])


def _text(message: str, status: int) -> Response:
    return Response(message, status=status, mimetype="text/plain",
                    headers={"Cache-Control": "no-store"})


def _sponsor_and_scales(user) -> tuple[str | None, tuple[str, ...]]:
    """The sponsor the report is for and the scales it may show, for this user."""
    asked = request.args.get("sponsor") or None
    scales = tuple(s for value in request.args.getlist("scale") for s in value.split(",") if s)
    if access.is_sponsor(user):
        own = user.sponsor_id or access.NO_SPONSOR
        if asked not in (None, own):
            access.audit_refusal("report", f"asked for sponsor {asked[:40]!r}; given their own "
                                           f"sponsor {own}'s report")
        allowed = getattr(user, "scales", ())
        if allowed:
            scales = tuple(s for s in scales if s in allowed) or tuple(allowed)
        return own, scales
    return asked, scales


def _download(app_ctx, kind: str) -> Response:
    user = access.current_user()
    if not access.is_sponsor(user) and not access.role_in(ANY_SPONSOR, user):
        access.audit_refusal("report", f"the {user.role} role may not download reports")
        return _text(f"The {user.role} role may not download reports.", 403)
    sponsor, scales = _sponsor_and_scales(user)
    if sponsor is None:
        return _text("Name the sponsor: ?sponsor=ID.", 400)
    date_from, date_to = request.args.get("from") or None, request.args.get("to") or None
    try:
        with tempfile.TemporaryDirectory(prefix="attune-report-") as folder:
            _, files = write_report(app_ctx.db, sponsor, Path(folder), formats=(kind,),
                                    date_from=date_from, date_to=date_to, scales=scales)
            body, name = files[0].read_bytes(), files[0].name
    except ReportRefused as refused:
        return _text(str(refused) if not access.is_sponsor(user) else
                     "The report cannot be made for these choices.", 400)
    except PdfUnavailable as missing:
        log.warning("report PDF for %s: %s", sponsor, missing)
        return _text(NO_PDF, 503)
    except DatabaseUnavailable as error:
        log.warning("report for %s: %s", sponsor, error)
        return _text(UNAVAILABLE, 503)
    guard_state().audit_trail().audit(
        user.name, "report_download", f"{name} for sponsor {sponsor}; client {client_address()}",
        "ok")
    return Response(body, mimetype=MEDIA[kind], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def blueprint(app_ctx) -> Blueprint:
    """The report download routes for one app (registered on ``app.server``)."""
    routes = Blueprint("report_download", __name__)
    for kind, path in PATHS.items():
        routes.add_url_rule(path, f"report_{kind}",
                            lambda kind=kind: _download(app_ctx, kind), methods=["GET"])
    return routes
