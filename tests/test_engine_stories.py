"""Stories through the real reindex and the Whoosh engine: determinism, incremental runs, the
state file of each commit, provider diversity of the first page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factory import write_article

from search.contract import SearchRequest
from search.whoosh import layout
from search.whoosh.engine import WhooshEngine
from search.whoosh.target import reindex

EXCERPT = "Chiquita and Fyffes agree to merge, creating the top banana company"
PROVIDERS = [("Wire One", "one.sample"), ("Paper Two", "two.sample"),
             ("Daily Three", "three.sample"), ("Post Four", "four.sample")]  # fmt: skip


def write_coverage(seeds: Path, reverse: bool = False) -> None:
    """The files in one folder, or each in a folder named so that they are read in reverse."""

    def where(number: int) -> str:
        return f"f{99 - number:02d}/" if reverse else ""

    for number, provider in enumerate(PROVIDERS):
        write_article(seeds, f"{where(number)}{number:03d}_merger{number:010d}.txt",
                      f"Chiquita Fyffes merger, report {number}", excerpt=EXCERPT,
                      provider=provider, date=f"2014-03-10T{8 + number:02d}:00:00Z")  # fmt: skip
    for number in range(3):
        write_article(seeds, f"{where(10 + number)}1{number:02d}_other{number:011d}.txt",
                      ("Spring tides flood harbour", "Copper mine reopens",
                       "Kite festival on the beach")[number],
                      provider=PROVIDERS[number],
                      date=f"2014-0{number + 1}-01T08:00:00Z")  # fmt: skip


def stories_of(index: Path) -> dict[str, str]:
    engine = WhooshEngine(index)
    try:
        result = engine.search(SearchRequest(group="story", per_page=100))
        found = {}
        for hit in result.hits:
            assert hit.story is not None
            for entry in engine.story(hit.story.id).entries:
                found[entry.article.id] = hit.story.id
        return found
    finally:
        engine.close()


def test_the_same_files_give_the_same_stories(tmp_path: Path) -> None:
    write_coverage(tmp_path / "a")
    write_coverage(tmp_path / "b", reverse=True)  # another order of the files
    reindex(tmp_path / "a", tmp_path / "ia", workers=1)
    reindex(tmp_path / "b", tmp_path / "ib", workers=2)
    first, second = stories_of(tmp_path / "ia"), stories_of(tmp_path / "ib")
    assert first == second
    assert len(set(first.values())) == 4 and first["merger0000000003"] == "merger0000000000"
    reindex(tmp_path / "a", tmp_path / "ia", full=True)
    assert stories_of(tmp_path / "ia") == first


def test_incremental_runs_attach_and_detach(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_coverage(seeds)
    reindex(seeds, index)
    write_article(seeds, "200_merger9000000000.txt", "Fyffes Chiquita merger approved",
                  excerpt=EXCERPT, provider=("Post Five", "five.sample"),
                  date="2014-03-11T08:00:00Z")  # fmt: skip
    report = reindex(seeds, index)
    assert not report.full and report.added == 1
    assert stories_of(index)["merger9000000000"] == "merger0000000000"
    (seeds / "000_merger0000000000.txt").unlink()  # the story's first article
    report = reindex(seeds, index)
    assert not report.full and report.deleted == 1
    found = stories_of(index)
    assert "merger0000000000" not in found and found["merger0000000001"] == "merger0000000000"
    generation = index / str(layout.current_generation(index))
    states = sorted(p.name for p in generation.glob("stories-*.npz"))
    assert states == ["stories-2.npz", "stories-3.npz"]  # this commit's and the one before


def test_without_a_story_state_articles_stand_alone_until_the_next_run(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_coverage(seeds)
    reindex(seeds, index)
    generation = index / str(layout.current_generation(index))
    for path in generation.glob("stories-*.npz"):
        path.unlink()
    assert len(set(stories_of(index).values())) == 7  # each article its own story
    report = reindex(seeds, index)
    assert report.full and report.note == "no story state"
    assert len(set(stories_of(index).values())) == 4


def test_the_first_page_spreads_providers(tmp_path: Path) -> None:
    """Wire One has three stories matching best, Paper Two one almost as good: it takes the
    second slot; without diversity the order is the ranking's."""
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    for number, topic in enumerate(("harbour", "bridge", "tunnel")):
        write_article(seeds, f"00{number}_wire{number:012d}.txt", f"Council {topic} vote vote",
                      excerpt=f"The council vote on the {topic}.", provider=PROVIDERS[0],
                      date=f"2014-0{number + 1}-10T08:00:00Z")  # fmt: skip
    write_article(seeds, "010_paper00000000000.txt", "Council ferry vote",
                  excerpt="The council vote on the ferry.", provider=PROVIDERS[1],
                  date="2014-06-10T08:00:00Z")  # fmt: skip
    reindex(seeds, index)
    engine = WhooshEngine(index)
    try:

        def providers(**fields: object) -> list[str]:
            request = SearchRequest(
                q="council vote", group="story", per_page=2, mode="keyword", **fields
            )
            return [hit.article.provider.name for hit in engine.search(request).hits]

        assert providers(diversify=False) == ["Wire One", "Wire One"]
        assert providers() == ["Wire One", "Paper Two"]
        assert providers(page=2) == ["Wire One", "Wire One"]  # the rest, in order
        assert providers(page=2, diversify=False) == ["Wire One", "Paper Two"]
        plain = engine.search(SearchRequest(q="council vote", per_page=2, mode="keyword"))
        assert [h.article.provider.name for h in plain.hits] == ["Wire One", "Wire One"]
    finally:
        engine.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_records_carry_story_features_from_every_worker(tmp_path: Path, workers: int) -> None:
    from factory import write_many

    write_many(tmp_path / "seeds", 420)  # over the parallel threshold
    report = reindex(tmp_path / "seeds", tmp_path / "index", workers=workers)
    assert report.documents == 420 and 0 < report.stories <= 420
    shutil.rmtree(tmp_path / "index")
