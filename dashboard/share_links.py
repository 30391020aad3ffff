"""Opening a share link (``accounts.shares``): ``GET /share/<token>`` in the request guard.

A live link to a sponsor that still has cohorts becomes a session as that sponsor, read-only
and without an account: the cookie (signed, like every session cookie) holds the token, which
``access._session_user`` checks again on every request, so revoking the link or its expiry
ends the session at once. Anything else is refused. Both are audited with the link's id,
never its token.
"""

from __future__ import annotations

from flask import redirect, request, session

from dashboard.access import SHARE_PREFIX, _Guard, audit_refusal, client_address

SHARE_REFUSED = ("This link has expired, has been revoked or is not a valid link. Ask whoever "
                 "sent it for a new one.")


def open_share(state: _Guard):
    """The answer to ``GET /share/<token>``: a redirect to the sponsor's view, or 403."""
    token = request.path[len(SHARE_PREFIX):]
    found = state.auth_store.share_visitor(token)
    user = found.user
    problem = f"{found.problem} share link"
    if user is not None and state.sponsors is not None and \
            user.sponsor_id not in set(state.sponsors()):
        user, problem = None, f"share link to sponsor {user.sponsor_id}, which has no cohorts"
    if user is None:
        session.pop("share", None)
        audit_refusal("share_open", problem, user_name=found.owner)
        return (SHARE_REFUSED, 403, {"Content-Type": "text/plain; charset=utf-8",
                                     "Cache-Control": "no-store"})
    session.clear()  # a new session (no fixation); an account's session on this browser ends
    session.permanent = True
    session["share"] = token
    state.audit_trail().audit(user.name, "share_open", f"link {user.link_id} for sponsor "
                              f"{user.sponsor_id}; client {client_address()}", "ok")
    return redirect("/")
