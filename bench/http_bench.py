"""HTTP: ``newsfind serve`` on 127.0.0.1, one client at a time and under a bounded concurrent
load, also during and right after a reindex; Datasette on the same articles beside it.

``python -m bench http --corpus bench/data/c100k [--mode both] [--peers datasette]
[--duration 60] [--connections 32]``

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
  the gunicorn master plus its workers, and their PSS: shared pages counted once) before and
  after.
- ``--mode latency`` (or ``both``, the default): one client, sequential requests over one
  keep-alive connection, the request kinds alternating query by query — newsfind
  ``/api/search`` as the page asks it (all facets, histogram, highlights) and, with ``--peers
  datasette`` (``bench.datasette_peer``), Datasette's ranked SQL (top 10 + total + provider
  facet in one canned query) and its table view (``_search`` + ``_facet``). One untimed pass
  warms every kind, then ``--passes`` timed passes. newsfind's own ``took_ms`` is kept beside
  the HTTP time. Datasette then gets the same 32-connection load on its ranked SQL.
- Phase ``after reindex`` (with the reindex): the first ``--first`` queries of the set asked
  warm, one client, then a full reindex with no load, then the same queries again as soon as it
  has finished: the first queries a new generation answers, against the warm ones.
- ``--page``: load the HTML search page (``/?q=…``) rather than ``/api/search``. ``--repo DIR``:
  serve another checkout's code (its ``.venv``) on its own index, for a baseline in the same
  run: ``--repo ../main --index DIR --no-reindex``; its reindexes (with the reindex phases)
  run that checkout's code too.
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

from bench import common, datasette_peer, http_client, index_bench, queryset
from bench.http_client import HOST

MODES = ("latency", "throughput", "both")


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
    parser.add_argument("--mode", choices=MODES, default="both")
    parser.add_argument("--peers", default="datasette", help="'datasette' or '' (none)")
    parser.add_argument("--passes", type=int, default=2, help="timed passes in latency mode")
    parser.add_argument("--first", type=int, default=50, help="queries after the reindex")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="a query string added to every newsfind request, as one more latency kind "
        "(e.g. 'fields=id,title&highlights=none')",
    )
    parser.add_argument("--queries", type=Path, default=queryset.QUERIES_FILE)
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--page", action="store_true", help="the HTML search page, not the API")
    parser.add_argument("--repo", type=Path, help="serve this checkout's code (its .venv)")
    parser.add_argument(
        "--search-mode", help="the mode parameter of every search (keyword, hybrid, semantic)"
    )
    parser.add_argument("--no-record", dest="results", action="store_const", const=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def search_paths(
    queries: list[dict[str, Any]], page: bool = False, search_mode: str | None = None
) -> list[str]:
    """``/api/search?...`` (``page``: ``/?...``) for each query (until as a date-time: an
    exclusive end; ``search_mode``: the ``mode`` parameter, else the server's default)."""
    paths = []
    for entry in queries:
        params: list[tuple[str, str]] = [("q", entry["q"])]
        params += [("mode", search_mode)] if search_mode else []
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


class Server(http_client.ServedProcess):
    """``newsfind serve`` in its own process group, stopped (SIGTERM, then SIGKILL) on exit."""

    ready_path = "/api/health"
    label = "newsfind serve"

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
    peers = [name for name in args.peers.split(",") if name]
    if peers and args.corpus is None:
        raise SystemExit("http: the Datasette peer needs --corpus")
    if args.corpus is not None and args.index is None:
        assert work is not None
        index_bench.ensure_built(args.corpus, work, ["newsfind", *peers])
    elif peers:
        assert work is not None
        index_bench.ensure_built(args.corpus, work, peers)
    index = args.index or work / "newsfind"  # type: ignore[operator]
    seeds = args.seeds
    if seeds is None and work is not None:
        seeds = work / "seeds" if (work / "seeds").is_dir() else args.corpus
    if seeds is None and args.reindex:
        raise SystemExit("http: the reindex phase needs --seeds (or --corpus)")
    entries = queryset.load(args.queries)["queries"]
    paths = search_paths(entries, page=args.page, search_mode=args.search_mode)
    port = free_port()
    log = Path(work or index) / "serve.log"
    # a SIGTERM (timeout, Ctrl+C's cousin) must still stop the server: make it an exception
    previous_handler = signal.signal(signal.SIGTERM, _terminate)
    server = Server(index, seeds or index, port, args, log)
    peer = None
    phases: dict[str, Any] = {}
    latency: dict[str, Any] = {}
    try:
        if "datasette" in peers:
            assert work is not None
            peer = datasette_peer.Server(work / "news.db", free_port(), work / "datasette.log")
        server.wait_ready()
        if peer is not None:
            peer.wait_ready()
        Load(port, paths[:5], 1).run(2.0)  # warm every worker's engine before measuring
        if args.mode in ("latency", "both"):
            kinds = latency_kinds(port, paths, entries, peer, args.extra)
            latency = measure_latency(kinds, args.passes)
        if args.mode in ("throughput", "both"):
            phases["steady"] = phase(server, Load(port, paths, args.connections), args.duration)
            if peer is not None:
                ranked = [datasette_peer.ranked_path(entry, _now()) for entry in entries]
                phases["datasette ranked SQL"] = phase(
                    peer, Load(peer.port, ranked, args.connections), args.duration
                )
            if args.reindex:
                phases["reindex"] = reindex_phase(server, port, paths, args, index, seeds)
        if args.reindex:
            phases["after reindex"] = after_reindex(
                server, port, paths[: args.first], index, seeds, args.repo
            )
    finally:
        server.stop()
        if peer is not None:
            peer.stop()
        signal.signal(signal.SIGTERM, previous_handler)
    documents = len(list(Path(seeds).rglob("*.txt"))) if seeds else 0
    label = common.count_label(documents) if documents else "index"
    record = common.base_record("http", label, args.corpus, load_before)
    record.update(
        documents=documents,
        queries=len(paths),
        mode=args.mode,
        repo=str(args.repo) if args.repo else None,  # the code served, when not this checkout's
        search_mode=args.search_mode or "the server's default",
        latency=latency,
        phases=phases,
        server_log=str(log),
    )
    print(render(record))
    path = common.write_record("http", record, args.results)
    if path:
        print(f"\nrecord: {path}")
    failed = sum(p["errors"] for p in phases.values()) + sum(k["errors"] for k in latency.values())
    return 1 if failed else 0


def _now() -> Any:
    """The clock newsfind's server uses for relative ranges (its own): now."""
    import datetime as dt

    return dt.datetime.now(dt.UTC)


# -- one client at a time ------------------------------------------------------------------------


def latency_kinds(
    port: int,
    paths: list[str],
    entries: list[dict[str, Any]],
    peer: datasette_peer.Server | None,
    extra: list[str],
) -> dict[str, tuple[int, list[str]]]:
    """Request kind → (port, one path per query)."""
    kinds: dict[str, tuple[int, list[str]]] = {"newsfind /api/search": (port, paths)}
    for query in extra:
        kinds[f"newsfind ?{query}"] = (port, [f"{path}&{query}" for path in paths])
    if peer is not None:
        now = _now()
        kinds["datasette ranked SQL"] = (
            peer.port,
            [datasette_peer.ranked_path(entry, now) for entry in entries],
        )
        kinds["datasette table view"] = (
            peer.port,
            [datasette_peer.table_path(entry, now) for entry in entries],
        )
    return kinds


def measure_latency(kinds: dict[str, tuple[int, list[str]]], passes: int) -> dict[str, Any]:
    """Sequential requests, one client per kind (keep-alive), the kinds alternating query by
    query; an untimed warm-up pass first."""
    clients = {name: http_client.KeepAlive(port) for name, (port, _) in kinds.items()}
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    took: dict[str, list[float]] = {name: [] for name in kinds}
    sizes: dict[str, list[int]] = {name: [] for name in kinds}
    errors: Counter[str] = Counter()
    timeouts: Counter[str] = Counter()
    count = len(next(iter(kinds.values()))[1])
    try:
        for number in range(passes + 1):
            for index in range(count):
                for name, (_, kind_paths) in kinds.items():
                    started = time.perf_counter()
                    try:
                        status, body = clients[name].get(kind_paths[index])
                    except http_client.FAILURES:
                        errors[name] += 1
                        continue
                    elapsed = (time.perf_counter() - started) * 1000
                    if status != 200:
                        errors[name] += 1
                        continue
                    if number == 0:
                        continue
                    samples[name].append(elapsed)
                    sizes[name].append(len(body))
                    _inspect(name, body, took[name], timeouts)
    finally:
        for client in clients.values():
            client.close()
    result: dict[str, Any] = {}
    for name, values in samples.items():
        ordered = sorted(values)
        row: dict[str, Any] = {
            "requests": len(ordered),
            "p50_ms": round(common.percentile(ordered, 0.50), 2),
            "p95_ms": round(common.percentile(ordered, 0.95), 2),
            "p99_ms": round(common.percentile(ordered, 0.99), 2),
            "mean_ms": round(sum(ordered) / len(ordered), 2) if ordered else 0.0,
            "mean_bytes": round(sum(sizes[name]) / len(sizes[name])) if sizes[name] else 0,
            "errors": errors[name],
        }
        if took[name]:
            engine = sorted(took[name])
            row["engine_p50_ms"] = round(common.percentile(engine, 0.50), 2)
            row["engine_p95_ms"] = round(common.percentile(engine, 0.95), 2)
        if timeouts[name]:
            row["facets_timed_out"] = timeouts[name]
        result[name] = row
    return result


def _inspect(name: str, body: bytes, took: list[float], timeouts: Counter[str]) -> None:
    """newsfind's own time; Datasette's facets that hit its time limit."""
    import json

    if name.startswith("newsfind"):
        value = json.loads(body).get("took_ms")
        if value is not None:
            took.append(float(value))
    elif name == "datasette table view" and json.loads(body).get("facets_timed_out"):
        timeouts[name] += 1


def after_reindex(
    server: Server, port: int, paths: list[str], index: Path, seeds: Path, repo: Path | None
) -> dict[str, Any]:
    """The first queries after a full reindex (no other load) against the same queries warm."""
    client = http_client.KeepAlive(port)
    rss_before = server.rss_mb()
    try:
        for path in paths:  # warm them on the live generation, then time them warm
            client.get(path)
        warm = _timed(client, paths)
        before = _generation(client)
        started = time.perf_counter()
        code = subprocess.run(
            _reindex_command(seeds, index, repo), cwd=repo or common.ROOT, env=_env(repo)
        ).returncode
        seconds = time.perf_counter() - started
        first = _timed(client, paths)
        after = _generation(client)
    finally:
        client.close()
    ratio = first["p50_ms"] / warm["p50_ms"] if warm["p50_ms"] else 0.0
    return {
        "connections": 1,
        "requests": first["requests"],
        "requests_per_second": 0.0,
        "p50_ms": first["p50_ms"],
        "p95_ms": first["p95_ms"],
        "p99_ms": first["max_ms"],
        "errors": first["errors"],
        "warm": warm,
        "first": first,
        "p50_ratio": round(ratio, 2),
        "mean_ratio": round(first["mean_ms"] / warm["mean_ms"], 2) if warm["mean_ms"] else 0.0,
        "generation_changed": before != after,
        "reindex_exit_code": code,
        "reindex_seconds": round(seconds, 1),
        "server_rss_mb_before": rss_before,
        "server_rss_mb_after": server.rss_mb(),
    }


def _timed(client: http_client.KeepAlive, paths: list[str]) -> dict[str, Any]:
    values: list[float] = []
    errors = 0
    for path in paths:
        started = time.perf_counter()
        try:
            status, _ = client.get(path)
        except http_client.FAILURES:
            errors += 1
            continue
        values.append((time.perf_counter() - started) * 1000)
        errors += status != 200
    ordered = sorted(values)
    return {
        "requests": len(values),
        "p50_ms": round(common.percentile(ordered, 0.50), 2),
        "p95_ms": round(common.percentile(ordered, 0.95), 2),
        "max_ms": round(ordered[-1], 2) if ordered else 0.0,
        "mean_ms": round(sum(values) / len(values), 2) if values else 0.0,
        "errors": errors,
    }


def _generation(client: http_client.KeepAlive) -> str:
    import json

    status, body = client.get("/api/health")
    return str(json.loads(body).get("generation")) if status == 200 else ""


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(f"http: stopped by signal {signum}")


def phase(server: Any, load: Load, seconds: float, **options: Any) -> dict[str, Any]:
    before = server.rss_mb()
    result = load.run(seconds, **options)
    result["server_rss_mb_before"] = before
    result["server_rss_mb_after"] = server.rss_mb()
    result["server_pss_mb_after"] = server.pss_mb()
    return result


def reindex_phase(
    server: Server, port: int, paths: list[str], args: Any, index: Path, seeds: Path
) -> dict[str, Any]:
    command = _reindex_command(seeds, index, args.repo)
    started = time.perf_counter()
    reindexer = subprocess.Popen(
        command,
        cwd=args.repo or common.ROOT,
        env=_env(args.repo),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
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


def _reindex_command(seeds: Path, index: Path, repo: Path | None) -> list[str]:
    """A full reindex by this checkout's code, or by ``repo``'s (``--repo``: its .venv)."""
    return [
        str(repo / ".venv" / "bin" / "python") if repo else sys.executable,
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
            p.get("server_pss_mb_after"),
        ]
        for name, p in record["phases"].items()
    ]


def latency_rows(record: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            name,
            k["requests"],
            k["p50_ms"],
            k["p95_ms"],
            k["p99_ms"],
            k["mean_ms"],
            k.get("engine_p50_ms"),
            k.get("engine_p95_ms"),
            k["mean_bytes"],
            k["errors"],
        ]
        for name, k in record.get("latency", {}).items()
    ]


