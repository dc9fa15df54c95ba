"""Smoke tests of ``python -m bench``: every command on a tiny generated corpus, no timings.

The corpus is scaled from the repository's own ``seeds/`` (so ../shared is not needed).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("tantivy", reason="the bench extra is not installed")
pytest.importorskip("psutil", reason="the bench extra is not installed")

from bench import queryset, scale  # noqa: E402
from bench.__main__ import main as bench_main  # noqa: E402
from search.analysis import STOP_WORDS, analyse, fold_accents  # noqa: E402
from search.articles import Article, read_article  # noqa: E402
from search.contract import SearchRequest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "corpus"
    scale.scale(SEEDS, out, count=48, seed=3, procs=2)
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-work")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-results")


@pytest.fixture(scope="module")
def tiny_queries(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    """A small query set drawn from the tiny corpus itself (so that queries find something), the
    kinds taken in turn so that the first 40 hold every kind (words, phrases, filters, dates)."""
    data = queryset.generate(corpus, seed=2)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for entry in data["queries"]:
        by_kind.setdefault(entry["kind"], []).append(entry)
    rounds = zip_longest(*by_kind.values())
    data["queries"] = [entry for group in rounds for entry in group if entry is not None]
    # and first, a word whose stem is stable but that Porter (FTS5) conflates with another word
    # of the corpus and Snowball (newsfind, tantivy) does not: the totals must then differ
    word = stem_collision(corpus)
    data["queries"].insert(0, {"id": "q000", "kind": "common1", "mode": "or", "sort": "relevance",
                               "terms": [word], "q": word, "boolean": True})  # fmt: skip
    path = tmp_path_factory.mktemp("bench-queries") / "queries.json"
    path.write_text(queryset.dumps(data), encoding="utf-8")
    return path


def stem_collision(corpus: Path) -> str:
    """A word of ``corpus`` stemmed alike by Porter and Snowball that Porter alone gives the stem
    of another of its words (``new`` and ``news``), a word that has an article without the other."""
    import Stemmer

    porter, snowball = Stemmer.Stemmer("porter"), Stemmer.Stemmer("english")
    texts = [" ".join(field_texts_of(read_article(path))).lower() for path in corpus.rglob("*.txt")]
    words = {word for text in texts for word in re.findall(r"[a-z]{3,}", text)} - STOP_WORDS
    for word in sorted(words):
        if porter.stemWord(word) != snowball.stemWord(word):
            continue
        others = [
            other
            for other in sorted(words)
            if other != word
            and porter.stemWord(other) == porter.stemWord(word)
            and snowball.stemWord(other) != snowball.stemWord(word)
        ]
        if any(re.search(rf"\b{o}\b", t) and not re.search(rf"\b{word}\b", t)
               for o in others for t in texts):  # fmt: skip
            return word
    raise AssertionError("no Porter-only stem collision in the tiny corpus")


def field_texts_of(article: Article) -> list[str]:
    from test_engine_helpers import field_texts

    return list(field_texts(article).values())


def records(results: Path, kind: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(results.glob(f"{kind}-*.json"))]


def test_scale_writes_articles_the_parser_reads(corpus: Path) -> None:
    files = sorted(corpus.rglob("*.txt"))
    assert len(files) == 48
    ids = set()
    for path in files:
        article = read_article(path)  # raises on anything malformed
        assert path.name == f"{int(path.name[:3]):03d}_{article.id}.txt"
        assert article.title and article.url.startswith("https://news.example/")
        ids.add(article.id)
    assert len(ids) == 48
    manifest = scale.read_manifest(corpus)
    assert manifest is not None and manifest["count"] == 48


def test_scale_is_deterministic_whatever_the_process_count(tmp_path: Path) -> None:
    one = tmp_path / "one"
    two = tmp_path / "two"
    scale.scale(SEEDS, one, count=30, seed=5, procs=1)
    scale.scale(SEEDS, two, count=30, seed=5, procs=2)
    names = sorted(p.relative_to(one) for p in one.rglob("*.txt"))
    assert names == sorted(p.relative_to(two) for p in two.rglob("*.txt"))
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes()


def test_yaml_str_survives_hostile_text(tmp_path: Path) -> None:
    hostile = 'a "quote" \\ back\nslash\t---\x85\x7f\u2028 café 😀 \ufeff: #x'
    path = tmp_path / "000_0123456789abcdef.txt"
    path.write_text(f"---\ntitle: {scale.yaml_str(hostile)}\n---\n", encoding="utf-8")
    assert read_article(path).title == hostile.strip()


def test_committed_query_set_is_valid() -> None:
    data = queryset.load()
    entries = data["queries"]
    assert len(entries) >= 200
    assert {entry["kind"] for entry in entries} == set(queryset.KINDS)
    assert len({entry["id"] for entry in entries}) == len(entries)
    now = queryset.now_of(data)
    for entry in entries:
        request = queryset.to_request(entry, now)
        assert request.terms and request.mode in ("or", "and", "phrase")
        SearchRequest(
            q=entry["q"],
            topics=tuple(entry.get("topics", ())),
            providers=tuple(entry.get("providers", ())),
            since=queryset._date(entry.get("since")),
            until=queryset._date(entry.get("until")),
            range=entry.get("range"),
            sort=entry["sort"],
            now=now,
        )


def test_index_command(corpus: Path, work: Path, results: Path) -> None:
    code = bench_main(
        ["index", "--corpus", str(corpus), "--work", str(work), "--results", str(results)]
    )
    assert code == 0
    (record,) = records(results, "index")
    summary = record["summary"]
    for row in ("plain Whoosh loop", "SQLite FTS5", "tantivy"):
        assert summary[f"{row} (parse + index)"]["documents"] == 48
    assert summary["newsfind full reindex"]["documents"] == 48
    assert summary["newsfind incremental (1%)"]["documents"] == 1
    assert (work / "fts5.db").is_file() and (work / "tantivy").is_dir()
    # the source corpus is never changed (the 1% edits go to the mirrored copy)
    assert not any("Updated: " in p.read_text() for p in corpus.rglob("*.txt"))


def test_query_command_and_count_agreement(
    corpus: Path, work: Path, results: Path, tiny_queries: Path
) -> None:
    code = bench_main(
        [
            "query",
            "--corpus",
            str(corpus),
            "--work",
            str(work),
            "--queries",
            str(tiny_queries),
            "--limit",
            "40",
            "--repeat",
            "1",
            "--results",
            str(results),
        ]
    )
    assert code == 0
    (record,) = records(results, "query")
    engines = record["engines"]
    assert set(engines) >= {"fts5", "tantivy"}
    assert "newsfind" in engines and "newsfind-keyword" in engines
    assert record["query_embedding"]["requests"] > 0
    assert engines["fts5"]["requests"] == 40
    # the warm-up pass is timed apart: one first-time request per query and engine
    assert engines["fts5"]["first_pass"]["requests"] == 40
    assert all("first_ms" in row for rows in record["per_query"].values() for row in rows.values())
    # the count check, recomputed: each engine's total of each boolean query by brute force over
    # the corpus files, with that engine's analysis; the agreement follows from those totals
    data = queryset.load(tiny_queries)
    entries = [
        entry
        for entry in data["queries"][:40]
        if entry["boolean"] and not STOP_WORDS & set(entry["terms"])
    ]
    articles = [read_article(path) for path in sorted(corpus.rglob("*.txt"))]
    now = queryset.now_of(data)
    words_only = [engine for engine in engines if engine != "newsfind"]  # hybrid adds meaning
    totals = {
        engine: {e["id"]: brute_force_total(e, articles, engine, now) for e in entries}
        for engine in words_only
    }
    for engine, expected in totals.items():
        found = {e["id"]: record["per_query"][e["id"]][engine]["total"] for e in entries}
        assert found == expected, engine
    agreement = record["agreement"]
    assert agreement["boolean_queries"] == len(entries) > 0
    names = words_only
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    assert set(agreement) == {"boolean_queries"} | {f"{a}~{b}" for a, b in pairs}
    for a, b in pairs:
        equal = sum(totals[a][e["id"]] == totals[b][e["id"]] for e in entries)
        stats = agreement[f"{a}~{b}"]
        assert (stats["compared"], stats["equal"], stats["different"]) == (
            len(entries), equal, len(entries) - equal
        ), (a, b)  # fmt: skip


# the peers' analysis, as they document it (bench/peers.py), for the brute force above
_ALPHANUMERIC = re.compile(r"[^\W_]+")


def engine_terms(text: str, engine: str) -> list[str]:
    """``text`` as ``engine`` indexes it: its terms in order (a phrase is terms in a row)."""
    import Stemmer

    if engine.startswith("newsfind"):
        return list(analyse(text))
    if engine == "fts5":  # unicode61 remove_diacritics 2, then Porter (it stems ASCII words)
        words = _ALPHANUMERIC.findall(fold_accents(text).lower())
        porter = Stemmer.Stemmer("porter")
        return [porter.stemWord(word) if word.isascii() else word for word in words]
    assert engine == "tantivy"  # en_stem: alphanumeric runs, none over 40 bytes, Snowball English
    words = [w for w in _ALPHANUMERIC.findall(text.lower()) if len(w.encode()) <= 40]
    return Stemmer.Stemmer("english").stemWords(words)


def brute_force_total(
    entry: dict[str, Any], articles: list[Article], engine: str, now: dt.datetime
) -> int:
    """Published articles matching a query-set entry (its words, mode and filters)."""
    from test_engine_helpers import field_texts, passes

    terms = [engine_terms(word, engine)[0] for word in entry["terms"]]
    if engine.startswith("newsfind"):  # its own relative range (now - span <= date <= now)
        since, until = (queryset._date(entry.get(name)) for name in ("since", "until"))
        dates: dict[str, Any] = {"since": since, "until": until, "range": entry.get("range")}
    else:  # a peer gets the range as a since
        request = queryset.to_request(entry, now)
        dates = {"since": request.since, "until": request.until}
    filters = SearchRequest(
        topics=tuple(entry.get("topics", ())),
        providers=tuple(entry.get("providers", ())),
        now=now,
        **dates,
    )
    total = 0
    for article in articles:
        if not article.published or not passes(article, filters):
            continue
        fields = [engine_terms(text, engine) for text in field_texts(article).values()]
        if entry["mode"] == "phrase":
            width = len(terms)
            found = any(
                field[start : start + width] == terms
                for field in fields
                for start in range(len(field))
            )
        else:
            present = [any(term in field for field in fields) for term in terms]
            found = all(present) if entry["mode"] == "and" else any(present)
        total += found
    return total


def test_index_run_keeps_peers_built_from_the_same_seeds(
    corpus: Path, work: Path, tmp_path: Path
) -> None:
    """A newsfind-only rerun leaves the peers listed when it remakes the same seeds, not else."""

    def rerun(*extra: str) -> list[str]:
        command = ["index", "--corpus", str(corpus), "--work", str(work), "--peers", ""]
        assert bench_main([*command, "--results", str(tmp_path), *extra]) == 0
        return list(json.loads((work / "built.json").read_text())["engines"])

    assert {"fts5", "tantivy"} <= set(rerun())
    assert not {"fts5", "tantivy"} & set(rerun("--change", "0.05"))


def test_http_command(corpus: Path, work: Path, results: Path, tiny_queries: Path) -> None:
    code = bench_main(
        [
            "http",
            "--corpus",
            str(corpus),
            "--work",
            str(work),
            "--queries",
            str(tiny_queries),
            "--duration",
            "2",
            "--connections",
            "4",
            "--workers",
            "1",
            "--max-seconds",
            "120",
            "--results",
            str(results),
        ]
    )
    (record,) = records(results, "http")
    assert code == 0, record
    for name in ("steady", "reindex"):
        phase = record["phases"][name]
        assert phase["requests"] > 0
        assert phase["errors"] == 0, phase["error_kinds"]
    assert record["phases"]["reindex"]["reindex_exit_code"] == 0


def test_plot_command(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    index_record = {
        "kind": "index",
        "label": "1k",
        "when": "2026-01-01T00:00:00+00:00",
        "files": 1000,
        "summary": {
            "newsfind full reindex": {
                "documents": 1000,
                "docs_per_second": 900.0,
                "cpu_seconds": 2.0,
            }
        },
    }
    query_record = {
        "kind": "query",
        "label": "1k",
        "when": "2026-01-01T00:00:00+00:00",
        "documents": 1000,
        "engines": {"newsfind": {"p50_ms": 2.0, "p95_ms": 9.0}},
    }
    http_record = {
        "kind": "http",
        "label": "1k",
        "when": "2026-01-01T00:00:00+00:00",
        "documents": 1000,
        "phases": {"steady": {"requests_per_second": 120.0, "p95_ms": 40.0}},
    }
    for record in (index_record, query_record, http_record):
        (results / f"{record['kind']}-1k-x.json").write_text(json.dumps(record))
    assert bench_main(["plot", "--results", str(results)]) == 0
    assert (results / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- stories ------------------------------------------------------------------------------------


def test_stories_command_scores_any_labelled_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` prints exactly one object; B-cubed by hand on a folder of the same shape."""
    from factory import write_article

    docs = tmp_path / "labelled" / "docs"
    lines = ["id\tstory"]
    texts = [
        ("Chiquita and Fyffes to merge", "Banana merger of Chiquita and Fyffes"),
        ("Fyffes, Chiquita agree merger", "Chiquita and Fyffes merger creates top banana"),
        ("Volcano erupts on the island", "Ash from the island volcano grounds flights"),
    ]
    for number, (title, excerpt) in enumerate(texts):
        write_article(docs, f"{number:03d}_doc{number:013d}.txt", title, excerpt=excerpt,
                      provider=(f"P{number}", f"p{number}.sample"),
                      date=f"2014-03-10T0{number}:00:00Z")  # fmt: skip
        lines.append(f"doc{number:013d}\t{'merger' if number < 2 else 'volcano'}")
    (docs.parent / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert bench_main(["stories", "--collection", str(docs.parent), "--json"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    result = json.loads(line)
    assert (result["articles"], result["stories"]) == (3, 2)
    assert set(result["results"]) == {"newsfind", "tfidf-avglink-0.05", "minhash-lsh-0.3"}
    assert result["results"]["newsfind"] == {**result["results"]["newsfind"], "precision": 1.0,
                                             "recall": 1.0, "f1": 1.0, "clusters": 2}  # fmt: skip
    from bench.stories_bench import bcubed

    # one article of three put apart: P = 1, R = (1/2 + 1/2 + 1) / 3
    assert bcubed(["a", "b", "c"], ["x", "x", "y"]) == pytest.approx((1.0, 2 / 3, 0.8))


def test_stories_command_on_a_corpus(
    corpus: Path, work: Path, results: Path, tiny_queries: Path
) -> None:
    code = bench_main(["stories", "--corpus", str(corpus), "--work", str(work), "--queries",
                       str(tiny_queries), "--limit", "20", "--stories", "5", "--repeat", "1",
                       "--results", str(results)])  # fmt: skip
    assert code == 0
    (record,) = records(results, "stories")
    first = record["first_page"]
    assert first["story"]["same_story_pairs"] == 0  # grouped: never one story twice
    assert first["none"]["same_story_pairs"] >= 0 and record["queries"] == 20
    assert record["story_pages"]["page"]["requests"] == record["story_pages"]["stories"]
