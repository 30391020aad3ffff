"""The analysis package is Dash-free: the command line, reports and notebooks import it
without the dashboard."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import warehouse
from tests.support import PROJECT

IMPORT_EACH = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "dash" in sys.modules or "dashboard" in sys.modules:
        print(name)
        break
"""


def test_no_warehouse_module_imports_dash():
    modules = sorted(f"warehouse.{m.name}" for m in pkgutil.iter_modules(warehouse.__path__))
    assert "warehouse.outcomes" in modules and len(modules) >= 10
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH, *modules], cwd=PROJECT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{result.stdout.strip()} imports Dash"
