"""Ranking quality: newsfind and BM25 peers on IR test collections, scored with ir-measures.

    python -m bench relevance --collection ../shared/relevance/med [--collection ...]
        [--engines newsfind,fts5,tantivy,bm25s] [--out bench/results/relevance.json] [--readme]
    python -m bench relevance --news-checks [--corpus ../shared/corpus]

A collection is a folder with ``docs/`` (seed-format files, an explicit ``id:`` each),
``queries.tsv`` (``qid<TAB>text``) and ``qrels.txt`` (TREC: ``qid 0 docid rel``).

Every engine indexes the same documents and runs every query once, in one process; the run is
scored with ir-measures (trec_eval's definitions): nDCG@10, MAP (AP over the top 1000), P@10 and
R@100, averaged over the queries that have at least one relevant judgment (a judged query an
engine returns nothing for scores 0, it is not dropped).

Grades. Relevance grades are gains (higher = more relevant) except in Cranfield, whose grades run
1 = complete answer ... 4 = minimum interest. For such a collection each grade g becomes the gain
``max + 1 - g`` (Cranfield: 1→4, 2→3, 3→2, 4→1) for the graded nDCG; the binary measures (MAP,
P@10, R@100) count every judged pair with a positive gain as relevant. ``--grades auto`` treats a
folder named ``cran`` that way; ``--grades lower-better`` forces it.

Queries go to every engine as written, except that text longer than newsfind's query limit
(``MAX_QUERY_CHARS``; a few CISI queries) is cut at the last space before it, for every engine
alike: a user could not send more.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.peers import Doc
from bench.relevance_engines import ENGINES, VARIANTS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
NEWS_CHECKS = ROOT / "bench" / "relevance_news_checks.tsv"
MEANING_CHECKS = ROOT / "bench" / "relevance_meaning_checks.tsv"

DEPTH = 1000
METRICS = {  # label → ir-measures measure
    "nDCG@10": "nDCG@10",
    "MAP": "AP@1000",
    "P@10": "P@10",
    "R@100": "R@100",
}
LOWER_IS_BETTER = frozenset({"cran"})
"""Collections whose grades rank 1 as the most relevant (see the module docstring)."""


@dataclass(frozen=True)
class Collection:
    name: str
    docs_dir: Path
    docs: tuple[Doc, ...]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    """qid → docid → gain (already converted: higher is more relevant, ≤ 0 not relevant)."""
    truncated: tuple[str, ...] = ()
    """Query ids whose text was cut to the query limit."""

    @property
    def judged(self) -> list[str]:
        return [qid for qid, judged in self.qrels.items() if any(g > 0 for g in judged.values())]


def load_collection(path: Path, grades: str = "auto") -> Collection:
    from search.articles import read_article
    from search.contract import MAX_QUERY_CHARS

    path = Path(path)
    docs_dir = path / "docs"
    if not docs_dir.is_dir():
        raise SystemExit(f"{path}: no docs/ folder")
    docs = []
    for file in sorted(docs_dir.iterdir()):
        if file.suffix == ".txt" and file.is_file() and not file.name.startswith("."):
            article = read_article(file)
            docs.append(Doc.from_article(article))
    queries: dict[str, str] = {}
    truncated = []
    for number, line in enumerate(_lines(path / "queries.tsv"), 1):
        qid, sep, text = line.partition("\t")
        if not sep:
            raise SystemExit(f"{path / 'queries.tsv'}:{number}: expected 'qid<TAB>text'")
        text = text.strip()
        if len(text) > MAX_QUERY_CHARS:
            text = text[: MAX_QUERY_CHARS + 1].rsplit(None, 1)[0]
            truncated.append(qid.strip())
        queries[qid.strip()] = text
    raw = _read_qrels(path / "qrels.txt")
    lower_better = grades == "lower-better" or (grades == "auto" and path.name in LOWER_IS_BETTER)
    qrels = _to_gains(raw, lower_better)
    return Collection(path.name, docs_dir, tuple(docs), queries, qrels, tuple(truncated))


def _lines(path: Path) -> Iterable[str]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line.rstrip("\r\n")


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(_lines(path), 1):
        parts = line.split()
        if len(parts) != 4:
            raise SystemExit(f"{path}:{number}: expected 'qid 0 docid rel'")
        qid, _iteration, docid, rel = parts
        qrels.setdefault(qid, {})[docid] = int(rel)
    return qrels


def _to_gains(raw: dict[str, dict[str, int]], lower_better: bool) -> dict[str, dict[str, int]]:
    if not lower_better:
        return raw
    top = max((g for judged in raw.values() for g in judged.values()), default=1)
    return {
        qid: {docid: (top + 1 - g if g > 0 else 0) for docid, g in judged.items()}
        for qid, judged in raw.items()
    }


def score_run(collection: Collection, run: dict[str, list[str]]) -> dict[str, Any]:
    """Mean of each metric over the judged queries, plus per-query nDCG@10 and AP."""
    import ir_measures

    measures = {label: ir_measures.parse_measure(name) for label, name in METRICS.items()}
    by_measure = {measure: label for label, measure in measures.items()}
    judged = collection.judged
    qrels = [
        ir_measures.Qrel(qid, docid, gain)
        for qid in judged
        for docid, gain in collection.qrels[qid].items()
    ]
    # scores from ranks, so that trec_eval's tie-breaking cannot reorder an engine's list
    scored = []
    for qid in judged:
        ranked = list(dict.fromkeys(run.get(qid, ())))
        scored += [
            ir_measures.ScoredDoc(qid, docid, float(len(ranked) - rank))
            for rank, docid in enumerate(ranked)
        ]
    per_query: dict[str, dict[str, float]] = {qid: dict.fromkeys(METRICS, 0.0) for qid in judged}
    for metric in ir_measures.iter_calc(list(measures.values()), qrels, scored):
        per_query[metric.query_id][by_measure[metric.measure]] = float(metric.value)
    means = {
        label: round(sum(q[label] for q in per_query.values()) / max(len(judged), 1), 4)
        for label in METRICS
    }
    rounded = {qid: {m: round(v, 4) for m, v in q.items()} for qid, q in per_query.items()}
    return {"metrics": means, "per_query": rounded}


def evaluate(
    collection: Collection, engine_names: Sequence[str], depth: int = DEPTH
) -> dict[str, Any]:
    """Index and query the collection with every engine; the scores and the times."""
    out: dict[str, Any] = {
        "docs": len(collection.docs),
        "queries": len(collection.queries),
        "judged_queries": len(collection.judged),
        "truncated_queries": list(collection.truncated),
        "engines": {},
    }
    for name in engine_names:
        engine = {**ENGINES, **VARIANTS}[name]()
        try:
            started = time.perf_counter()
            engine.index(collection.docs, collection.docs_dir)
            indexed = time.perf_counter()
            run = {qid: engine.search(text, depth) for qid, text in collection.queries.items()}
            searched = time.perf_counter()
        finally:
            engine.close()
        scores = score_run(collection, run)
        out["engines"][name] = {
            **scores,
            "index_s": round(indexed - started, 2),
            "query_ms": round(1000 * (searched - indexed) / max(len(run), 1), 2),
        }
        print(
            f"  {collection.name:6} {name:9} {_metrics_line(scores['metrics'])}"
            f"   (index {indexed - started:.1f} s, {out['engines'][name]['query_ms']} ms/query)",
            flush=True,
        )
    return out


def _metrics_line(metrics: dict[str, float]) -> str:
    return "  ".join(f"{label} {metrics[label]:.4f}" for label in METRICS)


def markdown_table(results: dict[str, Any]) -> str:
    """collection × engine × metric; the best figure of each column per collection in bold."""
    header = "| collection | engine | " + " | ".join(METRICS) + " |"
    lines = [header, "|" + "---|" * (2 + len(METRICS))]
    for name, data in results["collections"].items():
        engines = data["engines"]
        best = {m: max(e["metrics"][m] for e in engines.values()) for m in METRICS}
        for engine, scores in engines.items():
            cells = [
                f"**{v:.4f}**" if v == best[m] else f"{v:.4f}"
                for m, v in ((m, scores["metrics"][m]) for m in METRICS)
            ]
            lines.append(f"| {name} | {engine} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def before_after_table(
    before: dict[str, Any], after: dict[str, Any], proposed: dict[str, Any] | None = None
) -> str:
    """newsfind's figures from earlier result files beside this run's, and the best peer's."""
    columns = ["newsfind before", "newsfind after"] + (
        ["with proposed engine changes"] * bool(proposed)
    )
    lines = [
        "| collection | metric | " + " | ".join(columns) + " | best peer |",
        "|---|---|" + "---|" * (len(columns) + 1),
    ]
    for name, data in after["collections"].items():
        engines = data["engines"]
        peers = {e: s for e, s in engines.items() if e != "newsfind"}
        for metric in METRICS:
            cells = [
                _newsfind_cell(before, name, metric),
                _newsfind_cell(after, name, metric),
            ] + ([_newsfind_cell(proposed, name, metric)] if proposed else [])
            peer = max(peers.items(), key=lambda kv: kv[1]["metrics"][metric], default=None)
            peer_cell = f"{peer[1]['metrics'][metric]:.4f} ({peer[0]})" if peer else "–"
            lines.append(f"| {name} | {metric} | " + " | ".join(cells) + f" | {peer_cell} |")
    return "\n".join(lines)


