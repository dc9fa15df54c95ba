"""``search.postings`` reads postings and positions in bulk exactly as Whoosh's matcher does.

Real indexes on disk hold postings that stress the decoders: lists over several blocks, a word
repeated thousands of times in one body (pickled in several batches), positions past 65,535
(four-byte ints), a term in one document only (inlined in the term table), and phrases whose
words straddle those cases. The same articles are indexed twice: by ``reindex`` (newsfind's
segment writer, protocol-4 blocks) and by Whoosh's own ``SegmentWriter`` (protocol 2). Every
term of every field is compared with the matcher, for all documents and for a scattered
subset, and phrase totals with a brute-force count.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factory import file_name, write_article
from test_segment_writer import _build, _documents
from whoosh.writing import SegmentWriter

from search.contract import SearchRequest
from search.whoosh import layout, postings
from search.whoosh.engine import WhooshEngine
from search.whoosh.schema import news_analyzer
from search.whoosh.target import reindex

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Any]:
    root = tmp_path_factory.mktemp("postings")
    rng = random.Random(7)
    bodies: dict[str, str] = {}
    for number in range(300):  # "alpha"…: hundreds of postings, so several blocks per term
        bodies[f"n{number}"] = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40)))
    bodies["many"] = " ".join(["kilo lima"] * 2600)  # thousands of positions in one posting
    bodies["far"] = "mike " * 70_000 + "november oscar alpha bravo"  # positions past 65,535
    bodies["once"] = "quebec romeo sierra"  # terms of one document: inlined postings
    for number, (key, body) in enumerate(bodies.items()):
        write_article(root / "seeds", file_name(number), f"{key} title", body=body)
    report = reindex(root / "seeds", root / "index", workers=1)
    assert not report.rejected
    by_whoosh = _build(root / "whoosh", SegmentWriter, _documents(sorted(root.glob("seeds/*"))))
    return root / "index", bodies, by_whoosh


class _Unmapped:
    """An index whose readers read posting lists with ``pread``, as a ``Snapshot``'s do."""

    def __init__(self, index_dir: Path) -> None:
        self.name, self.ix = layout.open_current(index_dir)
        self.folder = index_dir / self.name

    def reader(self) -> Any:
        reader = self.ix.reader()
        for leaf, _ in reader.leaf_readers():
            assert postings.read_postings_unmapped(leaf, str(self.folder))
            assert isinstance(leaf._terms._postfile, postings._PreadFile)
        return reader


@pytest.fixture(params=["newsfind", "whoosh", "newsfind, posting lists read unmapped"])
def index(request: pytest.FixtureRequest, built: tuple[Path, dict[str, str], Any]) -> Any:
    """The articles' index as written by ``reindex``, then by Whoosh's own writer, then by
    ``reindex`` with the posting files read with ``pread`` (the matchers read them that way too).
    """
    if request.param == "whoosh":
        return built[2]
    if request.param.startswith("newsfind, "):
        return _Unmapped(built[0])
    return layout.open_current(built[0])[1]


def _matcher_positions(leaf: object, field: str, term: bytes) -> list[tuple[int, int]]:
    found = []
    matcher = leaf.postings(field, term)  # type: ignore[attr-defined]
    while matcher.is_active():
        found += [(matcher.id(), position) for position in matcher.value_as("positions")]
        matcher.next()
    return found


def test_bulk_postings_equal_the_matchers(index: Any) -> None:
    with index.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            for field in leaf.schema.names():
                if not leaf.schema[field].indexed:
                    continue
                for term, _ in leaf.iter_field(field):
                    matcher = leaf.postings(field, term)
                    expected = []
                    while matcher.is_active():
                        expected.append((matcher.id(), matcher.weight()))
                        matcher.next()
                    docs, weights = postings.postings(leaf, field, term)
                    found = list(zip(docs.tolist(), weights.tolist(), strict=True))
                    assert found == expected, (field, term)


def test_bulk_positions_equal_the_matchers(index: Any) -> None:
    rng = random.Random(3)
    with index.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            every = np.arange(leaf.doc_count_all(), dtype=np.int64)
            scattered = np.sort(rng.sample(range(leaf.doc_count_all()), 40)).astype(np.int64)
            for field in ("title", "body"):
                for term in [term for term, _ in leaf.iter_field(field)]:
                    expected = _matcher_positions(leaf, field, term)
                    for docs in (every, scattered):
                        wanted = set(docs.tolist())
                        found_docs, found = postings.positions(leaf, field, term, docs)
                        assert list(zip(found_docs.tolist(), found.tolist(), strict=True)) == [
                            pair for pair in expected if pair[0] in wanted
                        ], (field, term)
            nothing = postings.positions(leaf, "body", b"absent", every)
            assert [len(part) for part in nothing] == [0, 0]


@pytest.mark.parametrize(
    "phrase", ["alpha bravo", "bravo alpha charlie", "kilo lima", "lima kilo", "oscar alpha",
               "quebec romeo", "mike november", "mike mike", "romeo quebec", "lima lima"],
)  # fmt: skip
def test_phrase_totals_equal_brute_force(
    built: tuple[Path, dict[str, str], Any], phrase: str
) -> None:
    """The last two phrases are in no document: their words are, but never in that order."""
    index, bodies, _ = built
    stems = [token.text for token in news_analyzer(phrase)]
    expected = set()
    for key, body in bodies.items():
        words = [token.text for token in news_analyzer(body)]
        if any(words[i : i + len(stems)] == stems for i in range(len(words))):
            expected.add(key)
    result = WhooshEngine(index).search(SearchRequest(q=f'"{phrase}"', per_page=50))
    assert result.total == len(expected)
    assert bool(expected) == (phrase not in ("romeo quebec", "lima lima"))
    assert {hit.article.title.split()[0] for hit in result.hits} <= expected
