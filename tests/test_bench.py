"""Smoke tests of ``python -m bench``: every command on a tiny generated corpus, no timings.

The corpus is scaled from the repository's own ``seeds/`` (so ../shared is not needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tantivy", reason="the bench extra is not installed")
pytest.importorskip("psutil", reason="the bench extra is not installed")

from bench import queryset, scale  # noqa: E402
from bench.__main__ import main as bench_main  # noqa: E402
from search.articles import read_article  # noqa: E402
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
    """A small query set drawn from the tiny corpus itself (so that queries find something)."""
    data = queryset.generate(corpus, seed=2)
    path = tmp_path_factory.mktemp("bench-queries") / "queries.json"
    path.write_text(queryset.dumps(data), encoding="utf-8")
    return path


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
    assert "newsfind" in engines
    assert engines["fts5"]["requests"] == 40
    # the warm-up pass is timed apart: one first-time request per query and engine
    assert engines["fts5"]["first_pass"]["requests"] == 40
    assert all("first_ms" in row for rows in record["per_query"].values() for row in rows.values())
    assert record["agreement"]["boolean_queries"] > 0
    assert "fts5~tantivy" in record["agreement"]


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