def _newsfind_cell(results: dict[str, Any], collection: str, metric: str) -> str:
    engines = results.get("collections", {}).get(collection, {}).get("engines", {})
    scores = engines.get("newsfind")
    return f"{scores['metrics'][metric]:.4f}" if scores else "–"


README_HEADING = "## Ranking quality"


def readme_section(
    results: dict[str, Any],
    before: dict[str, Any] | None,
    proposed: dict[str, Any] | None = None,
) -> str:
    command = results.get("command", "python -m bench relevance")
    parts = [
        README_HEADING,
        "",
        "Classic IR test collections (`../shared/relevance/`: cran, med, cisi, npl), every query "
        "through newsfind (its own indexer and engine, relevance sort, the query as typed) and "
        "through three BM25 peers with their standard English analysis, indexing the same title, "
        "excerpt and body: SQLite FTS5 `bm25()` (porter tokenizer, words quoted and OR-ed), "
        "tantivy (`en_stem`, words OR-ed), bm25s (PyStemmer English, English stop words). "
        "Scored with ir-measures over the judged queries: nDCG@10 (graded), MAP (AP over the "
        "top 1000), P@10, R@100. Cranfield's grades run 1 = most relevant ... 4 = least: each "
        "grade g is the gain 5 − g for nDCG, and every judged pair counts as relevant for the "
        "binary measures. CISI queries longer than newsfind's 1,000-character query limit are "
        "cut at a word boundary for every engine alike. Published anchor: Terrier BM25 MAP "
        "0.2992 on npl.",
        "",
        f"Command: `{command}` (results: `{results.get('out', 'bench/results/relevance.json')}`; "
        "news sanity checks: `python -m bench relevance --news-checks`).",
        "",
        markdown_table(results),
    ]
    if before is not None:
        parts += [
            "",
            "newsfind before and after tuning its defaults (the best peer for reference)"
            + (
                "; the third column is newsfind with the engine changes proposed in the next "
                "section (`bench/results/relevance-proposed.json`):"
                if proposed
                else ":"
            ),
            "",
            before_after_table(before, results, proposed),
        ]
    return "\n".join(parts) + "\n"


