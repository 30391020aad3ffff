"""Dose and supervision: what goes with larger change.

"Success depends on consistent practice and ongoing supervision" says which programmes to
look at, not how much: this module estimates how much more change goes with more contact
hours and with supervision, adjusted for format and audience. It regresses each matched
pair's change (signed so that improvement is positive) on

    intercept + log(contact hours) + supervision + format dummies + audience dummies,

with CR1 standard errors clustered by cohort (``stats.regression.ols_from_cluster_sums``:
Cameron & Miller 2015), because people are trained, and alike, in cohorts. Every regressor is
constant within a cohort x audience cell, so a cell's contribution is n·x xᵀ to X'X,
x·Σchange to X'y and Σchange² to y'y: DuckDB sums the cells (``sql/dose_cells.sql``, from the
``pair_cube`` summary, through the usual filters) and numpy finishes the fit, without ever
reading individual pairs.

The coefficients are associations, not effects: programmes that differ in hours also differ
in who enrols, who teaches and what is taught. The result says so (``caveat``).

Reference levels are the first format and the first audience, in the contract's order, that
the data hold. A term with no variation in the data (one format, every cohort supervised,
every programme the same length) is dropped and named in ``dropped_terms``. Programmes whose
contact hours are not recorded are left out and counted (``left_out``). Fewer matched pairs
than the minimum cell size, a term that rests on fewer than two cohorts, fewer than two
cohorts per coefficient, or terms the data cannot tell apart raise ``CannotShow``.

Trusted roles only: published figures (``Filters.published``, a sponsor) are refused with
``CannotShow("not published yet")`` until the model's figures have their disclosure control.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from stats.regression import ols_from_cluster_sums
from warehouse.connection import Database, Query, cached_query
from warehouse.errors import NOT_PUBLISHED, CannotShow
from warehouse.filters import Filters, group_sort_key, where_clause
from warehouse.numbers import clean
from warehouse.sqltext import statement

INTERCEPT = "intercept"
HOURS = "log contact hours"
SUPERVISION = "supervision"
COEFFICIENT_KEYS = ("term", "estimate", "se", "ci_low", "ci_high")
CAVEAT = ("Association, not effect: programmes that differ in hours also differ in other ways "
          "(who enrols, who teaches, what is taught), so a coefficient says what goes with "
          "larger change, not what larger change would follow from adding hours or supervision.")
NO_HOURS = "their programme's contact hours are not recorded"
ENTANGLED = (
    "Contact hours, supervision, format and audience are too entangled in these data to be "
    "told apart (for example, when each format has a single programme, its hours are the "
    "format's): widen the filters to take in more programmes."
)

Column = Callable[[dict[str, Any]], float]


def dose_response(
    db: Database | Path | str,
    scale_id: str,
    wave_from: str = "pre",
    wave_to: str = "post",
    filters: Filters | None = None,
    min_cell_size: int | None = None,
) -> dict[str, Any]:
    """The change from ``wave_from`` to ``wave_to`` regressed on log contact hours, supervision,
    format and audience, with 95% CIs from CR1 SEs clustered by cohort (t on G − 1 df).

    Returns ``scale, wave_from, wave_to, n_pairs, n_cohorts, coefficients`` (one dict per term:
    term, estimate, se, ci_low, ci_high; change in scale points, improvement positive; the
    hours slope is per unit of natural-log hours, i.e. per e-fold, about 0.69 of it per
    doubling), ``reference`` (the format and audience the dummies are compared with),
    ``dropped_terms`` (term and reason, for terms without variation), ``left_out`` (n_pairs,
    n_cohorts and reason: programmes without recorded hours) and ``caveat``. Cached per
    filters and minimum cell size.
    """
    filters = filters or Filters()
    if filters.published:
        raise CannotShow(NOT_PUBLISHED)
    return cached_query(db, "dose_response", (scale_id, wave_from, wave_to),
                        lambda q: _dose(q, scale_id, wave_from, wave_to),
                        filters=filters, min_cell_size=min_cell_size)


def _dose(q: Query, scale_id: str, wave_from: str, wave_to: str) -> dict[str, Any]:
    info = q.scale(scale_id)
    if q.wave_position(wave_to) <= q.wave_position(wave_from):
        raise CannotShow(f"Choose a later wave than {wave_from!r} to compare with: "
                         f"{wave_to!r} does not come after it.")
    where, params = where_clause(q.filters)
    rows = q.fetch_dicts(statement("dose_cells").format(where=where),
                         [scale_id, wave_from, wave_to, *params])
    unknown = [r for r in rows if not (r["contact_hours"] or 0) > 0]
    cells = [r for r in rows if (r["contact_hours"] or 0) > 0]
    left_out = {"n_pairs": sum(int(r["n"]) for r in unknown),
                "n_cohorts": len({r["cidx"] for r in unknown}),
                "reason": NO_HOURS if unknown else None}
    n_pairs = sum(int(r["n"]) for r in cells)
    if n_pairs < q.floor:
        raise CannotShow(f"Fewer than {q.floor} matched pairs of {scale_id} from {wave_from} "
                         f"to {wave_to} with known contact hours: the regression is not shown.")
    terms, columns, reference, dropped = _design(cells)
    x = np.array([[column(r) for column in columns] for r in cells])
    n = np.array([int(r["n"]) for r in cells], dtype=float)
    sign = 1.0 if info.higher_is_better else -1.0  # improvement positive
    s_c = sign * np.array([float(r["s_c"]) for r in cells])
    ss_c = np.array([float(r["ss_c"]) for r in cells])
    cohorts, index = np.unique([r["cidx"] for r in cells], return_inverse=True)
    g, k = len(cohorts), len(terms)
    xtx = np.zeros((g, k, k))
    xty = np.zeros((g, k))
    np.add.at(xtx, index, n[:, None, None] * x[:, :, None] * x[:, None, :])  # Σ n·x xᵀ
    np.add.at(xty, index, x * s_c[:, None])  # Σ x·Σchange
    yty = np.bincount(index, weights=ss_c, minlength=g)  # Σ Σchange²
    n_g = np.bincount(index, weights=n, minlength=g).astype(int)
    if np.linalg.matrix_rank(xtx.sum(axis=0)) < k:
        raise CannotShow(ENTANGLED)
    _check_cohorts(terms, x, index, g)
    fit = ols_from_cluster_sums(xtx, xty, yty, n_g, terms, robust=True)
    return {
        "scale": scale_id,
        "wave_from": wave_from,
        "wave_to": wave_to,
        "n_pairs": n_pairs,
        "n_cohorts": g,
        "coefficients": [{key: clean(c.as_dict()[key]) for key in COEFFICIENT_KEYS}
                         for c in fit.coefficients],
        "reference": reference,
        "dropped_terms": dropped,
        "left_out": left_out,
        "caveat": CAVEAT,
    }


def _design(cells: list[dict[str, Any]]
            ) -> tuple[list[str], list[Column], dict[str, Any], list[dict[str, str]]]:
    """The terms, one column function per term, the reference levels and the dropped terms."""
    terms: list[str] = [INTERCEPT]
    columns: list[Column] = [lambda r: 1.0]
    dropped: list[dict[str, str]] = []
    hours = sorted({float(r["contact_hours"]) for r in cells})
    if len(hours) > 1:
        terms.append(HOURS)
        columns.append(lambda r: math.log(float(r["contact_hours"])))
    else:
        dropped.append({"term": HOURS, "reason": f"every programme here has {hours[0]:g} "
                                                 "contact hours"})
    supervised = {bool(r["supervision"]) for r in cells}
    if len(supervised) > 1:
        terms.append(SUPERVISION)
        columns.append(lambda r: 1.0 if r["supervision"] else 0.0)
    else:
        dropped.append({"term": SUPERVISION, "reason": "every cohort here "
                        + ("had" if supervised.pop() else "had no") + " ongoing supervision"})
    reference: dict[str, Any] = {}
    for name in ("format", "audience"):
        levels = sorted({r[name] for r in cells}, key=group_sort_key)
        reference[name] = levels[0]
        if len(levels) == 1:
            dropped.append({"term": name, "reason": f"every pair here has the {name} "
                                                    f"{levels[0]}"})
        for level in levels[1:]:
            terms.append(f"{name}[{level}]")
            columns.append(lambda r, name=name, level=level: 1.0 if r[name] == level else 0.0)
    return terms, columns, reference, dropped


def _check_cohorts(terms: list[str], x: np.ndarray, index: np.ndarray, g: int) -> None:
    """CannotShow unless there are two cohorts per coefficient and every 0/1 term is 1 in
    at least two cohorts and 0 in at least two: a coefficient carried by one cohort has no
    cluster-robust SE (its cohort's residuals sum to zero on it)."""
    if g < 2 * len(terms):
        raise CannotShow(f"{g} cohorts for {len(terms)} coefficients: the regression needs at "
                         "least two cohorts per coefficient. Widen the filters.")
    for j, term in enumerate(terms):
        column = x[:, j]
        if term in (INTERCEPT, HOURS):
            continue
        with_it = len(np.unique(index[column == 1.0]))
        without = len(np.unique(index[column == 0.0]))
        if min(with_it, without) < 2:
            raise CannotShow(f"The term {term} rests on a single cohort ({with_it} with it, "
                             f"{without} without): its interval cannot be estimated. Narrow "
                             "the filters to leave that cohort out, or widen them.")
