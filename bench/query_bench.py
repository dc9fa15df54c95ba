"""Query latency: the versioned query set through newsfind's engine and each peer, in one run.

``python -m bench query --corpus bench/data/c100k``

One request = the top 10 + the exact total + topic, provider and date facets, over published
articles, with the query's filters and sort (``bench/queries-v1.json``). The engines answer in
the same process, taking turns query by query (round robin), so a noisy neighbour on this shared
machine slows them alike. Each query runs ``--repeat`` times after one warm-up pass; p50 / p95 /
p99 are over all timed requests. The warm-up pass is timed apart ("first pass"): each query
asked for the first time in the process, before any cache holds its parts (a query that
repeats one before it excepted).

The indexes come from ``python -m bench index`` on the same corpus (bench/work/<corpus>); what is
missing is built first (untimed). ``--index DIR`` points at a newsfind index folder instead.

Count check: for the ``boolean`` queries (words every engine analyses alike, see
``bench.queryset``) the totals of newsfind and each peer are compared; residual differences come
from analysis (stemmer collisions, tokenisation of ``U.S.``/``1,000``, newsfind's stop words
inside phrases) and are listed in the record.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import common, index_bench, peers, queryset

ENGINES = ("newsfind", "newsfind-keyword", "fts5", "tantivy")
"""``newsfind`` answers in the product's default mode (hybrid: the query is embedded too);
``newsfind-keyword`` in keyword mode (the request as before hybrid search), on the same index.
The engine's cache of query vectors is turned off: each timed request embeds its query."""
HYBRID_ENGINES = ("newsfind", "newsfind-grouped")
"""Their totals count meaning too: left out of the count agreement (``newsfind-keyword`` is in)."""
GROUPED = "newsfind-grouped"
"""Asked for by name (``--engines newsfind,newsfind-grouped``): the same engine object grouping
by story (the search page's request), so both share one snapshot and its caches and the
difference is the grouping's own cost."""
FACETS = ("topic", "provider", "date")


def add_arguments(parser: Any) -> None:
    parser.add_argument("--corpus", type=Path, help="a folder of seed files (indexes in work)")
    parser.add_argument("--index", type=Path, help="a newsfind index folder (peers skipped)")
    parser.add_argument("--work", type=Path, help="work folder of the corpus' indexes")
    parser.add_argument("--queries", type=Path, default=queryset.QUERIES_FILE)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query")
    parser.add_argument("--limit", type=int, help="only the first N queries (smoke tests)")
    parser.add_argument(
        "--budget",
        type=float,
        default=900.0,
        help="seconds one engine may spend in all; a slower one is dropped from later rounds",
    )
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--no-record", dest="results", action="store_const", const=None)


class Newsfind:
    name = "newsfind"
    mode: str | None = None
    group = "none"

    def __init__(self, index_dir: Path, now: Any, engine: Any = None) -> None:
        from search.whoosh.engine import WhooshEngine

        self.owns = engine is None
        self.engine = engine if engine is not None else WhooshEngine(index_dir)
        self.now = now
        kept = getattr(self.engine, "vectors", None)
        if kept is not None:  # every timed request embeds its query, as a query new to the server
            kept.size = 0

    def request(self, entry: dict[str, Any]) -> Any:
        from search.contract import SearchRequest

        since = queryset._date(entry.get("since"))
        until = queryset._date(entry.get("until"))
        return SearchRequest(
            q=entry["q"],
            topics=tuple(entry.get("topics", ())),
            providers=tuple(entry.get("providers", ())),
            since=since,
            until=until,
            range=entry.get("range"),
            sort=entry["sort"],
            per_page=10,
            facets=FACETS,
            now=self.now,
            group=self.group,
            **({"mode": self.mode} if self.mode else {}),
        )

    def search(self, entry: dict[str, Any]) -> peers.Answer:
        result = self.engine.search(self.request(entry))
        facets = {
            name: [(value.value, value.count) for value in facet.values]
            for name, facet in result.facets.items()
        }
        if result.date_histogram is not None:
            facets["date"] = [(b.label, b.count) for b in result.date_histogram.buckets]
        return peers.Answer(result.total, [hit.article.id for hit in result.hits], facets)

    def close(self) -> None:
        closer = getattr(self.engine, "close", None)
        if callable(closer) and self.owns:
            closer()


