"""The contract, run against both engines on the same seed files.

Every test takes ``engine`` (Whoosh, then Typesense on a real local server) built by
``search.backends`` from the same configuration keys the web and the CLI use, over the same
seeds indexed by ``make_indexer``. Typesense cases skip only when no server binary exists.
``test_engines_agree`` then compares the two engines' answers field by field: everything but the
order of hits (ranking is documented to differ) must be equal.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factory import write_article

from search import backends, highlight, query, vectors
from search.contract import MODES, Correction, Engine, Indexer, SearchRequest, SearchResult
from search.dates import parse_date
from search.errors import NotFound
from search.whoosh.target import WhooshTarget

NOW = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)
LONG_BODY = (
    "Opening paragraph about the weather and the markets, which has nothing to do with it. " * 6
    + "Late in the text the harbour tram line finally appears, and the tram depot too."
)


def write_seeds(seeds: Path) -> Path:
    write_article(
        seeds,
        "000_contract00000001.txt",
        "Harbour tram line approved",
        excerpt="The council approved a new tram line.",
        body=LONG_BODY,
        topics=["Transport", "Politics"],
        provider=("Northwind Gazette", "northwind.sample"),
        date="2024-03-05T18:00:00Z",
        related=[{"title": "Tram depot opens", "webUrl": "https://northwind.sample/depot"}],
    )
    write_article(
        seeds,
        "000_contract00000002.txt",
        "Tram depot opens",
        excerpt="A depot for the trams.",
        body="The depot holds forty trams and a ferry.",
        topics=["Transport"],
        provider=("Harbor Times", "harbor.sample"),
        date="2024-03-06T09:00:00Z",
        url="https://northwind.sample/depot",
    )
    write_article(
        seeds,
        "000_contract00000003.txt",
        "Council budget vote",
        excerpt="Councillors vote on the budget.",
        body="The budget vote was close; trams were not discussed.",
        topics=["Politics"],
        provider=("Harbor Times", "harbor.sample"),
        date="2024-05-20T10:00:00Z",
        related=[{"title": "Ferry, ferry, ferry: the ferry chaos", "webUrl": "https://x.sample/f"}],
    )
    write_article(
        seeds,
        "000_contract00000004.txt",
        "Undated note on the ferry",
        body="A ferry crosses the harbour.",
        topics=["Transport"],
        provider=("Café Crème", "cafe.sample"),
        date=None,
    )
    write_article(
        seeds,
        "000_contract00000005.txt",
        "Secret tram merger draft",
        body="The tram merger is secret.",
        topics=["Business"],
        published=False,
    )
    return seeds


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seeds(tmp_path_factory.mktemp("contract") / "seeds")


@pytest.fixture(scope="module")
def typesense_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pytest.importorskip("typesense", reason="the typesense client is not installed")
    from devtools import typesense_local

    try:
        typesense_local.server_binary()
    except typesense_local.ServerUnavailable as exc:
        pytest.skip(f"no Typesense server binary: {exc}")
    cluster = typesense_local.LocalCluster.create(tmp_path_factory.mktemp("typesense"), 1)
    with cluster:
        yield {
            "ENGINE": "typesense",
            "TYPESENSE_NODES": ",".join(cluster.urls),
            "TYPESENSE_API_KEY": cluster.api_key,
        }


def config_for(
    name: str, request: pytest.FixtureRequest, folder: Path, collection: str
) -> dict[str, Any]:
    if name == "whoosh":
        return {"ENGINE": "whoosh", "INDEX_DIR": str(folder / "index")}
    config = request.getfixturevalue("typesense_config")
    return {**config, "TYPESENSE_COLLECTION": collection, "INDEX_DIR": str(folder / "lock")}


@pytest.fixture(scope="module", params=["whoosh", "typesense"])
def engine(
    request: pytest.FixtureRequest, seeds: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    config = config_for(request.param, request, tmp_path_factory.mktemp("index"), "contract")
    report = backends.make_indexer(config).reindex(seeds, full=True)
    assert report.exit_code == 0 and report.documents == 5, report
    built = backends.make_engine(config)
    yield built
    built.close()


def ask(engine: Engine, **fields: Any) -> SearchResult:
    """Keyword mode unless asked (the modes' parity: test_engines_agree, and
    tests/test_typesense.py on a larger corpus)."""
    return engine.search(SearchRequest(now=NOW, **{"mode": "keyword", **fields}))


def titles(result: SearchResult) -> set[str]:
    return {hit.article.title for hit in result.hits}


def test_search_finds_visible_matches_only(engine: Engine) -> None:
    result = ask(engine, q="tram")
    visible = {"Harbour tram line approved", "Tram depot opens", "Council budget vote"}
    assert titles(result) == visible
    assert result.total == 3 and result.generation
    assert result.facets["topic"].values[0].value == "Politics"
    assert all(value.count for value in result.facets["topic"].values)
    admin = ask(engine, q="tram", include_unpublished=True)
    assert titles(admin) == {*visible, "Secret tram merger draft"} and admin.total == 4


def test_filters_and_disjunctive_facets(engine: Engine) -> None:
    result = ask(engine, topics=("Politics",), providers=("harbor.sample",))
    assert titles(result) == {"Council budget vote"}
    topic = {v.value: (v.count, v.selected) for v in result.facets["topic"].values}
    # counted without the topic filter: the provider's articles by topic
    assert topic == {"Politics": (1, True), "Transport": (1, False)}
    provider = {v.value: (v.count, v.selected) for v in result.facets["provider"].values}
    assert provider["harbor.sample"] == (1, True) and provider["Northwind Gazette"] == (1, False)
    assert not result.facets["type"].truncated


def test_date_histogram_and_ranges(engine: Engine) -> None:
    result = ask(engine, facet_size=10)
    histogram = result.date_histogram
    assert histogram is not None and histogram.interval == "month"
    assert [(b.label, b.count) for b in histogram.buckets] == [
        ("2024-03", 2),
        ("2024-04", 0),
        ("2024-05", 1),
    ]
    assert histogram.undated == 1
    # the newest visible article is 12 days older than NOW: the shorter windows end there
    newest = dt.datetime(2024, 5, 20, 10, tzinfo=dt.UTC)
    assert {r.key: (r.count, r.end) for r in result.ranges} == {
        "1h": (1, newest),
        "24h": (1, newest),
        "7d": (1, newest),
        "30d": (1, None),
        "1y": (3, None),
    }
    assert ask(engine, range="7d").total == 1  # the filter agrees with its count


def test_until_a_date_includes_that_day(engine: Engine) -> None:
    until = parse_date("until", "2024-03-05", end=True)
    assert titles(ask(engine, until=until)) == {"Harbour tram line approved"}


def test_snippets_are_the_shared_ones(engine: Engine) -> None:
    (hit,) = [h for h in ask(engine, q="depot").hits if h.article.id == "contract00000001"]
    marks = highlight.marks(query.parse("depot").root)
    assert hit.body_snippet == highlight.snippet(LONG_BODY, marks.terms["body"])
    assert hit.body_snippet[0].text == highlight.ELLIPSIS
    assert [s.text for s in hit.title if s.match] == []
    (depot,) = [h for h in ask(engine, q="depot").hits if h.article.id == "contract00000002"]
    assert [s.text for s in depot.title if s.match] == ["depot"]


def test_a_phrase_shows_the_body_when_its_words_are_there(engine: Engine) -> None:
    """The phrase is in the title only; its words are in the body: the body is shown, marked."""
    result = ask(engine, q='"tram depot"')
    (hit,) = [h for h in result.hits if h.article.id == "contract00000002"]
    assert [s.text for s in hit.title if s.match] == ["Tram", "depot"]
    assert [s.text for s in hit.body_snippet if s.match] == ["depot", "trams"]


def test_a_typo_that_finds_nothing_is_respelled(engine: Engine) -> None:
    result = ask(engine, q="budgte")
    assert result.request.q == "budgte"
    assert result.corrected == Correction("budget", 1) and result.did_you_mean is None
    assert result.total == 1 and titles(result) == {"Council budget vote"}
    assert [s.text for s in result.hits[0].title if s.match] == ["budget"]
    exact = ask(engine, q="budgte", exact=True)  # "search instead for budgte"
    assert exact.total == 0 and exact.corrected is None
    assert exact.did_you_mean == Correction("budget", 1)
    assert ask(engine, q="tram").did_you_mean is None
    assert ask(engine, q="tram").corrected is None


def test_a_typo_among_found_words_is_offered(engine: Engine) -> None:
    """``council budgte`` finds ``council`` articles; ``budget`` is in one more document only
    (not ``spelling.AUTO_GAIN`` times more): offered, not applied."""
    result = ask(engine, q="council budgte")
    assert result.corrected is None and result.total == 2
    assert result.did_you_mean == Correction("council budget", 2)


def test_related_title_matches_rank_last_and_say_why(engine: Engine) -> None:
    for sort in ("relevance", "newest", "oldest"):
        result = ask(engine, q="ferry", sort=sort)
        ids = [hit.article.id for hit in result.hits]
        assert ids[-1] == "contract00000003" and len(ids) == 3, (sort, ids)
        *own, related = result.hits
        assert all(hit.related_matches == () for hit in own)
        (marked,) = related.related_matches
        assert "".join(s.text for s in marked) == "Ferry, ferry, ferry: the ferry chaos"
        assert [s.text for s in marked if s.match] == ["Ferry", "ferry", "ferry", "ferry"]
    page_two = ask(engine, q="ferry", per_page=2, page=2)
    assert [h.article.id for h in page_two.hits] == ["contract00000003"]


def test_grouped_the_related_title_rule_holds(engine: Engine) -> None:
    """Grouped by story, an entry matching only through related titles still ranks after every
    story with an own match, says why, and pages count stories."""
    for sort in ("relevance", "newest", "oldest"):
        result = ask(engine, q="ferry", sort=sort, group="story")
        ids = [hit.article.id for hit in result.hits]
        assert result.total == 3 and result.stories == len(ids), (sort, ids)
        assert ids[-1] == "contract00000003", (sort, ids)
        *own, related = result.hits
        assert all(hit.related_matches == () and hit.story is not None for hit in own)
        assert [s.text for s in related.related_matches[0] if s.match][0] == "Ferry"
    last = ask(engine, q="ferry", group="story", per_page=1, page=result.stories)
    assert [h.article.id for h in last.hits] == ["contract00000003"]


def test_grouped_a_typo_is_respelled(engine: Engine) -> None:
    result = ask(engine, q="budgte", group="story")
    assert result.corrected == Correction("budget", 1)
    assert (result.total, result.stories) == (1, 1) and titles(result) == {"Council budget vote"}
    assert result.hits[0].story is not None
    assert ask(engine, q="budgte", group="story", exact=True).total == 0


def test_a_query_of_stop_words_searches_them_in_titles(engine: Engine) -> None:
    assert titles(ask(engine, q="the")) == {"Undated note on the ferry"}
    assert titles(ask(engine, q='"on the"')) == {"Undated note on the ferry"}
    assert ask(engine, q='"the on"').total == 0  # a phrase: in that order
    assert ask(engine, q="of").total == 0


def test_get_and_visibility(engine: Engine) -> None:
    article = engine.get("contract00000002")
    assert article.title == "Tram depot opens"
    assert article.body == "The depot holds forty trams and a ferry."
    with pytest.raises(NotFound):
        engine.get("contract00000005")
    assert engine.get("contract00000005", include_unpublished=True).title.startswith("Secret")
    with pytest.raises(NotFound):
        engine.get("nonexistent")


def test_suggest(engine: Engine) -> None:
    found = {(s.text, s.kind) for s in engine.suggest("tra")}
    assert ("Transport", "topic") in found
    assert not any("Secret" in text for text, _ in found)


def test_more_like_this(engine: Engine) -> None:
    similar = engine.more_like_this("contract00000001", limit=3)
    ids = [hit.article.id for hit in similar]
    assert ids and "contract00000001" not in ids and "contract00000005" not in ids
    assert "contract00000002" in ids
    assert all(not any(s.match for s in hit.title) for hit in similar)


def fresh_index(
    request: pytest.FixtureRequest, tmp_path: Path, engine: Engine, collection: str
) -> tuple[dict[str, Any], Path, Indexer]:
    """A configuration of ``engine``'s kind, the contract's seeds and an indexer for them."""
    name = "typesense" if type(engine).__name__.startswith("Typesense") else "whoosh"
    config = config_for(name, request, tmp_path, collection)
    return config, write_seeds(tmp_path / "seeds"), backends.make_indexer(config)


def test_generation_changes_after_reindex(
    request: pytest.FixtureRequest, tmp_path: Path, engine: Engine
) -> None:
    config, seeds, indexer = fresh_index(request, tmp_path, engine, "generation")
    indexer.reindex(seeds)
    fresh = backends.make_engine(config)
    before = fresh.generation()
    assert fresh.generation() == before  # stable while nothing changes
    write_article(seeds, "000_contract00000009.txt", "Zeppelin tram news", date="2024-05-30")
    assert indexer.reindex(seeds).added == 1  # incremental
    deadline = time.monotonic() + 5
    while fresh.generation() == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert fresh.generation() != before
    assert ask(fresh, q="zeppelin").total == 1
    fresh.close()


def test_a_full_reindex_keeps_the_last_good_version_of_a_broken_file(
    request: pytest.FixtureRequest, tmp_path: Path, engine: Engine
) -> None:
    config, seeds, indexer = fresh_index(request, tmp_path, engine, "keepgood")
    indexer.reindex(seeds, full=True)
    broken = seeds / "000_contract00000003.txt"
    broken.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    for full in (False, True, True):  # incremental, then full twice: the copy of a copy holds
        report = indexer.reindex(seeds, full=full)
        assert [r.path for r in report.rejected] == [broken.name], (full, report)
        assert report.documents == 5 and report.full == full
        assert title_of(config, "contract00000003") == "Council budget vote"
        assert rejected_of(config) == 1  # the health check warns
    write_seeds(seeds)  # fixed: the file's own version again
    broken.write_text(broken.read_text().replace("Council budget vote", "Budget vote, fixed"))
    assert indexer.reindex(seeds, full=True).rejected == []
    assert title_of(config, "contract00000003") == "Budget vote, fixed"
    assert rejected_of(config) == 0


def rejected_of(config: dict[str, Any]) -> int:
    fresh = backends.make_engine(config)
    try:
        return fresh.info().rejected
    finally:
        fresh.close()


def title_of(config: dict[str, Any], article_id: str) -> str:
    """The title a freshly opened engine gives (after a reindex), found by search too."""
    fresh = backends.make_engine(config)
    try:
        title = fresh.get(article_id).title
        assert article_id in {h.article.id for h in ask(fresh, q=title.split()[-1]).hits}
        return title
    finally:
        fresh.close()


QUERIES: list[dict[str, Any]] = [
    {},
    {"q": "tram"},
    {"q": "trams depot"},
    {"q": '"tram line"'},
    {"q": '"tram depot"'},
    {"q": "tram -depot"},
    {"q": "tra*"},
    {"q": "harbour", "topics": ("Transport",)},
    {"q": "council", "since": dt.datetime(2024, 4, 1, tzinfo=dt.UTC)},
    {"q": "budgte"},
    {"q": "budgte", "exact": True},
    {"q": "council budgte"},
    {"q": "ferry"},
    {"q": "ferry", "sort": "newest"},
    {"range": "7d"},
    {"q": "trams", "include_unpublished": True},
    {"range": "1y"},
]


def summary(result: SearchResult) -> dict[str, Any]:
    """What must not depend on the engine: everything but the order of hits and scores."""
    return {
        "total": result.total,
        "hits": sorted((h.article.id, h.title, h.excerpt, h.body_snippet) for h in result.hits),
        "facets": result.facets,
        "histogram": result.date_histogram,
        "ranges": result.ranges,
        "did_you_mean": result.did_you_mean,
        "corrected": result.corrected,
        "related": sorted((h.article.id, h.related_matches) for h in result.hits),
    }


def test_engines_agree(
    request: pytest.FixtureRequest, seeds: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    answers = []
    for name in ("whoosh", "typesense"):
        config = config_for(name, request, tmp_path_factory.mktemp(name), "agree")
        backends.make_indexer(config).reindex(seeds)
        built = backends.make_engine(config)
        answers.append([summary(ask(built, mode=mode, **q)) for mode in MODES for q in QUERIES])
        built.close()
    asked = [(mode, q) for mode in MODES for q in QUERIES]
    for params, mine, theirs in zip(asked, *answers, strict=True):
        assert mine == theirs, params


def test_modes_say_what_answered_them(engine: Engine) -> None:
    keyword = ask(engine, q="tram")
    assert keyword.mode == "keyword"
    for mode in ("hybrid", "semantic"):
        result = ask(engine, q="tram", mode=mode)
        assert result.mode == mode
        assert mode == "semantic" or titles(keyword) <= titles(result)
        # nothing to embed (only an exclusion): answered in keyword mode, and said so
        assert ask(engine, q="-depot", mode=mode).mode == "keyword"
        stories = engine.search(SearchRequest(now=NOW, q="tram", group="story", mode=mode))
        assert stories.mode == mode and stories.stories


def test_both_engines_store_the_same_vectors(
    request: pytest.FixtureRequest, seeds: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stored: dict[str, dict[str, np.ndarray]] = {}
    for name in ("whoosh", "typesense"):
        folder = tmp_path_factory.mktemp(f"vectors-{name}")
        config = config_for(name, request, folder, "vectors")
        report = backends.make_indexer(config).reindex(seeds)
        assert report.embedded + report.vectors_reused == report.documents == 5
        if name == "whoosh":
            target = WhooshTarget(folder / "index")
            state = vectors.load(target.derived_file(str(target.live()), vectors.KIND))
            assert state is not None
            stored[name] = dict(zip(state.ids, state.vectors.astype(np.float32), strict=True))
        else:
            built = backends.make_engine(config)
            exported = built.admin.collections["vectors"].documents.export(  # type: ignore[attr-defined]
                {"include_fields": "id,embedding"}
            )
            rows = [json.loads(line) for line in exported.splitlines() if line.strip()]
            stored[name] = {row["id"]: np.array(row["embedding"], np.float32) for row in rows}
            built.close()
    assert stored["whoosh"].keys() == stored["typesense"].keys()
    for article_id, vector in stored["whoosh"].items():
        assert np.allclose(vector, stored["typesense"][article_id], atol=1e-6), article_id


@pytest.mark.parametrize("name", ["whoosh", "typesense"])
def test_facet_ties_at_the_cut_are_broken_by_value(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """More providers tied at the cut than an engine returns at once: the listed ones are still
    the first by value, as on Whoosh (Typesense orders tied counts as it likes)."""
    seeds = tmp_path / "seeds"
    providers = [f"Outlet {number:02d}" for number in range(45)]
    for number, provider in enumerate(reversed(providers)):
        write_article(
            seeds,
            f"000_tie{number:013d}.txt",
            f"Tied story {number}",
            provider=(provider, f"outlet{number}.sample"),
            date="2024-03-05T18:00:00Z",
        )
    config = config_for(name, request, tmp_path, "ties")
    assert backends.make_indexer(config).reindex(seeds, full=True).documents == 45
    engine = backends.make_engine(config)
    try:
        facet = ask(engine, q="tied", facet_size=5).facets["provider"]
    finally:
        engine.close()
    assert [(v.value, v.count) for v in facet.values] == [(p, 1) for p in providers[:5]]
    assert facet.truncated


# --- stories (search.stories), on both engines ------------------------------------------------

STORY_NOW = dt.datetime(2014, 3, 10, 23, 0, tzinfo=dt.UTC)
MERGER = "Chiquita and Fyffes agree to merge, creating the top banana company"
VOLCANO = "Volcano erupts on the island, ash cloud grounds regional flights"


PROVIDERS = [
    ("Wire One", "one.sample"),
    ("Paper Two", "two.sample"),
    ("Daily Three", "three.sample"),
    ("Post Four", "four.sample"),
]


def write_story_seeds(seeds: Path) -> Path:
    """Two stories told by several providers (one with an unpublished member, one with a
    reprint), a story of an undated article linked to a dated one, and a single article a week
    before (trending's baseline)."""

    def put(name: str, title: str, excerpt: str, who: int, topic: str, when: str | None,
            **extra: Any) -> None:  # fmt: skip
        provider = PROVIDERS[who] if who >= 0 else ("Hush Wire", "hush.sample")
        date = f"2014-03-{when}:00:00Z" if when else None
        write_article(seeds, f"{name}.txt", title, excerpt=excerpt, provider=provider,
                      topics=[topic], date=date, **extra)  # fmt: skip

    merger = [
        "Chiquita, Fyffes agree banana merger",
        "Banana giants Chiquita and Fyffes merge",
        "Chiquita Fyffes merger creates top banana",
        "Fyffes and Chiquita seal merger",
    ]
    for number, (title, hour) in enumerate(zip(merger, (8, 9, 12, 15), strict=True)):
        put(f"010_merger{number:010d}", title, MERGER, number, "Business", f"10T{hour:02d}")
    put("010_merger9999999999", "Chiquita Fyffes merger memo", MERGER, -1, "Hushtopic",
        "10T10", published=False)  # fmt: skip
    put("020_volcano0000000000", "Island volcano erupts", VOLCANO, 0, "Science", "10T10")
    put("020_volcano0000000001", "Island volcano erupts", VOLCANO, 1, "Science", "10T13")
    put("020_volcano0000000002", "Ash cloud from island volcano grounds flights",
        "Flights were grounded as the volcano ash cloud spread over the island.", 2, "Science",
        "10T14")  # fmt: skip
    chess = "https://four.sample/chess"
    put("030_chess00000000000", "Chess champion keeps title",
        "The champion won the rapid tiebreak.", 3, "Sports", "09T20", url=chess)  # fmt: skip
    link = [{"title": "Chess champion keeps title", "webUrl": chess}]
    put("030_chess00000000001", "Grandmaster interview", "A long talk about openings.", 1,
        "Sports", None, related=link)  # fmt: skip
    put("040_earlier000000000", "Banana prices steady", "Prices of bananas were steady.", 0,
        "Business", "03T09")  # fmt: skip
    return seeds


MERGER_ID, VOLCANO_ID, CHESS_ID = "merger0000000000", "volcano0000000000", "chess00000000000"


@pytest.fixture(scope="module")
def story_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_story_seeds(tmp_path_factory.mktemp("stories") / "seeds")


@pytest.fixture(scope="module", params=["whoosh", "typesense"])
def story_engine(
    request: pytest.FixtureRequest, story_seeds: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    config = config_for(request.param, request, tmp_path_factory.mktemp("index"), "stories")
    report = backends.make_indexer(config).reindex(story_seeds, full=True)
    assert report.exit_code == 0 and report.documents == 11, report
    built = backends.make_engine(config)
    yield built
    built.close()


def grouped(engine: Engine, **fields: Any) -> SearchResult:
    return engine.search(
        SearchRequest(now=STORY_NOW, group="story", **{"mode": "keyword", **fields})
    )


def test_grouped_search_gives_one_hit_per_story(story_engine: Engine) -> None:
    result = grouped(story_engine, q="chiquita fyffes merger")
    assert (result.total, result.stories, len(result.hits)) == (4, 1, 1)
    (hit,) = result.hits
    assert hit.story is not None and hit.story.id == MERGER_ID
    assert (hit.story.articles, hit.story.sources, hit.story.matches) == (4, 4, 4)
    others = set(hit.story.other_sources)
    assert (
        len(others) == 3 and hit.article.provider.name not in others and "Hush Wire" not in others
    )
    admin = grouped(story_engine, q="chiquita fyffes merger", include_unpublished=True)
    assert admin.hits[0].story is not None and admin.hits[0].story.articles == 5
    assert (admin.total, admin.stories) == (5, 1)
    plain = story_engine.search(
        SearchRequest(now=STORY_NOW, q="chiquita fyffes merger", mode="keyword")
    )
    assert (
        plain.stories is None and len(plain.hits) == 4 and all(h.story is None for h in plain.hits)
    )
    assert plain.facets == result.facets  # facets count articles either way


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_grouped_pages_by_meaning_never_repeat_a_story(story_engine: Engine, mode: str) -> None:
    whole = grouped(story_engine, q="fruit merger volcano", mode=mode, per_page=100)
    assert whole.mode == mode and whole.stories == len(whole.hits) > 2
    ids = [hit.story.id for hit in whole.hits if hit.story]
    paged = [grouped(story_engine, q="fruit merger volcano", mode=mode, per_page=2, page=p)
             for p in range(1, 4)]  # fmt: skip
    seen = [hit.story.id for r in paged for hit in r.hits if hit.story]
    assert seen == ids[: len(seen)] and len(seen) == min(6, len(ids)) == len(set(seen))
    assert all(hit.story and hit.story.matches >= 1 for hit in whole.hits)


def test_grouped_pages_count_stories_and_never_repeat_one(story_engine: Engine) -> None:
    everything = grouped(story_engine, per_page=100)
    assert everything.total == 10 and everything.stories == 4
    ids = [hit.story.id for hit in everything.hits if hit.story]
    assert len(ids) == len(set(ids)) == 4
    assert set(ids) == {MERGER_ID, VOLCANO_ID, CHESS_ID, "earlier000000000"}
    paged = [grouped(story_engine, per_page=3, page=page) for page in (1, 2, 3)]
    assert [r.pages for r in paged] == [2, 2, 2]
    seen = [hit.story.id for r in paged for hit in r.hits if hit.story]
    assert seen == ids and not paged[2].hits


def test_newest_sorts_stories_by_their_latest_match(story_engine: Engine) -> None:
    result = grouped(story_engine, sort="newest", per_page=10)
    firsts = [(hit.story.id, hit.article.published_at) for hit in result.hits if hit.story]
    assert [story for story, _ in firsts[:3]] == [MERGER_ID, VOLCANO_ID, CHESS_ID]
    # each story's entry is its latest article
    assert firsts[0][1] == dt.datetime(2014, 3, 10, 15, tzinfo=dt.UTC)
    assert firsts[1][1] == dt.datetime(2014, 3, 10, 14, tzinfo=dt.UTC)


def test_the_story_page_shows_what_the_caller_may_see(story_engine: Engine) -> None:
    story = story_engine.story(MERGER_ID)
    assert [e.article.id for e in story.entries] == [f"merger{n:010d}" for n in range(4)]
    assert story.first is not None and story.first.id == MERGER_ID
    assert story.latest is not None and story.latest.id == "merger0000000003"
    assert [(s.name, s.count) for s in story.sources] == [
        ("Daily Three", 1), ("Paper Two", 1), ("Post Four", 1), ("Wire One", 1)]  # fmt: skip
    assert [(t.value, t.count) for t in story.topics] == [("Business", 4)]
    assert story.timeline.interval == "hour"
    assert sum(b.count for b in story.timeline.buckets) == 4 and story.timeline.undated == 0
    admin = story_engine.story(MERGER_ID, include_unpublished=True)
    assert len(admin.entries) == 5 and "Hush Wire" in {s.name for s in admin.sources}
    assert story_engine.story_of("merger0000000002").id == MERGER_ID
    with pytest.raises(NotFound):
        story_engine.story_of("merger9999999999")
    with pytest.raises(NotFound):
        story_engine.story("no-such-story")


def test_reprints_and_related_links(story_engine: Engine) -> None:
    volcano = story_engine.story(VOLCANO_ID)
    assert [(e.article.id, e.reprint_of) for e in volcano.entries] == [
        (VOLCANO_ID, ""), ("volcano0000000001", VOLCANO_ID), ("volcano0000000002", "")]  # fmt: skip
    chess = story_engine.story(CHESS_ID)
    assert [e.article.id for e in chess.entries] == [CHESS_ID, "chess00000000001"]
    assert chess.timeline.undated == 1


def test_trending_against_the_window_before(story_engine: Engine) -> None:
    day = story_engine.trending("24h", now=STORY_NOW)
    assert day.end == STORY_NOW
    assert [(s.id, s.count, s.baseline, s.sources) for s in day.stories] == [
        (MERGER_ID, 4, 0, 4), (VOLCANO_ID, 3, 0, 3)]  # fmt: skip
    assert day.stories[0].title == "Fyffes and Chiquita seal merger"  # its latest article
    assert [(t.topic, t.count, t.baseline) for t in day.topics] == [
        ("Business", 4, 0), ("Science", 3, 0)]  # fmt: skip
    # an archive older than the window: it ends at the newest visible article
    later = story_engine.trending("24h", now=STORY_NOW + dt.timedelta(days=400))
    assert later.end == dt.datetime(2014, 3, 10, 15, tzinfo=dt.UTC)
    admin = story_engine.trending("24h", now=STORY_NOW, include_unpublished=True)
    assert admin.stories[0].count == 5 and ("Hushtopic", 1, 0) not in [
        (t.topic, t.count, t.baseline) for t in admin.topics]  # fmt: skip


def story_summary(engine: Engine) -> list[Any]:
    """What must not depend on the engine. Which article stands for a story is the first in the
    order, and the engines rank differently: only the stories and their counts are compared."""
    answers: list[Any] = []
    for fields in ({}, {"q": "merger"}, {"q": "volcano island"}, {"sort": "newest"},
                   {"include_unpublished": True}, {"per_page": 2, "page": 2}):  # fmt: skip
        result = grouped(engine, **fields)
        stories = sorted(
            (h.story.id, h.story.articles, h.story.sources, h.story.matches)
            for h in result.hits
            if h.story
        )
        answers.append((result.total, result.stories, result.facets, stories))
    for mode in ("hybrid", "semantic"):  # the same stories and counts by meaning too
        for q in ("merger", "volcano island", "banana company deal", "chess"):
            result = grouped(engine, q=q, mode=mode, per_page=100)
            stories = sorted(
                (h.story.id, h.story.articles, h.story.sources, h.story.matches)
                for h in result.hits
                if h.story
            )
            answers.append(
                (mode, q, result.mode, result.total, result.stories, result.facets, stories)
            )
    for story_id in (MERGER_ID, VOLCANO_ID, CHESS_ID):
        answers.append(replace(engine.story(story_id), generation=""))
    answers.append(replace(engine.trending("7d", now=STORY_NOW), generation=""))
    return answers


def test_engines_agree_on_stories(
    request: pytest.FixtureRequest, story_seeds: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    answers = []
    for name in ("whoosh", "typesense"):
        config = config_for(name, request, tmp_path_factory.mktemp(name), "agree-stories")
        backends.make_indexer(config).reindex(story_seeds)
        built = backends.make_engine(config)
        answers.append(story_summary(built))
        built.close()
    for mine, theirs in zip(*answers, strict=True):
        assert mine == theirs


def test_a_story_is_never_named_after_an_unpublished_article(
    request: pytest.FixtureRequest, tmp_path: Path, story_engine: Engine
) -> None:
    """Its first article unpublished by an incremental run: the story takes the name of its
    earliest published article (on Typesense, its other documents are updated)."""
    name = "typesense" if type(story_engine).__name__.startswith("Typesense") else "whoosh"
    config = config_for(name, request, tmp_path, "unpublish")
    seeds = write_story_seeds(tmp_path / "seeds")
    indexer = backends.make_indexer(config)
    indexer.reindex(seeds, full=True)
    first = seeds / "010_merger0000000000.txt"
    first.write_text(first.read_text().replace("published: true", "published: false"))
    report = indexer.reindex(seeds)
    assert not report.full and report.updated == 1, report
    fresh = backends.make_engine(config)
    try:
        renamed = fresh.story("merger0000000001")
        assert [e.article.id for e in renamed.entries][0] == "merger0000000001"
        assert len(renamed.entries) == 3
        with pytest.raises(NotFound):
            fresh.story(MERGER_ID)
        hit = grouped(fresh, q="chiquita fyffes merger").hits[0]
        assert hit.story is not None and hit.story.id == "merger0000000001"
        admin = fresh.story_of(MERGER_ID, include_unpublished=True)
        assert admin.id in ("merger0000000001", f"{MERGER_ID}")
    finally:
        fresh.close()
