"""The "Share with a sponsor" control in the page header: an evaluator (or admin) makes a
signed, expiring, read-only link to one sponsor's published view, copies it, and lists and
revokes the links they made.

It is ``attune share`` in the browser: the link is made by the same
``accounts.shares.make_share`` (the sponsor checked against the sponsors with cohorts, the
expiry parsed, the link added and audited with its maker's account name), and revoked by the
same ``revoke_share``. Only the roles of ``SHARE_ROLES`` see the control, and the callback
checks the role again on the server: a sponsor (or a share link's visitor) who posts to it is
refused, and the refusal is in the audit log. Without sign-in (``attune demo``) there are no
share links (a link opens a session of the accounts file), so there is no control either.
"""

from __future__ import annotations

from typing import Any

from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import has_request_context, request

from accounts.records import AccountError
from accounts.shares import make_share
from dashboard import access
from warehouse.errors import DatabaseUnavailable

SHARE_ROLES = ("admin", "evaluator")
EXPIRY_CHOICES = (("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"))
DEFAULT_EXPIRY = "30d"
ACTION = "share_add"  # the audit's name for making a link, as ``ShareRecords.add_share`` writes
REVOKE_ACTION = "share_revoke"
MSG_ROLE = "share links are made by " + " and ".join(f"{role}s" for role in SHARE_ROLES)
MSG_NO_LOGIN = "share links need sign-in: serve the dashboard with `attune serve`"
REVOKE_ID = "share-revoke"


def shown(app_ctx) -> bool:
    """Whether the request's user gets the control: a trusted role, with sign-in on."""
    return app_ctx.login_required and access.role_in(SHARE_ROLES)


def control(app_ctx) -> html.Details | None:
    """The header's share control for the request's user (nothing for any other role).
    Outside a request it is the validation layout's copy: every component the callback
    names, with no sponsor, scale or link in it."""
    validating = not has_request_context()
    if not validating and not shown(app_ctx):
        return None
    sponsors, scales = ([], []) if validating else _choices(app_ctx)
    user = access.current_user()
    links = [] if validating else _links_view(app_ctx, user.name if user else "")
    revoke_placeholder = [html.Button(id={"type": REVOKE_ID, "link": 0})] if validating else []
    return html.Details(className="share-control no-print", id="share-holder", children=[
        html.Summary("Share with a sponsor", className="btn btn-outline share-summary"),
        html.Div(className="share-panel", children=[
            html.P("A read-only link to one sponsor's published view, for someone without an "
                   "account. It stops working when it expires or when you revoke it; every "
                   "use is in the audit log.", className="share-help"),
            html.Label("Sponsor", htmlFor="share-sponsor"),
            dcc.Dropdown(id="share-sponsor", options=sponsors, clearable=False,
                         searchable=True, placeholder="Choose a sponsor"),
            html.Label("Scales (none chosen: every scale)", htmlFor="share-scales"),
            dcc.Dropdown(id="share-scales", options=scales, multi=True, searchable=True,
                         placeholder="Every scale"),
            html.Fieldset(className="share-expiry", children=[
                html.Legend("The link works for"),
                dcc.RadioItems(id="share-expires", value=DEFAULT_EXPIRY, inline=True,
                               options=[{"label": text, "value": value}
                                        for value, text in EXPIRY_CHOICES]),
            ]),
            html.Button("Make link", id="share-make", n_clicks=0, type="button",
                        className="btn"),
            html.Div(id="share-result", role="status", **{"aria-live": "polite"}),
            html.Div(id="share-links", children=[*links, *revoke_placeholder]),
        ]),
    ])


def _choices(app_ctx) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    try:
        options = app_ctx.raw_options()
    except DatabaseUnavailable:
        return [], []
    return ([{"label": s, "value": s} for s in options.get("sponsors", [])],
            [{"label": f"{s['name']} ({s['scale_id']})", "value": s["scale_id"]}
             for s in options.get("scales", [])])


def _store(app_ctx):
    return app_ctx.auth_store


def own_links(app_ctx, user_name: str) -> list:
    """The live links ``user_name`` made, newest first (revoked and expired ones are left out:
    there is nothing more to do with them here; ``attune share list`` shows every link)."""
    store = _store(app_ctx)
    if store is None or not user_name:
        return []
    now = store.now().isoformat(timespec="seconds")
    return [link for link in reversed(store.shares())
            if link.created_by == user_name and link.revoked_at is None
            and link.expires_at > now]


def _links_view(app_ctx, user_name: str) -> list:
    links = own_links(app_ctx, user_name)
    if not links:
        return [html.P("You have no live share links.", className="share-none")]
    return [html.Table(className="table share-table", children=[
        html.Caption("Your live share links"),
        html.Thead(html.Tr([html.Th(h, scope="col")
                            for h in ("Link", "Sponsor", "Scales", "Expires (UTC)", "")])),
        html.Tbody([html.Tr([
            html.Td(str(link.id)), html.Td(link.sponsor_id),
            html.Td(", ".join(link.scales) or "all"), html.Td(link.expires_at[:16]),
            html.Td(html.Button("Revoke", id={"type": REVOKE_ID, "link": link.id}, n_clicks=0,
                                type="button", className="btn btn-outline")),
        ]) for link in links]),
    ])]


