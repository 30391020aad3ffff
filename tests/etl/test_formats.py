"""A UTF-8 BOM, CRLF line endings, UTF-16, Excel or Parquet load exactly like the plain CSV."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from tests.etl.helpers import GOOD_ROWS, HEADER, query, responses_csv, run, write_dataset

LOADED = (
    "SELECT participant_id, cohort_id, wave, completed_at, audience, years_experience, "
    "CONF_01, CONF_02, CONF_05, BURN_03, items_missing_share FROM responses ORDER BY participant_id, wave"
)
SCORES = (
    "SELECT participant_id, wave, scale_id, score, items_answered FROM scale_scores ORDER BY ALL"
)


def load_variant(tmp_path, name: str, write) -> tuple[list, list]:
    folder = write_dataset(tmp_path / name)
    (folder / "responses.csv").unlink()
    write(folder)
    db = tmp_path / f"{name}.duckdb"
    report = run([folder], db)
    assert report.exit_code == 0, [file.message for file in report.files]
    return query(db, LOADED), query(db, SCORES)


def write_excel(folder):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    for row in GOOD_ROWS:
        values: list[object] = []
        for column, value in zip(HEADER.split(","), row.split(","), strict=True):
            if value == "":
                values.append(None)
            elif column == "completed_at":
                values.append(dt.datetime.fromisoformat(value))  # Excel stores real dates
            elif column.startswith(("CONF", "BURN", "years")):
                values.append(int(value))
            else:
                values.append(value)
        sheet.append(values)
    workbook.save(folder / "responses.xlsx")


def write_parquet(folder):
    frame = pd.DataFrame([row.split(",") for row in GOOD_ROWS], columns=HEADER.split(","))
    for column in frame.columns:
        if column.startswith(("CONF", "BURN", "years")):
            frame[column] = pd.to_numeric(frame[column].replace("", None))
    frame["completed_at"] = pd.to_datetime(frame["completed_at"]).dt.date
    frame.to_parquet(folder / "responses.parquet")


VARIANTS = {
    "bom_crlf": lambda folder: (folder / "export.csv").write_bytes(
        b"\xef\xbb\xbf" + responses_csv(*GOOD_ROWS).replace("\n", "\r\n").encode()
    ),
    "utf16_tsv": lambda folder: (folder / "export.csv").write_bytes(
        responses_csv(*GOOD_ROWS).replace(",", "\t").encode("utf-16")
    ),
    "excel": write_excel,
    "parquet": write_parquet,
    "subfolder": lambda folder: (
        (folder / "wave1" / "deep").mkdir(parents=True)
        or (folder / "wave1" / "deep" / "export.csv").write_text(responses_csv(*GOOD_ROWS))
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_export_variant_loads_exactly_like_the_plain_csv(tmp_path, variant):
    plain = load_variant(
        tmp_path, "plain", lambda folder: (folder / "r.csv").write_text(responses_csv(*GOOD_ROWS))
    )
    assert load_variant(tmp_path, variant, VARIANTS[variant]) == plain
    assert len(plain[0]) == 5
