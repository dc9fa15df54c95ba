"""HTTP GETs to ``newsfind serve`` on 127.0.0.1: one keep-alive client and one request loop,
shared by the load generators (``bench.http_bench``, ``bench.soak``) and their start-up probes.

Only 127.0.0.1 is ever asked; every loop runs until its ``stop`` event is set.
"""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from collections.abc import Callable

from . import common

HOST = "127.0.0.1"
FAILURES = (OSError, http.client.HTTPException)
"""What a request to a server that is down, restarting or dropping the connection raises."""


class KeepAlive:
    """One keep-alive connection to 127.0.0.1:``port``, opened when needed and opened again after
    a failed request or an answer that closes it (``Connection: close``)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        """The status and body of ``GET path``; raises one of ``FAILURES``."""
        if self._connection is None:
            self._connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            self._connection.request("GET", path)
            response = self._connection.getresponse()
            body = response.read()
        except FAILURES:
            self.close()
            raise
        if response.getheader("connection", "").lower() == "close":
            self.close()
        return response.status, body

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


Recorder = Callable[[str, float, "str | None"], None]
"""Called after each request with its path, its milliseconds and its error: None for a 200,
``HTTP <status>`` for another answer, the exception's name for a failed request."""


def get_loop(
    port: int,
    next_path: Callable[[], str],
    record: Recorder,
    stop: threading.Event,
    think: float = 0.0,
) -> None:
    """GET ``next_path()`` over one keep-alive connection until ``stop`` is set, waiting ``think``
    seconds between requests."""
    client = KeepAlive(port)
    try:
        while not stop.is_set():
            path = next_path()
            started = time.perf_counter()
            error = None
            try:
                status, _ = client.get(path)
                if status != 200:
                    error = f"HTTP {status}"
            except FAILURES as exc:
                error = type(exc).__name__
            record(path, (time.perf_counter() - started) * 1000, error)
            if think:
                stop.wait(think)
    finally:
        client.close()


def get_once(port: int, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
    """``GET path`` on a connection of its own; raises one of ``FAILURES``."""
    client = KeepAlive(port, timeout)
    try:
        return client.get(path)
    finally:
        client.close()


class ServedProcess:
    """A server this bench started (``process``, listening on ``port``): waiting for it, and
    its memory. Subclasses name the path that answers 200 once it is ready."""

    process: subprocess.Popen[bytes]
    port: int
    ready_path = "/"
    label = "server"

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"http: {self.label} exited with {self.process.returncode}")
            try:
                if get_once(self.port, self.ready_path, timeout=5)[0] == 200:
                    return
            except FAILURES:
                pass
            time.sleep(0.25)
        raise SystemExit(f"http: {self.label} did not answer {self.ready_path} in time")

    def rss_mb(self) -> float:
        return round(common.tree_rss(self.process.pid) / 2**20, 1)

    def pss_mb(self) -> float:
        return round(common.tree_rss(self.process.pid, pss=True) / 2**20, 1)
