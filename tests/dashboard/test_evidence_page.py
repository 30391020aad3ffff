"""The Evidence page on the demo database: one forest per outcome domain (never pooled across
domains) with our programmes in a separate, labelled panel on their own axis; the funnel with
trim-and-fill's studies hollow, or the reason a small domain has none; the bubble plot sized by
weight with the subgroup test; certainty and tiers with their reasons; synthetic studies
labelled as such in figures and tables."""

from __future__ import annotations

import math

import pytest

from dashboard.components import render, to_csv
from dashboard.pages import evidence
from dashboard.pages.evidence_figures import LOCAL_PANEL_TITLE
from stats.meta import meta_analysis
from warehouse.evidence import domain_evidence
from warehouse.evidence import evidence as library

BASE = {"scale": "CONF", "wf": "pre", "wt": "post", "arm": "intervention", "by": "all"}


def _state(domain: str | None = None, **extra) -> dict:
    return {**BASE, **extra, **({"domain": domain} if domain else {})}


def _text(annotation: dict) -> str:
    return annotation["text"].replace("<br>", " ")


@pytest.fixture(scope="module")
def domains(evaluator) -> dict[str, dict]:
    return {e["domain"]: e for e in domain_evidence(evaluator.db)}


def test_each_domain_forest_pools_only_that_domains_studies(evaluator, domains):
    assert len(domains) >= 4
    for name in domains:
        chart = evidence.build_forest(evaluator, _state(name))
        studies = [r for r in chart.records if r["kind"].startswith("Study")]
        own = [s for s in library(evaluator.db) if s["outcome_domain"] == name
               and s["es"] is not None]
        assert sorted(r["label"] for r in studies) == sorted(
            evidence.synthetic_label(s["citation"], s["synthetic"]) for s in own)
        assert {r["domain"] for r in chart.records} == {name}
        pooled = next(r for r in chart.records if r["kind"] == "Pooled (REML)")
        fit = meta_analysis([s["es"] for s in own], [s["es_vi"] for s in own], method="REML")
        assert pooled["es"] == pytest.approx(fit.mu, abs=1e-9)
        assert chart.title.startswith(name) and f"k = {len(own)}" in chart.subtitle


def test_our_programmes_sit_in_a_separate_labelled_panel_on_their_own_axis(evaluator):
    chart = evidence.build_forest(evaluator, _state("Confidence"))
    fig = chart.figure.to_plotly_json()
    local = [t for t in fig["data"] if t["name"] == "Our programme (within-person)"]
    studies = [t for t in fig["data"] if t["name"] in ("Published study",
                                                        "Synthetic study (demo)")]
    assert local and studies
    assert {t["xaxis"] for t in local} == {"x2"} and {t["xaxis"] for t in studies} == {"x"}
    assert "matches" not in fig["layout"]["xaxis2"]  # its own axis, not the studies'
    assert "Within-person change" in fig["layout"]["xaxis2"]["title"]["text"]
    assert LOCAL_PANEL_TITLE in " ".join(_text(a) for a in fig["layout"]["annotations"])
    programmes = [r for r in chart.records if r["kind"] == "Our programme"
                  and not r["suppressed"]]
    assert len(local[0]["x"]) == len(programmes)
    assert all(r["quantity"].startswith("within-person") for r in programmes)


def test_a_programme_with_a_credible_comparison_arm_shares_the_studies_axis(evaluator):
    chart = evidence.build_forest(evaluator, _state("Confidence"))
    between = [r for r in chart.records if r["kind"] == evidence.BETWEEN_NAME]
    assert between, "the demo's P02 has an equivalent waitlist arm with low attrition"
    trace = next(t for t in chart.figure.data if t["name"] == evidence.BETWEEN_NAME)
    assert trace["xaxis"] == "x" and trace["x"] == [r["es"] for r in between]
    assert all(r["quantity"].startswith("between-group") for r in between)


def test_funnel_draws_the_studies_trim_and_fill_adds_hollow(evaluator, domains):
    fill = domains["Confidence"]["bias"]["trim_and_fill"]
    assert fill["k0"] > 0
    fig = evidence.build_bias(evaluator, _state("Confidence")).figure.to_plotly_json()
    filled = next(t for t in fig["data"] if t["name"].startswith("Filled by trim-and-fill"))
    observed = next(t for t in fig["data"] if t["name"] == "Observed study")
    assert filled["marker"]["symbol"] == "circle-open"  # hollow: the outline only
    assert observed["marker"]["symbol"] == "circle"  # filled
    assert filled["x"] == pytest.approx(fill["filled_yi"])
    assert filled["y"] == pytest.approx([math.sqrt(v) for v in fill["filled_vi"]])
    assert len(observed["x"]) == domains["Confidence"]["k"]
    assert fig["layout"]["yaxis"]["autorange"] == "reversed"
    shaded = [t for t in fig["data"] if t.get("fill") == "toself"]
    assert len(shaded) == 3  # the 90, 95 and 99% regions around 0
    lines = [t["x"][0] for t in fig["data"] if t["name"].startswith(("Pooled", "Adjusted"))]
    assert lines == pytest.approx([domains["Confidence"]["pooled"]["mu"], fill["estimate"]])


def test_bias_tests_are_given_in_words(evaluator, domains):
    bias = domains["Confidence"]["bias"]
    chart = evidence.build_bias(evaluator, _state("Confidence"))
    words = " ".join(li.children for li in chart.extra.children)
    assert "Egger's regression test" in words and "Egger's classical test" in words
    assert f"p = {evidence.fmt_p(bias['egger']['p'])}" in words
    assert "rank correlation test" in words
    assert f"Trim-and-fill adds {bias['trim_and_fill']['k0']} studies on the right" in words
    top = max(bias["cooks_distance"], key=lambda c: c["value"])["study_id"]
    citation = next(s["citation"] for s in library(evaluator.db) if s["study_id"] == top)
    assert "Most influential study" in words and citation in words
    assert "Leaving one study out" in words


