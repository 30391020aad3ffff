"""Paired change: Lakens (2013) reference values, direction, aggregates vs raw, edge cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from stats.paired import (
    PairedChange,
    hedges_j,
    paired_change,
    paired_change_from_moments,
    wilcoxon_p_from_ranks,
)

# Lakens D. (2013) Front. Psychol. 4:863, Table 3 and worked example (movie_1 vs movie_2).
# (quantity, field, published value, tolerance)
LAKENS_2013 = [
    ("mean difference", "mean_change", 1.0, 1e-12),
    ("SD of differences", "sd_change", 0.666667, 1e-6),
    ("r(movie_1, movie_2)", "r", 0.72548, 1e-4),
    ("paired t (df 9)", "t", 4.743416, 1e-6),
    ("two-sided p", "p", 0.0010539, 1e-6),
    ("95% CI low of mean difference", "ci_low", 0.5231, 1e-4),
    ("95% CI high of mean difference", "ci_high", 1.4769, 1e-4),
    ("d_z", "d_z", 1.5000, 1e-6),
    ("95% CI low of d_z (noncentral t)", "d_z_ci_low", 0.5605, 1e-3),
    ("95% CI high of d_z (noncentral t)", "d_z_ci_high", 2.4034, 1e-3),
    ("d_av (eq. 10)", "d_av", 1.1287, 1e-4),
    ("d_rm (eq. 9)", "d_rm", 1.1113, 1e-4),
    ("g_av, exact J with df = n - 1", "g_av", 1.0320, 1e-3),
]


@pytest.fixture
def movie_change(lakens_movies) -> PairedChange:
    # movie_2 -> movie_1: the later "wave" scores one point higher on average.
    return paired_change(lakens_movies["movie_2"], lakens_movies["movie_1"])


@pytest.mark.parametrize(("quantity", "field", "published", "tol"), LAKENS_2013)
def test_paired_change_reproduces_lakens_2013_movie_example(
    movie_change, quantity, field, published, tol
):
    assert getattr(movie_change, field) == pytest.approx(published, abs=tol), quantity


def test_paired_change_reports_df_and_n_pairs_for_lakens_example(movie_change):
    assert movie_change.n_pairs == 10
    assert movie_change.df == 9


def test_paired_change_from_moments_reproduces_lakens_2013_movie_example(lakens_movies):
    before, after = lakens_movies["movie_2"], lakens_movies["movie_1"]
    result = paired_change_from_moments(
        n=10,
        mean_from=before.mean(),
        mean_to=after.mean(),
        sd_from=before.std(ddof=1),
        sd_to=after.std(ddof=1),
        sd_change=(after - before).std(ddof=1),
    )
    for quantity, field, published, tol in LAKENS_2013:
        assert getattr(result, field) == pytest.approx(published, abs=tol), quantity
    assert result.wilcoxon_p is None


def test_g_av_uses_paired_df_not_lakens_two_group_df(movie_change):
    # Lakens prints g_av = 1.08 because his J uses df = 2n - 2 = 18; we use df = n - 1 = 9.
    assert movie_change.g_av == pytest.approx(movie_change.d_av * hedges_j(9))
    assert movie_change.d_av * hedges_j(18) == pytest.approx(1.08, abs=5e-3)


def test_d_z_interval_is_not_the_interval_lakens_prints_next_to_it(movie_change):
    # The printed [0.42, 1.80] belongs to d_av; d_z's own interval is [0.5605, 2.4034].
    assert movie_change.d_z_ci_low > 0.5
    assert movie_change.d_z_ci_high > 2.3


def test_d_z_interval_inverts_the_noncentral_t(movie_change):
    t, n = movie_change.t, movie_change.n_pairs
    assert sps.nct.cdf(t, 9, movie_change.d_z_ci_low * math.sqrt(n)) == pytest.approx(0.975)
    assert sps.nct.cdf(t, 9, movie_change.d_z_ci_high * math.sqrt(n)) == pytest.approx(0.025)


def test_hedges_j_matches_the_exact_gamma_formula_and_is_undefined_for_df_1():
    assert hedges_j(9) == pytest.approx(math.gamma(4.5) / (math.sqrt(4.5) * math.gamma(4)))
    assert hedges_j(400) == pytest.approx(1 - 3 / (4 * 400 - 1), abs=1e-6)
    assert math.isnan(hedges_j(1))


def test_lower_is_better_scale_reports_a_decrease_as_positive_improvement(lakens_movies):
    # Same data, read as a symptom scale falling from movie_1 to movie_2.
    worse_to_better = paired_change(
        lakens_movies["movie_1"], lakens_movies["movie_2"], higher_is_better=False
    )
    assert worse_to_better.mean_change == pytest.approx(1.0)
    assert worse_to_better.d_z == pytest.approx(1.5)
    assert worse_to_better.mean_from == pytest.approx(lakens_movies["movie_1"].mean())
    assert worse_to_better.mean_to == pytest.approx(lakens_movies["movie_2"].mean())


def test_deterioration_on_a_higher_is_better_scale_is_negative(lakens_movies):
    worse = paired_change(lakens_movies["movie_1"], lakens_movies["movie_2"])
    assert worse.mean_change == pytest.approx(-1.0)
    assert worse.d_z_ci_low == pytest.approx(-2.4034, abs=1e-3)
    assert worse.d_z_ci_high == pytest.approx(-0.5605, abs=1e-3)
    assert worse.g_av < 0 and worse.d_rm < 0 and worse.t < 0


def test_pairs_missing_either_wave_are_dropped():
    result = paired_change([1.0, 2.0, np.nan, 4.0, 5.0], [2.0, None, 3.0, 6.0, 5.5])
    expected = paired_change([1.0, 4.0, 5.0], [2.0, 6.0, 5.5])
    assert result.n_pairs == 3
    assert result == expected


def test_wilcoxon_p_is_exact_for_small_samples_without_ties_or_zeros():
    before = np.array([3.1, 4.0, 2.2, 5.0, 3.3, 4.4, 2.9, 3.8])
    after = before + np.array([0.5, 1.1, -0.2, 0.9, 1.6, 0.3, 2.0, -0.7])
    result = paired_change(before, after)
    assert result.wilcoxon_p == pytest.approx(sps.wilcoxon(after - before, method="exact").pvalue)


def test_wilcoxon_p_uses_the_normal_approximation_when_there_are_ties_or_zeros(lakens_movies):
    # Two people rate both movies equally (zeros) and the other differences are tied.
    differences = lakens_movies["movie_1"] - lakens_movies["movie_2"]
    result = paired_change(lakens_movies["movie_2"], lakens_movies["movie_1"])
    expected = sps.wilcoxon(
        differences, zero_method="wilcox", method="asymptotic", correction=False
    ).pvalue
    assert result.wilcoxon_p == pytest.approx(expected)
    # 8 non-zero differences, all positive: W+ = 36; |d| = 1 (x6) and 2 (x2) are tied.
    assert result.wilcoxon_p == pytest.approx(wilcoxon_p_from_ranks(8, 36, 6**3 - 6 + 2**3 - 2))


@pytest.mark.parametrize("scores", [[], [3.0]])
def test_fewer_than_two_pairs_gives_nan_statistics_instead_of_raising(scores):
    result = paired_change(scores, [s + 1 for s in scores])
    assert result.n_pairs == len(scores)
    for field in ("t", "p", "ci_low", "d_z", "d_z_ci_low", "d_av", "g_av", "d_rm", "r"):
        assert math.isnan(getattr(result, field)), field
    assert math.isnan(result.wilcoxon_p)


def test_sql_nulls_from_a_single_pair_give_nan_statistics_instead_of_raising():
    # DuckDB's stddev_samp of one row is NULL, which arrives in Python as None.
    result = paired_change_from_moments(1, 3.0, 4.0, None, None, None)
    assert result.n_pairs == 1 and result.mean_change == pytest.approx(1.0)
    assert math.isnan(result.t) and math.isnan(result.sd_from) and math.isnan(result.d_av)


def test_identical_change_for_everyone_gives_nan_test_statistics():
    result = paired_change([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert result.mean_change == pytest.approx(1.0)
    assert result.sd_change == 0
    for field in ("t", "p", "ci_low", "ci_high", "d_z", "d_z_ci_low", "d_rm"):
        assert math.isnan(getattr(result, field)), field
    assert result.d_av == pytest.approx(1.0)  # SDs of each wave are still 1


def test_no_change_at_all_gives_nan_wilcoxon_and_zero_spread_nan_everything():
    result = paired_change([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])
    assert result.mean_change == 0
    assert math.isnan(result.wilcoxon_p)
    assert math.isnan(result.d_av) and math.isnan(result.t)


def test_paired_change_is_frozen_and_has_as_dict(movie_change):
    with pytest.raises(dataclasses.FrozenInstanceError):
        movie_change.t = 0.0  # type: ignore[misc]
    as_dict = movie_change.as_dict()
    assert list(as_dict) == [f.name for f in dataclasses.fields(PairedChange)]
    assert as_dict["d_z"] == movie_change.d_z


def test_invalid_level_is_rejected():
    with pytest.raises(ValueError):
        paired_change([1, 2, 3], [2, 3, 5], level=95)


# Scores on a typical 1-7 survey scale; floats with two decimals keep the data realistic.
_score = st.floats(min_value=1, max_value=7, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def _paired_samples(draw):
    n = draw(st.integers(min_value=3, max_value=40))
    before = draw(st.lists(_score, min_size=n, max_size=n))
    after = draw(st.lists(_score, min_size=n, max_size=n))
    return np.array(before), np.array(after)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(samples=_paired_samples(), higher_is_better=st.booleans())
def test_moments_and_raw_scores_give_the_same_paired_change(samples, higher_is_better):
    before, after = samples
    raw = paired_change(before, after, higher_is_better=higher_is_better)
    from_moments = paired_change_from_moments(
        n=before.size,
        mean_from=float(np.mean(before)),
        mean_to=float(np.mean(after)),
        sd_from=float(np.std(before, ddof=1)),
        sd_to=float(np.std(after, ddof=1)),
        sd_change=float(np.std(after - before, ddof=1)),
        higher_is_better=higher_is_better,
        wilcoxon_p=raw.wilcoxon_p,
    )
    for field in dataclasses.fields(PairedChange):
        got, want = getattr(from_moments, field.name), getattr(raw, field.name)
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got), field.name
        else:
            assert got == pytest.approx(want, rel=1e-7, abs=1e-9), field.name
    # r recovered from the SDs equals Pearson's r on the raw pairs
    if np.std(before) > 0 and np.std(after) > 0:
        assert from_moments.r == pytest.approx(np.corrcoef(before, after)[0, 1], abs=1e-9)


def test_d_z_interval_of_a_huge_group_is_finite_and_matches_the_large_sample_interval():
    # t in the hundreds: scipy's nct cannot be inverted there; the large-sample interval is used
    from stats.paired import paired_change_from_moments

    result = paired_change_from_moments(60_000, 3.0, 3.5, 0.8, 0.8, 0.3)
    n, d_z = 60_000, 0.5 / 0.3
    half_width = 1.959963984540054 * ((1 / n) + d_z**2 / (2 * (n - 1))) ** 0.5
    assert result.d_z_ci_low == pytest.approx(d_z - half_width, abs=1e-4)
    assert result.d_z_ci_high == pytest.approx(d_z + half_width, abs=1e-4)
