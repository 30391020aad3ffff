"""Who is asking, and what they may see: login, sessions, roles and the sponsor scope.

Everything here is decided on the server. The browser sends the dashboard's state (filters in
the URL, the ``state`` store) with every callback, and an attacker can send anything there;
so the scope never comes from it:

* ``install(server, ...)`` adds a plain server-rendered ``/login`` form (CSRF token; the
  Argon2 check and the back-off of ``accounts.store.AuthStore``), ``/logout`` (POST with the
  CSRF token; GET only asks), security headers on every response (a Content-Security-Policy
  among them) and a ``before_request`` guard. The guard answers only to the allowed ``Host``
  names (``$ATTUNE_ALLOWED_HOSTS``, default the loopback names), refuses cross-site POSTs,
  and takes the user from an ``Authorization: Bearer`` API token or the session cookie;
  without either, pages redirect to ``/login`` and every other request (``/_dash-*`` and
  ``/api/`` included) gets a 401 JSON answer. The cookie carries only the id of a session
  record kept in the accounts file: signing out, a password change or removing the account
  revokes it on the server. Role and sponsor are re-read with every request, so a removed
  account loses access at once. The cookie is signed, HttpOnly, SameSite=Strict, expires
  after ``$ATTUNE_SESSION_HOURS`` (default 8) and is ``Secure`` with
  ``$ATTUNE_SECURE_COOKIES=1``.
* ``GET /share/<token>`` opens a share link (``accounts.shares``): a valid, live link to a
  sponsor that still has cohorts starts a session as that sponsor (read-only, no account),
  re-checked on every request so that revoking the link or its expiry ends it at once. Every
  use, accepted or refused, is audited with the link's id (never its token).
* ``audit_refusal(action, detail)`` is the one way a refused attempt is recorded.
* ``current_user()`` is the user of the request (the configured local user when login is off).
* ``filters_for(state, options)`` is the ONE place the browser's state becomes ``Filters``
  and the one place the sponsor scope is applied: each filter of
  ``warehouse.filters.FILTER_SPECS`` carries its sponsor restriction (the sponsor filter is
  forced to the user's own sponsor id whatever was sent, programmes outside their cohorts
  are dropped). ``scope_options(options)`` is the one place the filter choices are scoped.
* ``page_allowed(page)``: each page module may declare ``ROLES`` (default: every role); the
  router, the navigation and every chart callback check it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
)

from accounts.records import ADDRESS_WAITS, NAME_WAITS, WRONG
from accounts.shares import ShareVisitor
from accounts.store import ROLES as ROLE_NAMES
from accounts.store import AuthStore, User
from dashboard.session_key import secret_file, secret_key  # noqa: F401 (used by tests)
from warehouse import filters as filter_specs
from warehouse.filters import Filters, SponsorScope

ALL_ROLES: tuple[str, ...] = tuple(ROLE_NAMES)
QUARANTINE_ROLES = ("admin", "evaluator")
NO_SPONSOR = "\x00no-sponsor"  # a sponsor id no cohort has: a sponsor without one sees nothing
SESSION_HOURS_DEFAULT = 8
OPEN_PATHS = {"/login", "/logout"}
SHARE_PREFIX = "/share/"

log = logging.getLogger("attune.access")


class Forbidden(Exception):
    """The user's role may not do this."""


# --- who is asking ----------------------------------------------------------------------------


def current_user() -> User | None:
    """The user of this request; None outside a request (trusted in-process code: CLI, tests)."""
    if not has_request_context():
        return None
    user = g.get("attune_user")
    if user is None:  # inside a request the guard always sets one; be safe anyway
        raise Forbidden("not logged in")
    return user


def has_user() -> bool:
    """Outside a request, or inside one whose user the guard has established."""
    return not has_request_context() or g.get("attune_user") is not None


def _resolve(user: Any) -> User | None:
    return current_user() if user is ... else user


def page_roles(page: Any) -> tuple[str, ...]:
    return tuple(getattr(page, "ROLES", ALL_ROLES))


def page_allowed(page: Any, user: Any = ...) -> bool:
    user = _resolve(user)
    return user is None or user.role in page_roles(page)


def role_in(roles: Iterable[str], user: Any = ...) -> bool:
    user = _resolve(user)
    return user is None or user.role in set(roles)


