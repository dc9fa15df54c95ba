"""More-like-this: does an article's "similar articles" list hold its story's other articles?

    python -m bench mlt --collection ../shared/stories/uci2014

A folder with ``docs/`` and ``labels.tsv`` (``id<TAB>story``: headlines labelled with the news
story they tell). The folder is indexed with the product's indexer (vectors included), and for
every labelled article three lists of ``--limit`` similar articles are scored against the labels
(precision: the share of the list from the same story; a list whose story has no other article
is skipped):

- ``terms``: the engine's ``more_like_this`` by distinctive terms (``WhooshEngine._key_terms``);
- ``vectors``: the nearest articles by cosine of the stored vectors (``search.nearest``);
- the engine as shipped (``more_like_this``): by vectors, since this measurement.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def add_arguments(parser: Any) -> None:
    parser.add_argument("--collection", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=5)


def main(args: Any) -> int:
    from bench.stories_bench import load_labels
    from search.whoosh import dense
    from search.whoosh.engine import WhooshEngine, key_terms_similar
    from search.whoosh.target import reindex

    labels = load_labels(args.collection / "labels.tsv")
    with tempfile.TemporaryDirectory(prefix="newsfind-mlt-") as folder:
        report = reindex(args.collection / "docs", folder)
        print(f"indexed {report.documents} articles ({report.embedded} embedded)")
        engine = WhooshEngine(folder)
        snapshot = engine.snapshot()
        index = dense.dense_index(snapshot)
        sizes: dict[str, int] = {}
        for story in labels.values():
            sizes[story] = sizes.get(story, 0) + 1
        scores: dict[str, list[float]] = {"terms": [], "vectors": [], "shipped": []}
        times: dict[str, float] = dict.fromkeys(scores, 0.0)
        for article_id, story in labels.items():
            doc = snapshot.doc_of_id.get(article_id)
            if doc is None or sizes[story] < 2 or not snapshot.visible[doc]:
                continue
            wanted = min(args.limit, sizes[story] - 1)
            lists = {}
            started = time.perf_counter()
            lists["terms"] = [h.article.id for h in key_terms_similar(snapshot, doc, args.limit)]
            times["terms"] += time.perf_counter() - started
            started = time.perf_counter()
            allowed = snapshot.visible & index.has
            allowed[doc] = False
            rows, _ = index.index.search(index.index.matrix[doc], allowed, args.limit)
            lists["vectors"] = [snapshot.ids[row] for row in rows.tolist()]
            times["vectors"] += time.perf_counter() - started
            started = time.perf_counter()
            lists["shipped"] = [h.article.id for h in engine.more_like_this(article_id, args.limit)]
            times["shipped"] += time.perf_counter() - started
            for name, found in lists.items():
                same = sum(labels.get(other) == story for other in found[:wanted])
                scores[name].append(same / wanted)
        engine.close()
    for name, values in scores.items():
        print(
            f"  {name:8} precision@{args.limit} {np.mean(values):.4f} over {len(values)} articles"
            f"  ({1000 * times[name] / max(len(values), 1):.2f} ms each)"
        )
    return 0
