"""The story method (search.stories): features, clustering, incremental assignment, the state file.

Articles are real files read by the real parser; the method runs on them as reindex runs it.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from factory import write_article

from search.articles import read_article
from search.stories import features, linkage, method, step
from search.stories import state as story_files
from search.stories.table import Table

DAY = "2024-03-0{day}T{hour:02d}:00:00Z"


def make(tmp_path: Path, specs: list[dict[str, object]]) -> list[tuple[str, str, bytes]]:
    """Records (id, content hash, features) of articles written and read back."""
    records = []
    for number, spec in enumerate(specs):
        fields = dict(spec)
        title = str(fields.pop("title"))
        path = write_article(tmp_path / "seeds", f"{number:03d}_story{number:011d}.txt", title,
                             **fields)  # fmt: skip
        article = read_article(path)
        records.append((article.id, f"hash-{number}-{title}", features.encode(article)))
    return records


def table_of(records: list[tuple[str, str, bytes]]) -> Table:
    return features.decode([r[0] for r in records], [r[2] for r in records],
                           [r[1] for r in records]).sorted()  # fmt: skip


WIRE = ("Wire", "wire.sample")
PAPER = ("Paper", "paper.sample")
DAILY = ("Daily", "daily.sample")


def piece(
    title: str, excerpt: str, provider: tuple[str, str], day: int, hour: int
) -> dict[str, object]:
    return {"title": title, "excerpt": excerpt, "provider": provider,
            "date": DAY.format(day=day, hour=hour)}  # fmt: skip


COVERAGE: list[dict[str, object]] = [
    piece("Chiquita and Fyffes agree banana merger",
          "The fruit companies Chiquita and Fyffes will merge.", WIRE, 1, 8),
    piece("Banana giants Chiquita, Fyffes to merge",
          "Chiquita Brands and Fyffes announced a merger of the banana groups.", PAPER, 1, 9),
    piece("Fyffes and Chiquita merger creates top banana",
          "A merger of Chiquita and Fyffes makes the largest banana company.", DAILY, 1, 12),
    piece("Volcano erupts on remote island, flights halted",
          "Ash from the volcano grounded flights across the island region.", WIRE, 1, 10),
    piece("Island volcano eruption grounds flights",
          "The volcano eruption sent ash over the island and grounded flights.", PAPER, 1, 11),
    piece("Chess champion wins title in tiebreak",
          "The chess champion kept the title after a rapid tiebreak.", DAILY, 2, 9),
]  # fmt: skip


def stories_of(table: Table) -> dict[str, str]:
    return dict(zip(table.ids, table.story, strict=True))


def partition(assigned: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for article, story in assigned.items():
        groups.setdefault(story, set()).add(article)
    return {frozenset(members) for members in groups.values()}


def ids(records: list[tuple[str, str, bytes]], *numbers: int) -> frozenset[str]:
    return frozenset(records[n][0] for n in numbers)


# -- features ------------------------------------------------------------------------------------


def test_terms_fold_stem_and_drop_stop_words() -> None:
    text = features.fold("U.S. Beyoncé’s 1,800 shows — the $1.8B deal’s end")
    assert features.terms(text) == ["beyonc", "1800", "show", "1.8b", "deal", "end"]
    assert features.story_text("Title here ...", "", "one two three", lead_words=2) == (
        "Title here \n one two"
    )
    assert features.shingles("a b") == {"a b"}
    assert features.shingles("a b c d") == {"a b c", "b c d"}


def test_features_round_trip_through_the_columns(tmp_path: Path) -> None:
    records = make(tmp_path, COVERAGE[:2])
    table = features.decode([r[0] for r in records], [r[2] for r in records], ["h1", "h2"])
    assert table.ids == [r[0] for r in records] and table.content_hashes == ["h1", "h2"]
    assert table.dated.all() and table.published.all()
    assert table.provider[0] != table.provider[1] and (table.url != 0).all()
    texts = [features.story_text(str(s["title"]), str(s["excerpt"]), "") for s in COVERAGE[:2]]
    distinct = [len(set(features.terms(features.fold(text)))) for text in texts]
    assert table.terms.lengths().tolist() == distinct
    assert len(table.related) == 2 and not len(table.related.values)


# -- clustering ----------------------------------------------------------------------------------


def test_one_event_from_several_providers_is_one_story(tmp_path: Path) -> None:
    records = make(tmp_path, COVERAGE)
    assigned = stories_of(method.cluster(table_of(records)).table)
    assert partition(assigned) == {ids(records, 0, 1, 2), ids(records, 3, 4), ids(records, 5)}
    # a story is named by its earliest article
    assert assigned[records[1][0]] == records[0][0] and assigned[records[4][0]] == records[3][0]


def test_the_same_files_in_any_order_give_the_same_stories(tmp_path: Path) -> None:
    records = make(tmp_path, COVERAGE)
    expected = method.cluster(table_of(records)).table
    for seed in range(3):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        again = method.cluster(table_of(shuffled)).table
        assert (again.ids, again.story, again.group) == (expected.ids, expected.story,
                                                         expected.group)  # fmt: skip


def test_far_apart_in_time_or_undated_is_not_one_story(tmp_path: Path) -> None:
    late = dict(COVERAGE[1], date="2024-03-20T09:00:00Z")
    undated = dict(COVERAGE[2], date=None)
    records = make(tmp_path, [COVERAGE[0], late, undated])
    assert len(partition(stories_of(method.cluster(table_of(records)).table))) == 3


def test_a_related_link_joins_articles_without_shared_words(tmp_path: Path) -> None:
    first = {"title": "Council approves harbour tram", "excerpt": "Trams for the harbour.",
             "url": "https://wire.sample/tram", "provider": WIRE, "date": None}  # fmt: skip
    second = {"title": "Mayor celebrates vote", "excerpt": "Celebrations after the vote.",
              "provider": PAPER, "date": None,
              "related": [{"title": "Council approves harbour tram",
                           "webUrl": "https://wire.sample/tram"}]}  # fmt: skip
    records = make(tmp_path, [first, second])
    assert len(partition(stories_of(method.cluster(table_of(records)).table))) == 1


def test_reprints_are_near_duplicates_and_one_story(tmp_path: Path) -> None:
    text = "The central bank raised its main interest rate by half a point on Tuesday."
    reprint = {
        "title": "Central bank raises rate",
        "excerpt": text,
        "date": DAY.format(day=1, hour=8),
    }
    records = make(tmp_path, [reprint,
                              dict(reprint, provider=PAPER, date=DAY.format(day=1, hour=20)),
                              COVERAGE[5]])  # fmt: skip
    table = method.cluster(table_of(records)).table
    group = dict(zip(table.ids, table.group, strict=True))
    assert group[records[1][0]] == group[records[0][0]] == records[0][0]
    assert group[records[2][0]] == records[2][0]


def test_similarity_within_the_window_discounted_for_one_provider() -> None:
    """s(i, j): cosine of pairs at most the window apart, × 0.25 within one provider."""
    from search.stories.table import Ragged
    from search.stories.vectors import Side, window_pairs

    vectors = Ragged.of(np.array([2, 2, 2, 2]), np.array([0, 1, 0, 1, 0, 1, 1, 2]),
                        np.array([0.6, 0.8, 0.6, 0.8, 0.6, 0.8, 0.6, 0.8]))  # fmt: skip
    t = np.array([0, 3600, 7200, 7200 + 73 * 3600])
    side = Side(vectors, t, np.array([1, 1, 2, 2], dtype=np.uint64), np.arange(4))
    found = {}
    for pairs in window_pairs(side, side, 72 * 3600, 0.25, upper=True):
        rows = zip(pairs.query.tolist(), pairs.other.tolist(), pairs.sim.tolist(), strict=True)
        found.update({(q, o): round(s, 6) for q, o, s in rows})
    # 0-1 same provider (×0.25); 0-2, 1-2 other providers; 3 is 73 hours after 2
    assert found == {(0, 1): 0.25, (0, 2): 1.0, (1, 2): 1.0}


def test_unpublished_articles_get_a_story_but_change_none(tmp_path: Path) -> None:
    bridge = {"title": "Chiquita Fyffes merger and volcano flights", "provider": DAILY,
              "excerpt": "Chiquita Fyffes banana merger; volcano island flights grounded.",
              "date": DAY.format(day=1, hour=10), "published": False}  # fmt: skip
    public = make(tmp_path / "a", COVERAGE)
    with_hidden = make(tmp_path / "b", [*COVERAGE, bridge])
    without = stories_of(step.derive(None, (), public, full=True).table)
    table = step.derive(None, (), with_hidden, full=True).table
    assigned = stories_of(table)
    hidden = with_hidden[-1][0]
    assert {k: v for k, v in assigned.items() if k != hidden} == without
    assert assigned[hidden] in set(without.values()) | {hidden}


def test_average_linkage_is_exact_on_a_small_case() -> None:
    # 0-1 strongly, 2 half-way to both: average(2, {0, 1}) = (0.3 + 0.1) / 2 = 0.2
    a, b, s = np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([0.9, 0.3, 0.1])
    groups = np.arange(3)
    assert linkage.average_link(3, a, b, s, groups, 0.2).tolist() == [0, 0, 0]
    assert linkage.average_link(3, a, b, s, groups, 0.21).tolist() == [0, 0, 2]
    assert linkage.components(4, np.array([3, 1]), np.array([1, 2])).tolist() == [0, 1, 1, 1]


# -- incremental ---------------------------------------------------------------------------------


def test_a_new_article_joins_its_story_and_a_deleted_one_leaves(tmp_path: Path) -> None:
    records = make(tmp_path, COVERAGE)
    first = step.derive(None, (), records[:5], full=True)
    assert len(set(first.table.story)) == 2
    # the sixth joins nothing; a new merger article joins the merger story
    extra = make(tmp_path / "more", [dict(COVERAGE[1], title="Chiquita Fyffes merger approved",
                                          date=DAY.format(day=2, hour=8))])  # fmt: skip
    renamed = [(f"x{extra[0][0]}", extra[0][1], extra[0][2])]
    second = step.derive(first, (), [records[5], *renamed], full=False)
    assigned = stories_of(second.table)
    assert assigned[renamed[0][0]] == records[0][0]
    assert assigned[records[5][0]] == records[5][0]
    assert second.changes == 2 and second.df is first.df
    # the first article leaves: its story keeps its id; a story left empty is gone
    third = step.derive(second, {records[0][0], records[5][0]}, [], full=False)
    remaining = stories_of(third.table)
    assert records[0][0] not in remaining and records[0][0] in remaining.values()
    assert records[5][0] not in remaining.values()


def test_a_story_id_kept_by_others_is_not_reused_by_a_new_story(tmp_path: Path) -> None:
    records = make(tmp_path, COVERAGE[:3])
    first = step.derive(None, (), records, full=True)
    unrelated = make(tmp_path / "b", [COVERAGE[5]])[0]
    back = (records[0][0], "changed", unrelated[2])  # the first article, now about chess
    again = step.derive(first, {records[0][0]}, [back], full=False)
    assigned = stories_of(again.table)
    assert assigned[records[1][0]] == records[0][0]  # the merger story kept its name
    assert assigned[records[0][0]] == f"{records[0][0]}~2"


def test_many_incremental_changes_recluster_everything(tmp_path: Path) -> None:
    records = make(tmp_path, COVERAGE)
    params = method.Params(full_after_minimum=1)
    first = step.derive(None, (), records[:3], full=True, params=params)
    again = step.derive(first, (), records[3:], full=False, params=params)
    assert again.changes == 0  # 3 changes on 6 articles: over 5%, so a full story run
    assert partition(stories_of(again.table)) == partition(
        stories_of(method.cluster(table_of(records)).table)
    )
    assert step.refresh_reason(first, first.hashes(), 2, in_documents=True, params=params)
    assert not step.refresh_reason(first, first.hashes(), 2, in_documents=False, params=params)
    assert step.refresh_reason(None, {}, 0, in_documents=False) == "no story state"
    assert "out of step" in step.refresh_reason(first, {}, 0, in_documents=False)


def test_the_state_file_round_trips(tmp_path: Path) -> None:
    records = make(tmp_path, [*COVERAGE, dict(COVERAGE[0], published=False, date=None)])
    state = step.derive(None, (), records, full=True)
    path = tmp_path / "stories-1.npz"
    story_files.save(state, path)
    loaded = story_files.load(path)
    assert loaded is not None
    assert (loaded.table.ids, loaded.table.story, loaded.table.group) == (
        state.table.ids, state.table.story, state.table.group)  # fmt: skip
    assert loaded.hashes() == state.hashes() and loaded.changes == state.changes
    assert np.array_equal(loaded.df.hashes, state.df.hashes)
    assignments = story_files.load_assignments(path)
    assert assignments is not None and assignments.story == state.table.story
    # and the next incremental run from the loaded state equals one from the state in memory
    more = make(tmp_path / "more", [dict(COVERAGE[2], title="Fyffes Chiquita merger talks")])
    more = [(f"m{r[0]}", r[1], r[2]) for r in more]
    assert stories_of(step.derive(loaded, (), more, full=False).table) == stories_of(
        step.derive(state, (), more, full=False).table
    )
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert story_files.load(tmp_path / "broken.npz") is None
    assert story_files.load(tmp_path / "absent.npz") is None


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_archives(tmp_path: Path, count: int) -> None:
    records = make(tmp_path, COVERAGE[:count])
    state = step.derive(None, (), records, full=True)
    assert len(state.table) == count and state.table.story == [r[0] for r in records]


# -- the query side's shared parts ---------------------------------------------------------------


def test_diversity_spreads_providers_over_comparable_matches() -> None:
    from search.stories.diversity import Entry, order

    entries = [Entry("a", 10.0), Entry("a", 9.5), Entry("a", 9.0), Entry("b", 8.5), Entry("c", 5.0)]
    # b (8.5 ≥ 0.8 × 9.5) takes the second slot; c (5.0) is not comparable to a's 9.0
    assert order(entries, 3) == [0, 3, 1, 2, 4]
    # one provider: nothing moves, whatever the scores (the relevance collections)
    alone = [Entry("only", score) for score in (5.0, 4.9, 4.8, 1.0, 0.5)]
    assert order(alone, 2) == [0, 1, 2, 3, 4]
    # a better tier (more of the query's words) is never passed
    tiers = [Entry("a", 1.0, tier=2), Entry("a", 1.0, tier=2), Entry("b", 9.0, tier=1)]
    assert order(tiers, 2) == [0, 1, 2]
    # only the first page moves; what it did not take follows in order
    assert order([Entry("a", 1.0)] * 4 + [Entry("b", 1.0)], 2) == [0, 4, 1, 2, 3]


def test_first_of_groups_is_exact_with_a_partial_sort() -> None:
    from search.stories.grouping import first_of_groups

    rng = np.random.default_rng(7)
    for _ in range(20):
        size = int(rng.integers(1, 400))
        key = rng.integers(0, 50, size).astype(np.float64)
        tie = rng.permutation(size).astype(np.float64)
        codes = rng.integers(0, 30, size)
        order = np.lexsort((tie, key))
        expected = []
        for position in order.tolist():
            if codes[position] not in {codes[p] for p in expected}:
                expected.append(position)
        for count in (1, 3, 10, 100):
            assert first_of_groups([key, tie], codes, count).tolist() == expected[:count]


def test_a_story_view_orders_sources_and_draws_its_timeline(tmp_path: Path) -> None:
    from search.stories import view

    made = [(WIRE, DAY.format(day=1, hour=8)), (PAPER, DAY.format(day=1, hour=10)),
            (WIRE, DAY.format(day=1, hour=9)), (DAILY, None)]  # fmt: skip
    paths = [
        write_article(tmp_path, f"00{n}_v{n:015d}.txt", f"Title {n}", provider=p, date=d)
        for n, (p, d) in enumerate(made)
    ]
    members = [(read_article(path), f"g{n % 2}") for n, path in enumerate(paths)]
    story = view.story("v000000000000000", members)
    assert [e.article.id for e in story.entries] == [
        "v000000000000000", "v000000000000002", "v000000000000001", "v000000000000003"]  # fmt: skip
    assert [e.reprint_of for e in story.entries] == [
        "", "v000000000000000", "", "v000000000000001"]  # fmt: skip
    assert [(s.name, s.count) for s in story.sources] == [("Wire", 2), ("Daily", 1), ("Paper", 1)]
    assert story.first is not None and story.first.title == "Title 0"
    assert story.latest is not None and story.latest.title == "Title 1"
    assert [(b.label, b.count) for b in story.timeline.buckets] == [
        ("2024-03-01 08:00", 1), ("2024-03-01 09:00", 1), ("2024-03-01 10:00", 1)]  # fmt: skip
    assert story.timeline.undated == 1


def test_trending_ranks_growth_against_the_window_before() -> None:
    import datetime as dt

    from search.stories import trending

    assert trending.rank({"new": 8, "big": 420, "flat": 5, "one": 1}, {"big": 400, "flat": 5},
                         10) == ["new", "big"]  # fmt: skip
    now = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    base, start, end = trending.bounds("24h", now, dt.datetime(1987, 10, 19, tzinfo=dt.UTC))
    assert dt.datetime.fromtimestamp(end, dt.UTC) == dt.datetime(1987, 10, 19, tzinfo=dt.UTC)
    assert end - start + 1 == 86_400 and start - base == 86_400
    assert trending.bounds("7d", now, now)[2] == int(now.timestamp())
    from search.errors import RequestError

    with pytest.raises(RequestError):
        trending.bounds("1y", now, None)
