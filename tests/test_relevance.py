"""The ranking-quality evaluation end to end on a tiny made-up collection (bench/relevance.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import relevance
from bench.relevance_engines import ENGINES

DOCS = {
    "d1": (
        "Volcanic ash grounds flights across northern Europe",
        "Airports closed as a cloud of volcanic ash drifted south.",
    ),
    "d2": (
        "Central bank raises interest rates again",
        "The bank lifted its main rate by a quarter point to fight inflation.",
    ),
    "d3": (
        "Harvest of winter wheat falls short",
        "Farmers blamed the dry spring for a smaller wheat crop than last year.",
    ),
    "d4": (
        "New telescope photographs a distant galaxy",
        "Astronomers released the first images taken by the orbiting telescope.",
    ),
    "d5": (
        "Interest in rail travel grows as flights cost more",
        "Train operators report record bookings on routes across Europe.",
    ),
    "d6": (
        "Bank profits climb on higher rates",
        "Lenders earned more from loans after the central bank's rate rises.",
    ),
}
QUERIES = {
    "1": "Volcanic ash grounds flights across northern Europe",
    "2": "interest rates bank",
    "3": "wheat harvest",
    "4": "zebra crossing",
}
QRELS = [("1", "d1", 1), ("2", "d2", 1), ("2", "d6", 1), ("3", "d3", 1), ("4", "d4", 1)]


def write_collection(root: Path, qrels: list[tuple[str, str, int]] = QRELS) -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True)
    for number, (doc_id, (title, body)) in enumerate(DOCS.items()):
        (docs / f"000_{number:04d}.txt").write_text(
            "---\n"
            f'id: "{doc_id}"\n'
            f'title: "{title}"\n'
            f'excerpt: "{body[:40]}"\n'
            f'webUrl: "https://tiny.example/doc/{doc_id}"\n'
            "quality: 50\nheat: -1\npublished: true\n"
            "provider:\n  name: Tiny\n  domain: tiny.example\n"
            f"---\n{body}\n",
            encoding="utf-8",
        )
    (root / "queries.tsv").write_text(
        "".join(f"{qid}\t{text}\n" for qid, text in QUERIES.items()), encoding="utf-8"
    )
    (root / "qrels.txt").write_text(
        "".join(f"{qid} 0 {doc} {rel}\n" for qid, doc, rel in qrels), encoding="utf-8"
    )
    return root


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    return write_collection(tmp_path / "tiny")


def trec_metrics(ranked: list[str], gains: dict[str, int]) -> dict[str, float]:
    """trec_eval's nDCG@10 (linear gains), AP over the top 1000, P@10 and R@100 of one query,
    written out here: the reference the harness's ir-measures scores are checked against."""
    relevant = {doc for doc, gain in gains.items() if gain > 0}
    hits = [doc in relevant for doc in ranked]
    dcg = sum(gains.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:10]))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:10]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    precisions = [sum(hits[: rank + 1]) / (rank + 1) for rank, hit in enumerate(hits[:1000]) if hit]
    return {
        "nDCG@10": dcg / idcg if idcg else 0.0,
        "MAP": sum(precisions) / len(relevant),
        "P@10": sum(hits[:10]) / 10,
        "R@100": sum(hits[:100]) / len(relevant),
    }


MEANING_ENGINES = ("newsfind", "newsfind-semantic", "dense")


