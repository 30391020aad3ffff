"""`attune generate`: the one way in to the demo-data generator, with every option it has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from attune.cli import app
from schemas import settings
from synthetic.dataset import generate_dataset

PROJECT = Path(__file__).resolve().parents[2]


def attune_generate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "attune.cli", "generate", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "COLUMNS": "200"},
    )


def files_in(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_options_write_exactly_what_the_generator_writes_with_them(tmp_path):
    out = tmp_path / "cli"
    result = attune_generate(
        str(out), "--participants", "300", "--seed", "4", "--single-file", "--no-invalid-rows"
    )
    assert result.returncode == 0, result.stderr
    expected = generate_dataset(
        tmp_path / "direct",
        participants=300,
        seed=4,
        single_responses_file=True,
        invalid_rows=False,
    )
    assert files_in(out) == files_in(expected.out_dir)
    assert f"{expected.response_rows:,} valid response rows" in result.stderr
    assert "invalid" not in result.stderr


def test_the_summary_says_how_many_rows_ingest_will_quarantine(tmp_path):
    result = attune_generate(str(tmp_path / "cli"), "--participants", "300", "--seed", "4")
    assert result.returncode == 0, result.stderr
    expected = generate_dataset(tmp_path / "direct", participants=300, seed=4)
    said = " ".join(result.stderr.split())
    assert f"{expected.invalid_rows_written} deliberately invalid rows" in said
    assert f"ingest quarantines {len(expected.rows_set_aside)}" in said


def test_default_options_write_the_shipped_demo_byte_for_byte(tmp_path):
    result = CliRunner().invoke(app, ["generate", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert files_in(tmp_path / "demo") == files_in(settings.DEMO_DATA)


def test_without_a_folder_it_refuses_rather_than_write_into_the_installed_package():
    result = CliRunner().invoke(app, ["generate"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def test_help_explains_every_option():
    result = attune_generate("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option in ("--participants", "--seed", "--single-file", "--no-invalid-rows"):
        assert option in text
    assert "shipped demo data byte for byte" in text
    assert "same seed and participants give the same bytes" in text
