"""Warming a new generation before requests use it (``search.whoosh.warmup``), with real
reindexes and engines: announced full runs, readers that die or never answer, stale notices."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from factory import write_many

from search.contract import SearchRequest
from search.whoosh import layout, warmup
from search.whoosh import target as indexer
from search.whoosh.engine import WhooshEngine
from search.whoosh.snapshot import Snapshot

QUERIES = ["story", '"article 3"', "alpha OR beta", "sto*", "politics -science"]


def _answers(engine: WhooshEngine) -> list[object]:
    return [
        [(h.article.id, h.score) for h in engine.search(SearchRequest(q=q, per_page=50)).hits]
        for q in QUERIES
    ]


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_many(seeds, 60)
    indexer.reindex(seeds, index, workers=1)
    return seeds, index


def test_a_full_run_waits_for_the_server_to_warm_its_generation(built: tuple[Path, Path]) -> None:
    seeds, index = built
    engine = WhooshEngine(index, watch=True)
    try:
        before = _answers(engine)  # fills the cache the warm-up replays
        old = engine.snapshot()
        report = indexer.reindex(seeds, index, workers=1, full=True)
        fresh = engine.snapshot()
        assert fresh is not old and fresh.name == report.generation
        # it was prepared before the switch: its cache already holds the old one's clauses
        clauses = [key for key in old.cached_keys() if key[0] in ("t", "p", "xv")]
        assert clauses and all(key in fresh._cache for key in clauses)
        assert (index / report.generation / layout.WARM).is_dir()
        assert layout.announced(index) is None
        assert _answers(engine) == before  # the same documents, the same answers
    finally:
        engine.close()
    assert layout.live_readers(index) == []


def test_warming_changes_no_answer(built: tuple[Path, Path]) -> None:
    seeds, index = built
    engine = WhooshEngine(index)
    try:
        _answers(engine)
        indexer.reindex(seeds, index, workers=1, full=True)
        warmed = Snapshot.open(index)
        cold = Snapshot.open(index)
        assert warmup.warm(warmed, engine.current()) > 0
        for q in QUERIES:
            engine._snapshot = warmed
            first = engine.search(SearchRequest(q=q, per_page=50))
            engine._snapshot = cold
            second = engine.search(SearchRequest(q=q, per_page=50))
            assert (first.total, first.hits, first.facets) == (
                second.total,
                second.hits,
                second.facets,
            )
    finally:
        engine.close()


def test_a_dead_reader_is_not_waited_for(built: tuple[Path, Path]) -> None:
    seeds, index = built
    folder = index / layout.READERS
    folder.mkdir(exist_ok=True)
    (folder / "12345-deadbeef").write_text("")  # its process died: nobody holds its lock
    started = time.monotonic()
    indexer.reindex(seeds, index, workers=1, full=True)
    assert time.monotonic() - started < indexer.WARM_TIMEOUT
    assert not (folder / "12345-deadbeef").exists()


def test_a_reader_that_never_answers_delays_the_switch_at_most_the_timeout(
    built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds, index = built
    monkeypatch.setattr(indexer, "WARM_TIMEOUT", 1.0)
    silent = layout.Reader(index)  # alive (it holds its lock), but never warms anything
    try:
        seen: list[str | None] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                seen.append(layout.announced(index))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.monotonic()
        report = indexer.reindex(seeds, index, workers=1, full=True)
        waited = time.monotonic() - started
        done.set()
        watcher.join()
        assert report.generation in seen  # it was announced while the run waited
        assert waited >= 1.0
        assert layout.current_generation(index) == report.generation
        assert layout.announced(index) is None
    finally:
        silent.close()


def test_a_stale_or_broken_announcement_is_ignored(built: tuple[Path, Path]) -> None:
    seeds, index = built
    engine = WhooshEngine(index, watch=True)
    try:
        before = _answers(engine)
        broken = index / "gen-20990101T000000-broken"
        broken.mkdir()
        layout.announce(index, broken.name)
        layout.announce(index, "gen-20990101T000000-missing")
        time.sleep(0.5)  # a few polls of the watcher
        assert _answers(engine) == before
        assert engine.current().name == layout.current_generation(index)
        # the next run clears the notice of a generation that never went live
        layout.announce(index, broken.name)
        indexer.reindex(seeds, index, workers=1)
        assert layout.announced(index) is None
    finally:
        engine.close()
