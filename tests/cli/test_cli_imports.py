"""The command line imports nothing of the dashboard but the app factory `attune serve` and
`attune demo` start: importing any of its modules, or running a command that does not serve,
loads no Dash."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import attune.cli
from tests.etl.helpers import write_dataset
from tests.support import PROJECT

CLI_FOLDER = Path(attune.cli.__file__).parent
CLI_MODULES = sorted(
    f"attune.cli.{info.name}" for info in pkgutil.iter_modules([str(CLI_FOLDER)])
    if info.name != "__main__"
)
# What of the dashboard each module may import: the app factory, where the app is served.
ALLOWED_FROM_DASHBOARD = {"attune.cli.serving": {("dashboard.app", "create_app")}}
DASH_LOADED = ("[name for name in sys.modules "
               "if name == 'dash' or name.startswith(('dash.', 'dashboard.app'))]")


def python(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter from the project folder; the JSON it prints."""
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_every_command_module_is_found():
    assert {"attune.cli.data", "attune.cli.serving", "attune.cli.analysis",
            "attune.cli.accounts"} <= set(CLI_MODULES)


@pytest.mark.parametrize("module", CLI_MODULES)
def test_importing_a_command_module_loads_no_dash(module):
    assert python(f"import json, sys, {module}; print(json.dumps({DASH_LOADED}))") == []


@pytest.mark.parametrize("module", CLI_MODULES)
def test_only_the_serving_module_imports_the_app_factory(module):
    path = CLI_FOLDER / f"{module.rsplit('.', 1)[1]}.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dashboard"):
            imported |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("dashboard") for alias in node.names), module
    assert imported <= ALLOWED_FROM_DASHBOARD.get(module, set())


# Runs `attune` commands in one fresh interpreter and reports their exit codes and whether
# Dash was loaded; the WSGI server is replaced by one that returns at once, so that
# `attune serve` builds its app and stops instead of listening.
RUN_COMMANDS = """
import json, sys
import waitress
waitress.serve = lambda *args, **kwargs: None
from typer.testing import CliRunner
from attune.cli import app
codes = [
    CliRunner().invoke(app, arguments, input=typed).exit_code
    for arguments, typed in {commands!r}
]
print(json.dumps({{"codes": codes, "dash": {dash}}}))
"""
PASSWORD = "correct horse battery staple"


def run_in_one_process(commands: list[tuple[list[str], str | None]]) -> dict:
    return python(RUN_COMMANDS.format(commands=commands, dash=DASH_LOADED))


def test_commands_that_do_not_serve_load_no_dash(tmp_path):
    folder = write_dataset(tmp_path / "export")
    database, accounts = str(tmp_path / "a.duckdb"), str(tmp_path / "auth.sqlite")
    ran = run_in_one_process([
        (["ingest", str(folder), "--db", database, "--json"], None),
        (["summarize", "--db", database, "--by", "", "--json"], None),
        (["pool", "--db", database, "--json"], None),
        (["mapping", "init", str(folder / "responses.csv"), "--db", database], None),
        (["users", "add", "ann", "--role", "admin", "--password-stdin", "--auth-db", accounts],
         PASSWORD + "\n"),
        (["users", "list", "--auth-db", accounts], None),
    ])
    assert ran["codes"] == [0, 0, 2, 0, 0, 0]  # pool: this dataset has no evidence to pool
    assert ran["dash"] == []


def test_serving_loads_the_dash_app(tmp_path):
    """The check above can see Dash: `attune serve` builds the Dash app it serves."""
    folder = write_dataset(tmp_path / "export")
    database, accounts = str(tmp_path / "a.duckdb"), str(tmp_path / "auth.sqlite")
    ran = run_in_one_process([
        (["ingest", str(folder), "--db", database], None),
        (["users", "add", "ann", "--role", "admin", "--password-stdin", "--auth-db", accounts],
         PASSWORD + "\n"),
        (["serve", "--db", database, "--auth-db", accounts], None),
    ])
    assert ran["codes"] == [0, 0, 0]
    assert "dash" in ran["dash"] and "dashboard.app" in ran["dash"]