class NewsfindKeyword(Newsfind):
    name = "newsfind-keyword"
    mode = "keyword"


class NewsfindGrouped(Newsfind):
    name = GROUPED
    group = "story"


def embedding_times(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The query embedding alone (what hybrid adds before searching): each query's text through
    the model once, uncached, one thread, as the engine embeds it."""
    from search import hybrid, query
    from search.embedding.encoder import shared

    encoder = shared()
    encoder.embed("warm up")
    times = []
    for entry in entries:
        text = hybrid.plan(query.parse(entry["q"]).root, entry["q"]).text
        if text:
            started = time.perf_counter()
            encoder.embed(text)
            times.append((time.perf_counter() - started) * 1000.0)
    return _percentiles(sorted(times))


class PeerAdapter:
    """A peer behind the same ``search(entry)`` as newsfind."""

    def __init__(self, peer: Any, now: Any) -> None:
        self.peer = peer
        self.name = peer.name
        self.now = now

    def search(self, entry: dict[str, Any]) -> peers.Answer:
        answer: peers.Answer = self.peer.search(queryset.to_request(entry, self.now))
        return answer

    def close(self) -> None:
        self.peer.close()


def engine_available() -> bool:
    try:
        return importlib.util.find_spec("search.whoosh.engine") is not None
    except ImportError:
        return False


def open_engines(args: Any, names: list[str], now: Any) -> tuple[list[Any], list[str]]:
    opened: list[Any] = []
    notes: list[str] = []
    work = None
    if args.corpus is not None:
        work = args.work or common.work_dir(args.corpus)
        wanted = [n for n in names if not n.startswith("newsfind") or args.index is None]
        wanted = ["newsfind" if n.startswith("newsfind") else n for n in dict.fromkeys(wanted)]
        if "newsfind" in wanted and not engine_available():
            wanted.remove("newsfind")
        index_bench.ensure_built(args.corpus, work, list(dict.fromkeys(wanted)))
    shared_engine = None
    for name in names:
        if name == GROUPED:
            plain = next((e for e in opened if e.name == "newsfind"), None)
            if plain is None:
                raise SystemExit(f"query: {GROUPED} needs newsfind before it in --engines")
            opened.append(NewsfindGrouped(Path(), now, plain.engine))
            continue
        if name in ("newsfind", "newsfind-keyword"):
            if not engine_available():
                notes.append("newsfind skipped: search.engine is not there yet")
                continue
            index_dir = args.index or (work / "newsfind" if work else None)
            if index_dir is None:
                raise SystemExit("query: give --corpus or --index")
            kind = Newsfind if name == "newsfind" else NewsfindKeyword
            opened.append(kind(index_dir, now, shared_engine))  # both modes: one engine
            shared_engine = opened[-1].engine
        elif work is None:
            notes.append(f"{name} skipped: it needs --corpus")
        elif name == "fts5":
            opened.append(PeerAdapter(peers.Fts5(work / index_bench.TARGETS["fts5"]), now))
        elif name == "tantivy":
            opened.append(PeerAdapter(peers.Tantivy(work / index_bench.TARGETS["tantivy"]), now))
        else:
            raise SystemExit(f"query: unknown engine {name!r}")
    return opened, notes


def main(args: Any) -> int:
    if args.corpus is None and args.index is None:
        raise SystemExit("query: give --corpus DIR or --index DIR")
    load_before = common.load_average()
    data = queryset.load(args.queries)
    now = queryset.now_of(data)
    entries = data["queries"][: args.limit] if args.limit else data["queries"]
    names = [name for name in args.engines.split(",") if name]
    engines, notes = open_engines(args, names, now)
    if not engines:
        raise SystemExit("query: no engine to measure")
    first: dict[str, dict[str, float]] = {}
    timings, answers, dropped = measure(engines, entries, args.repeat, args.budget, first)
    notes += [f"{name} stopped after {args.budget:g} s (over budget)" for name in dropped]
    for engine in engines:
        engine.close()
    documents = _documents(args)
    label = common.count_label(documents) if documents else "index"
    record = common.base_record("query", label, args.corpus, load_before)
    record.update(
        documents=documents,
        queries_file=args.queries.name,
        queries=len(entries),
        repeat=args.repeat,
        notes=notes,
        engines=summarize(timings, entries, first),
        agreement=agreement(answers, entries),
        query_embedding=embedding_times(entries) if "newsfind" in timings else None,
        per_query={
            entry["id"]: {
                name: {
                    "ms": round(statistics.median(timings[name][entry["id"]]), 2),
                    "first_ms": round(first[name][entry["id"]], 2),
                    "total": answers[name][entry["id"]].total,
                }
                for name in timings
                if entry["id"] in timings[name]
            }
            for entry in entries
        },
    )
    for note in notes:
        print(note)
    print(render(record))
    path = common.write_record("query", record, args.results)
    if path:
        print(f"\nrecord: {path}")
    return 0


def _documents(args: Any) -> int:
    if args.corpus is None:
        return 0
    return len(peers.corpus_files(args.corpus))


def measure(
    engines: list[Any],
    entries: list[dict[str, Any]],
    repeat: int,
    budget: float = float("inf"),
    first: dict[str, dict[str, float]] | None = None,
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, peers.Answer]], list[str]]:
    """Round 0 warms caches and collects the answers; rounds 1..repeat are timed.

    ``first``, when given, receives round 0's times (engine → query id → ms). An engine whose
    time in all passes ``budget`` seconds is dropped (it keeps what it has).
    """
    timings: dict[str, dict[str, list[float]]] = {e.name: {} for e in engines}
    answers: dict[str, dict[str, peers.Answer]] = {e.name: {} for e in engines}
    spent: dict[str, float] = dict.fromkeys(timings, 0.0)
    dropped: list[str] = []
    for round_number in range(repeat + 1):
        for entry in entries:
            for engine in engines:
                if engine.name in dropped:
                    continue
                milliseconds, answer = _time(engine.search, entry)
                if round_number == 0:
                    answers[engine.name][entry["id"]] = answer
                    if first is not None:
                        first.setdefault(engine.name, {})[entry["id"]] = milliseconds
                else:
                    timings[engine.name].setdefault(entry["id"], []).append(milliseconds)
                spent[engine.name] += milliseconds / 1000
                if spent[engine.name] > budget:
                    dropped.append(engine.name)
    return timings, answers, dropped


def _time(function: Callable[[Any], Any], entry: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = function(entry)
    return (time.perf_counter() - started) * 1000, answer


def summarize(
    timings: dict[str, dict[str, list[float]]],
    entries: list[dict[str, Any]],
    first: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name, per_query in timings.items():
        values = sorted(ms for runs in per_query.values() for ms in runs)
        by_kind: dict[str, list[float]] = {}
        for entry in entries:
            by_kind.setdefault(entry["kind"], []).extend(per_query.get(entry["id"], []))
        summary[name] = {
            **_percentiles(values),
            "mean_ms": round(statistics.fmean(values), 2) if values else 0.0,
            "max_ms": round(values[-1], 2) if values else 0.0,
            "p50_by_kind_ms": {
                kind: round(common.percentile(sorted(v), 0.5), 2) for kind, v in by_kind.items()
            },
        }
        first_times = sorted((first or {}).get(name, {}).values())
        if first_times:
            summary[name]["first_pass"] = _percentiles(first_times)
    return summary


def _percentiles(values: list[float]) -> dict[str, Any]:
    """Request count and p50 / p95 / p99 of sorted milliseconds."""
    return {
        "requests": len(values),
        "p50_ms": round(common.percentile(values, 0.50), 2),
        "p95_ms": round(common.percentile(values, 0.95), 2),
        "p99_ms": round(common.percentile(values, 0.99), 2),
    }


def agreement(
    answers: dict[str, dict[str, peers.Answer]], entries: list[dict[str, Any]]
) -> dict[str, Any]:
    """Totals of the boolean queries compared for each pair of engines.

    A query with a word that newsfind's *current* stop list drops is left out: the list may have
    grown since the query set was made, and then newsfind answers a different question.
    """
    try:
        from search.analysis import STOP_WORDS
    except ImportError:  # pragma: no cover - the schema defines it
        STOP_WORDS = frozenset()
    boolean = [
        entry
        for entry in entries
        if entry.get("boolean") and not any(term in STOP_WORDS for term in entry["terms"])
    ]
    # totals of words only: newsfind's default (hybrid) adds the articles nearest in meaning
    names = [name for name in answers if name not in HYBRID_ENGINES]
    result: dict[str, Any] = {"boolean_queries": len(boolean)}
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            equal, compared, differences = 0, 0, []
            for entry in boolean:
                if entry["id"] not in answers[first] or entry["id"] not in answers[second]:
                    continue
                compared += 1
                a = answers[first][entry["id"]].total
                b = answers[second][entry["id"]].total
                if a == b:
                    equal += 1
                else:
                    differences.append({"id": entry["id"], "q": entry["q"], first: a, second: b})
            relative = [
                abs(d[first] - d[second]) / max(d[first], d[second], 1) for d in differences
            ]
            result[f"{first}~{second}"] = {
                "compared": compared,
                "equal": equal,
                "different": len(differences),
                "median_relative_difference": round(statistics.median(relative), 4)
                if relative
                else 0.0,
                "within_1_percent": equal + sum(r <= 0.01 for r in relative),
                "differences": sorted(differences, key=lambda d: -abs(d[first] - d[second]))[:25],
            }
    return result


ROW_HEADERS = (
    "requests",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "mean ms",
    "p50 ÷ newsfind",
    "first pass p50 ms",
    "first pass p95 ms",
)


def engine_rows(record: dict[str, Any]) -> list[list[Any]]:
    """One row per engine: requests, p50/p95/p99/mean ms, p50 as a multiple of newsfind's, and
    the first pass's p50 and p95 (None in records from before it was kept)."""
    engines = record["engines"]
    reference = engines.get("newsfind")
    rows = []
    for name, row in engines.items():
        ratio = None
        if reference and name != "newsfind" and reference["p50_ms"] > 0:
            ratio = round(row["p50_ms"] / reference["p50_ms"], 2)
        rows.append(
            [
                name,
                row["requests"],
                row["p50_ms"],
                row["p95_ms"],
                row["p99_ms"],
                row["mean_ms"],
                ratio,
                row.get("first_pass", {}).get("p50_ms"),
                row.get("first_pass", {}).get("p95_ms"),
            ]
        )
    return rows


def render(record: dict[str, Any]) -> str:
    rows = engine_rows(record)
    headers = (
        f"query {record['label']} ({record['queries']} queries × {record['repeat']})",
        *ROW_HEADERS,
    )
    lines = [common.table(headers, rows)]
    for pair, stats in record["agreement"].items():
        if isinstance(stats, dict):
            lines.append(
                f"totals {pair}: {stats['equal']}/{stats['compared']} equal, "
                f"{stats['within_1_percent']} within 1%, median difference of the others "
                f"{stats['median_relative_difference']:.1%}"
            )
    embedding = record.get("query_embedding")
    if embedding:
        lines.append(
            f"query embedding alone (included in newsfind's times, uncached): p50 "
            f"{embedding['p50_ms']} ms, p95 {embedding['p95_ms']} ms"
        )
    return "\n".join(lines)
