"""HTTP: ``newsfind serve`` on 127.0.0.1 under a bounded concurrent load, also during a reindex.

``python -m bench http --corpus bench/data/c100k [--duration 60] [--connections 32]``

- Starts ``newsfind serve`` (gunicorn, its default workers) on 127.0.0.1 and a free port, on the
  corpus' index in bench/work (built first if missing), and waits for ``/api/health``.
- The load generator is Python threads, one keep-alive ``http.client`` connection each, cycling
  through the query set as ``/api/search`` URLs (top 10 + total + facets, as the page shows).
  It only talks to 127.0.0.1 and stops by itself after ``--duration`` seconds.
- Phase ``steady``: the load alone. Phase ``reindex``: the same load while ``newsfind reindex
  --full`` rebuilds the index the server reads (the load runs at least ``--duration`` seconds
  and until the reindex has finished, at most ``--max-seconds``). Errors must stay 0: any
  answer other than 200 or a failed connection counts.
- Reported per phase: requests/s, latency p50/p95/p99, errors, and the server's memory (RSS of
  the gunicorn master plus its workers) before and after.
- ``--page``: load the HTML search page (``/?q=…``) rather than ``/api/search``. ``--repo DIR``:
  serve another checkout's code (its ``.venv``) on its own index, for a baseline in the same
  run: ``--repo ../main --index DIR --no-reindex``.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from bench import common, http_client, index_bench, queryset
from bench.http_client import HOST


def add_arguments(parser: Any) -> None:
    parser.add_argument("--corpus", type=Path, help="a folder of seed files (index in work)")
    parser.add_argument("--index", type=Path, help="a newsfind index folder")
    parser.add_argument("--seeds", type=Path, help="seeds for the reindex phase")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, help="server workers (default: newsfind's)")
    parser.add_argument("--threads", type=int, help="threads per server worker")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="cap of a phase")
    parser.add_argument("--no-reindex", dest="reindex", action="store_false")
    parser.add_argument("--queries", type=Path, default=queryset.QUERIES_FILE)
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--page", action="store_true", help="the HTML search page, not the API")
    parser.add_argument("--repo", type=Path, help="serve this checkout's code (its .venv)")
    parser.add_argument("--no-record", dest="results", action="store_const", const=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def search_paths(queries: list[dict[str, Any]], page: bool = False) -> list[str]:
    """``/api/search?...`` (``page``: ``/?...``) for each query (until as a date-time: an
    exclusive end)."""
    paths = []
    for entry in queries:
        params: list[tuple[str, str]] = [("q", entry["q"])]
        params += [("topic", topic) for topic in entry.get("topics", ())]
        params += [("provider", provider) for provider in entry.get("providers", ())]
        if entry.get("since"):
            params.append(("since", entry["since"]))
        if entry.get("until"):
            params.append(("until", f"{entry['until']}T00:00:00Z"))
        if entry.get("range"):
            params.append(("range", entry["range"]))
        if entry["sort"] != "relevance":
            params.append(("sort", entry["sort"]))
        paths.append(("/?" if page else "/api/search?") + urllib.parse.urlencode(params))
    return paths


class Server:
    """``newsfind serve`` in its own process group, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(
        self,
        index: Path,
        seeds: Path,
        port: int,
        args: Any,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        repo = getattr(args, "repo", None)
        command = [
            str(repo / ".venv" / "bin" / "python") if repo else sys.executable,
            "-c",
            "import sys; from web.cli import main; sys.exit(main())",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--index-dir",
            str(index),
            "--seeds-dir",
            str(seeds),
        ]
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        self.port = port
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=repo or common.ROOT,
            env={**_env(repo), **(env or {})},  # e.g. NEWSFIND_ENGINE=typesense
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"http: newsfind serve exited with {self.process.returncode}")
            try:
                if http_client.get_once(self.port, "/api/health", timeout=5)[0] == 200:
                    return
            except http_client.FAILURES:
                pass
            time.sleep(0.25)
        raise SystemExit("http: newsfind serve did not answer /api/health in time")

    def rss_mb(self) -> float:
        return round(common.tree_rss(self.process.pid) / 2**20, 1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def _env(root: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    first = str(root or common.ROOT)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [first, env.get("PYTHONPATH")]))
    return env


