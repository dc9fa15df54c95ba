"""The per-commit column file (``search.whoosh.columns``): written with every commit, mapped by
readers, equal to what the slow path computes from the segments, and never required."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from factory import write_article, write_many

from search.contract import SearchRequest
from search.whoosh import columns, layout
from search.whoosh import target as indexer
from search.whoosh.engine import WhooshEngine
from search.whoosh.snapshot import Snapshot

QUERIES = ["", "story", "alpha", '"article 3"', "politics OR science", "sto*", "-story"]


def _file(folder: Path, toc: int) -> Path:
    """Where commit ``toc`` keeps its arrays: a kind of derived data (``search.derived``)."""
    return layout.derived_file(folder, columns.KIND, toc)


def _live(index: Path) -> tuple[Path, int]:
    name, ix = layout.open_current(index)
    return index / name, ix.latest_generation()


def _assert_same(mapped: columns.Columns, computed: columns.Columns) -> None:
    assert mapped.mapped and not computed.mapped
    assert list(mapped.arrays) == list(computed.arrays)
    for name, array in computed.arrays.items():
        assert mapped[name].dtype == array.dtype, name
        np.testing.assert_array_equal(mapped[name], array, err_msg=name)
    assert mapped.facet_values == computed.facet_values
    assert mapped.averages == computed.averages


def _answers(engine: WhooshEngine) -> list[object]:
    found = []
    for q in QUERIES:
        result = engine.search(SearchRequest(q=q, per_page=50, include_unpublished=True))
        found.append((result.total, [(h.article.id, h.score) for h in result.hits], result.facets))
    return found


def test_every_commit_writes_its_columns_and_readers_map_them(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_many(seeds, 30)
    indexer.reindex(seeds, index, workers=1)
    for step in range(3):  # incremental commits: an addition, a change, a deletion
        if step == 0:
            write_many(seeds, 5, start=100)
        elif step == 1:
            first = sorted(seeds.glob("*.txt"))[0]
            first.write_text(first.read_text().replace("Story", "Changed story"), "utf-8")
        else:
            sorted(seeds.glob("*.txt"))[-1].unlink()
        indexer.reindex(seeds, index, workers=1)
        folder, toc = _live(index)
        assert _file(folder, toc).is_file()
        snapshot = Snapshot.open(index)
        try:
            assert snapshot.columns.mapped
            _assert_same(snapshot.columns, columns.compute(snapshot.reader))
            assert not snapshot.live.flags.writeable  # shared pages: nobody writes into them
        finally:
            snapshot.close()
    # the commit before stays (a reader may be opening it), older ones are removed
    folder, toc = _live(index)
    kept = sorted(path.name for path in folder.glob("columns-*.npz"))
    assert kept == sorted([_file(folder, toc - 1).name, _file(folder, toc).name])
    assert not list(folder.glob(".columns-*"))


def test_a_full_run_writes_the_columns_of_its_new_generation(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_many(seeds, 12)
    report = indexer.reindex(seeds, index, workers=1, full=True)
    folder, toc = _live(index)
    assert folder.name == report.generation
    assert [path.name for path in folder.glob("columns-*.npz")] == [_file(folder, toc).name]


@pytest.mark.parametrize("damage", ["missing", "short", "foreign", "other commit"])
def test_without_a_usable_file_the_arrays_are_computed_and_answers_agree(
    tmp_path: Path, damage: str
) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_many(seeds, 40)
    write_article(seeds, "999_ffffffffffffffff.txt", "Hidden story", published=False)
    indexer.reindex(seeds, index, workers=1)
    engine = WhooshEngine(index)
    try:
        assert engine.snapshot().columns.mapped
        expected = _answers(engine)
    finally:
        engine.close()
    folder, toc = _live(index)
    path = _file(folder, toc)
    if damage == "missing":
        path.unlink()
    elif damage == "short":
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "foreign":
        path.write_bytes(b"not a column file" * 10)
    else:  # a file of another commit (another document count) under this commit's name
        write_many(tmp_path / "other", 3)
        other = indexer.reindex(tmp_path / "other", tmp_path / "other-index", workers=1)
        other_folder = tmp_path / "other-index" / other.generation
        path.write_bytes(next(other_folder.glob("columns-*.npz")).read_bytes())
    engine = WhooshEngine(index)
    try:
        assert not engine.snapshot().columns.mapped
        assert _answers(engine) == expected
    finally:
        engine.close()


def test_ids_are_found_in_the_file_and_a_deleted_old_version_never_wins(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    path = write_article(seeds, "000_00000000000000aa.txt", "Old title", doc_id="same-id")
    write_article(seeds, "001_00000000000000bb.txt", "Other", doc_id="zz-other")
    write_article(seeds, "002_00000000000000cc.txt", "Café", doc_id="a.b:c_1")
    indexer.reindex(seeds, index, workers=1)
    path.write_text(path.read_text().replace("Old title", "New title"), "utf-8")
    indexer.reindex(seeds, index, workers=1)  # the old version stays, deleted, in its segment
    snapshot = Snapshot.open(index)
    try:
        assert snapshot.columns.mapped and snapshot.doc_count == 4  # 3 files, 1 old version
        doc = snapshot.doc_of_id.get("same-id")
        assert doc is not None and snapshot.stored(doc)["title"] == "New title"
        assert [snapshot.id_of(d) for d in range(snapshot.doc_count)].count("same-id") == 2
        for article_id in ("zz-other", "a.b:c_1"):
            found = snapshot.doc_of_id.get(article_id)
            assert found is not None and snapshot.id_of(found) == article_id
        assert snapshot.doc_of_id.get("missing") is None
        assert snapshot.doc_of_id.get("") is None
    finally:
        snapshot.close()