def require_roles(*roles: str) -> User | None:
    """For callbacks that only some roles may run (e.g. the SQL console): raise Forbidden."""
    user = current_user()
    if user is not None and user.role not in roles:
        raise Forbidden(f"the {user.role} role may not do this")
    return user


def sees_quarantined_rows(user: Any = ...) -> bool:
    return role_in(QUARANTINE_ROLES, user)


def is_sponsor(user: Any = ...) -> bool:
    user = _resolve(user)
    return user is not None and user.role == "sponsor"


# --- scope -------------------------------------------------------------------------------------


def sponsor_scope(options: dict[str, Any], user: Any = ...) -> SponsorScope | None:
    """The user's restriction: for the sponsor role their sponsor id (``NO_SPONSOR`` when
    the account has none, so they see nothing) and the programmes they have cohorts in;
    None for every other role and for trusted in-process code."""
    user = _resolve(user)
    if user is None or user.role != "sponsor":
        return None
    return SponsorScope.of(user.sponsor_id or NO_SPONSOR, options)


def scope_options(options: dict[str, Any], user: Any = ...) -> dict[str, Any]:
    """The filter choices this user may see: a sponsor sees only their sponsor id and the
    programmes they have cohorts in, and no dates or counts drawn from other sponsors."""
    user = _resolve(user)
    scope = sponsor_scope(options, user)
    if scope is None:
        return options
    scoped = filter_specs.scope_options(options, scope)
    if isinstance(user, ShareVisitor) and user.scales:  # the scales the link was made for
        scoped["scales"] = [s for s in scoped["scales"] if s["scale_id"] in user.scales]
    return scoped


def filters_for(state: dict[str, Any] | None, options: dict[str, Any],
                user: Any = ...) -> Filters:
    """THE way the browser's state becomes query Filters, and the one place the sponsor
    scope is applied: ``options`` are every filter value in the database (``raw_options``);
    values outside them are dropped, and a sponsor's filters keep their own restriction
    (their sponsor, their programmes) whatever the state says."""
    return filter_specs.filters_from_state(state or {}, options, sponsor_scope(options, user))


# --- login, sessions, the guard ----------------------------------------------------------------

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ALLOWED_HOSTS = "ATTUNE_ALLOWED_HOSTS"  # the environment variable, and the server's config key
API_PREFIX = "/api/"
ANONYMOUS = "(anonymous)"  # the audit's user before anyone is known; no user name has brackets
EXTENSION = "attune.access"  # where install keeps the guard's state: server.extensions[...]
MAX_AUDIT_DETAIL = 500
# Dash's renderer, Plotly and AG Grid insert <style> elements at run time (with varying
# content), so styles need 'unsafe-inline'; scripts run only from this server, plus the hashes
# of Dash's own inline scripts (``dash.Dash.csp_hashes``), never inline code from elsewhere.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9.-]+))(?::[0-9]{1,5})?",
                   re.IGNORECASE)


@dataclass
class _Guard:
    """What the request guard of one server knows (``server.extensions[EXTENSION]``)."""

    auth_store: AuthStore | None
    login_required: bool
    local_user: User
    lifetime: dt.timedelta
    script_hashes: Callable[[], Sequence[str]] | None = None
    csp: str | None = None  # built on the first response, once every callback is registered
    audit_store: AuthStore | None = None
    sponsors: Callable[[], Iterable[str]] | None = None  # the sponsor ids with cohorts

    def policy(self) -> str:
        if self.csp is None:
            hashes = list(self.script_hashes()) if self.script_hashes else []
            self.csp = content_security_policy(hashes)
        return self.csp

    def audit_trail(self) -> AuthStore:
        """The accounts file's audit trail (the default one when login is off)."""
        if self.audit_store is None:
            self.audit_store = self.auth_store or AuthStore()
        return self.audit_store


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The ``Content-Security-Policy`` header: ``CONTENT_SECURITY_POLICY``, with the hashes of
    the inline scripts the app itself serves added to ``script-src``."""
    directives = dict(CONTENT_SECURITY_POLICY)
    directives["script-src"] = " ".join([directives["script-src"], *script_hashes])
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def host_name(value: str | None) -> str | None:
    """The host of a ``Host`` header or an allow-list entry: lower case, without the port or
    an IPv6 address's brackets; None when it is not a host name or address."""
    value = (value or "").strip()
    if value.count(":") > 1 and not value.startswith("["):
        value = f"[{value}]"  # an IPv6 address written bare in the allow-list
    found = _HOST.fullmatch(value)
    return (found["ipv6"] or found["name"]).lower().rstrip(".") if found else None


