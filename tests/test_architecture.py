"""The rooms of docs/architecture.md and what each may import: data flows one way, from the
contract to the pages, and the analysis layer and everything under it import no Dash."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT

ROOMS = ("schemas", "stats", "etl", "synthetic", "warehouse", "accounts", "reports", "dashboard",
         "attune")
# Room -> the other rooms its modules may import (docs/architecture.md, "The rooms").
MAY_IMPORT = {
    "schemas": set(),
    "stats": {"schemas"},
    "etl": {"schemas", "stats"},
    "synthetic": {"schemas"},
    "warehouse": {"schemas", "stats"},
    "accounts": {"schemas"},
    "reports": {"warehouse", "schemas", "stats"},
    "dashboard": {"warehouse", "accounts", "reports", "schemas", "stats"},
    "attune": {"etl", "synthetic", "warehouse", "accounts", "reports", "schemas", "stats",
               "dashboard"},
}
# The few module-level exceptions the page names, each with its reason there.
EXCEPTIONS = {
    ("dashboard/screenshots.py", "etl"),  # a developer tool: builds the demo database to shoot
}
# The command line may take from the dashboard only the app factory it serves.
CLI_FROM_DASHBOARD = {"dashboard.app"}
DASH_FREE = ("schemas", "stats", "etl", "synthetic", "warehouse", "accounts", "reports")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _modules(room: str) -> list[Path]:
    return sorted(p for p in (PROJECT / room).rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_imports_only_the_rooms_below_it(room):
    wrong = []
    for path in _modules(room):
        relative = path.relative_to(PROJECT).as_posix()
        for name in _imports(path):
            other = name.split(".")[0]
            if other in ROOMS and other != room and other not in MAY_IMPORT[room]:
                if (relative, other) not in EXCEPTIONS:
                    wrong.append(f"{relative} imports {name}")
            if room == "attune" and other == "dashboard" and name not in CLI_FROM_DASHBOARD:
                wrong.append(f"{relative} imports {name} (only the app factory is allowed)")
    assert wrong == []


def test_the_room_table_covers_every_package_of_the_project():
    packages = {p.parent.name for p in PROJECT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(ROOMS)


@pytest.mark.parametrize("room", DASH_FREE)
def test_importing_a_dash_free_room_loads_no_dash(room):
    modules = [
        ".".join(p.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")
        for p in _modules(room)
    ]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(n for n in sys.modules if n == 'dash' or n.startswith('dash.')"
        " or n == 'flask')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_no_module_outside_the_tests_is_over_six_hundred_lines():
    long = {
        p.relative_to(PROJECT).as_posix(): n
        for room in (*ROOMS, "bench")
        for p in _modules(room)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}
