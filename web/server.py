"""gunicorn, embedded: ``newsfind serve`` runs the Flask app under a production WSGI server.

Why gunicorn rather than waitress: the engine is CPU-bound Python, so one process (waitress is
threads in a single process) serialises searches on the GIL. gunicorn's pre-fork master runs one
engine per worker process — real parallelism on every core — and replaces a worker that dies or
hangs (``timeout``). Each worker uses the ``gthread`` class, so slow clients and keep-alive
connections do not hold a whole process.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

UNLIMITED_REQUEST_LINE = 0
"""gunicorn's "no limit" (its parser stops at 1 MB): a long URL reaches the app, whose limit
(``MAX_QUERY_STRING_BYTES``, ``web.guard``) answers with the JSON 414 of every API error rather
than gunicorn's own HTML page."""


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def options(host: str, port: int, workers: int, threads: int, access_log: bool) -> dict[str, Any]:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": True,  # the app is light (the engine opens lazily, in each worker)
        "timeout": 60,
        "graceful_timeout": 15,
        "keepalive": 5,
        "limit_request_line": UNLIMITED_REQUEST_LINE,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "newsfind",
        "when_ready": _announce,
    }


def _announce(server: Any) -> None:
    for listener in server.LISTENERS:
        click.echo(f"newsfind is ready: open {listener}/", err=False)


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, settings: dict[str, Any]) -> None:
        self.application = app
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def run(app: Flask, settings: dict[str, Any]) -> None:
    Server(app, settings).run()