def allowed_hosts(text: str | None = None) -> tuple[str, ...]:
    """The host names the server answers to: ``text`` (default ``$ATTUNE_ALLOWED_HOSTS``), a
    comma list whose ports are ignored, else the loopback names. Any other ``Host`` gets 400,
    which stops DNS rebinding: a page on another site that has its name pointed at this
    server still sends its own name."""
    text = os.environ.get(ALLOWED_HOSTS, "") if text is None else text
    entries = [part.strip() for part in text.split(",") if part.strip()]
    names = tuple(host_name(entry) for entry in entries)
    bad = [entry for entry, name in zip(entries, names, strict=True) if name is None]
    if bad:
        raise ValueError(f"{ALLOWED_HOSTS}: not a host name or address: {', '.join(bad)}")
    return names or LOOPBACK_HOSTS


def configure_session(server: Flask, auth_path: Path | None) -> dt.timedelta:
    """The cookie's settings; returns the session lifetime (``$ATTUNE_SESSION_HOURS``)."""
    hours = float(os.environ.get("ATTUNE_SESSION_HOURS") or SESSION_HOURS_DEFAULT)
    server.config.update(
        SECRET_KEY=secret_key(auth_path),
        SESSION_COOKIE_NAME="attune_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=os.environ.get("ATTUNE_SECURE_COOKIES", "") in ("1", "true"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=hours),
        SESSION_REFRESH_EACH_REQUEST=False,  # expires a fixed time after login
    )
    return dt.timedelta(hours=hours)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Attune</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f6f7f9; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
        border: 1px solid #d8dce3; border-radius: 8px; }}
