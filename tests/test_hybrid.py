"""Hybrid and semantic search on a real index with the real model: what matches in each mode,
operators keeping their exact meaning, totals, facets and pages staying exact, vectors at
reindex (reused by text hash, the same bits full or incremental)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from factory import file_name, write_article

from search import hybrid, query, vectors
from search.contract import MODES, SearchRequest
from search.errors import RequestError
from search.whoosh import target as indexer
from search.whoosh.engine import WhooshEngine

ARTICLES = [  # (title, body, topic, provider)
    (
        "Automaker recalls 40,000 sedans over faulty brakes",
        "The vehicles may not stop.",
        "Autos",
        "A",
    ),
    (
        "Toyota orders a recall of hybrid SUVs over a software glitch",
        "Owners are told to wait.",
        "Autos",
        "B",
    ),
    (
        "Mercedes tells owners to park cars after braking defect",
        "Do not drive, it says.",
        "Autos",
        "A",
    ),
    (
        "Central bank raises interest rates to fight inflation",
        "Borrowing costs climb.",
        "Economy",
        "B",
    ),
    ("Giant tortoise found on a Galapagos island", "Scientists were surprised.", "Science", "A"),
    ("City council approves a new tram line downtown", "The vote was close.", "Politics", "B"),
    ("Tram line plan delayed by city council vote", "Opponents cite costs.", "Politics", "A"),
    ("Stock markets fall as interest rates rise", "Investors sold shares.", "Economy", "A"),
    ("Football club wins the championship final", "Fans celebrated late.", "Sports", "B"),
    ("New vaccine trial shows strong results", "Doctors are hopeful.", "Health", "A"),
]
HIDDEN = "Car maker quietly recalls trucks over brake flaw"


def _key(hit: object) -> str:
    return hit.article.title  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> WhooshEngine:
    root = tmp_path_factory.mktemp("hybrid")
    seeds, index = root / "seeds", root / "index"
    for number, (title, body, topic, provider) in enumerate(ARTICLES):
        write_article(
            seeds, file_name(number), title, body=body, topics=[topic],
            provider=(f"Wire {provider}", f"{provider.lower()}.sample"),
        )  # fmt: skip
    write_article(seeds, file_name(99), HIDDEN, body="An unpublished draft.", published=False)
    indexer.reindex(seeds, index)
    return WhooshEngine(index)


def search(engine: WhooshEngine, q: str, mode: str, **kw: object) -> list[str]:
    result = engine.search(SearchRequest(q=q, mode=mode, per_page=100, **kw))  # type: ignore[arg-type]
    return [_key(hit) for hit in result.hits]


def test_meaning_finds_what_the_words_miss(engine: WhooshEngine) -> None:
    words = search(engine, "carmaker recall", "keyword")
    meaning = search(engine, "carmaker recall", "semantic")
    both = search(engine, "carmaker recall", "hybrid")
    assert ARTICLES[2][0] not in words  # "Mercedes … braking defect" shares no word
    assert ARTICLES[2][0] in meaning[:3] and ARTICLES[2][0] in both[:4]
    assert set(words) <= set(both)  # hybrid keeps every keyword match
    assert HIDDEN not in meaning + both  # never an article the caller may not see
    admin = search(engine, "carmaker recall", "semantic", include_unpublished=True)
    assert HIDDEN in admin


def test_exclusions_hold_in_every_mode(engine: WhooshEngine) -> None:
    for mode in MODES:
        titles = search(engine, "car recall -toyota -mercedes", mode)
        assert titles, mode
        assert not [t for t in titles if "Toyota" in t or "Mercedes" in t], mode


def test_a_phrase_is_never_broken_by_meaning(engine: WhooshEngine) -> None:
    for mode in MODES:
        titles = search(engine, '"interest rates" borrowing', mode)
        extra = [t for t in titles if "interest rates" not in t.lower()]
        # only keyword matches of the loose word may lack the phrase
        assert set(extra) <= set(search(engine, "borrowing", "keyword")), mode
    assert all(
        "interest rates" in t.lower() for t in search(engine, '"interest rates"', "semantic")
    )


def test_field_prefixes_and_groups_are_exact_clauses(engine: WhooshEngine) -> None:
    assert all("tram" in t.lower() for t in search(engine, "title:tram", "semantic"))
    both = search(engine, "tram AND council", "hybrid")
    assert set(both) == set(search(engine, "tram AND council", "keyword"))
    assert all("recall" in t.lower() for t in search(engine, "recall*", "semantic"))


def test_the_dense_plan_of_a_query() -> None:
    def plan(text: str) -> hybrid.DensePlan:
        return hybrid.plan(query.parse(text).root, text)

    typed = '"central bank" rates -euro NOT (yen OR "the dollar") title:inflation AND econom*'
    assert plan(typed).text == "central bank rates inflation econom"
    assert plan(typed).required is not None
    assert plan("what is the bank of england doing?").text == "what is the bank of england doing?"
    assert plan("what is the bank of england doing?").required is None
    assert plan("-only -exclusions").text == ""
    # parentheses around plain words ask any of them, as plain words do: nothing is required
    assert plan("separation anxiety (up to two years) in infancy").required is None
    assert plan("oil (gas -coal)").required is not None  # an exclusion inside stays exact
    assert plan("oil OR gas").required is not None and plan("oil OR gas").exact_only


def test_a_query_with_nothing_to_embed_is_answered_as_keyword(engine: WhooshEngine) -> None:
    for mode in ("hybrid", "semantic"):
        assert search(engine, "-tram", mode) == search(engine, "-tram", "keyword")


@pytest.mark.parametrize("mode", MODES)
def test_totals_facets_and_pages_are_exact_and_consistent(engine: WhooshEngine, mode: str) -> None:
    q = "cars and money"
    result = engine.search(SearchRequest(q=q, mode=mode, per_page=100))
    assert result.total == len(result.hits) == len({_key(h) for h in result.hits})
    paged: list[str] = []
    for page in range(1, result.total + 1):
        part = engine.search(SearchRequest(q=q, mode=mode, per_page=1, page=page))
        paged += [_key(h) for h in part.hits]
    assert paged == [_key(h) for h in result.hits]
    for value in result.facets["topic"].values:
        narrowed = engine.search(SearchRequest(q=q, mode=mode, topics=(value.value,)))
        assert narrowed.total == value.count, (mode, value)
        assert {h.article.topics[0] for h in narrowed.hits} == {value.value}


def test_semantic_total_is_the_near_articles_that_pass_the_filters(engine: WhooshEngine) -> None:
    everything = engine.search(SearchRequest(q="vehicle safety", mode="semantic", per_page=100))
    assert 0 < everything.total <= len(ARTICLES)
    assert [h.score for h in everything.hits] == sorted(
        (h.score for h in everything.hits), reverse=True
    )
    autos = engine.search(SearchRequest(q="vehicle safety", mode="semantic", topics=("Autos",)))
    assert autos.total == sum(h.article.topics == ("Autos",) for h in everything.hits)


def test_an_unknown_mode_is_refused_naming_the_parameter() -> None:
    with pytest.raises(RequestError) as caught:
        SearchRequest(q="x", mode="fuzzy")
    assert caught.value.param == "mode"


def test_respelling_is_judged_on_the_words(tmp_path: Path) -> None:
    # the meaning side finds something for nearly any text: whether a respelling is applied
    # looks at the words (each typed word in no article, its respelling in many), in every mode
    indexer.reindex(Path(__file__).parents[1] / "seeds", tmp_path)
    seeds_engine = WhooshEngine(tmp_path)
    for typed, respelled in (("councel tramm", "council tram"), ("tramm", "tram")):
        for mode in MODES:
            result = seeds_engine.search(SearchRequest(q=typed, mode=mode))
            assert result.corrected is not None and result.corrected.q == respelled, mode
            assert result.mode == mode and result.total == result.corrected.total > 0


def test_vectors_are_reused_by_text_and_the_same_bits_full_or_incremental(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    for number, (title, body, topic, _) in enumerate(ARTICLES[:4]):
        write_article(seeds, file_name(number), title, body=body, topics=[topic])
    first = indexer.reindex(seeds, index)
    assert (first.embedded, first.vectors_reused) == (4, 0)
    # a new topic only: the embedded text is unchanged, so is the vector; a new title: embedded
    write_article(seeds, file_name(0), ARTICLES[0][0], body=ARTICLES[0][1], topics=["Recalls"])
    write_article(seeds, file_name(1), "A brand new headline", body=ARTICLES[1][1])
    write_article(seeds, file_name(7), ARTICLES[7][0], body=ARTICLES[7][1])
    again = indexer.reindex(seeds, index)
    assert (again.full, again.updated, again.added) == (False, 2, 1)
    assert (again.embedded, again.vectors_reused) == (2, 1)
    target = indexer.WhooshTarget(index)
    incremental = vectors.load(target.derived_file(str(target.live()), vectors.KIND))
    full = indexer.reindex(seeds, index, full=True)
    assert (full.embedded, full.vectors_reused) == (0, 5)
    rebuilt = vectors.load(target.derived_file(str(target.live()), vectors.KIND))
    assert incremental is not None and rebuilt is not None
    assert incremental.ids == rebuilt.ids and np.array_equal(incremental.vectors, rebuilt.vectors)
    fresh = indexer.reindex(seeds, tmp_path / "fresh", full=True)
    assert fresh.embedded == 5
    state = vectors.load(
        indexer.WhooshTarget(tmp_path / "fresh").derived_file(
            str(indexer.WhooshTarget(tmp_path / "fresh").live()), vectors.KIND
        )
    )
    assert state is not None and np.array_equal(state.vectors, rebuilt.vectors)
