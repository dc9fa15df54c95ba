"""``python -m bench related``: the related-title rule counted on a small corpus of the contract
(a hit matching only in a related title, ``ferry``, ranked under the own-text matches)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from test_contract import write_seeds

from bench.related_rule import violations
from search import backends


def test_the_rule_holds_and_is_counted(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds")
    config = {"ENGINE": "whoosh", "INDEX_DIR": str(tmp_path / "index")}
    backends.make_indexer(config).reindex(seeds)
    engine = backends.make_engine(config)
    now = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    try:
        assert violations(engine, {"q": "ferry", "sort": "relevance"}, now) == (0, 1)
        assert violations(engine, {"q": "ferry", "sort": "newest"}, now) == (0, 1)
        assert violations(engine, {"q": "budget", "sort": "relevance"}, now) == (0, 0)
        for sort in ("relevance", "newest"):  # as the page asks: one entry per story
            assert violations(engine, {"q": "ferry", "sort": sort}, now, "story") == (0, 1)
    finally:
        engine.close()
