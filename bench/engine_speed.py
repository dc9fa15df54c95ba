"""Latency of ``WhooshEngine.search`` on a built index: a small mixed query set, p50 / p95.

    python bench/engine_speed.py --index bench/work/corpus/newsfind [--repeat 5]

One request = top 10 + exact total + topic, provider and date facets (what the search page
asks for), over published articles. The set mixes rare and common words, two and three words,
phrases, operators, filters, and relevance and date sorts. The first pass runs on a fresh engine
(``cold``: posting lists read from the index files); the timed passes follow (``warm``: posting
arrays cached, as on a server that has been up for a while). ``bench/query_bench.py`` is the
complete benchmark, side by side with SQLite FTS5 and tantivy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search.contract import SearchRequest  # noqa: E402
from search.whoosh.engine import WhooshEngine  # noqa: E402

NOW = dt.datetime(2022, 7, 12, tzinfo=dt.UTC)
FACETS = ("topic", "provider", "date")

QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("rare", "molasses", {}),
    ("rare", "rotavirus", {}),
    ("rare", "tungsten", {}),
    ("rare", "sunflowerseed", {}),
    ("common", "said", {}),
    ("common", "year", {}),
    ("common", "oil", {}),
    ("common", "market", {}),
    ("two words", "interest rates", {}),
    ("two words", "oil prices", {}),
    ("two words", "trade deficit", {}),
    ("two words", "stock market", {}),
    ("three words", "bank interest rates", {}),
    ("three words", "crude oil prices", {}),
    ("three words", "federal reserve policy", {}),
    ("phrase", '"interest rates"', {}),
    ("phrase", '"trade deficit"', {}),
    ("phrase", '"oil prices"', {}),
    ("operators", "oil -crude", {}),
    ("operators", "gold OR silver", {}),
    ("operators", "econom*", {}),
    ("operators", "title:wheat", {}),
    ("filtered", "said", {"topics": ("USA",)}),
    ("filtered", "oil prices", {"providers": ("Reuters",)}),
    ("filtered", "market", {"topics": ("Business", "World")}),
    ("filtered", "", {"range": "1y"}),
    ("date sort", "said", {"sort": "newest"}),
    ("date sort", "interest rates", {"sort": "newest"}),
    ("date sort", "", {"sort": "newest", "topics": ("Sports",)}),
    ("browse", "", {}),
]


def request(q: str, options: dict[str, Any]) -> SearchRequest:
    return SearchRequest(q=q, per_page=10, facets=FACETS, now=NOW, **options)


def timed(engine: WhooshEngine, req: SearchRequest) -> tuple[float, float]:
    """Wall-clock and CPU (this thread) milliseconds of one request."""
    started, cpu = time.perf_counter(), time.thread_time()
    engine.search(req)
    return (time.perf_counter() - started) * 1000.0, (time.thread_time() - cpu) * 1000.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="a newsfind index folder")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the set")
    args = parser.parse_args()

    started = time.perf_counter()
    engine = WhooshEngine(args.index)
    opened = time.perf_counter() - started
    requests = [(category, request(q, options)) for category, q, options in QUERIES]
    cold = [timed(engine, req) for _, req in requests]
    warm: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.repeat):
        for category, req in requests:
            warm.setdefault(category, []).append(timed(engine, req))
    docs = int(engine.info().doc_count)

    print(f"index {args.index}: {docs} visible articles; snapshot built in {opened * 1000:.0f} ms")
    print("wall-clock ms (and CPU ms of the request's thread, less sensitive to a busy machine)")
    print(f"{'queries':<14}{'n':>5}{'p50':>9}{'p95':>9}{'max':>9}{'cpu p50':>9}{'cpu p95':>9}")
    everything: list[tuple[float, float]] = []
    for category, values in warm.items():
        everything += values
        print(_row(category, values))
    print(_row("all (warm)", everything))
    print(_row("all (cold)", cold))
    entries, size = engine.snapshot().cache_size()
    print(f"clause cache: {entries} entries, {size / 1e6:.1f} MB")


def _row(label: str, values: list[tuple[float, float]]) -> str:
    wall = [w for w, _ in values]
    cpu = [c for _, c in values]
    return (
        f"{label:<14}{len(values):>5}{statistics.median(wall):>9.2f}"
        f"{percentile(wall, 0.95):>9.2f}{max(wall):>9.2f}"
        f"{statistics.median(cpu):>9.2f}{percentile(cpu, 0.95):>9.2f}"
    )


if __name__ == "__main__":
    main()
