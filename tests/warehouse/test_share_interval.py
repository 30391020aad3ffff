"""The share reliably improved comes with its Wilson 95% interval, computed from the counts
the reader is given (the published ones, for sponsors)."""

from __future__ import annotations

import hashlib

import pytest

from stats.proportions import wilson_interval
from warehouse.connection import Database
from warehouse.filters import Filters
from warehouse.outcomes import group_change


def _check_interval(row):
    low, high = wilson_interval(row["n_improved"], row["n_pairs"])
    assert row["pct_reliable_improved_ci_low"] == pytest.approx(100 * low, abs=0.05)
    assert row["pct_reliable_improved_ci_high"] == pytest.approx(100 * high, abs=0.05)
    assert (row["pct_reliable_improved_ci_low"] <= row["pct_reliable_improved"]
            <= row["pct_reliable_improved_ci_high"])


def test_share_reliably_improved_has_the_wilson_interval_of_its_counts(tiny_db):
    db = Database(tiny_db, min_cell_size=5)
    rows = [r for r in group_change(db, scale_id="CONF", by=("audience", "format"),
                                    complementary=False) if not r["suppressed"]]
    assert rows
    for row in rows:
        _check_interval(row)
        assert row["pct_reliable_improved_ci_high"] > row["pct_reliable_improved_ci_low"]


def test_published_share_interval_is_that_of_the_published_counts(demo_db, tmp_path,
                                                                  monkeypatch):
    key = tmp_path / "share.key"
    key.write_text(hashlib.sha256(b"share interval").hexdigest() + "\n")
    monkeypatch.setenv("ATTUNE_DISCLOSURE_KEY_FILE", str(key))
    db = Database(demo_db)
    scale = "CONF" if "CONF" in db.snapshot().scales else sorted(db.snapshot().scales)[0]
    rows = [r for r in group_change(db, scale_id=scale, by=("format",),
                                    filters=Filters(published=True)) if not r["suppressed"]]
    rows = [r for r in rows if r["n_improved"] is not None]
    assert rows
    for row in rows:
        _check_interval(row)
        # Published shares and their ends are rounded to one decimal, like the share.
        for k in ("pct_reliable_improved_ci_low", "pct_reliable_improved_ci_high"):
            assert round(row[k], 1) == row[k]