def test_every_engine_is_scored_on_every_metric(collection: Path) -> None:
    loaded = relevance.load_collection(collection)
    result = relevance.evaluate(loaded, list(ENGINES), depth=100)
    assert (result["docs"], result["queries"], result["judged_queries"]) == (6, 4, 4)
    assert set(result["engines"]) == set(ENGINES)
    assert {"newsfind", "newsfind-keyword", "newsfind-semantic", "dense", "fts5"} <= set(ENGINES)
    for name, scores in result["engines"].items():
        # the engine's own ranked lists, scored here by hand
        engine = ENGINES[name]()
        try:
            engine.index(loaded.docs, loaded.docs_dir)
            runs = {qid: engine.search(text, 100) for qid, text in loaded.queries.items()}
        finally:
            engine.close()
        expected = {qid: trec_metrics(runs[qid], loaded.qrels[qid]) for qid in loaded.judged}
        assert scores["per_query"] == {
            qid: {metric: round(value, 4) for metric, value in values.items()}
            for qid, values in expected.items()
        }, name
        means = {m: round(sum(q[m] for q in expected.values()) / 4, 4) for m in relevance.METRICS}
        assert scores["metrics"] == means, name
        # d1's exact title finds it first everywhere; no word matches "zebra crossing": that
        # judged query scores 0 for the keyword engines, it is not dropped (the engines that
        # match meaning return their nearest documents for any text)
        assert runs["1"][0] == "d1", name
        assert scores["per_query"]["1"]["nDCG@10"] == 1.0, name
        if name not in MEANING_ENGINES:
            assert runs["4"] == [], name
            assert scores["per_query"]["4"] == dict.fromkeys(relevance.METRICS, 0.0), name


def test_exact_title_query_ranks_its_document_first_in_newsfind(collection: Path) -> None:
    result = relevance.evaluate(relevance.load_collection(collection), ["newsfind"], depth=100)
    per_query = result["engines"]["newsfind"]["per_query"]
    assert per_query["1"]["nDCG@10"] == pytest.approx(1.0)
    assert per_query["1"]["MAP"] == pytest.approx(1.0)


def test_lower_is_better_grades_become_gains(tmp_path: Path) -> None:
    graded = [("1", "d1", 1), ("1", "d5", 4), ("2", "d2", 2), ("2", "d6", 3), ("3", "d3", 1)]
    cran = write_collection(tmp_path / "cran", graded)
    loaded = relevance.load_collection(cran)
    assert loaded.qrels["1"] == {"d1": 4, "d5": 1}
    assert loaded.qrels["2"] == {"d2": 3, "d6": 2}
    as_given = relevance.load_collection(cran, grades="higher-better")
    assert as_given.qrels["1"] == {"d1": 1, "d5": 4}


def test_command_writes_json_and_the_readme_section(
    collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n## Speed\n\nfast\n", encoding="utf-8")
    monkeypatch.setattr(relevance, "README", readme)
    out = tmp_path / "results" / "relevance.json"
    status = relevance.main(
        [
            "--collection",
            str(collection),
            "--engines",
            "newsfind,fts5",
            "--out",
            str(out),
            "--readme",
        ]
    )
    assert status == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert set(saved["collections"]["tiny"]["engines"]) == {"newsfind", "fts5"}
    text = readme.read_text(encoding="utf-8")
    assert "## Speed\n\nfast\n" in text
    assert "## Ranking quality" in text
    assert "| tiny | newsfind |" in text and "| tiny | fts5 |" in text
    # a second run replaces the section instead of adding another one
    relevance.main(["--collection", str(collection), "--engines", "fts5", "--readme"])
    text = readme.read_text(encoding="utf-8")
    assert text.count("## Ranking quality") == 1
    assert "| tiny | newsfind |" not in text
    assert "## Speed\n\nfast\n" in text


def test_before_after_table_compares_newsfind_runs(
    collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    monkeypatch.setattr(relevance, "README", readme)
    before = tmp_path / "before.json"
    relevance.main(
        ["--collection", str(collection), "--engines", "newsfind,fts5", "--out", str(before)]
    )
    relevance.main(
        [
            "--collection",
            str(collection),
            "--engines",
            "newsfind,fts5",
            "--readme",
            "--before",
            str(before),
            "--proposed",
            str(before),
        ]
    )
    text = readme.read_text(encoding="utf-8")
    assert "| collection | metric | newsfind before | newsfind after | with proposed" in text
    assert text.count("| tiny | nDCG@10 |") == 1


def test_news_checks_file_lists_queries_and_article_ids() -> None:
    from bench.relevance_news import read_checks

    checks = read_checks(relevance.NEWS_CHECKS)
    assert len(checks) >= 6
    meaning = read_checks(relevance.MEANING_CHECKS)
    assert len(meaning) >= 16
    for query, expected in checks + meaning:
        assert query.strip() and " " not in expected and len(expected) == 16
