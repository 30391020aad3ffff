"""Programmes and cohorts follow the input contract and look like real training runs."""

from __future__ import annotations

import pandas as pd

from schemas.contract import (
    COHORT_OPTIONAL_COLUMNS,
    COHORT_REQUIRED_COLUMNS,
    DELIVERIES,
    FORMATS,
    PROGRAM_COLUMNS,
)
from tests.synthetic.helpers import read_csv

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def test_programmes_cover_every_format_and_delivery(clean):
    result, _ = clean
    programs = read_csv(result.programs_path)
    assert tuple(programs.columns) == PROGRAM_COLUMNS
    assert programs.program_id.is_unique and 8 <= len(programs) <= 12
    assert set(programs.format) == set(FORMATS)
    assert set(programs.delivery) == set(DELIVERIES)
    hours = programs.contact_hours.astype(int)
    assert hours[programs.format == "workshop"].between(6, 14).all()
    assert hours[programs.format == "degree"].between(150, 600).all()


def test_cohorts_follow_the_contract(clean):
    result, _ = clean
    cohorts = read_csv(result.cohorts_path)
    programs = read_csv(result.programs_path)
    assert tuple(cohorts.columns) == COHORT_REQUIRED_COLUMNS + COHORT_OPTIONAL_COLUMNS
    assert cohorts.cohort_id.is_unique
    assert set(cohorts.program_id) <= set(programs.program_id)
    assert cohorts.sponsor_id.str.fullmatch(r"SP\d\d").all()
    assert 5 <= cohorts.sponsor_id.nunique() <= 7
    assert set(cohorts.supervision) == {"true", "false"}
    trained = cohorts.arm == "intervention"
    assert set(cohorts.arm) == {"intervention", "waitlist"}
    assert cohorts.cost_per_participant[trained].astype(int).gt(0).all()
    assert (cohorts.cost_per_participant[~trained] == "").all()  # not trained: no cost
    for column in ("start_date", "end_date"):
        assert cohorts[column].str.fullmatch(ISO_DATE).all()
    start = pd.to_datetime(cohorts.start_date, format="%Y-%m-%d")
    end = pd.to_datetime(cohorts.end_date, format="%Y-%m-%d")
    assert start.min() >= pd.Timestamp("2023-01-01")
    assert start.max() <= pd.Timestamp("2025-12-31")
    assert set(start.dt.year) == {2023, 2024, 2025}
    fmt = cohorts.program_id.map(programs.set_index("program_id").format)
    days = (end - start).dt.days
    assert (days[fmt == "workshop"] == 1).all()
    assert days[fmt == "degree"].between(6 * 30, 18 * 31).all()
    assert (days[fmt.isin(["short_course", "certificate"])] > 7).all()
