"""`attune report`: outcomes reports as files, run as a user or a scheduled job would (a fresh
process): one file per sponsor and format named by sponsor and period, the files written as
JSON, a clear usage error for an unknown sponsor, scale or date, and a documented exit code
when no PDF can be printed."""

from __future__ import annotations

import json

from tests.support import attune
from warehouse.catalog import filter_options


def test_all_sponsors_writes_one_report_per_sponsor_and_lists_them(demo_db, tmp_path):
    done = attune("report", "--db", str(demo_db), "--all-sponsors", "--out", str(tmp_path),
                  "--format", "html", "--json")
    assert done.returncode == 0, done.stderr
    sponsors = filter_options(demo_db)["sponsors"]
    expected = sorted(str(tmp_path / f"attune-report-{s}-all-cohorts.html") for s in sponsors)
    assert sorted(json.loads(done.stdout)["files"]) == expected
    assert sorted(str(p) for p in tmp_path.iterdir()) == expected
    for sponsor in sponsors:
        text = (tmp_path / f"attune-report-{sponsor}-all-cohorts.html").read_text()
        assert f"Outcomes report: {sponsor}</h1>" in text


def test_one_sponsor_and_period_names_the_files_by_both(demo_db, tmp_path):
    done = attune("report", "--db", str(demo_db), "--sponsor", "SP02", "--from", "2024-01-01",
                  "--to", "2025-12-31", "--scale", "CONF", "--out", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["attune-report-SP02-2024-01-01_2025-12-31.html",
                     "attune-report-SP02-2024-01-01_2025-12-31.pdf"]
    html = (tmp_path / names[0]).read_text()
    assert "cohorts starting 2024-01-01 to 2025-12-31" in html
    assert "Attachment knowledge" not in html.split('id="measured"')[1].split("</section>")[0]


def test_unknown_sponsor_is_a_usage_error_naming_the_sponsors(demo_db, tmp_path):
    done = attune("report", "--db", str(demo_db), "--sponsor", "SP99", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "no sponsor 'SP99' has cohorts in the database" in done.stderr
    assert "SP01" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_scale_or_bad_date_or_format_is_a_usage_error(demo_db, tmp_path):
    for extra, said in ((["--scale", "NOPE"], "unknown scale NOPE"),
                        (["--from", "2024-13-01"], "is not a date"),
                        (["--format", "docx"], "unknown --format docx")):
        done = attune("report", "--db", str(demo_db), "--sponsor", "SP01", "--out",
                      str(tmp_path), *extra)
        assert done.returncode == 2, extra
        assert said in done.stderr.replace("\n", " ")


def test_missing_chromium_writes_the_html_and_exits_4(demo_db, tmp_path):
    done = attune("report", "--db", str(demo_db), "--sponsor", "SP01", "--out", str(tmp_path),
                  "--json", env={"ATTUNE_CHROMIUM": str(tmp_path / "no-chromium")})
    assert done.returncode == 4
    assert "cannot make a PDF: no Chromium at" in done.stderr.replace("\n", " ")
    assert [p.name for p in tmp_path.iterdir()] == ["attune-report-SP01-all-cohorts.html"]
    assert json.loads(done.stdout)["files"] == [str(tmp_path /
                                                    "attune-report-SP01-all-cohorts.html")]
