"""`attune serve --workers N`: N server processes on one port, with gunicorn.

Why gunicorn: waitress (``--workers 1``) is one process with threads, and one Python process
computes on one core at a time (the interpreter lock), so a second core never helps it.
gunicorn is a pre-fork server: one master process binds the port and starts N worker
processes that all accept on it; the kernel gives each new connection to one of them, the
master restarts a worker that dies, and Ctrl+C (or SIGTERM) stops them all gracefully. Each
worker runs gunicorn's threaded worker (``gthread``: ``threads`` requests at once, as
waitress does), so the parallel callbacks of one page still run side by side.

Each worker builds its own dashboard after the fork (``build``, called once per worker):
its own read-only DuckDB connection and in-memory summaries, its own console process.
Nothing a request needs is kept in one worker: sessions, tokens, lockouts, share links and
the audit trail are in the accounts store every worker opens, and the cookie's signing key
is the one file (or ``$ATTUNE_SECRET_KEY``) every worker reads. So any worker may answer
any request, and a reverse proxy may spread the requests of one browser over several
machines (see the README, "Serving with several workers").

The access log (stdout) names the worker that answered each request (``worker <pid>``) and
only the first part of each path: a share link's token, the rest of its path, never
reaches the log.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

WORKER_BOOT_ERROR = 3  # gunicorn's exit code for a worker that could not start
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms worker %(p)s'


def bind_address(host: str, port: int) -> str:
    """gunicorn's ``host:port`` (an IPv6 address in brackets; empty means every address)."""
    host = host.strip("[]") or "0.0.0.0"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def first_part(path: str) -> str:
    """``/share/1.secret`` -> ``/share/…``: the part of a path the access log keeps."""
    head, sep, rest = (path or "/").lstrip("/").partition("/")
    return f"/{head}/…" if sep and rest else f"/{head}{sep}"


def serve_with_workers(build: Callable[[], Any], host: str, port: int, workers: int,
                       threads: int, announce: Callable[[Any], None]) -> None:
    """Serve ``build()``'s WSGI app from ``workers`` gunicorn processes until stopped;
    ``announce(app)`` runs in the first worker once it is ready. A worker that cannot build
    the app stops the server with a usage error."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    class AccessLog(Logger):
        """gunicorn's logger, with each path cut to its first part (``first_part``)."""

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            atoms["U"] = first_part(environ.get("PATH_INFO", "/"))
            return atoms

    def post_worker_init(worker) -> None:
        if worker.age == 1:
            announce(worker.wsgi)

    settings = {
        "bind": [bind_address(host, port)],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "proc_name": "attune",
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": AccessLog,
        "errorlog": "-",
        "loglevel": "info",
        "control_socket_disable": True,  # no shared control socket in the home directory
        "forwarded_allow_ips": "",  # forwarded headers are $ATTUNE_PROXY_FIX's to trust
        "post_worker_init": post_worker_init,
    }

    class Workers(BaseApplication):
        def load_config(self) -> None:
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self):
            try:
                return build()
            except typer.Exit:  # the reason is printed already (``shared.fail``)
                sys.exit(WORKER_BOOT_ERROR)

    Workers().run()