def test_a_domain_with_fewer_than_ten_studies_explains_why_it_has_no_funnel(evaluator,
                                                                              domains):
    chart = evidence.build_bias(evaluator, _state("Knowledge"))
    assert chart.figure is None
    assert "at least 10 studies" in chart.empty
    assert f"this domain has k = {domains['Knowledge']['k']}" in chart.empty
    assert "Confidence" in chart.empty  # where the reader can look instead


def test_bubble_plot_sizes_studies_by_weight_with_the_regression_line(evaluator, domains):
    chart = evidence.build_moderators(evaluator, _state("Confidence"))
    fig = chart.figure.to_plotly_json()
    points = next(t for t in fig["data"] if t["name"].startswith("Study"))
    weights = [r["weight"] for r in chart.records]
    assert sum(weights) == pytest.approx(100)
    order = sorted(range(len(weights)), key=weights.__getitem__)
    sizes = [points["marker"]["size"][i] for i in order]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert points["x"] == [r["year"] for r in chart.records]
    assert any(t["name"] == "Meta-regression line" for t in fig["data"])
    assert any(t["name"] == "95% CI of the line" for t in fig["data"])
    text = " ".join(evidence_texts(chart.extra))
    for word in ("QM =", "QE =", "τ² =", "R² ="):
        assert word in text
    p = next(e for e in domain_evidence(evaluator.db, mods=("year",), subgroup="design")
             if e["domain"] == "Confidence")["q_between_p"]
    assert "Test for subgroup differences: Q = " in text and evidence.fmt_p(p) in text
    assert evidence.OBSERVATIONAL in chart.notes


def evidence_texts(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, (list, tuple)):
        return [t for child in node for t in evidence_texts(child)]
    if hasattr(node, "to_plotly_json"):
        return [t for v in node.to_plotly_json()["props"].values() for t in evidence_texts(v)]
    return []


def test_certainty_rates_each_domain_with_its_four_reasons_in_words(evaluator, domains):
    chart = evidence.build_certainty(evaluator, _state())
    assert {r["domain"] for r in chart.records} == set(domains)
    for row in chart.records:
        assert row["level"] in ("high", "moderate", "low", "very low")
        for concern in evidence.CONCERNS:
            verdict, _, reason = row[concern].partition(": ")
            assert verdict in ("not serious", "serious", "very serious", "not assessable")
            assert reason
    practice = next(r for r in chart.records if r["domain"] == "Practice")
    assert practice["level"] == "very low"
    assert practice["Risk of bias"].startswith("serious: 54% of the weight")
    assert "Certainty: very low." in evidence_texts(chart.extra)


def test_study_tiers_say_not_reported_for_what_a_study_leaves_out(evaluator):
    chart = evidence.build_study_tiers(evaluator, _state("Confidence"))
    syn16 = next(r for r in chart.records if r["label"].startswith("Synthetic demo study 16"))
    assert syn16["risk_of_bias"] == "not reported"
    assert syn16["reasons"].startswith("Tier 2 (Limited)")
    assert all(r["reasons"] for r in chart.records)


def test_programme_tiers_keep_their_reasons(evaluator):
    chart = evidence.build_tiers(evaluator, _state())
    p02 = next(r for r in chart.records if r["program"] == "P02")
    assert p02["design"] == "comparison_group" and p02["tier"] == 4
    assert p02["reasons_text"].startswith("Rated as a comparison-group design")


def test_synthetic_studies_say_so_in_labels_hovers_tables_and_downloads(evaluator):
    for spec in (evidence.FOREST, evidence.BIAS, evidence.MODERATORS, evidence.STUDY_TIERS):
        chart = spec.build(evaluator, _state("Confidence"))
        rows = [r for r in chart.records if r.get("synthetic")
                and r.get("kind", "Study").startswith(("Study", "observed"))]
        assert rows, spec.id
        assert all(r["label"].endswith("(synthetic)") for r in rows), spec.id
        assert "(synthetic)" in to_csv(chart.columns, chart.records)
        if chart.figure is not None:
            hovers = [str(t.get("customdata")) for t in chart.figure.data]
            assert any("(synthetic)" in h for h in hovers), spec.id
    forest = evidence.build_forest(evaluator, _state("Confidence")).figure.to_plotly_json()
    labels = " ".join(_text(a) for a in forest["layout"]["annotations"])
    assert labels.count("(synthetic)") == sum(s["synthetic"] for s in library(evaluator.db)
                                             if s["outcome_domain"] == "Confidence")


def test_the_domain_chooser_lists_every_domain_and_follows_the_chosen_scale(evaluator,
                                                                             domains):
    layout = evidence.layout(evaluator)
    chooser = next(c for c in layout.children if getattr(c, "className", "")
                   == "card domain-chooser")
    radio = chooser.children[1]
    assert radio.id == evidence.DOMAIN_ID
    assert [o["value"] for o in evidence.domain_options(evaluator)] == sorted(domains)
    assert evidence.chosen_domain(evaluator, _state(scale="KNOW")) == "Knowledge"
    assert evidence.chosen_domain(evaluator, _state("Practice", scale="KNOW")) == "Practice"
    # the local panel follows the domain: the Knowledge forest shows programmes on KNOW
    chart = evidence.build_forest(evaluator, _state("Knowledge"))
    assert "Attachment knowledge" in " ".join(chart.notes)
    render(evidence.FOREST.id, chart)  # renders without error
