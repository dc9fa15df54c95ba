"""Property tests over random small corpora: facet counts and totals equal brute force computed
from the parsed articles (disjunctive counts included), and the vectorised matching equals
Whoosh's own matcher on random queries (the differential test)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from test_engine_helpers import (
    NOW,
    Built,
    Doc,
    build,
    has_term,
    newest_of,
    request,
    visible,
    window,
    write_docs,
)
from test_engine_helpers import passes as passes_filters
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.query.qcore import QueryError

from search import query
from search.articles import Article
from search.contract import RELATIVE_RANGES, SearchRequest
from search.ranking import SEARCH_FIELDS
from search.whoosh import layout, matching
from search.whoosh.target import reindex

WORDS = ["oil", "bank", "gold", "wheat", "trade", "market", "crude", "prices", "rally", "storm"]
STOP = ["the", "of", "and"]
TOPICS = ["Energy", "energy", "Finance", "Farming", "Économie"]
PROVIDERS = [
    ("Reuters", "reuters.com"),
    ("AP", "apnews.com"),
    ("Le Monde", "lemonde.fr"),
    ("reuters.com", "mirror.sample"),  # a name that is another provider's domain
]
START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def text_of(draw: st.DrawFn, low: int, high: int) -> str:
    return " ".join(draw(st.lists(st.sampled_from(WORDS + STOP), min_size=low, max_size=high)))


@st.composite
def dates(draw: st.DrawFn) -> str | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    seconds = draw(st.integers(0, 550 * 86_400))
    offset = dt.timedelta(minutes=draw(st.sampled_from([0, 60, -300, 330, 840, -720])))
    when = (START + dt.timedelta(seconds=seconds)).astimezone(dt.timezone(offset))
    return when.isoformat()


@st.composite
def docs(draw: st.DrawFn) -> Doc:
    return Doc(
        title=text_of(draw, 1, 4) or "untitled",
        excerpt=text_of(draw, 0, 6),
        body=text_of(draw, 0, 10),
        topics=draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True)),
        provider=draw(st.sampled_from(PROVIDERS)),
        date=draw(dates()),
        published=draw(st.integers(0, 5)) > 0,
        quality=draw(st.integers(0, 100)),
        heat=draw(st.integers(0, 100)),
    )


corpora = st.lists(docs(), min_size=1, max_size=14)


@st.composite
def requests(draw: st.DrawFn) -> SearchRequest:
    moments = st.none() | st.integers(0, 550).map(lambda d: START + dt.timedelta(days=d))
    since, until = draw(moments), draw(moments)
    if since and until and since >= until:
        since, until = until, since + dt.timedelta(days=1)
    provider_values = [name for name, _ in PROVIDERS] + [domain for _, domain in PROVIDERS]
    return request(
        q=draw(st.sampled_from(["", *WORDS[:5]])),
        topics=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True))),
        providers=tuple(draw(st.lists(st.sampled_from(provider_values), max_size=2, unique=True))),
        types=tuple(draw(st.lists(st.sampled_from(["article", "video"]), max_size=1))),
        since=since,
        until=until,
        range=draw(st.none() | st.sampled_from(list(RELATIVE_RANGES))),
        now=draw(st.sampled_from([NOW, dt.datetime(2024, 3, 1, 6, tzinfo=dt.UTC)])),
        facet_size=100,
        include_unpublished=draw(st.booleans()),
        exact=True,  # the brute force matches words as typed; respelling is tested elsewhere
    )


def matching_articles(built: Built, req: SearchRequest) -> list[Article]:
    shown = visible(built.articles, req.include_unpublished)
    if not req.q:
        return shown
    stem = query.analyse(req.q)[0]
    return [a for a in shown if has_term(a, stem)]


@PROPERTY_SETTINGS
@given(corpus=corpora, reqs=st.lists(requests(), min_size=1, max_size=4))
def test_totals_and_facets_equal_brute_force(corpus: list[Doc], reqs: list[SearchRequest]) -> None:
    with tempfile.TemporaryDirectory() as root:
        built = build(Path(root), corpus)
        for req in reqs:
            check_against_brute_force(built, req)


def check_against_brute_force(built: Built, req: SearchRequest) -> None:
    result = built.engine.search(req)
    matches = matching_articles(built, req)
    newest = newest_of(built.articles, req.include_unpublished)

    def passes(article: Article, req: SearchRequest, skip: str = "") -> bool:
        return passes_filters(article, req, skip, newest)

    final = [a for a in matches if passes(a, req)]
    assert result.total == len(final)
    assert {hit.article.id for hit in result.hits} <= {a.id for a in final}
    assert len(result.hits) == min(len(final), req.per_page)

    def shown(name: str) -> dict[str, int]:
        return {v.value: v.count for v in result.facets[name].values}

    topic_pool = [a for a in matches if passes(a, req, skip="topic")]
    topics = Counter(t for a in topic_pool for t in a.topics)
    assert shown("topic") == {**topics, **{t: topics[t] for t in req.topics}}

    provider_pool = [a for a in matches if passes(a, req, skip="provider")]
    names = Counter(a.provider.name for a in provider_pool)
    selected = {
        value: names[value]
        if value in {a.provider.name for a in built.articles}
        else sum(a.provider.domain == value for a in provider_pool)
        for value in req.providers
    }
    assert shown("provider") == {**names, **selected}
    assert {v.value for v in result.facets["provider"].values if v.selected} == set(req.providers)

    types = Counter(a.type for a in matches if passes(a, req, skip="type"))
    assert shown("type") == {**types, **{t: types[t] for t in req.types}}

    histogram = result.date_histogram
    assert histogram is not None
    dated = [a.published_at for a in final if a.published_at is not None]
    assert histogram.undated == len(final) - len(dated)
    assert {b.label: b.count for b in histogram.buckets if b.count} == expected_buckets(
        dated, histogram.interval
    )
    for bucket in histogram.buckets:
        assert bucket.start.tzinfo is not None and bucket.start < bucket.end

    range_pool = [a for a in matches if passes(a, req, skip="date") and a.published_at]
    for counted in result.ranges:
        low, high = window(req, RELATIVE_RANGES[counted.key][1], newest)
        expected = sum(low <= a.published_at.replace(microsecond=0) <= high for a in range_pool)  # type: ignore[union-attr]
        assert counted.count == expected
        assert counted.selected == (counted.key == req.range)


def expected_buckets(dated: list[dt.datetime], interval: str) -> dict[str, int]:
    if not dated:
        return {}
    span = (max(dated) - min(dated)).total_seconds()
    assert interval == (
        "day" if span <= 62 * 86_400 else "month" if span <= 3 * 366 * 86_400 else "year"
    )
    width = {"year": 4, "month": 7, "day": 10}[interval]
    return dict(Counter(when.astimezone(dt.UTC).isoformat()[:width] for when in dated))


# -- the differential test against Whoosh's matcher ----------------------------------------------


def atoms() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS + STOP[:1])
    phrase = st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(
        lambda ws: '"' + " ".join(ws) + '"'
    )
    prefix = st.tuples(st.sampled_from(WORDS), st.integers(2, 4)).map(lambda p: p[0][: p[1]] + "*")
    simple = word | phrase | prefix
    field = st.tuples(st.sampled_from(["title", "excerpt", "body", "topic", "provider"]), simple)
    topic_word = st.sampled_from(["energy", "finance", "economie", "reuters", "lemonde", "ap"])
    return simple | field.map(lambda f: f"{f[0]}:{f[1]}") | topic_word


def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    return (
        pair.map(lambda p: f"{p[0]} {p[1]}")
        | pair.map(lambda p: f"{p[0]} OR {p[1]}")
        | pair.map(lambda p: f"{p[0]} AND {p[1]}")
        | children.map(lambda c: f"-{c}" if not c.startswith("-") else c)
        | children.map(lambda c: f"NOT {c}")
        | children.map(lambda c: f"({c})")
    )


queries = st.recursive(atoms(), combine, max_leaves=6)


@PROPERTY_SETTINGS
@given(corpus=corpora, texts=st.lists(queries, min_size=1, max_size=6))
@example(  # found by Hypothesis: "lemonde" matches nothing and would be respelled "le monde"
    corpus=[Doc("oil", date=None, provider=("Le Monde", "lemonde.fr"))] * 2, texts=["lemonde"]
)
def test_vectorised_matching_equals_whoosh(corpus: list[Doc], texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as root:
        built = build(Path(root), corpus)
        snapshot = built.engine.snapshot()
        ix = whoosh_index.open_dir(str(built.index / layout.current_generation(built.index)))
        with ix.searcher() as searcher:
            for text in texts:
                parsed = query.parse(text)
                assert not parsed.plain_fallback, text
                evaluation = matching.evaluate(parsed.root, snapshot)
                mine = {
                    snapshot.id_of(d) for d in np.flatnonzero(evaluation.mask & snapshot.visible)
                }
                reference = matching.to_whoosh(
                    parsed.root, lambda p: snapshot.expand(p.prefix, p.fields)
                )
                try:
                    hits = searcher.search(reference, filter=wq.Term("published", "1"), limit=None)
                except QueryError:  # the reference, not the engine, gave up
                    assume(False)
                theirs = {hit["id"] for hit in hits}
                assert mine == theirs, (text, parsed.root)
                # as typed: a query that finds nothing may otherwise be respelled (spelling)
                assert built.engine.search(request(q=text, exact=True)).total == len(mine)


def test_differential_on_a_multi_segment_index_with_deletions(tmp_path: Path) -> None:
    corpus = [Doc(" ".join(WORDS[i % 10 : i % 10 + 3]), excerpt=WORDS[i % 7]) for i in range(30)]
    built = build(tmp_path, corpus[:20])
    write_docs(built.seeds, corpus[20:], start=20)
    for path in sorted(built.seeds.glob("*.txt"))[:5]:
        path.write_text(path.read_text().replace('title: "', 'title: "zebra '), encoding="utf-8")
    reindex(built.seeds, built.index, workers=1)
    snapshot = built.engine.snapshot()
    assert len(snapshot.leaves) > 1 and not snapshot.live.all()
    ix = whoosh_index.open_dir(str(built.index / layout.current_generation(built.index)))
    with ix.searcher() as searcher:
        for text in [
            "zebra",
            "storm",
            "oil OR -bank",
            '"gold wheat"',
            "tr*",
            "title:(crude prices)",
        ]:
            parsed = query.parse(text)
            evaluation = matching.evaluate(parsed.root, snapshot)
            mine = {snapshot.id_of(d) for d in np.flatnonzero(evaluation.mask & snapshot.visible)}
            reference = matching.to_whoosh(
                parsed.root, lambda p: snapshot.expand(p.prefix, p.fields)
            )
            theirs = {
                h["id"]
                for h in searcher.search(reference, filter=wq.Term("published", "1"), limit=None)
            }
            assert mine == theirs, text
    assert built.engine.search(request(q="zebra")).total == 5


def test_search_fields_cover_the_schema() -> None:
    assert set(SEARCH_FIELDS) == {
        "title",
        "excerpt",
        "body",
        "topics_text",
        "provider_text",
        "related_text",
    }