def write_readme_section(section: str, readme: Path | None = None) -> Path:
    """Replace the "Ranking quality" section of bench/README.md (append it when absent)."""
    readme = readme or README
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == README_HEADING), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        tail = "".join(lines[end:])
        text = "".join(lines[:start]) + section + ("\n" + tail if tail else "")
    readme.write_text(text, encoding="utf-8")
    return readme


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench relevance",
        description="Ranking quality of newsfind and BM25 peers on IR test collections.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``relevance`` command's options (``python -m bench`` adds them to its sub-command)."""
    parser.add_argument(
        "--collection",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a collection folder (docs/, queries.tsv, qrels.txt); repeat for several",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated, from {','.join(ENGINES)} (default: all)",
    )
    parser.add_argument("--depth", type=int, default=DEPTH, help="results per query scored")
    parser.add_argument(
        "--grades",
        choices=("auto", "higher-better", "lower-better"),
        default="auto",
        help="how to read qrels grades (auto: lower is better for a folder named cran)",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="write the table into the 'Ranking quality' section of bench/README.md",
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="JSON",
        help="an earlier results file: add a newsfind before/after table to the README section",
    )
    parser.add_argument(
        "--proposed",
        type=Path,
        metavar="JSON",
        help="with --before: a results file of newsfind with proposed changes, as a third column",
    )
    parser.add_argument(
        "--loo",
        action="store_true",
        help="leave-one-collection-out choice of the fusion and keyword ranking settings",
    )
    parser.add_argument(
        "--news-checks",
        action="store_true",
        help="check that known news articles come in the top 3 of their query",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="with --news-checks: keep the corpus index here and update it incrementally",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=SHARED / "corpus",
        help="the news corpus for --news-checks (default: ../shared/corpus)",
    )


