"""Stories: ``--collection DIR`` scores the story assignment against labels (below); ``--corpus
DIR`` measures what grouping does to the first page of the query set and how fast story pages
are (``bench.stories_corpus``).

Story assignment against labelled stories: B-cubed precision, recall and F1 of newsfind's story
step (the product's code and defaults: ``search.stories.step.derive`` as reindex runs it) beside
two baselines in the same run, on any folder holding ``docs/`` (article files) and ``labels.tsv``
(``id<TAB>story``, a header line first):

- ``tfidf-avglink-0.05``: tf-idf of the same terms (no pruning, no time window, no smoothing,
  no provider discount, no near-duplicates), exact average linkage cut at 0.05;
- ``minhash-lsh-0.3``: MinHash (64 hashes) of each article's folded words, LSH in 32 bands of 2,
  candidate pairs kept at an exact word Jaccard of 0.3 or more, connected components.

B-cubed: for each article, the share of its cluster that shares its label (precision) and of its
label that shares its cluster (recall), averaged over the articles; F1 of the two averages.
Articles without a label are clustered but not scored.

``--json`` prints exactly one object:
``{"collection", "articles", "stories", "results": {name: {"precision", "recall", "f1",
"clusters", "seconds"}}}``.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from search.articles import Article, ArticleError, read_article
from search.stories import features, linkage, step
from search.stories.table import Table
from search.stories.vectors import DocFrequencies, Side, tfidf, window_pairs

from . import common, queryset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--collection", type=Path, metavar="DIR",
                        help="a folder with docs/ (article files) and labels.tsv")  # fmt: skip
    chosen.add_argument("--corpus", type=Path, metavar="DIR",
                        help="a folder of articles: first pages and story pages")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=Path, help="also write the result (JSON) here")
    parser.add_argument("--index", type=Path, help="--corpus: its newsfind index (else built)")
    parser.add_argument("--work", type=Path, help="--corpus: the work folder of its indexes")
    parser.add_argument("--queries", type=Path, default=queryset.QUERIES_FILE)
    parser.add_argument("--limit", type=int, help="--corpus: only the first N queries")
    parser.add_argument("--stories", type=int, default=300, help="--corpus: story pages timed")
    parser.add_argument("--repeat", type=int, default=3, help="--corpus: timed runs of each")
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--no-record", dest="results", action="store_const", const=None)


def main(args: argparse.Namespace) -> int:
    if args.corpus is not None:
        from . import stories_corpus

        record = stories_corpus.run(args)
        print(json.dumps(record) if args.json else stories_corpus.render(record))
        path = common.write_record("stories", record, args.results)
        if path and not args.json:
            print(f"\nrecord: {path}")
        return 0
    result = run(args.collection)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result))
    else:
        print(render(result))
    return 0


def run(collection: Path) -> dict[str, Any]:
    articles = load_articles(collection / "docs")
    labels = load_labels(collection / "labels.tsv")
    scored = [article.id for article in articles if article.id in labels]
    gold = [labels[article_id] for article_id in scored]
    results: dict[str, Any] = {}
    for name, method in METHODS.items():
        started = time.process_time()
        assigned = method(articles)
        seconds = time.process_time() - started
        precision, recall, f1 = bcubed([assigned[i] for i in scored], gold)
        results[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "clusters": len(set(assigned.values())),
            "seconds": round(seconds, 3),
        }
    return {
        "collection": str(collection),
        "articles": len(articles),
        "stories": len(set(gold)),
        "results": results,
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        (name, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", r["clusters"],
         r["seconds"])
        for name, r in result["results"].items()
    ]  # fmt: skip
    head = (
        f"{result['collection']}: {result['articles']:,} articles, "
        f"{result['stories']:,} labelled stories (B-cubed; CPU seconds; "
        f"load average {common.load_average()})"
    )
    return (
        head
        + "\n"
        + common.table(("method", "precision", "recall", "F1", "clusters", "CPU s"), rows)
    )


def load_articles(folder: Path) -> list[Article]:
    found = []
    for path in sorted(folder.rglob("*.txt")):
        try:
            found.append(read_article(path))
        except ArticleError:
            continue
    return found


def load_labels(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


def bcubed(predicted: list[str], gold: list[str]) -> tuple[float, float, float]:
    if not gold:
        return 0.0, 0.0, 0.0
    both = Counter(zip(predicted, gold, strict=True))
    clusters, stories = Counter(predicted), Counter(gold)
    precision = sum(n * n / clusters[p] for (p, _), n in both.items()) / len(gold)
    recall = sum(n * n / stories[g] for (_, g), n in both.items()) / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _table(articles: list[Article]) -> Table:
    ids = [article.id for article in articles]
    blobs = [features.encode(article) for article in articles]
    return features.decode(ids, blobs, [""] * len(ids)).sorted()


def newsfind(articles: list[Article]) -> dict[str, str]:
    """The product's story step, as a full reindex runs it."""
    records = [(a.id, "", features.encode(a)) for a in articles]
    state = step.derive(None, (), records, full=True)
    return dict(zip(state.table.ids, state.table.story, strict=True))