def _link_url(token: str) -> str:
    """The link as its visitors reach this server (the request's host, checked by the
    request guard against the allowed host names)."""
    return f"{request.host_url.rstrip('/')}/share/{token}"


def _made(url: str, link_id: int, sponsor: str, expires_at) -> list:
    return [
        html.P(f"Link {link_id} to sponsor {sponsor}'s published view, until "
               f"{expires_at.isoformat(timespec='minutes')} UTC. Copy it now: it is not shown "
               "again."),
        html.Label("The link", htmlFor="share-url"),
        html.Div(className="share-copy", children=[
            dcc.Input(id="share-url", value=url, readOnly=True, type="text",
                      className="share-url"),
            dcc.Clipboard(target_id="share-url", title="Copy the link",
                          className="share-clipboard"),
        ]),
    ]


def _error(text: str) -> list:
    return [html.P(f"Not made: {text}.", className="error")]


def _refused(action: str, verb: str, detail: str) -> list | None:
    """None when the request's user may share; else the refusal shown (``verb``: what was not
    done), audited under ``action`` with ``detail``, whatever the browser sent."""
    try:
        access.require_roles(*SHARE_ROLES)
    except access.Forbidden:
        access.audit_refusal(action, f"{MSG_ROLE}; {detail}")
        return [html.P(f"{verb}: {MSG_ROLE}.", className="error")]
    return None


def _user_name(app_ctx) -> str:
    return (access.current_user() or app_ctx.local_user).name


def make_for_request(app_ctx, sponsor: str | None, scales: list[str] | None,
                     expires: str | None) -> tuple[list, list]:
    """(result, links) for the request's user asking for a link; any role outside
    ``SHARE_ROLES`` is refused and audited, whatever its browser sent."""
    refused = _refused(ACTION, "Not made", f"sponsor {str(sponsor)[:40]!r}")
    if refused:
        return refused, no_update
    store = _store(app_ctx)
    if store is None or not app_ctx.login_required:
        return _error(MSG_NO_LOGIN), no_update
    name = _user_name(app_ctx)
    if not sponsor:
        return _error("choose a sponsor first"), no_update
    try:
        options = app_ctx.raw_options()
        known_scales = {s["scale_id"] for s in options.get("scales", [])}
        unknown = [s for s in scales or () if s not in known_scales]
        if unknown:
            raise AccountError(f"scale {unknown[0]!r} is not in the database")
        link_id, token, expires_at = make_share(
            store, sponsor, expires or DEFAULT_EXPIRY, scales or (), name,
            known_sponsors=options.get("sponsors", []))
    except DatabaseUnavailable:
        return _error("the database cannot be read just now"), no_update
    except AccountError as error:
        access.audit_refusal(ACTION, str(error))
        return _error(str(error)), no_update
    return _made(_link_url(token), link_id, sponsor, expires_at), _links_view(app_ctx, name)


def revoke_for_request(app_ctx, link_id: Any) -> tuple[list, list]:
    """(result, links) for the request's user revoking one of their own live links."""
    refused = _refused(REVOKE_ACTION, "Not revoked", f"link {str(link_id)[:20]}")
    if refused:
        return refused, no_update
    store = _store(app_ctx)
    name = _user_name(app_ctx)
    if store is None or not isinstance(link_id, int) or \
            link_id not in {link.id for link in own_links(app_ctx, name)}:
        access.audit_refusal(REVOKE_ACTION, f"link {str(link_id)[:20]} is not a live link "
                             "of this user")
        return [html.P("Not revoked: that is not one of your live links.",
                       className="error")], _links_view(app_ctx, name)
    store.revoke_share(link_id, name)
    return [html.P(f"Revoked link {link_id}: it and every session it opened stop working "
                   "now.")], _links_view(app_ctx, name)


def register(app, app_ctx) -> None:
    @app.callback(
        Output("share-result", "children"),
        Output("share-links", "children"),
        Input("share-make", "n_clicks"),
        Input({"type": REVOKE_ID, "link": ALL}, "n_clicks"),
        State("share-sponsor", "value"),
        State("share-scales", "value"),
        State("share-expires", "value"),
        prevent_initial_call=True,
    )
    def share(n_clicks, revokes, sponsor, scales, expires):
        trigger = ctx.triggered_id
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate  # a revoke button appeared: nobody clicked anything
        if isinstance(trigger, dict):
            return revoke_for_request(app_ctx, trigger.get("link"))
        return make_for_request(app_ctx, sponsor, scales, expires)
