"""The read-only JSON API: the numbers the dashboard's pages show, for scripts.

``blueprint(app_ctx)`` is registered on the dashboard's Flask server by ``create_app``, so the
API sits behind the same request guard as the pages (``dashboard.access``: a bearer token or a
signed-in session; without either, 401 and no data); the handlers take the user only from
``access.current_user()``. Each answer is computed exactly as its page computes it:

1. the query string is checked against the declared parameters (``dashboard.api_query``),
   with the allowed values of the asking user's scoped choices; anything unknown is a 400
   that names the key and what it takes;
2. the checked state becomes ``Filters`` only through ``dashboard.access.filters_for``, the
   one place the sponsor scope is applied (and, for published figures, disclosure control
   is switched on);
3. the same analysis functions as the page (``warehouse.outcomes.group_change``,
   ``warehouse.followup.people``) give the groups, hidden ones included; a hidden group is
   answered with ``shown: false`` and every figure null.

``ENDPOINTS`` declares every endpoint with its answer fields; ``GET /api/v1/openapi.json``
documents them from that declaration (``dashboard.openapi``). Every answer is JSON with
``Cache-Control: no-store``. Refusals that touch the scope (a role that may not see a page, a
sponsor naming a sponsor or programme outside their own) are audited like every other refused
attempt (``access.audit_refusal``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request

from dashboard import access
from dashboard.api_query import PARAMETERS, ApiQuery, BadQuery, parse_query
from dashboard.openapi import JSON, PREFIX, SHOWN, Endpoint, Field, document
from dashboard.pages import attrition, common, explorer, trends
from warehouse.errors import CannotShow, DatabaseUnavailable
from warehouse.filters import FILTER_SPECS, Filters
from warehouse.followup import people
from warehouse.numbers import clean
from warehouse.outcomes import group_change

log = logging.getLogger(__name__)

FAILED = "The server failed to answer; the error is in its log."
UNAVAILABLE = "The database cannot be read just now; the reason is in the server's log."
OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"]

# A group's value of a filter that maps choices to stored values (supervision: yes -> True) is
# answered as the choice, so a group can be sent back as a filter.
CHOICE_OF_VALUE: dict[str, dict[Any, str]] = {
    spec.name: {value: choice for choice, value in spec.values.items() if value is not None}
    for spec in FILTER_SPECS if spec.values}
# The query keys a sponsor's scope restricts: naming a value outside it is audited.
SCOPED_KEYS = frozenset(key for spec in FILTER_SPECS if spec.for_sponsor for key in spec.keys)


def _number(name: str, text: str) -> Field:
    return Field(name, "number", text)


CHANGE_FIELDS: tuple[Field, ...] = (
    Field("n_pairs", "integer", "Matched pairs: people who answered the scale at both waves."),
    _number("mean_from", "Mean score at the 'from' wave (wf), in scale points."),
    _number("mean_to", "Mean score at the 'to' wave (wt), in scale points."),
    _number("mean_change", "Mean of each person's change, signed so that improvement is "
            "positive (burnout is reversed)."),
    _number("ci_low", "95% confidence interval of the mean change (paired t): lower end; "
            "null with one pair or when every pair changed alike."),
    _number("ci_high", "95% confidence interval of the mean change: upper end."),
    _number("g", "Standardised mean change (change over the pre-training SD, small-sample "
            "corrected; metafor SMCR), improvement positive."),
    _number("g_ci_low", "95% confidence interval of g: lower end."),
    _number("g_ci_high", "95% confidence interval of g: upper end."),
    _number("pct_reliable_improved", "Share of the pairs (%) who improved by more than the "
            "scale's reliable-change threshold (Jacobson & Truax); null when the scale has "
            "no reliability to derive one from."),
)
# One entry per group and wave: the wave comes first and is never hidden, the rest are figures.
FUNNEL_FIELDS: tuple[Field, ...] = (
    Field("wave", "string", "The survey wave.", nullable=False),
    Field("due", "integer", "People who answered before training and whose survey at this "
          "wave was due by the last date in the data."),
    Field("answered", "integer", "Of those, the people who answered this wave too."),
    _number("pct_answered", "answered as a percentage of due."),
)


def _group(row: dict[str, Any], keys: tuple[str, ...], fields: tuple[Field, ...],
           shown: bool) -> dict[str, Any]:
    """One group of an answer: its keys, then its fields (all null when it is hidden)."""
    out = {k: CHOICE_OF_VALUE.get(k, {}).get(row[k], row[k]) for k in keys}
    out.update({f.name: clean(row.get(f.name)) if shown else None for f in fields})
    out[SHOWN.name] = shown
    return out


def _change_groups(app_ctx, query: ApiQuery, filters: Filters,
                   by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Paired change per group of the chosen scale and waves, as the explorer computes it."""
    wave_from, wave_to = common.check_waves(app_ctx, query.state)
    scale = common.scale_info(app_ctx, query.state)
    rows = group_change(app_ctx.db, scale_id=scale["scale_id"], wave_from=wave_from,
                        wave_to=wave_to, by=by, filters=filters, p_adj=False)
    return [_group(r, by, CHANGE_FIELDS, not r["suppressed"]) for r in rows]


def answer_outcomes(app_ctx, query: ApiQuery, filters: Filters) -> list[dict[str, Any]]:
    return _change_groups(app_ctx, query, filters, query.by)


