"""Where Attune keeps things, and the defaults every path out of the system shares.

Nothing is written into the installed code or a source checkout. Per-user files follow the
XDG base directories, as for any command-line tool:

* data (the database, the accounts file and its session key) in ``user_data_dir()``:
  ``$XDG_DATA_HOME/attune``, else ``~/.local/share/attune``;
* configuration that must outlive the data (the pseudonymisation key, see
  ``etl.privacy``, and the disclosure-control key, see ``warehouse.cell_key``) in
  ``user_config_dir()``: ``$XDG_CONFIG_HOME/attune``, else
  ``~/.config/attune``.

Each file can be put elsewhere with its environment variable (``$ATTUNE_DB``,
``$ATTUNE_AUTH_DB``, ``$ATTUNE_KEY_FILE``, ``$ATTUNE_DISCLOSURE_KEY_FILE``) or the commands'
options. What ships with the package (the demo data) is read from the installed package.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

APP_DIR_NAME = "attune"
DEFAULT_MIN_CELL_SIZE = 11
# How long an ingest waits for another ingest of the same database to finish (`--wait`).
DEFAULT_INGEST_WAIT_SECONDS = 600.0
# Wheels install as plain files, so the packaged folder is a real directory ingest can read.
DEMO_DATA = Path(str(resources.files("attune").joinpath("demo_data")))


def _xdg_home(variable: str, fallback: str) -> Path:
    """An XDG base directory: the variable if it holds an absolute path (the spec ignores
    empty and relative values), else the fallback under the home directory."""
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def user_data_dir() -> Path:
    """`$XDG_DATA_HOME/attune`, else `~/.local/share/attune`: databases and accounts."""
    return _xdg_home("XDG_DATA_HOME", ".local/share") / APP_DIR_NAME


def user_config_dir() -> Path:
    """`$XDG_CONFIG_HOME/attune`, else `~/.config/attune`: keys that must outlive the data."""
    return _xdg_home("XDG_CONFIG_HOME", ".config") / APP_DIR_NAME


def default_db_path() -> Path:
    """`$ATTUNE_DB`, else `attune.duckdb` in the user's data directory."""
    return Path(os.environ.get("ATTUNE_DB") or user_data_dir() / "attune.duckdb")


def default_auth_path() -> Path:
    """`$ATTUNE_AUTH_DB`, else `attune-auth.sqlite` in the user's data directory."""
    return Path(os.environ.get("ATTUNE_AUTH_DB") or user_data_dir() / "attune-auth.sqlite")


def disclosure_key_path() -> Path:
    """`$ATTUNE_DISCLOSURE_KEY_FILE`, else `disclosure.key` in the user's configuration
    directory: the key published figures are perturbed with (``warehouse.cell_key``)."""
    value = os.environ.get("ATTUNE_DISCLOSURE_KEY_FILE")
    return Path(value) if value else user_config_dir() / "disclosure.key"


def min_cell_size() -> int:
    """Smallest group for which any statistic is shown (`$ATTUNE_MIN_CELL`, default 11)."""
    return int(os.environ.get("ATTUNE_MIN_CELL", DEFAULT_MIN_CELL_SIZE))