def render(record: dict[str, Any]) -> str:
    text = ""
    if record.get("latency"):
        text = common.table(
            (
                f"http {record['label']}, one client",
                "requests",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "mean ms",
                "engine p50",
                "engine p95",
                "bytes",
                "errors",
            ),
            latency_rows(record),
        )
        if not record["phases"]:
            return text
        text += "\n\n"
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
        "PSS MB after",
    )
    text += common.table(headers, rows)
    after = record["phases"].get("after reindex")
    if after:
        text += (
            f"\nfirst {after['first']['requests']} queries after a full reindex: p50 "
            f"{after['first']['p50_ms']} ms, mean {after['first']['mean_ms']} ms, max "
            f"{after['first']['max_ms']} ms; warm p50 {after['warm']['p50_ms']} ms, mean "
            f"{after['warm']['mean_ms']} ms (×{after['p50_ratio']} p50, ×{after['mean_ratio']} "
            f"mean; generation changed: {after['generation_changed']})"
        )
    reindex = record["phases"].get("reindex")
    if reindex:
        text += (
            f"\nfull reindex during the load: {reindex['reindex_seconds']} s, "
            f"exit code {reindex['reindex_exit_code']}"
        )
        if reindex.get("error_kinds"):
            text += f"; errors: {reindex['error_kinds']}"
    return text
