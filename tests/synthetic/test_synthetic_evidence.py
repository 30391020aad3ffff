"""Synthetic evidence studies: labelled as such, with effects and variances that fit n."""

from __future__ import annotations

from schemas.contract import AUDIENCES, EVIDENCE_REQUIRED_COLUMNS, FORMATS
from tests.synthetic.helpers import read_csv


def test_evidence_studies_are_all_labelled_synthetic(clean, world):
    result, _ = clean
    evidence = read_csv(result.evidence_path)
    assert set(EVIDENCE_REQUIRED_COLUMNS) <= set(evidence.columns)
    assert 12 <= len(evidence) <= 16 and evidence.study_id.is_unique
    assert evidence.citation.str.startswith("Synthetic demo study").all()
    assert evidence.citation.str.contains("(not a real publication)", regex=False).all()
    assert (evidence.synthetic == "true").all()
    assert set(evidence.design) == {"single_group_pre_post", "comparison_group", "randomised"}
    assert set(evidence.audience) <= set(AUDIENCES) and set(evidence.format) <= set(FORMATS)
    domains = {scale.domain for scale in world.instrument.scales}
    assert set(evidence.outcome_domain) <= domains
    n, yi, vi = (evidence[c].astype(float) for c in ("n", "yi", "vi"))
    assert yi.between(0.25, 0.95).all()
    # Variance consistent with n: at least 1/n (pre-post) and at most 4/n + yi^2/(2n) (groups).
    assert (vi >= 1 / n - 1e-4).all() and (vi <= 4 / n + yi**2 / (2 * n) + 1e-4).all()
