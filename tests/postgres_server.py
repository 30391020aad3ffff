"""A throw-away PostgreSQL server for the tests: Debian's ``postgresql`` package, a new
cluster in a temporary folder, on a free port of 127.0.0.1, with a password (so the store is
tested the way it is deployed: a ``postgresql://user:password@host:port/db`` URL).

``PostgresServer().start()`` runs ``initdb`` and ``pg_ctl start -w`` (which polls until the
server accepts connections) as the ``postgres`` user when the tests run as root (initdb
refuses root); ``stop()`` is ``pg_ctl stop -m fast`` and removes the folder. Each test gets
its own schema (``fresh_url``), so no test sees another's rows.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PASSWORD = "throw-away-pg-password"
USER = "postgres"
# Fast and disposable: nothing needs to survive a crash of a test cluster.
SETTINGS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c listen_addresses=127.0.0.1 -c max_connections=200")


def server_binaries() -> Path:
    """The newest installed PostgreSQL's ``bin`` folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL's server is not installed (/usr/lib/postgresql/*/bin/"
                           "initdb); `make test` installs it: apt-get install postgresql")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One cluster: ``start()`` returns the admin URL; ``fresh_url()`` one with a new schema."""

    def __init__(self):
        self.bin = server_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="attune-pg-"))
        self.port = free_port()
        self.url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"
        self._schemas = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as its own user
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self._as_user, *command], cwd=self.folder,
                              capture_output=True, text=True)
        if done.returncode:
            log = self.folder / "server.log"
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr}{done.stdout}"
                               + (log.read_text() if log.exists() else ""))

    def start(self) -> str:
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD + "\n")
        if self._as_user:
            shutil.chown(password_file, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-U", USER,
                  "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync",
                  f"--pwfile={password_file}", "-E", "UTF8")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
                  str(self.folder / "server.log"), "-w", "-t", "60", "-o",
                  f"{SETTINGS} -p {self.port} -k {self.folder}", "start")
        return self.url

    def fresh_url(self) -> str:
        """The URL of a new, empty schema (the store's tables go there, via search_path)."""
        import psycopg

        schema = f"test_{next(self._schemas)}"
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {schema}")  # our own counter: never user input
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "stop",
                      "-m", "fast")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
