"""The cell-key method's parts: record and cell keys, the perturbation tables, rounding."""

from __future__ import annotations

import math
import stat

import pytest

from warehouse import cell_key as ck


def test_disclosure_key_is_created_private_and_then_reused(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "disclosure.key"
    monkeypatch.setenv("ATTUNE_DISCLOSURE_KEY_FILE", str(path))
    first = ck.load_or_create_key()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ck.load_or_create_key() == first and len(first) == 64


def test_a_short_disclosure_key_is_refused_with_its_path(tmp_path):
    path = tmp_path / "disclosure.key"
    path.write_text("abc\n")
    with pytest.raises(ValueError, match="disclosure.key: the disclosure key is too short"):
        ck.load_or_create_key(path)


def test_counts_move_as_the_perturbation_table_says():
    changes = [ck.count_change(cell) for cell in range(20_000)]
    for change, probability in ck.COUNT_PTABLE:
        assert changes.count(change) / len(changes) == pytest.approx(probability, abs=0.015)
    assert set(changes) == {c for c, _ in ck.COUNT_PTABLE}


def test_the_same_cell_always_gets_the_same_noise_and_statistics_get_their_own():
    assert ck.noise(12345, "mean", "CONF", "pre") == ck.noise(12345, "mean", "CONF", "pre")
    values = {ck.noise(12345, "mean", s, "pre") for s in ("CONF", "KNOW", "PRAC")}
    assert len(values) == 3
    assert all(-1 <= ck.noise(c, "x") <= 1 for c in range(1000))


def test_cell_key_of_a_union_is_the_sum_of_the_parts_keys():
    a, b = 2**32 - 5, 9  # wraps around the modulus
    assert ck.cell_key(a + b) == 4


def test_noise_grows_with_the_group_within_the_utility_promise():
    # mean bound in SDs over n is the mean's largest movement; the promise: a tenth (50-199)
    # or a twentieth (200+) of 1.96 SD / sqrt(n)
    for n in (50, 120, 199, 200, 1000, 100_000):
        bound, _ = ck.noise_band(n)
        share = 0.1 if n < 200 else 0.05
        assert bound / n <= 0.8 * share * 1.96 / math.sqrt(n)
    assert ck.noise_band(11)[0] >= 1.0  # small groups: more noise


def _row(n: int, values_from: list[float], values_to: list[float], k: int = 777) -> dict:
    change = [t - f for f, t in zip(values_from, values_to, strict=True)]
    return {"n": n, "k": k, "s_f": sum(values_from), "s_t": sum(values_to),
            "ss_f": sum(v * v for v in values_from), "ss_t": sum(v * v for v in values_to),
            "s_c": sum(change), "ss_c": sum(c * c for c in change),
            "n_improved": 3, "n_deteriorated": 1}


def test_protected_sums_keep_the_change_equal_to_to_minus_from_and_r_within_bounds():
    pre = [2 + (i % 5) * 0.25 for i in range(30)]
    post = [p + 0.4 for p in pre]  # r = 1: the three perturbed variances must still fit one r
    for k in range(200):
        out = ck.protect_pair_row(_row(30, pre, post, k), ck.Stream("CONF", "pre", "post"), 0.5)
        n = out["n"]
        assert abs(n - 30) <= 2
        assert out["s_t"] / n - out["s_f"] / n == pytest.approx(out["s_c"] / n)
        var = {x: (out["ss_" + x] - out["s_" + x] ** 2 / n) / (n - 1) for x in "ftc"}
        r = (var["f"] + var["t"] - var["c"]) / (2 * math.sqrt(var["f"] * var["t"]))
        assert -1 - 1e-9 <= r <= 1 + 1e-9
        assert 0 <= out["n_improved"] <= n and out["n_improved"] + out["n_deteriorated"] <= n


def test_a_group_whose_members_all_changed_alike_still_gets_noise():
    pre, post = [3.0] * 20, [3.5] * 20
    means = {ck.protect_pair_row(_row(20, pre, post, k), ck.Stream("CONF", "pre", "post"),
                                 0.25)["s_c"] for k in range(5)}
    assert len(means) == 5


def test_rounding_follows_the_ci_and_never_keeps_fewer_than_three_decimals():
    wide = ck.round_published({"mean_change": 0.123456, "ci_low": -1.0, "ci_high": 1.0})
    narrow = ck.round_published({"mean_change": 0.123456, "ci_low": 0.1230, "ci_high": 0.1239})
    assert wide["mean_change"] == 0.123
    assert narrow["mean_change"] != 0.123  # more decimals where the CI is narrow
    assert abs(narrow["mean_change"] - 0.123456) <= ck.ROUNDING_SHARE * 0.00045
    assert ck.round_published({"p": 0.000123456})["p"] == 0.000123