def tfidf_average_link(articles: list[Article], theta: float = 0.05) -> dict[str, str]:
    table = _table(articles)
    x = tfidf(table.terms, DocFrequencies.of(table.terms))
    columns = x
    everyone = np.arange(len(table))
    side = Side(columns, np.zeros(len(table), dtype=np.int64), everyone.astype(np.uint64), everyone)
    a, b, s = [], [], []
    for pairs in window_pairs(side, side, 1, 1.0, upper=True):
        a.append(pairs.query)
        b.append(pairs.other)
        s.append(pairs.sim)
    pair_a = np.concatenate(a) if a else np.zeros(0, dtype=np.int64)
    pair_b = np.concatenate(b) if b else np.zeros(0, dtype=np.int64)
    sims = np.concatenate(s) if s else np.zeros(0)
    labels = linkage.average_link(len(table), pair_a, pair_b, sims, everyone, theta)
    return {table.ids[i]: table.ids[label] for i, label in enumerate(labels.tolist())}


def minhash_lsh(articles: list[Article], threshold: float = 0.3) -> dict[str, str]:
    ids = [article.id for article in articles]
    words = [
        np.unique(np.array([zlib.crc32(w.encode()) for w in features.WORD.findall(
            features.fold(features.story_text(a.title, a.excerpt, a.body)))], dtype=np.uint64))
        for a in articles
    ]  # fmt: skip
    rng = np.random.default_rng(1)
    mult = rng.integers(1, 2**63, 64, dtype=np.uint64) | np.uint64(1)
    add = rng.integers(0, 2**63, 64, dtype=np.uint64)
    signatures = np.full((len(ids), 64), np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for row, hashes in enumerate(words):
            if len(hashes):
                signatures[row] = ((hashes[:, None] * mult + add) >> np.uint64(32)).min(axis=0)
    buckets: dict[tuple[int, bytes], list[int]] = {}
    for band in range(32):
        keys = signatures[:, 2 * band : 2 * band + 2]
        for row in range(len(ids)):
            if len(words[row]):
                buckets.setdefault((band, keys[row].tobytes()), []).append(row)
    pairs = {(m[0], other) for m in buckets.values() if len(m) > 1 for other in m[1:]}
    sets = [set(hashes.tolist()) for hashes in words]
    keep = [
        (i, j)
        for i, j in sorted(pairs)
        if len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= threshold
    ]
    a = np.array([i for i, _ in keep], dtype=np.int64)
    b = np.array([j for _, j in keep], dtype=np.int64)
    labels = linkage.components(len(ids), a, b)
    return {ids[i]: ids[label] for i, label in enumerate(labels.tolist())}


METHODS: dict[str, Callable[[list[Article]], dict[str, str]]] = {
    "newsfind": newsfind,
    "tfidf-avglink-0.05": tfidf_average_link,
    "minhash-lsh-0.3": minhash_lsh,
}
