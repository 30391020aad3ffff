"""Who is asking, and what they may see: login, sessions, roles and the sponsor scope.

Everything here is decided on the server. The browser sends the dashboard's state (filters in
the URL, the ``state`` store) with every callback, and an attacker can send anything there;
so the scope never comes from it:

* ``install(server, ...)`` adds a plain server-rendered ``/login`` form (CSRF token, Argon2
  check and rate limit in ``accounts.store.AuthStore``), ``/logout``, and a ``before_request``
  guard: without a valid session, pages redirect to ``/login`` and every other request
  (``/_dash-*`` included) gets ``401``. The session cookie holds only the user name; the role
  and sponsor are re-read from the accounts file on every request, so a removed account loses
  access at once. The cookie is signed, HttpOnly, SameSite=Strict, expires after
  ``$ATTUNE_SESSION_HOURS`` (default 8) and is ``Secure`` with ``$ATTUNE_SECURE_COOKIES=1``.
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
import hmac
import logging
import os
import secrets
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, has_request_context, jsonify, redirect, request, session

from accounts.store import ROLES as ROLE_NAMES
from accounts.store import AuthStore, User
from warehouse import filters as filter_specs
from warehouse.filters import Filters, SponsorScope

ALL_ROLES: tuple[str, ...] = tuple(ROLE_NAMES)
QUARANTINE_ROLES = ("admin", "evaluator")
NO_SPONSOR = "\x00no-sponsor"  # a sponsor id no cohort has: a sponsor without one sees nothing
SESSION_HOURS_DEFAULT = 8
OPEN_PATHS = {"/login", "/logout"}

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
    scope = sponsor_scope(options, user)
    return options if scope is None else filter_specs.scope_options(options, scope)


def filters_for(state: dict[str, Any] | None, options: dict[str, Any],
                user: Any = ...) -> Filters:
    """THE way the browser's state becomes query Filters, and the one place the sponsor
    scope is applied: ``options`` are every filter value in the database (``raw_options``);
    values outside them are dropped, and a sponsor's filters keep their own restriction
    (their sponsor, their programmes) whatever the state says."""
    return filter_specs.filters_from_state(state or {}, options, sponsor_scope(options, user))


# --- login, sessions, the guard ----------------------------------------------------------------


def secret_file(auth_path: Path) -> Path:
    """Where the session-signing key of an accounts file is kept: ``<accounts file>.secret``,
    so it lives (and is backed up or removed) with the accounts it protects."""
    return Path(auth_path).with_name(Path(auth_path).name + ".secret")


def secret_key(auth_path: Path | None) -> bytes:
    """``$ATTUNE_SECRET_KEY``, else a random key kept in ``secret_file(auth_path)`` (0600;
    by default in the user's data directory, like the accounts file)."""
    env = os.environ.get("ATTUNE_SECRET_KEY")
    if env:
        return env.encode()
    if auth_path is None:
        return secrets.token_bytes(32)  # login off: sessions need not survive a restart
    key_file = secret_file(auth_path)
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    os.chmod(key_file, 0o600)
    return key_file.read_text().strip().encode()


def configure_session(server: Flask, auth_path: Path | None) -> None:
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


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Attune</title>
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
<h1>Sign in to Attune</h1>
{message}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus
       value="{username}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main></body></html>
"""


def _safe_next(target: str | None) -> str:
    """Only same-site paths (no scheme, no host, no //): no open redirect after login."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _login_page(message: str = "", username: str = "", next_: str = "/", status: int = 200):
    html = LOGIN_PAGE.format(
        message=f'<p class="error" role="alert">{escape(message)}</p>' if message else "",
        csrf=escape(_csrf_token()), next=escape(_safe_next(next_)), username=escape(username),
    )
    return html, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _client() -> str:
    return request.remote_addr or "unknown"


def install(server: Flask, *, auth_store: AuthStore | None, login_required: bool,
            local_user: User) -> None:
    """Login form, logout, session settings and the request guard on the Flask server."""
    if login_required and auth_store is None:
        raise ValueError("login_required needs an AuthStore")
    configure_session(server, auth_store.path if (login_required and auth_store) else None)
    server.config["ATTUNE_LOGIN_REQUIRED"] = login_required
    if os.environ.get("ATTUNE_PROXY_FIX", "") in ("1", "true"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # behind one reverse proxy: take the client address and scheme from its headers
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1)  # type: ignore

    def load_user() -> User | None:
        if not login_required:
            return local_user
        name = session.get("user")
        if not name:
            return None
        return auth_store.user(name)  # re-read: a removed account loses access at once

    @server.before_request
    def guard():
        g.attune_user = None
        if request.path in OPEN_PATHS:
            return None
        if request.method == "POST" and not _same_origin():
            return jsonify(error="cross-site request refused"), 403
        user = load_user()
        if user is None:
            if request.path.startswith("/_dash-") or request.method != "GET":
                return jsonify(error="login required"), 401
            return redirect("/login?next=" + _quote_next(request.full_path.rstrip("?")))
        g.attune_user = user
        return None

    # Run before Dash's own first-request setup (which builds the layout): no user, no layout.
    funcs = server.before_request_funcs.setdefault(None, [])
    funcs.insert(0, funcs.pop(funcs.index(guard)))

    @server.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/_dash-update-component"):
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
        sent = form.get("csrf_token") or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent, expected):
            log.warning("login form without a valid CSRF token from %s", _client())
            return _login_page("The form expired; please sign in again.", name, next_, 400)
        if auth_store.is_locked(name, _client()):
            auth_store.audit(name, "login", f"client {_client()}", "locked")
            log.warning("login refused (locked out): %r from %s", name, _client())
            return _login_page("Too many failed sign-ins. Try again in 15 minutes.", name,
                               next_, 429)
        user = auth_store.authenticate(name, form.get("password") or "", _client())
        if user is None:
            auth_store.audit(name, "login", f"client {_client()}", "refused")
            log.warning("login refused: %r from %s", name, _client())
            return _login_page("Wrong user name or password.", name, next_, 401)
        session.clear()  # new session on login (no fixation)
        session.permanent = True
        session["user"] = user.name
        session["csrf"] = secrets.token_urlsafe(32)
        auth_store.audit(user.name, "login", f"client {_client()}", "ok")
        return redirect(_safe_next(next_))

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        name = session.get("user")
        session.clear()
        if name and auth_store is not None:
            auth_store.audit(name, "logout", f"client {_client()}", "ok")
        return redirect("/login" if login_required else "/")


def _quote_next(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _same_origin() -> bool:
    """POSTs must come from our own pages when the browser says where they come from."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin != "null"
    return urlsplit(origin).netloc == request.host