class Load:
    """``connections`` threads hammering the server until ``stop`` is set."""

    def __init__(self, port: int, paths: list[str], connections: int) -> None:
        self.port = port
        self.paths = paths
        self.connections = connections
        self.next_path = itertools.cycle(range(len(paths)))
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.stop = threading.Event()

    def _path(self) -> str:
        with self.lock:
            return self.paths[next(self.next_path)]

    def _worker(self) -> None:
        latencies: list[float] = []  # kept per thread, merged at the end: no lock per request
        errors: Counter[str] = Counter()

        def record(path: str, milliseconds: float, error: str | None) -> None:
            if error is not None:
                errors[error] += 1
            if error is None or error.startswith("HTTP "):  # a failed request has no latency
                latencies.append(milliseconds)

        http_client.get_loop(self.port, self._path, record, self.stop)
        with self.lock:
            self.latencies.extend(latencies)
            self.errors.update(errors)

    def run(self, seconds: float, until: Any = None, cap: float | None = None) -> dict[str, Any]:
        """Run for ``seconds``; with ``until`` (a callable), also until it returns True."""
        threads = [
            threading.Thread(target=self._worker, daemon=True) for _ in range(self.connections)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        limit = cap if cap is not None else seconds
        while True:
            elapsed = time.perf_counter() - started
            if elapsed >= limit or (elapsed >= seconds and (until is None or until())):
                break
            time.sleep(0.1)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.perf_counter() - started
        values = sorted(self.latencies)
        return {
            "seconds": round(elapsed, 2),
            "connections": self.connections,
            "requests": len(values),
            "requests_per_second": round(len(values) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(common.percentile(values, 0.50), 1),
            "p95_ms": round(common.percentile(values, 0.95), 1),
            "p99_ms": round(common.percentile(values, 0.99), 1),
            "max_ms": round(values[-1], 1) if values else 0.0,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
        }


def main(args: Any) -> int:
    if args.corpus is None and args.index is None:
        raise SystemExit("http: give --corpus DIR or --index DIR")
    load_before = common.load_average()
    work = args.work or (common.work_dir(args.corpus) if args.corpus else None)
    if args.corpus is not None and args.index is None:
        assert work is not None
        index_bench.ensure_built(args.corpus, work, ["newsfind"])
    index = args.index or work / "newsfind"  # type: ignore[operator]
    seeds = args.seeds
    if seeds is None and work is not None:
        seeds = work / "seeds" if (work / "seeds").is_dir() else args.corpus
    if seeds is None and args.reindex:
        raise SystemExit("http: the reindex phase needs --seeds (or --corpus)")
    paths = search_paths(queryset.load(args.queries)["queries"], page=args.page)
    port = free_port()
    log = Path(work or index) / "serve.log"
    # a SIGTERM (timeout, Ctrl+C's cousin) must still stop the server: make it an exception
    previous_handler = signal.signal(signal.SIGTERM, _terminate)
    server = Server(index, seeds or index, port, args, log)
    phases: dict[str, Any] = {}
    try:
        server.wait_ready()
        Load(port, paths[:5], 1).run(2.0)  # warm every worker's engine before measuring
        phases["steady"] = phase(server, Load(port, paths, args.connections), args.duration)
        if args.reindex:
            phases["reindex"] = reindex_phase(server, port, paths, args, index, seeds)
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous_handler)
    documents = len(list(Path(seeds).rglob("*.txt"))) if seeds else 0
    label = common.count_label(documents) if documents else "index"
    record = common.base_record("http", label, args.corpus, load_before)
    record.update(documents=documents, queries=len(paths), phases=phases, server_log=str(log))
    print(render(record))
    path = common.write_record("http", record, args.results)
    if path:
        print(f"\nrecord: {path}")
    failed = sum(p["errors"] for p in phases.values())
    return 1 if failed else 0


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(f"http: stopped by signal {signum}")


def phase(server: Server, load: Load, seconds: float, **options: Any) -> dict[str, Any]:
    before = server.rss_mb()
    result = load.run(seconds, **options)
    result["server_rss_mb_before"] = before
    result["server_rss_mb_after"] = server.rss_mb()
    return result


def reindex_phase(
    server: Server, port: int, paths: list[str], args: Any, index: Path, seeds: Path
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "search.cli",
        "reindex",
        "--full",
        "--quiet",
        "--seeds-dir",
        str(seeds),
        "--index-dir",
        str(index),
    ]
    started = time.perf_counter()
    reindexer = subprocess.Popen(
        command, cwd=common.ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    finished: dict[str, float] = {}

    def done() -> bool:
        if reindexer.poll() is None:
            return False
        finished.setdefault("at", time.perf_counter() - started)
        return True

    try:
        result = phase(
            server,
            Load(port, paths, args.connections),
            args.duration,
            until=done,
            cap=args.max_seconds,
        )
    finally:
        if reindexer.poll() is None:
            reindexer.kill()
        _, stderr = reindexer.communicate()
    result["reindex_exit_code"] = reindexer.returncode
    result["reindex_seconds"] = round(finished.get("at", time.perf_counter() - started), 1)
    if reindexer.returncode not in (0, 3):
        result["reindex_error"] = stderr.decode(errors="replace")[-500:]
    return result


def phase_rows(record: dict[str, Any]) -> list[list[Any]]:
    """One row per phase: requests, req/s, p50/p95/p99 ms, errors, server RSS before/after."""
    return [
        [
            name,
            p["requests"],
            p["requests_per_second"],
            p["p50_ms"],
            p["p95_ms"],
            p["p99_ms"],
            p["errors"],
            p["server_rss_mb_before"],
            p["server_rss_mb_after"],
        ]
        for name, p in record["phases"].items()
    ]


def render(record: dict[str, Any]) -> str:
    rows = phase_rows(record)
    headers = (
        f"http {record['label']} ({next(iter(record['phases'].values()))['connections']} conns)"
        if record["phases"]
        else "http",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "RSS MB before",
        "RSS MB after",
    )
    text = common.table(headers, rows)
    reindex = record["phases"].get("reindex")
    if reindex:
        text += (
            f"\nfull reindex during the load: {reindex['reindex_seconds']} s, "
            f"exit code {reindex['reindex_exit_code']}"
        )
        if reindex.get("error_kinds"):
            text += f"; errors: {reindex['error_kinds']}"
    return text