h1 {{ font-size: 1.4rem; margin-top: 0; }}
label {{ display: block; margin-top: 1rem; font-weight: 600; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box;
        padding: .5rem; font-size: 1rem; border: 1px solid #888; border-radius: 4px; }}
button {{ margin-top: 1.5rem; width: 100%; padding: .6rem; font-size: 1rem; color: #fff;
          background: #0b5cad; border: 0; border-radius: 4px; cursor: pointer; }}
.error {{ color: #a00; background: #fdecec; padding: .5rem; border-radius: 4px; }}
</style></head>
<body><main>
<h1>{title}</h1>
{message}
<form method="post" action="{action}">
<input type="hidden" name="csrf_token" value="{csrf}">
{fields}
</form>
</main></body></html>
"""
LOGIN_FIELDS = """<input type="hidden" name="next" value="{next}">
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus
       value="{username}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>"""
LOGOUT_FIELDS = '<button type="submit">Sign out</button>'
REFUSALS = {  # why a sign-in was refused: (what the audit says, what the person reads)
    WRONG: ("wrong user name or password", "Wrong user name or password."),
    NAME_WAITS: ("locked: the user name must wait {wait}",
                 "Too many failed sign-ins for this user name. Wait {wait} and try again."),
    ADDRESS_WAITS: ("locked: the client address must wait {wait}",
                    "Too many failed sign-ins from your address. Wait {wait} and try again."),
}
# After a wrong password that starts a wait (the same for every name, real or made up):
NEXT_TRY = ("; the user name now waits {wait}", " Wait {wait} before the next try.")


def _safe_next(target: str | None) -> str:
    """Only same-site paths (no scheme, no host, no //): no open redirect after login."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def csrf_token() -> str:
    """The CSRF token of this browser for the forms (sign in, sign out). Once signed in it is
    derived from the session id with the server's key, so the cookie carries only the session
    id; before, it is a random value kept in the cookie."""
    session_id = session.get("sid")
    if session_id:
        key = current_app.config["SECRET_KEY"]
        key = key if isinstance(key, bytes) else str(key).encode()
        return hmac.new(key, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _csrf_ok(sent: str | None) -> bool:
    expected = csrf_token() if (session.get("sid") or session.get("csrf")) else ""
    return bool(expected) and hmac.compare_digest(sent or "", expected)


def _page(title: str, action: str, fields: str, message: str = "", status: int = 200,
          headers: dict[str, str] | None = None):
    html = PAGE.format(
        title=escape(title), action=action, fields=fields, csrf=escape(csrf_token()),
        message=f'<p class="error" role="alert">{escape(message)}</p>' if message else "")
    return html, status, {"Content-Type": "text/html; charset=utf-8",
                          "Cache-Control": "no-store", **(headers or {})}


def _login_page(message: str = "", username: str = "", next_: str = "/", status: int = 200,
                headers: dict[str, str] | None = None):
    fields = LOGIN_FIELDS.format(next=escape(_safe_next(next_)), username=escape(username))
    return _page("Sign in to Attune", "/login", fields, message, status, headers)


def _wait_words(seconds: float) -> str:
    whole = max(math.ceil(seconds), 1)
    if whole >= 120:
        return f"{math.ceil(whole / 60)} minutes"
    return "1 second" if whole == 1 else f"{whole} seconds"


def client_address() -> str:
    """The address the request came from (for the audit trail), "unknown" without one."""
    return request.remote_addr or "unknown"


def guard_state() -> _Guard | None:
    """The installed guard of the current app (its accounts and audit trail), if any."""
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


def audit_refusal(action: str, detail: str = "", *, user_name: str | None = None) -> None:
    """Record a refused attempt in the accounts file's one audit trail (outcome "refused")
    and in the server log: the user (the request's, else ``user_name``, else "(anonymous)"),
    ``action``, ``detail`` and, inside a request, the method, path and client address.

    The one function every refusal goes through: sign-ins, the request guard (401, a refused
    ``Host``, a cross-site POST, a revoked session or token), the SQL console, the API. Never
    put a password or token in ``detail``. A failure to write is logged, not raised: the
    refusal stands whether or not it could be recorded."""
    user = g.get("attune_user") if has_request_context() else None
    who = user.name if user is not None else (user_name or ANONYMOUS)
    where = (f"{request.method} {_audited_path()} from {client_address()}"
             if has_request_context() else "")
    text = "; ".join(part for part in (detail, where) if part)[:MAX_AUDIT_DETAIL]
    log.warning("refused %s for %s: %s", action, who, text)
    state = guard_state()
    try:
        (state.audit_trail() if state else AuthStore()).audit(who, action, text, "refused")
    except Exception:  # noqa: BLE001 - a refusal stands even if its record cannot be written
        log.exception("could not write the refusal to the audit log")


def _audited_path() -> str:
    """The request's path as the audit log may keep it: a share link's token is left out."""
    return SHARE_PREFIX + "…" if request.path.startswith(SHARE_PREFIX) else request.path


def _unauthorized(message: str):
    response = jsonify(error=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="attune"'
    return response


def _bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _session_user(state: _Guard) -> User | None:
    """The user of the session cookie's session record; an expired or revoked session (or one
    of a removed account) is refused, audited and dropped from the cookie."""
    if session.get("share"):
        found = state.auth_store.share_visitor(session["share"])
        if found.user is None:
            session.clear()
            audit_refusal("share", f"{found.problem} share link", user_name=found.owner)
        return found.user
    session_id = session.get("sid")
    if not session_id:
        return None
    found = state.auth_store.session_user(session_id)
    if found.user is None:
        session.clear()
        audit_refusal("session", f"{found.problem} session", user_name=found.owner)
    return found.user


def install(server: Flask, *, auth_store: AuthStore | None, login_required: bool,
            local_user: User,
            script_hashes: Callable[[], Sequence[str]] | None = None,
            sponsors: Callable[[], Iterable[str]] | None = None) -> None:
    """Login and logout, share links, session settings, security headers and the request
    guard on the Flask server. ``script_hashes`` gives the CSP hashes of the app's own inline
    scripts (``dash.Dash.csp_hashes``); it is called on the first response. ``sponsors``
    gives the sponsor ids that have cohorts: a share link to any other is refused."""
    if login_required and auth_store is None:
        raise ValueError("login_required needs an AuthStore")
    lifetime = configure_session(server, auth_store.path if (login_required and auth_store)
                                 else None)
    server.config["ATTUNE_LOGIN_REQUIRED"] = login_required
    server.config[ALLOWED_HOSTS] = allowed_hosts()
    state = _Guard(auth_store if login_required else None, login_required, local_user,
                   lifetime, script_hashes, audit_store=auth_store, sponsors=sponsors)
    server.extensions[EXTENSION] = state
    if os.environ.get("ATTUNE_PROXY_FIX", "") in ("1", "true"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # behind one reverse proxy: take the client address and scheme from its headers
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1)  # type: ignore

    @server.before_request
    def guard():
        g.attune_user = None
        host = request.headers.get("Host")
        if host_name(host) not in server.config[ALLOWED_HOSTS]:
            audit_refusal("host", f"Host {str(host)[:100]!r} is not in {ALLOWED_HOSTS}")
            return ("This server does not answer to that host name.", 400,
                    {"Content-Type": "text/plain; charset=utf-8"})
        if request.method == "POST" and not _same_origin():
            audit_refusal("cross_site", f"Origin {request.headers.get('Origin', '')[:100]!r}")
            return jsonify(error="cross-site request refused"), 403
        if not login_required:
            g.attune_user = local_user
            return None
        token = _bearer_token()
        if token is not None:  # a script: the token decides, whatever the path
            found = auth_store.token_user(token)
            if found.user is None:
                audit_refusal("api_token", f"{found.problem} bearer token",
                              user_name=found.owner)
                return _unauthorized("invalid or revoked token")
            g.attune_user = found.user
            return None
        if request.path in OPEN_PATHS:
            return None
        if request.path.startswith(SHARE_PREFIX) and request.method == "GET":
            from dashboard.share_links import open_share  # it uses this module's audit

            return open_share(state)
        user = _session_user(state)
        if user is None:
            if (request.path.startswith(("/_dash-", API_PREFIX))
                    or request.method != "GET"):
                audit_refusal("unauthenticated", "no valid session or token")
                return _unauthorized("login required")
            return redirect("/login?next=" + _quote_next(request.full_path.rstrip("?")))
        g.attune_user = user
        return None

    # Run before Dash's own first-request setup (which builds the layout): no user, no layout.
    funcs = server.before_request_funcs.setdefault(None, [])
    funcs.insert(0, funcs.pop(funcs.index(guard)))

    @server.after_request
    def headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", state.policy())
        if request.path.startswith("/_dash-update-component") or response.status_code == 401:
            response.headers["Cache-Control"] = "no-store"
        return response

    @server.route("/login", methods=["GET", "POST"])
    def login():
        if not login_required:
            return redirect("/")
        if request.method == "GET":
            return _login_page(next_=request.args.get("next", "/"))
        form = request.form
        name = (form.get("username") or "").strip()[:64]
        next_ = form.get("next", "/")
        if not _csrf_ok(form.get("csrf_token")):
            audit_refusal("login", "form without a valid CSRF token", user_name=name)
            return _login_page("The form expired; please sign in again.", name, next_, 400)
        result = auth_store.sign_in(name, form.get("password") or "", client_address())
        if result.user is None:
            audited, message = REFUSALS[result.refused]
            if result.refused == WRONG and result.retry_after:
                audited, message = audited + NEXT_TRY[0], message + NEXT_TRY[1]
            wait = _wait_words(result.retry_after)
            audit_refusal("login", audited.format(wait=wait), user_name=name)
            if result.refused == WRONG:
                return _login_page(message.format(wait=wait), name, next_, 401)
            return _login_page(message.format(wait=wait), name, next_, 429,
                               {"Retry-After": str(max(math.ceil(result.retry_after), 1))})
        session.clear()  # a new session on login (no fixation)
        session.permanent = True
        session["sid"] = auth_store.create_session(result.user.name, lifetime)
        auth_store.audit(result.user.name, "login", f"client {client_address()}", "ok")
        return redirect(_safe_next(next_))

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        """GET asks (a link or a typed address never signs anyone out); POST with the form's
        CSRF token revokes the session record, so the cookie is worthless from then on."""
        if not login_required:
            return redirect("/")
        user = _session_user(state)
        if user is None:
            return redirect("/login")
        if request.method == "GET":
            return _page("Sign out of Attune?", "/logout", LOGOUT_FIELDS)
        if not _csrf_ok(request.form.get("csrf_token")):
            audit_refusal("logout", "form without a valid CSRF token", user_name=user.name)
            return _page("Sign out of Attune?", "/logout", LOGOUT_FIELDS,
                         "The form expired; please try again.", 400)
        auth_store.revoke_session(session.get("sid", ""))  # a share link's has no record
        session.clear()
        auth_store.audit(user.name, "logout", f"client {client_address()}", "ok")
        return redirect("/login")


def _quote_next(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _same_origin() -> bool:
    """POSTs must come from our own pages when the browser says where they come from."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin != "null"
    return urlsplit(origin).netloc == request.host
