"""The mixed model from sufficient statistics: lme4's sleepstudy fit, and statsmodels' MixedLM
on data with drop-out (several patterns of observed waves)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from stats.mixed import Pattern, fit_reml, pattern_from_rows

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-3  # the stated tolerance for lme4's sleepstudy estimates, SEs and SDs
TOL_CORR = 1e-2  # ... for the random-effect correlation
TOL_REML = 0.1  # ... for the REML criterion
TOL_MIXEDLM = 1e-5  # agreement with statsmodels' MixedLM on the same data


@pytest.fixture(scope="module")
def sleepstudy_fit():
    with open(FIXTURES / "sleepstudy.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_subject: dict[str, dict[int, float]] = {}
    for row in rows:
        by_subject.setdefault(row["Subject"], {})[int(row["Days"])] = float(row["Reaction"])
    days = np.arange(10.0)
    x = np.column_stack([np.ones(10), days])
    ys = np.array([[subject[d] for d in range(10)] for subject in by_subject.values()])
    return fit_reml([pattern_from_rows(x, x, ys)], ["Intercept", "Days"])


def test_sleepstudy_fixed_effects_and_ses_match_lme4(sleepstudy_fit):
    # lme4 1.1-31, Reaction ~ Days + (Days | Subject), REML (Bates et al. 2015)
    fit = sleepstudy_fit
    assert fit.fixed_effects == pytest.approx([251.405, 10.467], abs=TOL)
    assert fit.se == pytest.approx([6.825, 1.546], abs=TOL)


def test_sleepstudy_variance_components_match_lme4(sleepstudy_fit):
    fit = sleepstudy_fit
    assert fit.random_sd == pytest.approx([24.741, 5.922], abs=TOL)
    assert fit.random_corr[0, 1] == pytest.approx(0.066, abs=TOL_CORR)
    assert fit.residual_sd == pytest.approx(25.592, abs=TOL)
    assert fit.minus_two_reml_ll == pytest.approx(1743.6, abs=TOL_REML)
    assert (fit.n_participants, fit.n_observations) == (18, 180)


def _dropout_data(seed: int = 7) -> pd.DataFrame:
    """Four waves, two groups, random intercepts, and drop-out that depends on the last
    observed score (MAR), so participants fall into several patterns of observed waves."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(120):
        group = i % 2
        u = rng.normal(0, 0.6)
        for wave in range(4):
            y = 3.0 + 0.4 * wave + 0.2 * group * wave + u + rng.normal(0, 0.5)
            rows.append((i, group, wave, y))
            if wave > 0 and rng.random() < (0.45 if y > 3.8 else 0.15):
                break  # drops out after this wave
    return pd.DataFrame(rows, columns=["pid", "group", "wave", "y"])


def _patterns_of(frame: pd.DataFrame):
    """Per-pattern sufficient statistics from per-participant rows, with the design
    1 + wave (categorical, wave 0 the reference) x group, as treatment coding."""
    def row(group: int, wave: int) -> list[float]:
        waves = [float(wave == w) for w in (1, 2, 3)]
        return [1.0, float(group), *waves, *(group * v for v in waves)]

    grouped: dict[tuple, list[np.ndarray]] = {}
    for _, person in frame.groupby("pid"):
        key = (int(person.group.iloc[0]), tuple(person.wave))
        grouped.setdefault(key, []).append(person.y.to_numpy())
    patterns = []
    for (group, waves), ys in grouped.items():
        x = np.array([row(group, w) for w in waves])
        patterns.append(pattern_from_rows(x, np.ones((len(waves), 1)), np.array(ys)))
    return patterns


def test_random_intercept_model_with_dropout_equals_statsmodels_mixedlm():
    frame = _dropout_data()
    patterns = _patterns_of(frame)
    assert len(patterns) >= 6  # several patterns: the sufficient statistics do real work
    fit = fit_reml(patterns)
    reference = smf.mixedlm("y ~ C(wave) * group", frame, groups=frame["pid"]).fit(
        reml=True, method="lbfgs")
    order = ["Intercept", "group", "C(wave)[T.1]", "C(wave)[T.2]", "C(wave)[T.3]",
             "C(wave)[T.1]:group", "C(wave)[T.2]:group", "C(wave)[T.3]:group"]
    assert fit.fixed_effects == pytest.approx(reference.fe_params[order].to_numpy(),
                                              abs=TOL_MIXEDLM)
    assert fit.se == pytest.approx(_gls_ses(frame, reference, order), abs=TOL_MIXEDLM)
    assert fit.residual_sd == pytest.approx(np.sqrt(reference.scale), abs=TOL_MIXEDLM)
    assert fit.random_sd[0] == pytest.approx(
        np.sqrt(reference.cov_re.iloc[0, 0]), abs=TOL_MIXEDLM)
    assert fit.minus_two_reml_ll == pytest.approx(-2 * reference.llf, abs=TOL_MIXEDLM)
    assert fit.n_observations == len(frame)