def answer_trends(app_ctx, query: ApiQuery, filters: Filters) -> list[dict[str, Any]]:
    return _change_groups(app_ctx, query, filters, ("cohort_quarter", *query.by))


def answer_funnel(app_ctx, query: ApiQuery, filters: Filters) -> list[dict[str, Any]]:
    """Per group and wave, as the follow-up page's funnel: a wave's three figures are all
    shown or all hidden (hidden when the group, its due count or its answered count is)."""
    waves = app_ctx.options()["waves"]
    out = []
    for row in people(app_ctx.db, by=query.by, filters=filters):
        for wave in waves:
            figures = {"due": row.get(f"n_pre_eligible_{wave}"),
                       "answered": row.get(f"n_retained_{wave}"),
                       "pct_answered": row.get(f"pct_retained_{wave}")}
            shown = not (row["suppressed"] or figures["due"] is None
                         or figures["answered"] is None)
            out.append({"wave": wave,
                        **_group({**row, **figures}, query.by, FUNNEL_FIELDS[1:], shown)})
    return out


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("outcomes", "Paired change per group",
             "Matched-pair change of the chosen scale (scale) between two waves (wf, wt), "
             "split into the groups of `by`: the numbers of the outcomes explorer and the "
             "Outcomes page.", CHANGE_FIELDS, answer_outcomes, explorer),
    Endpoint("funnel", "People due and answered per wave",
             "Of the people who answered before training, those whose survey at each wave "
             "was due and those who answered it, per group of `by`: the follow-up page's "
             "funnel. The scale and waves do not change it.", FUNNEL_FIELDS, answer_funnel,
             attrition),
    Endpoint("trends", "Paired change per cohort start quarter",
             "Matched-pair change of the chosen scale between two waves per quarter in which "
             "cohorts started, split further by `by`: the trends page's chart.",
             CHANGE_FIELDS, answer_trends, trends, fixed_keys=("cohort_quarter",)),
)
ENDPOINT_NAMES = frozenset(e.name for e in ENDPOINTS) | {"openapi.json"}


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    """``payload`` as strict JSON (no NaN: every number of the analysis layer is cleaned)."""
    return Response(json.dumps(payload, allow_nan=False), status=status, mimetype=JSON)


def _error(status: int, message: str, **extra: Any) -> Response:
    return json_response({"error": message, **extra}, status)


def _answer(app_ctx, endpoint: Endpoint) -> Response:
    """One GET of ``endpoint`` for the request's user."""
    user = access.current_user()
    if not access.page_allowed(endpoint.page, user):
        access.audit_refusal("api", f"the {user.role} role may not see {endpoint.page.NAME}")
        return _error(403, f"The {user.role} role may not see these numbers.")
    raw_options = app_ctx.raw_options()
    try:
        query = parse_query(request.args.to_dict(flat=False),
                            access.scope_options(raw_options, user), endpoint.fixed_keys)
    except BadQuery as refused:
        if refused.key in SCOPED_KEYS and access.is_sponsor(user):
            access.audit_refusal("api", f"outside the sponsor's scope: {refused}")
        raise
    filters = access.filters_for(query.state, raw_options, user)
    groups = endpoint.answer(app_ctx, query, filters)
    return json_response({"groups": groups, "published": getattr(filters, "published", False),
                          "state": query.echo()})


def _guarded(view):
    """``view`` with the analysis layer's errors as JSON answers: a refused query 400, a
    number that cannot be computed for these choices 400, an unreadable database 503, and
    anything else a logged 500; neither of the last two shows its error's text, which may
    name files of the server."""

    def run(*args, **kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except BadQuery as error:
            return json_response(error.as_dict(), 400)
        except CannotShow as error:
            return _error(400, str(error))
        except access.Forbidden as error:
            return _error(403, str(error))
        except DatabaseUnavailable as error:  # its text names the file: for the log only
            log.warning("API %s: %s", request.path, error)
            return _error(503, UNAVAILABLE)
        except Exception:
            log.exception("API %s failed for %s", request.path, request.query_string)
            return _error(500, FAILED)

    run.__name__ = view.__name__
    return run


def _no_store(response: Response) -> Response:
    """No answer under /api/v1 is kept by a browser or proxy: they hold data."""
    response.headers["Cache-Control"] = "no-store"
    return response


def blueprint(app_ctx) -> Blueprint:
    """The API's routes for one app (``create_app`` registers it on ``app.server``)."""
    api = Blueprint("api", __name__, url_prefix=PREFIX)
    for endpoint in ENDPOINTS:
        view = _guarded(lambda endpoint=endpoint: _answer(app_ctx, endpoint))
        api.add_url_rule(f"/{endpoint.name}", endpoint.name, view, methods=["GET"])

    @api.get("/openapi.json")
    @_guarded
    def openapi() -> Response:
        options = access.scope_options(app_ctx.raw_options(), access.current_user())
        return json_response(document(ENDPOINTS, PARAMETERS, options,
                                      current_app.config["SESSION_COOKIE_NAME"]))

    @api.route("/<path:rest>", methods=["GET", *OTHER_METHODS])
    def elsewhere(rest: str) -> Response:
        if rest in ENDPOINT_NAMES:
            response = _error(405, "The API is read-only: use GET.")
            response.headers["Allow"] = "GET, HEAD"
            return response
        return _error(404, f"No endpoint {PREFIX}/{rest}; see {PREFIX}/openapi.json.")

    api.after_request(_no_store)
    return api
