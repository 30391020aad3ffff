"""The wheel is what users install: it carries the methods text and the demo data, and once
installed (not editable) in a fresh virtual environment, `attune demo` run from another folder
builds the demo database from the packaged data and serves the methods page filled.

No network: the wheel is built without build isolation, installed without an index, and the
fresh environment sees only the distributions the wheel declares (and what they require),
exposed from the project's environment; the project itself comes from the installed wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from schemas.settings import DEMO_DATA

ROOT = Path(__file__).resolve().parents[2]
METHODS_MD = ROOT / "stats" / "METHODS.md"
SERVER_START_SECONDS = 180
POLL_SECONDS = 0.25


# --- building and installing ---------------------------------------------------------------


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


def _source_copy(target: Path) -> Path:
    """What `pip install .` builds from: pyproject, README and every package folder. A copy,
    because setuptools writes build/ into the source folder and would pack stale files from it."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    for folder in sorted(ROOT.iterdir()):
        if (folder / "__init__.py").is_file() and folder.name != "tests":
            shutil.copytree(folder, target / folder.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    source = _source_copy(folder / "source")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--disable-pip-version-check", "-q", "-w", str(folder), str(source)])
    (built,) = folder.glob("attune-*.whl")
    return built


def _wheel_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
    return [Requirement(line.split(":", 1)[1].strip()) for line in text.splitlines()
            if line.startswith("Requires-Dist:")]


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def runtime_closure(requirements: list[Requirement]) -> set[str]:
    """Canonical names of the distributions a plain install of these requirements brings in,
    as installed in the project's environment (extras followed, markers evaluated)."""
    wanted = [(requirement, set()) for requirement in requirements]
    seen: dict[str, set[str]] = {}
    while wanted:
        requirement, extras_of_parent = wanted.pop()
        if not _applies(requirement, extras_of_parent):
            continue
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        for line in metadata.distribution(name).requires or []:
            wanted.append((Requirement(line), seen[name]))
    return set(seen)


def expose_distributions(names: set[str], folder: Path) -> Path:
    """A folder of links to exactly these distributions' files (top-level packages, modules,
    bundled libraries and metadata) in the project's environment."""
    folder.mkdir()
    for name in sorted(names):
        dist = metadata.distribution(name)
        assert dist.files is not None, f"{name} lists no files"
        for top in {Path(str(f)).parts[0] for f in dist.files}:
            if top in ("..", "__pycache__") or (folder / top).exists():
                continue
            (folder / top).symlink_to(Path(dist.locate_file(top)))
    return folder


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    """A new virtual environment with the wheel installed (not editable) and, on its path,
    only the dependencies the wheel declares."""
    folder = tmp_path_factory.mktemp("fresh")
    env_dir = folder / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--no-compile", "--disable-pip-version-check", "-q", str(wheel)])
    site_packages = Path(_run([str(python), "-c", "import sysconfig; "
                               "print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = expose_distributions(runtime_closure(_wheel_requirements(wheel)), folder / "deps")
    (site_packages / "attune-test-dependencies.pth").write_text(f"{deps}\n")
    return env_dir


def clean_env(home: Path, env_dir: Path) -> dict[str, str]:
    """An environment with nothing pointing at the checkout, and per-user folders in `home`."""
    return {
        "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.defpath}",
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "LANG": "C.UTF-8",
    }


# --- the wheel's contents --------------------------------------------------------------------


def test_wheel_holds_the_methods_text_and_every_demo_file(wheel):
    demo_files = {p.relative_to(ROOT).as_posix(): p for p in DEMO_DATA.rglob("*") if p.is_file()}
    assert any(name.endswith(".csv") for name in demo_files)
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("stats/METHODS.md") == METHODS_MD.read_bytes()
        names = set(archive.namelist())
        assert set(demo_files) <= names
        assert all(archive.read(name) == path.read_bytes() for name, path in demo_files.items())


# --- installed, not editable -------------------------------------------------------------------


def test_every_installed_module_imports_from_the_fresh_environment(fresh_venv, wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        modules = sorted(name[:-3].replace("/", ".").removesuffix(".__init__")
                         for name in archive.namelist()
                         if name.endswith(".py") and not name.endswith("/__main__.py"))
    script = ("import importlib, json, sys; "
              "print(json.dumps({m: importlib.import_module(m).__file__ for m in sys.argv[1:]}))")
    done = _run([str(fresh_venv / "bin" / "python"), "-c", script, *modules], cwd=tmp_path,
                env=clean_env(tmp_path, fresh_venv))
    files = json.loads(done.stdout.splitlines()[-1])
    assert "attune" in files and "dashboard.app" in files
    outside = {m: f for m, f in files.items() if not Path(f).is_relative_to(fresh_venv)}
    assert outside == {}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    """Poll until the server answers; fail at once if it exits, or after the deadline."""
    for _ in range(int(SERVER_START_SECONDS / POLL_SECONDS)):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            server.wait(timeout=POLL_SECONDS)  # returns only if the server has exited
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"attune demo exited with {server.returncode}:\n{log.read_text()}")
    pytest.fail(f"attune demo did not answer within {SERVER_START_SECONDS} s:\n{log.read_text()}")


@pytest.mark.browser
def test_attune_demo_from_another_folder_serves_the_methods_text(fresh_venv, tmp_path, page):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    env = clean_env(home, fresh_venv)
    port = _free_port()
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(fresh_venv / "bin" / "attune"), "demo", "--port",
                                   str(port)], cwd=elsewhere, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url + "/", server, log)
        title = next(line[2:].strip() for line in METHODS_MD.read_text().splitlines()
                     if line.startswith("# "))
        page.set_default_timeout(30_000)
        page.goto(url + "/methods")
        try:
            page.get_by_role("heading", level=1, name="Data and methods").wait_for()
            page.get_by_role("heading", name=title).wait_for()
        except PlaywrightTimeout:
            pytest.fail(f"no methods text on the page:\n{page.inner_text('body')}\n"
                        f"server log:\n{log.read_text()}")
        assert "not written yet" not in page.content()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # Built from the packaged demo data into the per-user data directory; nothing elsewhere.
    assert (home / "data" / "attune" / "attune.duckdb").is_file(), log.read_text()
    assert (home / "config" / "attune" / "pseudonym.key").is_file()
    assert list(elsewhere.iterdir()) == []