def main(argv: Sequence[str] | argparse.Namespace | None = None) -> int:
    """Run the command: ``argv`` is a list of arguments or already parsed ones."""
    if isinstance(argv, argparse.Namespace):
        args = argv
        argv = None
    else:
        args = build_parser().parse_args(argv)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in engines if name not in ENGINES and name not in VARIANTS]
    if unknown:
        choices = ", ".join([*ENGINES, *VARIANTS])
        raise SystemExit(f"unknown engine {unknown[0]!r}; choose from {choices}")
    if not args.collection and not args.news_checks:
        raise SystemExit("give --collection DIR (repeatable) and/or --news-checks")
    status = 0
    if args.loo:
        from bench.relevance_loo import run_loo

        run_loo(args.collection, args.out)
        return status
    if args.collection:
        results = run_collections(args.collection, engines, args.depth, args.grades)
        results["command"] = _command_line(args, engines)
        print()
        print(markdown_table(results))
        if args.out:
            results["out"] = _display(args.out)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
            print(f"\nwrote {args.out}")
        if args.readme:
            before, proposed = (
                json.loads(path.read_text(encoding="utf-8")) if path else None
                for path in (args.before, args.proposed)
            )
            section = readme_section(results, before, proposed)
            print(f"updated {write_readme_section(section)}")
    if args.news_checks:
        from bench.relevance_news import run_news_checks

        passed = run_news_checks(args.corpus, NEWS_CHECKS, MEANING_CHECKS, args.work)
        status = 0 if passed else 1
    return status


def _command_line(args: argparse.Namespace, engines: Sequence[str]) -> str:
    words = ["python -m bench relevance"]
    words += [f"--collection {_display(path)}" for path in args.collection]
    if list(engines) != list(ENGINES):
        words.append(f"--engines {','.join(engines)}")
    if args.depth != DEPTH:
        words.append(f"--depth {args.depth}")
    if args.out:
        words.append(f"--out {_display(args.out)}")
    return " ".join(words)


def _display(path: Path) -> str:
    """A path as relative to the project root when it can be (../shared/... for shared data)."""
    resolved = Path(path).resolve()
    for base, shown in ((ROOT, ""), (ROOT.parent, "../")):
        try:
            return shown + str(resolved.relative_to(base))
        except ValueError:
            continue
    return str(path)


def run_collections(
    paths: Sequence[Path], engines: Sequence[str], depth: int = DEPTH, grades: str = "auto"
) -> dict[str, Any]:
    results: dict[str, Any] = {"depth": depth, "collections": {}}
    for path in paths:
        collection = load_collection(path, grades)
        print(
            f"{collection.name}: {len(collection.docs)} docs, {len(collection.queries)} queries "
            f"({len(collection.judged)} judged)",
            flush=True,
        )
        results["collections"][collection.name] = evaluate(collection, engines, depth)
    return results


if __name__ == "__main__":
    sys.exit(main())
