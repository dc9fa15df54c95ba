"""The Typesense engine beside the Whoosh engine: indexing docs/s and the query set's latency.

    python -m bench.typesense_bench CORPUS [--nodes 1] [--whoosh-index DIR] [--repeat 1]

Starts a local Typesense (``search.typesense_dev``) in a temporary folder, reindexes ``CORPUS``
into it (the same parser, ``search.typesense_engine.reindex``), then runs every query of
``bench/queries-v1.json`` the Typesense mapping accepts through it (and through the Whoosh engine
when ``--whoosh-index`` names a built index of the same corpus): one request = top 10 + total +
topic, provider, type facets, date histogram and range counts, as newsfind's page asks.
Prints p50 / p95 per engine and how many totals agree. One process, sequential requests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from search.models import RequestError, SearchRequest

QUERIES = Path(__file__).resolve().parent / "queries-v1.json"


def requests_from_queryset() -> list[SearchRequest]:
    data = json.loads(QUERIES.read_text(encoding="utf-8"))
    now = dt.datetime.fromisoformat(data["now"].replace("Z", "+00:00"))
    built = []
    for query in data["queries"]:

        def day(text: str | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC) if text else None

        built.append(
            SearchRequest(
                q=query["q"],
                topics=tuple(query.get("topics", ())),
                providers=tuple(query.get("providers", ())),
                since=day(query.get("since")),
                until=day(query.get("until")),
                range=query.get("range"),
                sort=query.get("sort", "relevance"),
                now=now,
            )
        )
    return built


def timed(
    engine: Any, requests: list[SearchRequest], repeat: int
) -> tuple[list[float], dict[int, int]]:
    times: list[float] = []
    totals: dict[int, int] = {}
    for _ in range(repeat):
        for index, request in enumerate(requests):
            started = time.perf_counter()
            try:
                totals[index] = engine.search(request).total
            except RequestError:
                continue
            times.append((time.perf_counter() - started) * 1000)
    return times, totals


def percentiles(times: list[float]) -> str:
    if not times:
        return "n/a"
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):.1f} ms  p95 {p95:.1f} ms  ({len(ordered)} requests)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--nodes", type=int, choices=(1, 3), default=1)
    parser.add_argument("--whoosh-index", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from search import typesense_engine as ts
    from search.typesense_dev import LocalCluster

    requests = requests_from_queryset()
    with tempfile.TemporaryDirectory() as tmp, LocalCluster.create(tmp, args.nodes) as cluster:
        settings = ts.TypesenseSettings(tuple(cluster.urls), cluster.api_key, "bench")
        report = ts.reindex(
            args.corpus, settings, workers=args.workers, lock_dir=Path(tmp) / "lock"
        )
        print(
            f"typesense ({args.nodes} node): indexed {report.documents} docs in "
            f"{report.seconds:.1f} s = {report.docs_per_second:.0f} docs/s"
        )
        engine = ts.TypesenseEngine(settings)
        timed(engine, requests[:20], 1)  # warm up
        ts_times, ts_totals = timed(engine, requests, args.repeat)
        print(f"typesense: {percentiles(ts_times)}; {len(requests) - len(ts_totals)} refused")
        if args.whoosh_index:
            from search.engine import WhooshEngine

            whoosh = WhooshEngine(args.whoosh_index)
            timed(whoosh, requests[:20], 1)
            wh_times, wh_totals = timed(
                whoosh, [r for i, r in enumerate(requests) if i in ts_totals], args.repeat
            )
            print(f"whoosh:    {percentiles(wh_times)}")
            asked = [i for i in ts_totals]
            agree = sum(1 for k, i in enumerate(asked) if wh_totals.get(k) == ts_totals[i])
            print(f"totals equal on {agree} of {len(asked)} queries")


if __name__ == "__main__":
    main()
