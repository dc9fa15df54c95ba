"""Stories on a corpus, through the product: what grouping does to the first page, and how fast a
story page is (``python -m bench stories --corpus DIR``).

1. The corpus' newsfind index (``bench/work/<corpus>``, built untimed when missing, as ``bench
   query`` does) answers every query of the query set (``bench/queries-v1.json``: words, filters,
   sort) twice: one hit per article (``group=none``, what newsfind answered before stories) and
   grouped by story (``group=story``, the search page's default, with provider diversity).
2. For each answer's top 10: the pairs of hits that are the same story (from the index's own
   story assignment) and the number of distinct providers.
3. The stories of those grouped answers are fetched as pages: ``/stories/<id>`` and
   ``/api/stories/<id>`` through the real Flask app (in process), each ``--repeat`` times after
   one warm-up; p50 / p95 / p99 in milliseconds.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from itertools import combinations
from pathlib import Path
from typing import Any

from bench import common, index_bench, parity, queryset


def run(args: Any) -> dict[str, Any]:
    load_before = common.load_average()
    corpus: Path = args.corpus
    work = args.work or common.work_dir(corpus)
    if args.index is None:
        index_bench.ensure_built(corpus, work, ["newsfind"])
    index = args.index or work / "newsfind"
    data = queryset.load(args.queries)
    now = queryset.now_of(data)
    entries = data["queries"][: args.limit] if args.limit else data["queries"]
    from search.whoosh.engine import WhooshEngine

    engine = WhooshEngine(index)
    try:
        first_page, stories = _first_pages(engine, entries, now)
    finally:
        engine.close()
    timings = _story_pages(index, sorted(stories)[: args.stories], args.repeat)
    record = common.base_record("stories-corpus", common.count_label(_documents(corpus)), corpus,
                                load_before)  # fmt: skip
    record.update(queries=len(entries), first_page=first_page, story_pages=timings)
    return record


def _documents(corpus: Path) -> int:
    from bench import peers

    return len(peers.corpus_files(corpus))


def _request(entry: dict[str, Any], now: Any, group: str) -> Any:
    """The entry's request as ``bench parity`` asks it, first page only, grouped by ``group``."""
    return dataclasses.replace(parity.request_of(entry, now), facets=(), group=group)


def _first_pages(engine: Any, entries: list[dict[str, Any]], now: Any) -> tuple[dict, set[str]]:
    from search.whoosh.stories import story_index

    snapshot = engine.snapshot()
    index = story_index(snapshot)

    def story(article_id: str) -> str:
        return index.name(int(index.story[snapshot.doc_of_id[article_id]]))

    result: dict[str, Any] = {}
    seen: set[str] = set()
    for group in ("none", "story"):
        pairs, with_pairs, providers = 0, 0, []
        for entry in entries:
            hits = engine.search(_request(entry, now, group)).hits
            names = [story(hit.article.id) for hit in hits]
            same = sum(a == b for a, b in combinations(names, 2))
            pairs += same
            with_pairs += same > 0
            providers.append(len({hit.article.provider.name for hit in hits}))
            if group == "story":
                seen.update(names)
        result[group] = {
            "same_story_pairs": pairs,
            "queries_with_a_pair": with_pairs,
            "providers_mean": round(statistics.fmean(providers), 2),
            "providers_median": statistics.median(providers),
        }
    return result, seen


def _story_pages(index: Path, story_ids: list[str], repeat: int) -> dict[str, Any]:
    from web import create_app

    client = create_app({"INDEX_DIR": str(index)}).test_client()
    found: dict[str, Any] = {"stories": len(story_ids)}
    for kind, template in (("page", "/stories/{}"), ("api", "/api/stories/{}")):
        times = []
        for number in range(repeat + 1):
            for story_id in story_ids:
                started = time.perf_counter()
                response = client.get(template.format(story_id))
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (story_id, response.status_code)
                if number:
                    times.append(elapsed)
        times.sort()
        found[kind] = {
            "requests": len(times),
            "p50_ms": round(common.percentile(times, 0.5), 2),
            "p95_ms": round(common.percentile(times, 0.95), 2),
            "p99_ms": round(common.percentile(times, 0.99), 2),
        }
    return found


def render(record: dict[str, Any]) -> str:
    first = record["first_page"]
    rows = [
        (f"group={group}", row["same_story_pairs"], row["queries_with_a_pair"],
         row["providers_mean"], row["providers_median"])
        for group, row in first.items()
    ]  # fmt: skip
    lines = [
        common.table(
            (
                f"top 10 of {record['queries']} queries ({record['label']})",
                "same-story pairs",
                "queries with one",
                "providers (mean)",
                "providers (median)",
            ),
            rows,
        ),  # fmt: skip
        "",
    ]
    pages = record["story_pages"]
    lines.append(
        common.table(
            (f"story pages ({pages['stories']} stories)", "requests", "p50 ms", "p95 ms", "p99 ms"),
            [
                (
                    kind,
                    pages[kind]["requests"],
                    pages[kind]["p50_ms"],
                    pages[kind]["p95_ms"],
                    pages[kind]["p99_ms"],
                )
                for kind in ("page", "api")
            ],
        )  # fmt: skip
    )
    lines.append(f"load average {record['machine']['load_average']}")
    return "\n".join(lines)
