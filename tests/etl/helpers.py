"""A tiny explicit dataset in the input format, and helpers to ingest and query it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from etl.ingest import IngestOptions, ingest

INSTRUMENT = """\
scales:
  - id: CONF
    name: Confidence in attachment-informed practice
    domain: Confidence
    level: 2
    items: [CONF_01, CONF_02, CONF_03, CONF_04, CONF_05]
    min: 1
    max: 5
    reverse: [CONF_05]
    higher_is_better: true
    min_answered: 0.8
  - id: BURN
    name: Work-related burnout
    domain: Wellbeing
    level: 4
    items: [BURN_01, BURN_02, BURN_03]
    min: 1
    max: 5
    reverse: []
    higher_is_better: false
"""

PROGRAMS = """\
program_id,name,format,delivery,contact_hours
P1,Attachment in the Classroom,workshop,in_person,12
P2,Certificate in Attachment-Informed Practice,certificate,hybrid,120
"""

COHORTS = """\
cohort_id,program_id,sponsor_id,start_date,end_date,supervision,cost_per_participant
C1,P1,SP1,2024-03-04,2024-03-05,false,300
C2,P2,SP2,2024-01-15,2024-06-30,true,
"""

HEADER = (
    "participant_code,cohort_id,wave,completed_at,audience,years_experience,"
    "CONF_01,CONF_02,CONF_03,CONF_04,CONF_05,BURN_01,BURN_02,BURN_03"
)
GOOD_ROWS = [
    "A1,C1,pre,2024-03-01,educator,5,2,2,3,2,4,4,4,3",
    "A1,C1,post,2024-03-20,educator,5,4,4,4,5,2,3,3,2",
    "A2,C1,pre,2024-03-02,educator,12,3,3,3,3,3,3,3,3",
    "A2,C1,post,2024-03-22,educator,12,4,,4,4,2,2,2,2",
    "B1,C2,pre,2024-01-10,mental_health,20,1,2,2,2,5,5,4,5",
]


def responses_csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def write_dataset(folder: Path, rows=tuple(GOOD_ROWS), responses_name="responses.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instrument.yaml").write_text(INSTRUMENT)
    (folder / "programs.csv").write_text(PROGRAMS)
    (folder / "cohorts.csv").write_text(COHORTS)
    (folder / responses_name).write_text(responses_csv(*rows))
    return folder


def with_extra_column(tmp_path: Path, name: str, values: list[str]) -> Path:
    """The tiny dataset with one more column in its responses file (quoted if it has a space)."""
    rows = [row + "," + value for row, value in zip(GOOD_ROWS, values, strict=True)]
    folder = write_dataset(tmp_path / "export")
    header = HEADER + "," + (f'"{name}"' if " " in name else name)
    (folder / "responses.csv").write_text(responses_csv(*rows, header=header))
    return folder


def run(paths, db, **options):
    return ingest([Path(path) for path in paths], Path(db), IngestOptions(**options))


def query(db: Path, sql: str, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def responses_report(report):
    return [file for file in report.files if file.kind == "responses"]
