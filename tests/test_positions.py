"""``search.whoosh.positions``: each segment's positions as arrays, equal to Whoosh's own, used
only when they check out, and in step with the segments through SIGKILLed reindexes.

Real indexes on disk, real ``newsfind reindex`` processes (killed with SIGKILL at moments seen
on disk, as ``test_reliability`` does), and Whoosh's matchers as the reference.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_postings import _matcher_positions, built  # noqa: F401 - the fixture
from test_reliability import (
    Corpus,
    _kill_reindex,
    _orphan_segments,
    changed,
    kill_plan,
    run_reindex,
)

from search.contract import SearchRequest
from search.whoosh import layout, positions, postings
from search.whoosh.engine import WhooshEngine

PHRASES = ["alpha bravo", "bravo alpha charlie", "kilo lima", "mike november", "romeo quebec"]


def _tables(folder: Path, reader: Any) -> list[tuple[Any, positions.Table | None]]:
    return [
        (leaf, positions.Table.open(folder, leaf.segment(), leaf.doc_count_all()))
        for leaf, _ in reader.leaf_readers()
    ]


def test_every_segment_has_a_table_equal_to_the_matchers(
    built: tuple[Path, dict[str, str], Any],  # noqa: F811
) -> None:
    name, ix = layout.open_current(built[0])
    rng = random.Random(5)
    with ix.reader() as reader:
        for leaf, table in _tables(built[0] / name, reader):
            assert table is not None
            every = np.arange(leaf.doc_count_all(), dtype=np.int64)
            scattered = np.sort(rng.sample(range(leaf.doc_count_all()), 40)).astype(np.int64)
            for field in ("title", "excerpt", "body", "related_text"):
                for term in [term for term, _ in leaf.iter_field(field)]:
                    info = leaf._terms.term_info(field, term)
                    expected = _matcher_positions(leaf, field, term)
                    for docs in (every, scattered, every[:0]):
                        found = table.positions(info.extent()[0], docs)
                        assert found is not None, (field, term)
                        wanted = set(docs.tolist())
                        pairs = list(zip(found[0].tolist(), found[1].tolist(), strict=True))
                        assert pairs == [p for p in expected if p[0] in wanted], (field, term)


def _phrase_answers(index: Path) -> list[tuple[int, list[str]]]:
    engine = WhooshEngine(index)
    try:
        answers = []
        for phrase in PHRASES:
            result = engine.search(SearchRequest(q=f'"{phrase}"', per_page=50))
            answers.append((result.total, [hit.article.id for hit in result.hits]))
        return answers
    finally:
        engine.close()


def test_a_table_that_does_not_check_out_is_left_aside(
    built: tuple[Path, dict[str, str], Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(built[0], copy)
    with_tables = _phrase_answers(copy)
    folder = copy / str(layout.current_generation(copy))
    (table_path,) = folder.glob(f"*{positions.EXTENSION}")
    _, ix = layout.open_current(copy)
    with ix.reader() as reader:
        ((leaf, _),) = list(reader.leaf_readers())
        segment, count = leaf.segment(), leaf.doc_count_all()
    whole = table_path.read_bytes()
    damaged = {
        "cut short": whole[:-8],
        "another segment's count": whole[:8] + (count + 1).to_bytes(8, "little") + whole[16:],
        "not a table": b"\x00" * len(whole),
        "empty": b"",
    }
    for what, data in damaged.items():
        table_path.write_bytes(data)
        assert positions.Table.open(folder, segment, count) is None, what
        assert _phrase_answers(copy) == with_tables, what
    table_path.unlink()
    assert _phrase_answers(copy) == with_tables
    assert with_tables[0][0] > 0 and with_tables[-1][0] == 0


def _tables_in_step(index: Path) -> None:
    """Every segment the live commit lists has its table; no table or temporary file is left
    of a segment it does not list (once a run has completed after the kills)."""
    name, ix = layout.open_current(index)
    folder = index / name
    with ix.reader() as reader:
        for leaf, table in _tables(folder, reader):
            assert table is not None, leaf.segment()
            table.close()
        listed = {positions.file_name(leaf.segment()) for leaf, _ in reader.leaf_readers()}
    on_disk = {path.name for path in folder.glob(f"*{positions.EXTENSION}*")}
    hidden = {path.name for path in folder.glob(".*")}
    assert on_disk - listed == set() and hidden == set(), (on_disk - listed, hidden)


@pytest.mark.slow
def test_tables_stay_in_step_through_sigkilled_reindexes(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    corpus = Corpus(seeds)
    base = {n: "a" for n in range(400)}
    other = changed(base, version="b", change=range(0, 250), delete=range(250, 270),
                    add=range(1000, 1020))  # fmt: skip
    corpus.apply(base)
    run_reindex(seeds, index, "--full")

    def flip() -> None:
        corpus.apply(other if corpus.versions[0] == "a" else base)

    durations, plan = kill_plan(seeds, index, flip, (0.03, 0.08, 0.15, 0.25, 0.4, 0.6))
    for full in (True, False):
        plan += [(full, "positions table being written")] * 2
    plan += [(True, "full: complete, before the switch"), (False, "incremental: segment written")]
    outcomes: Counter[str] = Counter()
    for full, when in plan:
        flip()
        outcomes[_kill_reindex(seeds, index, full, when, tmp_path / "reindex.log")] += 1
        name, ix = layout.open_current(index)  # the live commit opens, its tables check out
        with ix.reader() as reader:
            assert all(table is not None for _, table in _tables(index / name, reader))
        # phrases answer the same through the tables as through Whoosh's own blocks
        assert _phrase_totals(index, tables=True) == _phrase_totals(index, tables=False)
    print(f"\nreindex runs: {dict(outcomes)}; uninterrupted: {durations}")
    # most kills land inside a run (a run's time varies with the machine's load)
    assert len(plan) - outcomes["finished"] >= 5, (outcomes, durations)
    assert outcomes["killed while writing"] >= 2, outcomes
    # the next runs need no clean-up step and leave nothing behind
    flip()
    run_reindex(seeds, index)
    _tables_in_step(index)
    assert _orphan_segments(index) == set()
    flip()
    run_reindex(seeds, index, "--full")
    _tables_in_step(index)
    assert _phrase_totals(index, tables=True) == _phrase_totals(index, tables=False)


def _phrase_totals(index: Path, *, tables: bool) -> list[int]:
    engine = WhooshEngine(index)
    try:
        snapshot = engine.snapshot()
        if not tables:
            snapshot.position_tables = [None] * len(snapshot.leaves)
        return [
            engine.search(SearchRequest(q=f'"{words}"', per_page=1)).total
            for words in ("story 3", "version b", "text of story", "with alphaword", "report 7")
        ]
    finally:
        engine.close()


def test_positions_read_through_a_table_or_the_blocks_agree(
    built: tuple[Path, dict[str, str], Any],  # noqa: F811
) -> None:
    name, ix = layout.open_current(built[0])
    with ix.reader() as reader:
        for leaf, table in _tables(built[0] / name, reader):
            docs = np.arange(leaf.doc_count_all(), dtype=np.int64)
            for term in (b"alpha", b"kilo", b"mike", b"absent"):
                through_table = postings.positions(leaf, "body", term, docs, table)
                through_blocks = postings.positions(leaf, "body", term, docs)
                assert [a.tolist() for a in through_table] == [b.tolist() for b in through_blocks]