def _gls_ses(frame: pd.DataFrame, reference, order: list[str]) -> np.ndarray:
    """The SEs of the fixed effects as lme4 gives them, sigma^2 (sum X_i'V_i^-1 X_i)^-1 at
    MixedLM's variance components, summed participant by participant. (MixedLM's own
    ``bse_fe`` inverts the Hessian of every parameter together, which differs slightly when
    drop-out makes the data unbalanced.)"""
    design = pd.get_dummies(frame.wave, prefix="w", drop_first=True).astype(float)
    columns = {"Intercept": np.ones(len(frame)), "group": frame.group.to_numpy(float)}
    for w in (1, 2, 3):
        columns[f"C(wave)[T.{w}]"] = design[f"w_{w}"].to_numpy()
        columns[f"C(wave)[T.{w}]:group"] = design[f"w_{w}"].to_numpy() * frame.group
    x_all = np.column_stack([columns[name] for name in order])
    tau2, sigma2 = float(reference.cov_re.iloc[0, 0]), float(reference.scale)
    info = np.zeros((len(order), len(order)))
    for _, index in frame.groupby("pid").indices.items():
        x = x_all[index]
        v = sigma2 * np.eye(len(index)) + tau2
        info += x.T @ np.linalg.solve(v, x)
    return np.sqrt(np.diag(np.linalg.inv(info)))


def test_a_term_no_observation_informs_is_refused_with_the_reason():
    x = np.array([[1.0, 0.0], [1.0, 0.0]])  # the second term is never non-zero
    pattern = pattern_from_rows(x, np.ones((2, 1)), np.array([[1.0, 2.0], [2.0, 2.5]]))
    with pytest.raises(ValueError, match="cannot all be estimated"):
        fit_reml([pattern])


def test_random_intercept_shortcut_equals_the_general_fit():
    # Z = 2 (not 1) sends the same model down the general path: G is then the variance of
    # b with the participant effect 2b, so its SD halves and nothing else changes.
    patterns = _patterns_of(_dropout_data(seed=11))
    twice = [Pattern(n=p.n, x=p.x, z=2 * p.z, sum_y=p.sum_y, sum_yy=p.sum_yy)
             for p in patterns]
    short, general = fit_reml(patterns), fit_reml(twice)
    assert short.fixed_effects == pytest.approx(general.fixed_effects, abs=1e-7)
    assert short.se == pytest.approx(general.se, abs=1e-7)
    assert short.residual_sd == pytest.approx(general.residual_sd, abs=1e-7)
    assert short.random_sd[0] == pytest.approx(2 * general.random_sd[0], abs=1e-6)
    assert short.minus_two_reml_ll == pytest.approx(general.minus_two_reml_ll, abs=1e-7)


def test_participant_sd_far_above_the_residual_sd_is_found():
    # between-person SD 40 times the within-person SD: beyond the first bound of the search
    rng = np.random.default_rng(3)
    rows = [(i, 0, wave, 50 * u + 0.3 * wave + rng.normal(0, 1.25))
            for i, u in enumerate(rng.normal(0, 1, 80)) for wave in range(3)]
    frame = pd.DataFrame(rows, columns=["pid", "group", "wave", "y"])
    x = np.column_stack([np.ones(3), np.eye(3)[:, 1:]])
    ys = frame.pivot(index="pid", columns="wave", values="y").to_numpy()
    fit = fit_reml([pattern_from_rows(x, np.ones((3, 1)), ys)])
    # (MixedLM's default lbfgs stops short on this surface, 0.03 below the SD; Powell's
    # method reaches the minimum lme4's optimisers find)
    reference = smf.mixedlm("y ~ C(wave)", frame, groups=frame["pid"]).fit(
        reml=True, method="powell")
    assert fit.random_sd[0] / fit.residual_sd > 10
    assert fit.random_sd[0] == pytest.approx(np.sqrt(reference.cov_re.iloc[0, 0]), rel=1e-5)
    assert fit.residual_sd == pytest.approx(np.sqrt(reference.scale), rel=1e-5)
    assert fit.minus_two_reml_ll == pytest.approx(-2 * reference.llf, abs=1e-4)
