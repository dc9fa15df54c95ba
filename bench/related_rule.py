"""The related-title rule, measured: no hit matching only through its related coverage's titles
may rank above an article matching the query in its own text.

    python -m bench related [--corpus ../shared/corpus] [--queries bench/queries-v1.json]
        [--index DIR] [--group none|story] [--out FILE]

Builds (or reuses) a Whoosh index of the corpus, runs every query of the set as the page does
(top 10), and decides for each hit, independently of the engine's ordering, whether the query
matches its own title, excerpt, body, topics or source (``highlight.Marks.own_match`` on the
stored article and its body). A **violation** is a top-10 hit matching only through related
titles while an own-text match is ranked lower (looked for down to rank ``DEPTH``). Target: 0.
Exit status 1 when there is any. ``--group story`` asks as the search page does by default: the
hits are then stories' entries, ranked among stories.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import queryset
from bench.parity import request_of

DEPTH = 1_000
"""Ranks searched for an own-text match below a related-only hit (a bound; pages of 100)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--queries", type=Path, default=queryset.QUERIES_FILE)
    parser.add_argument("--index", type=Path, default=None, help="reuse a built Whoosh index")
    parser.add_argument("--group", choices=("none", "story"), default="none")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")


def violations(
    engine: Any, entry: dict[str, Any], now: Any, group: str = "none"
) -> tuple[int, int]:
    """``(violations, related-only hits)`` in the top 10 of one query."""
    from search import highlight, query

    request = replace(request_of(entry, now), group=group)
    marks = highlight.marks(query.parse(request.q).root)

    def own(hit: Any) -> bool:
        article = engine.get(hit.article.id)
        return bool(marks.own_match(article, article.body))

    top = engine.search(request).hits
    related = [rank for rank, hit in enumerate(top) if not own(hit)]
    if not related:
        return 0, 0
    ranked: list[bool] = []
    for page in range(1, DEPTH // 100 + 1):  # bounded: at most DEPTH ranks
        hits = engine.search(replace(request, page=page, per_page=100)).hits
        ranked.extend(own(hit) for hit in hits)
        if len(hits) < 100:
            break
    found = sum(1 for rank in related if any(ranked[rank + 1 :]))
    return found, len(related)


def main(args: argparse.Namespace) -> int:
    from search import backends
    from search.whoosh.target import reindex

    queries = queryset.load(args.queries)
    entries = queries["queries"]
    now = queryset.now_of(queries)
    with tempfile.TemporaryDirectory(prefix="newsfind-related-") as work:
        index = args.index or Path(work) / "index"
        if args.index is None:
            started = time.perf_counter()
            reindex(args.corpus, index)
            print(f"indexed {args.corpus} in {time.perf_counter() - started:.0f} s")
        engine = backends.make_engine({"ENGINE": "whoosh", "INDEX_DIR": str(index)})
        per_query = {}
        for entry in entries:
            found, related = violations(engine, entry, now, args.group)
            per_query[entry["id"]] = {"q": entry["q"], "violations": found, "related": related}
        engine.close()
    total = sum(item["violations"] for item in per_query.values())
    related = sum(item["related"] for item in per_query.values())
    print(
        f"{len(entries)} queries (group={args.group}): {related} top-10 hits match only through "
        "related titles; "
        f"{total} of them rank above an own-text match (target 0)"
    )
    if args.out:
        figures = {"violations": total, "related_only": related, "queries": per_query}
        args.out.write_text(json.dumps(figures, indent=2))
    return 1 if total else 0
