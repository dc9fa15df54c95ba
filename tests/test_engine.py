"""The engine on tiny real indexes: ranking, query language, paging, visibility, the other calls."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
import threading
from pathlib import Path

import pytest
from test_engine_helpers import NOW, Doc, all_ids, build, request, titles, write_docs

from search import documents, ranking
from search.contract import MAX_QUERY_CHARS, Correction, SearchRequest
from search.errors import IndexUnavailable, NotFound, QueryTooLong, RequestError
from search.whoosh import layout
from search.whoosh.engine import WhooshEngine
from search.whoosh.target import reindex


def day(offset: int) -> str:
    return (NOW - dt.timedelta(days=offset)).isoformat().replace("+00:00", "Z")


# -- ranking ------------------------------------------------------------------------------------


def test_title_match_ranks_above_body_match(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            Doc("Weather report", body="Farmers worry about the wheat harvest this year."),
            Doc("Wheat harvest begins", body="Farmers are out in the fields."),
        ],
    )
    assert titles(built.engine.search(request(q="wheat"))) == [
        "Wheat harvest begins",
        "Weather report",
    ]


def test_documents_with_all_words_rank_above_those_with_some(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            # one word, many times, in the strongest field
            Doc("Copper copper copper", excerpt="Copper copper mines, copper prices."),
            Doc("Zinc zinc zinc", excerpt="Zinc zinc zinc smelters."),
            Doc("Weekly metals note", body="A note that mentions copper and zinc once each."),
        ],
    )
    result = built.engine.search(request(q="copper zinc"))
    assert titles(result)[0] == "Weekly metals note"
    assert result.total == 3


def test_long_queries_coordinate_softly(tmp_path: Path) -> None:
    words = "alpha bravo charlie delta echo foxtrot golf hotel"
    built = build(
        tmp_path,
        [
            Doc("Alpha bravo charlie delta echo foxtrot golf", excerpt="All but one of them."),
            Doc("Hotel", body="hotel"),
        ],
    )
    result = built.engine.search(request(q=words))
    assert titles(result) == ["Alpha bravo charlie delta echo foxtrot golf", "Hotel"]


def test_short_queries_keep_all_words_above_some(tmp_path: Path) -> None:
    # up to STRICT_COORDINATION words, however strong the two-word matches are
    note = "A long note on " + "markets " * 30 + "that mentions copper, zinc and tin once each."
    built = build(
        tmp_path,
        [
            Doc("Copper copper copper", excerpt="Zinc zinc mines, copper and zinc prices."),
            Doc("Zinc zinc tin", excerpt="Tin zinc zinc smelters, zinc and tin."),
            Doc("Weekly metals note", body=note),
        ],
    )
    assert titles(built.engine.search(request(q="copper zinc tin")))[0] == "Weekly metals note"


def test_long_queries_rank_by_the_bm25f_sum_and_keep_partial_matches(tmp_path: Path) -> None:
    # past STRICT_COORDINATION words, two rare words beat three that are everywhere
    common = [
        Doc(f"Report {n}", body="The plane made flights over the cloud cover again.")
        for n in range(8)
    ]
    built = build(tmp_path, [*common, Doc("Volcanic ash", body="Volcanic ash fell on the town.")])
    result = built.engine.search(request(q="volcanic ash cloud plane flights"))
    assert titles(result)[0] == "Volcanic ash"
    assert result.total == 9
    # up to STRICT_COORDINATION words, more of the words still come first
    assert titles(built.engine.search(request(q="ash cloud plane")))[0] != "Volcanic ash"


def test_a_word_typed_again_weighs_less_than_twice(tmp_path: Path) -> None:
    built = build(tmp_path, [Doc("Harbour strike", body="The harbour strike goes on.")])
    once = built.engine.search(request(q="harbour")).hits[0].score
    four = built.engine.search(request(q="harbour harbour harbour harbour")).hits[0].score
    assert four == pytest.approx(once * 4**ranking.REPEAT_EXPONENT, rel=1e-5)


def test_an_excerpt_repeating_the_body_lead_is_not_counted_twice(tmp_path: Path) -> None:
    lead = "Copper prices rose sharply."
    built = build(
        tmp_path,
        [
            Doc("Metals", excerpt=lead, body=f"{lead}  Miners cheered.", doc_id="lead"),
            Doc("Metals", body=f"{lead} Miners cheered.", doc_id="no-excerpt"),
            Doc("Metals", excerpt="Copper is up.", body="Miners cheered.", doc_id="own-excerpt"),
            Doc("Metals", excerpt="Tin is flat.", body="Miners waited.", doc_id="other"),
        ],
    )
    hits = built.engine.search(request(q="copper")).hits
    score = {hit.article.id: hit.score for hit in hits}
    assert set(score) == {"lead", "no-excerpt", "own-excerpt"}
    assert score["lead"] == score["no-excerpt"]
    # an excerpt of its own is a field of its own (and weighs more than the body)
    assert score["own-excerpt"] > score["lead"]
    # the repeated lead still is the article's excerpt for excerpt: and highlighting
    assert ids(built.engine, "excerpt:copper") == {"lead", "own-excerpt"}
    assert ids(built.engine, 'excerpt:"prices rose"') == {"lead"}
    by_id = {hit.article.id: hit for hit in hits}
    assert by_id["lead"].excerpt[0].text == "Copper"
    assert by_id["lead"].excerpt[0].match


@pytest.mark.parametrize(
    ("text", "lead", "rest"),
    [
        ("Oil rose.  Gas fell.", "Oil rose.", "  Gas fell."),
        ("Oil\nrose. Gas fell.", " Oil rose. ", " Gas fell."),
        ("Oil rose.", "Oil rose.", ""),
        ("Oil rose sharply.", "Oil rose sha", "sharply."),  # cut inside a word: the word stays
        ("Oil rose.", "Gas", None),
        ("Oil rose.", "", None),
    ],
)
def test_without_lead(text: str, lead: str, rest: str | None) -> None:
    assert documents.without_lead(text, lead) == rest


def test_without_lead_is_the_whitespace_tolerant_prefix() -> None:
    """Against its definition as a regex (lead words joined by ``\\s+``), on random strings."""

    def by_regex(text: str, lead: str) -> str | None:
        words = lead.split()
        found = re.match(r"\s*" + r"\s+".join(map(re.escape, words)), text) if words else None
        if found is None:
            return None
        cut = found.end()
        while 0 < cut < len(text) and text[cut].isalnum() and text[cut - 1].isalnum():
            cut -= 1
        return text[cut:]

    rng = random.Random(5)
    alphabet = "ab .\n\t\u00a0\u2003x*("
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        lead = text[: rng.randint(0, len(text))] if rng.random() < 0.6 else rng.choice(alphabet)
        assert documents.without_lead(text, lead) == by_regex(text, lead), (text, lead)


def test_equal_matches_newer_first(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            Doc("Harbour strike", date=day(400)),
            Doc("Harbour strike", date=day(2)),
            Doc("Harbour strike", date=day(40)),
        ],
    )
    result = built.engine.search(request(q="harbour strike"))
    dates = [hit.article.published_at for hit in result.hits]
    assert dates == sorted(dates, reverse=True)
    assert result.hits[0].score > result.hits[1].score > result.hits[2].score


def test_equal_matches_and_dates_better_quality_first(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [Doc("Bridge opens", quality=10), Doc("Bridge opens", quality=90, doc_id="b-best")],
    )
    assert built.engine.search(request(q="bridge")).hits[0].article.id == "b-best"


def test_strong_old_match_beats_weak_new_one(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            Doc(
                "Volcano erupts",
                excerpt="The volcano erupted overnight.",
                date="1987-03-01T00:00:00Z",
            ),
            Doc(
                "Travel news",
                body="Flights resumed near the volcano.",
                date=day(0),
                quality=99,
                heat=99,
            ),
        ],
    )
    assert titles(built.engine.search(request(q="volcano")))[0] == "Volcano erupts"


def test_freshness_uses_the_request_clock(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            Doc("Storm warning", date="2024-01-01T00:00:00Z", doc_id="jan"),
            Doc("Storm warning", date="2024-05-01T00:00:00Z", doc_id="may"),
        ],
    )
    result = built.engine.search(request(q="storm"))
    assert [hit.article.id for hit in result.hits] == ["may", "jan"]


# -- sorts --------------------------------------------------------------------------------------


@pytest.fixture
def sortable(tmp_path: Path) -> WhooshEngine:
    return build(
        tmp_path,
        [
            Doc("Rail item one", date="2024-03-01T00:00:00Z", quality=5, heat=9, doc_id="a1"),
            Doc("Rail item two", date=None, quality=50, heat=1, doc_id="a2"),
            Doc("Rail item three", date="2024-01-01T00:00:00Z", quality=50, heat=5, doc_id="a3"),
            Doc("Rail item four", date="2024-03-01T00:00:00Z", quality=1, heat=9, doc_id="a0"),
        ],
    ).engine


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["a0", "a1", "a3", "a2"]),
        ("oldest", ["a3", "a0", "a1", "a2"]),
        ("quality", ["a3", "a2", "a1", "a0"]),
        ("heat", ["a0", "a1", "a3", "a2"]),
    ],
)
def test_sorts_with_deterministic_ties(
    sortable: WhooshEngine, sort: str, expected: list[str]
) -> None:
    assert all_ids(sortable, q="rail", sort=sort) == expected
    assert all_ids(sortable, q="", sort=sort) == expected


def test_empty_query_browses_newest_first(sortable: WhooshEngine) -> None:
    result = sortable.search(request(q="  "))
    assert result.total == 4
    assert [hit.article.id for hit in result.hits] == ["a0", "a1", "a3", "a2"]
    assert all(hit.score == 0.0 for hit in result.hits)


# -- query language -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def language(tmp_path_factory: pytest.TempPathFactory) -> WhooshEngine:
    root = tmp_path_factory.mktemp("language")
    return build(
        root,
        [
            Doc("Bank of England raises rates", doc_id="boe", topics=["Economy"]),
            Doc("England bank holiday traffic", doc_id="holiday", topics=["Travel"]),
            Doc(
                "Crude oil prices fall",
                doc_id="oil",
                topics=["Energy"],
                provider=("Reuters", "reuters.com"),
            ),
            Doc("Natural gas prices rise", doc_id="gas", topics=["Energy"]),
            Doc(
                "Wheat exports grow", excerpt="Grain and wheat.", doc_id="wheat", topics=["Farming"]
            ),
            Doc(
                "Economy grows", excerpt="Economic outlook improves for economists.", doc_id="econ"
            ),
            Doc("Reuters wins award", doc_id="award", topics=["Media"]),
            Doc("Café culture", excerpt="Paris cafés are full.", doc_id="cafe"),
        ],
    ).engine


def ids(engine: WhooshEngine, q: str, **fields: object) -> set[str]:
    return set(all_ids(engine, q=q, **fields))


def test_phrase_needs_adjacent_words(language: WhooshEngine) -> None:
    assert ids(language, "bank england") == {"boe", "holiday"}
    assert ids(language, '"bank of england"') == {"boe"}
    assert ids(language, '"england bank"') == {"holiday"}


def test_exclusion(language: WhooshEngine) -> None:
    assert ids(language, "prices -oil") == {"gas"}
    assert ids(language, "prices NOT oil") == {"gas"}
    assert ids(language, "-oil") == ids(language, "") - {"oil"}
    assert ids(language, 'england -"bank of england"') == {"holiday"}


def test_or_and_parentheses(language: WhooshEngine) -> None:
    assert ids(language, "oil OR wheat") == {"oil", "wheat"}
    assert ids(language, "prices AND gas") == {"gas"}
    assert ids(language, "(oil OR gas) AND prices") == {"oil", "gas"}
    assert ids(language, "(oil OR gas) -natural") == {"oil"}
    assert ids(language, "bank AND NOT holiday") == {"boe"}


def test_field_prefixes(language: WhooshEngine) -> None:
    assert ids(language, "title:wheat") == {"wheat"}
    assert ids(language, "excerpt:grain") == {"wheat"}
    assert ids(language, "topic:energy") == {"oil", "gas"}
    assert ids(language, "provider:reuters") == {"oil"}
    assert ids(language, "reuters") == {"oil", "award"}
    assert ids(language, 'title:"crude oil"') == {"oil"}
    assert ids(language, "title:(wheat OR gas)") == {"wheat", "gas"}


def test_prefix_expansion(language: WhooshEngine) -> None:
    assert ids(language, "econom*") == {"econ", "boe"}  # boe by its topic, Economy
    assert ids(language, "excerpt:econom*") == {"econ"}
    assert ids(language, "pric*") == {"oil", "gas"}
    assert ids(language, "title:pric*") == {"oil", "gas"}
    assert ids(language, "excerpt:pric*") == set()


def test_accents_and_case_fold_like_the_index(language: WhooshEngine) -> None:
    assert ids(language, "CAFE") == {"cafe"}
    assert ids(language, "cafés") == {"cafe"}
    assert ids(language, "caf*") == {"cafe"}


def test_stop_words_only_match_nothing(language: WhooshEngine) -> None:
    result = language.search(request(q="the of and"))
    assert result.total == 0
    assert not result.plain_fallback


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('"bank of england', {"boe", "holiday"}),
        ("(oil OR gas", {"oil", "gas"}),
        ("oil OR", {"oil"}),
        ("AND wheat", {"wheat"}),
        ("*oil", {"oil"}),
        ("o*l", set()),
    ],
)
def test_syntax_errors_fall_back_to_plain_words(
    language: WhooshEngine, q: str, expected: set[str]
) -> None:
    result = language.search(request(q=q))
    assert result.plain_fallback
    assert ids(language, q) == expected


HOSTILE = [
    '"',
    '""',
    '"""',
    "(",
    ")",
    "((((",
    "))))",
    "()",
    "*",
    "**",
    "-",
    "--",
    "- - -",
    "NOT",
    "AND",
    "OR",
    "NOT NOT NOT",
    "AND OR NOT",
    "title:",
    "title:*",
    "topic:()",
    "provider:-",
    "\x00\x01\x02\x1b[31m",
    "oil\x00gas",
    "\u202eevil\u202c",
    "日本経済新聞 ニュース",
    "Москва новости",
    "أخبار النفط",
    "😀🛢️📈",
    "oil 😀 bank",
    "\ud800",
    "a" * MAX_QUERY_CHARS,
    "(" * 400 + "oil" + ")" * 399,
    "-" * 999 + "x",
    '"' * 999,
    "NOT " * 250,
    "x* " * 300,
    "%s %n %x {0} ${x} <script>",
    'title:oil AND (gas OR -wheat) "unbalanced',
]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_raise(language: WhooshEngine, q: str) -> None:
    for sort in ("relevance", "newest"):
        result = language.search(request(q=q, sort=sort))
        assert result.total >= 0
        assert len(result.hits) <= result.total
    language.suggest(q)


def test_overlong_query_is_the_documented_error() -> None:
    with pytest.raises(QueryTooLong):
        SearchRequest(q="x" * 10_000)


# -- filters ------------------------------------------------------------------------------------


def test_filters_are_exact_and_any_of(language: WhooshEngine) -> None:
    assert ids(language, "", topics=("Energy",)) == {"oil", "gas"}
    assert ids(language, "", topics=("energy",)) == set()
    assert ids(language, "", topics=("Energy", "Farming")) == {"oil", "gas", "wheat"}
    assert ids(language, "", providers=("Reuters",)) == {"oil"}
    assert ids(language, "", providers=("reuters.com",)) == {"oil"}
    assert ids(language, "prices", providers=("Reuters", "testwire.sample")) == {"oil", "gas"}
    assert ids(language, "", types=("article",)) == ids(language, "")
    assert ids(language, "", types=("video",)) == set()


def test_date_filters(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            Doc("Item", date="2024-05-31T12:00:00Z", doc_id="d1"),
            Doc("Item", date="2024-05-31T11:59:59Z", doc_id="d1b"),
            Doc("Item", date="2024-05-01T00:00:00Z", doc_id="d30"),
            Doc("Item", date="2023-01-01T00:00:00Z", doc_id="old"),
            Doc("Item", date=None, doc_id="undated"),
            Doc("Item", date="2024-06-02T00:00:00Z", doc_id="future"),
        ],
    )
    engine = built.engine
    since = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    until = dt.datetime(2024, 5, 31, 12, tzinfo=dt.UTC)
    assert ids(engine, "", since=since) == {"d1", "d1b", "d30", "future"}
    assert ids(engine, "", until=until) == {"d1b", "d30", "old"}
    assert ids(engine, "", since=since, until=until) == {"d1b", "d30"}
    assert ids(engine, "", range="24h") == {"d1"}
    assert ids(engine, "", range="30d") == {"d1", "d1b"}
    assert ids(engine, "", range="1y") == {"d1", "d1b", "d30"}
    result = engine.search(request(q="item", range="24h"))
    counts = {r.key: r.count for r in result.ranges}
    assert counts == {"1h": 0, "24h": 1, "7d": 2, "30d": 2, "1y": 3}
    assert [r.key for r in result.ranges if r.selected] == ["24h"]


# -- pagination ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> WhooshEngine:
    root = tmp_path_factory.mktemp("paged")
    docs = [Doc(f"Ledger entry {n}", date=day(n), doc_id=f"p{n:02d}") for n in range(23)]
    return build(root, docs).engine


def test_pages_partition_the_results(paged: WhooshEngine) -> None:
    seen: list[str] = []
    for page in (1, 2, 3):
        result = paged.search(request(q="ledger", page=page, per_page=10))
        assert result.total == 23
        assert result.pages == 3
        seen.extend(hit.article.id for hit in result.hits)
    assert seen == [f"p{n:02d}" for n in range(23)]
    assert len(paged.search(request(q="ledger", page=3, per_page=10)).hits) == 3


def test_page_past_the_end_is_empty_with_the_total(paged: WhooshEngine) -> None:
    result = paged.search(request(q="ledger", page=4, per_page=10))
    assert result.hits == ()
    assert result.total == 23


def test_page_window_limits_are_clear_errors() -> None:
    with pytest.raises(RequestError) as error:
        SearchRequest(page=1001, per_page=10)
    assert error.value.param == "page"
    with pytest.raises(RequestError):
        SearchRequest(per_page=101)


def test_one_per_page_walks_every_result(paged: WhooshEngine) -> None:
    walked = [
        paged.search(request(q="", page=n, per_page=1)).hits[0].article.id for n in range(1, 24)
    ]
    assert walked == [f"p{n:02d}" for n in range(23)]


# -- highlighting -------------------------------------------------------------------------------


def test_highlights_are_segments_and_body_snippet_only_when_the_body_matched(
    tmp_path: Path,
) -> None:
    body = (
        ("Filler words. " * 30) + "The <b>tanker</b> was seized near the strait. " + ("More. " * 30)
    )
    built = build(
        tmp_path,
        [
            Doc("Tanker seized", excerpt="A tanker & its crew.", body=body, doc_id="t"),
            Doc("Strait news", excerpt="Nothing here", body="No match in this body.", doc_id="s"),
        ],
    )
    hits = {hit.article.id: hit for hit in built.engine.search(request(q="tanker strait")).hits}
    tanker = hits["t"]
    assert [(s.text, s.match) for s in tanker.title] == [("Tanker", True), (" seized", False)]
    assert "".join(s.text for s in tanker.excerpt) == "A tanker & its crew."
    assert any(s.match and s.text == "tanker" for s in tanker.body_snippet)
    snippet = "".join(s.text for s in tanker.body_snippet)
    assert "<b>" in snippet and len(snippet) <= 210
    assert snippet.startswith("…") and snippet.endswith("…")
    assert hits["s"].body_snippet == ()
    assert hits["s"].article.body == ""


def test_excluded_words_are_not_highlighted(language: WhooshEngine) -> None:
    hit = language.search(request(q="prices -oil")).hits[0]
    assert [s.text for s in hit.title if s.match] == ["prices"]


# -- visibility ---------------------------------------------------------------------------------

SECRET = "zanzibarite"


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> WhooshEngine:
    root = tmp_path_factory.mktemp("hidden")
    return build(
        root,
        [
            Doc(
                f"Draft on {SECRET} mining",
                excerpt=f"{SECRET} {SECRET}",
                published=False,
                topics=["Secret Topic"],
                provider=("Hidden Wire", "hidden.sample"),
                doc_id="secret",
            ),
            Doc(
                "Public mining report",
                excerpt="zanzibar mining",
                topics=["Mining"],
                doc_id="public",
            ),
        ],
    ).engine


RANGE_SPANS = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "1y": dt.timedelta(days=365),
}
"""What each relative range means to a reader (not read from the code under test)."""


def test_unpublished_never_leaks(hidden: WhooshEngine) -> None:
    default_date = Doc("").date  # the one public article's
    assert default_date is not None
    public_age = NOW - dt.datetime.fromisoformat(default_date)
    expected_totals = {
        SECRET: 0,
        "mining": 1,
        "": 1,
        "zanzibari*": 0,
        f'"{SECRET} mining"': 0,
        "-public": 0,
        "draft": 0,
    }
    for q, total in expected_totals.items():
        result = hidden.search(request(q=q))
        assert result.total == total, q
        assert "secret" not in {hit.article.id for hit in result.hits}
        values = {v.value for facet in result.facets.values() for v in facet.values}
        assert not values & {"Secret Topic", "Hidden Wire", "hidden.sample"}
        assert result.date_histogram is not None
        histogram = result.date_histogram
        assert sum(b.count for b in histogram.buckets) + histogram.undated == total
        # every window ends at the newest *visible* article when the archive is older than it
        # (dates.window_end): the public one, whatever the unpublished one's date
        ranges = {key: total for key in RANGE_SPANS}
        assert {r.key: r.count for r in result.ranges} == ranges, q
        ends = {r.key: r.end for r in result.ranges}
        assert all(ends[key] is None for key, span in RANGE_SPANS.items() if public_age <= span)
        # a respelling needs a visible term in two articles or more: here there is none
        assert result.did_you_mean is None, q
    with pytest.raises(NotFound):
        hidden.get("secret")
    with pytest.raises(NotFound):
        hidden.more_like_this("secret")
    assert all(hit.article.id != "secret" for hit in hidden.more_like_this("public"))
    for prefix in ("zanz", "secret", "hidden", "draft"):
        assert all(SECRET not in s.text.lower() for s in hidden.suggest(prefix))
        assert not [s for s in hidden.suggest(prefix) if s.text in ("Secret Topic", "Hidden Wire")]
    assert hidden.info().doc_count == 1


def test_include_unpublished_shows_everything(hidden: WhooshEngine) -> None:
    result = hidden.search(request(q=SECRET, include_unpublished=True))
    assert [hit.article.id for hit in result.hits] == ["secret"]
    assert hidden.get("secret", include_unpublished=True).id == "secret"
    assert {s.text for s in hidden.suggest("secret", include_unpublished=True)} == {"Secret Topic"}
    assert any(SECRET in s.text for s in hidden.suggest("draft", include_unpublished=True))


def test_did_you_mean_counts_visible_documents_only(tmp_path: Path) -> None:
    engine = build(
        tmp_path,
        [
            Doc("Draft one", excerpt=f"{SECRET} deposits", published=False),
            Doc("Draft two", excerpt=f"{SECRET} prices", published=False),
            Doc("Spice market", excerpt="zanzibarana spices"),
            Doc("Island ferry", excerpt="zanzibarana ferry"),
            Doc("Harbour news", excerpt="zanzibar harbour"),
            Doc("Harbour fees", excerpt="zanzibar fees"),
        ],
    ).engine
    # one edit from the unpublished articles' term (stem zanzibarit), two from zanzibarana
    typo = "zanzibarita"
    public = engine.search(request(q=typo, exact=True))
    assert public.total == 0
    # the closest word the public can see; the unpublished one neither shows nor hides it
    assert public.did_you_mean == Correction("zanzibarana", 2)
    # searched without exact: nothing found, so the respelling is applied
    applied = engine.search(request(q=typo))
    assert applied.corrected == Correction("zanzibarana", 2) and applied.total == 2
    assert {hit.article.title for hit in applied.hits} == {"Spice market", "Island ferry"}
    # the admin is offered the unpublished spelling (its bare stem: the first ending that ties)
    admin = engine.search(request(q=typo, include_unpublished=True, exact=True))
    assert admin.did_you_mean == Correction("zanzibarit", 2)
    # one edit from zanzibar
    zanzibarr = engine.search(request(q="zanzibarr", exact=True))
    assert zanzibarr.did_you_mean == Correction("zanzibar", 2)


# -- did you mean -------------------------------------------------------------------------------


def test_did_you_mean_respells_rare_words(language: WhooshEngine) -> None:
    result = language.search(request(q="wheet exports", exact=True))
    assert result.did_you_mean is not None
    assert result.did_you_mean.q == "wheat exports"
    assert result.did_you_mean.total == 1
    typo = language.search(request(q="economyy", exact=True))
    assert typo.total == 0
    assert typo.did_you_mean is not None and typo.did_you_mean.q == "economy"
    applied = language.search(request(q="economyy"))
    assert applied.corrected is not None and applied.corrected.q == "economy"
    assert applied.did_you_mean is None and applied.total == applied.corrected.total > 0
    assert language.search(request(q="wheat")).did_you_mean is None
    assert language.search(request(q="qqqqqq")).did_you_mean is None


def test_did_you_mean_keeps_the_filters(language: WhooshEngine) -> None:
    assert language.search(request(q="wheet", topics=("Energy",))).did_you_mean is None
    assert language.search(request(q="wheet", topics=("Energy",))).corrected is None
    corrected = language.search(request(q="wheet", topics=("Farming",), exact=True)).did_you_mean
    assert corrected is not None and corrected.total == 1


# -- get, more like this, suggest, info ---------------------------------------------------------


def test_get_returns_the_whole_article(tmp_path: Path) -> None:
    built = build(tmp_path, [Doc("Full text", body="Paragraph one.\n\nParagraph two.", doc_id="f")])
    article = built.engine.get("f")
    assert article == dataclasses.replace(built.by_id("f"), source_path=article.source_path)
    assert article.source_path.endswith(".txt")
    assert article.body == "Paragraph one.\n\nParagraph two."
    hit = built.engine.search(request(q="paragraph")).hits[0]
    assert hit.article.body == ""
    with pytest.raises(NotFound):
        built.engine.get("missing")


def test_more_like_this_finds_similar_articles(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            Doc(
                "Copper mine strike in Chile", body="Copper miners in Chile on strike.", doc_id="a"
            ),
            Doc("Chile copper output falls", body="Copper output in Chile fell.", doc_id="b"),
            Doc("Football results", body="The match ended in a draw.", doc_id="c"),
            Doc("Copper prices", body="Copper prices rose on the Chile strike news.", doc_id="d"),
        ],
    )
    similar = [hit.article.id for hit in built.engine.more_like_this("a", limit=5)]
    assert "a" not in similar
    assert similar[:2] in (["b", "d"], ["d", "b"])
    assert "c" not in similar
    assert len(built.engine.more_like_this("a", limit=1)) == 1


def test_suggest_completes_topics_providers_and_titles(tmp_path: Path) -> None:
    built = build(
        tmp_path,
        [
            Doc(
                "Économie française en hausse",
                topics=["Économie"],
                provider=("Le Monde", "lemonde.fr"),
            ),
            Doc("Economists meet", topics=["Économie", "Europe"]),
            Doc("Election night", topics=["Elections"], provider=("Electric Wire", "ew.sample")),
        ],
    )  # fmt: skip
    engine = built.engine
    found = {(s.text, s.kind, s.count) for s in engine.suggest("econ")}
    assert ("Économie", "topic", 2) in found
    assert ("Economists meet", "title", 1) in found
    assert ("Économie française en hausse", "title", 1) in found
    assert {(s.text, s.kind) for s in engine.suggest("ÉLEC")} >= {
        ("Elections", "topic"),
        ("Electric Wire", "provider"),
        ("Election night", "title"),
    }
    assert {s.text for s in engine.suggest("monde")} >= {"Le Monde"}
    assert engine.suggest("economie fr")[0].text == "Économie française en hausse"
    assert len(engine.suggest("e", limit=2)) == 2
    assert engine.suggest("") == [] and engine.suggest("   ") == []
    assert engine.suggest("zzz") == []


def test_info(tmp_path: Path) -> None:
    built = build(tmp_path, [Doc("One"), Doc("Two", published=False), Doc("Three")])
    info = built.engine.info()
    assert info.doc_count == 2
    assert info.generation.startswith(layout.current_generation(built.index) + ":")
    report = json.loads((built.index / layout.REPORT).read_text())
    assert info.last_reindex == dt.datetime.fromisoformat(
        report["finished_at"].replace("Z", "+00:00")
    )
    assert info.version


# -- index generations --------------------------------------------------------------------------


def test_no_index_is_index_unavailable(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable):
        WhooshEngine(tmp_path / "nothing")


def test_picks_up_incremental_and_full_reindexes(tmp_path: Path) -> None:
    built = build(tmp_path, [Doc("Pelican sighted", doc_id="p1")], check_interval=0.0)
    engine = built.engine
    first = engine.search(request(q="pelican"))
    assert first.total == 1
    write_docs(built.seeds, [Doc("Pelican returns", doc_id="p2")], start=50)
    reindex(built.seeds, built.index, workers=1)
    second = engine.search(request(q="pelican"))
    assert second.total == 2
    assert second.generation != first.generation
    (built.seeds / sorted(p.name for p in built.seeds.glob("*.txt"))[0]).unlink()
    reindex(built.seeds, built.index, workers=1, full=True)
    third = engine.search(request(q="pelican"))
    assert [hit.article.id for hit in third.hits] == ["p2"]
    assert third.generation.split(":")[0] != second.generation.split(":")[0]


def test_an_updated_article_replaces_its_old_version(tmp_path: Path) -> None:
    built = build(tmp_path, [Doc("Osprey nest", doc_id="o1")], check_interval=0.0)
    path = next(built.seeds.glob("*.txt"))
    path.write_text(path.read_text().replace("Osprey nest", "Osprey chicks"), encoding="utf-8")
    reindex(built.seeds, built.index, workers=1)
    result = built.engine.search(request(q="osprey"))
    assert titles(result) == ["Osprey chicks"]
    assert built.engine.get("o1").title == "Osprey chicks"
    assert built.engine.search(request(q="nest")).total == 0


def test_a_snapshot_in_use_survives_the_swap(tmp_path: Path) -> None:
    built = build(tmp_path, [Doc("Heron feeding", doc_id="h1")], check_interval=0.0)
    old = built.engine.snapshot()
    write_docs(built.seeds, [Doc("Heron flying", doc_id="h2")], start=50)
    reindex(built.seeds, built.index, workers=1, full=True)
    reindex(built.seeds, built.index, workers=1, full=True)  # the first generation is removed
    assert built.engine.snapshot() is not old
    assert old.stored(old.doc_of_id["h1"])["title"] == "Heron feeding"


def test_threads_share_one_engine(language: WhooshEngine) -> None:
    errors: list[BaseException] = []
    expected = {q: ids(language, q) for q in ("prices", "bank england", "econom*", '"crude oil"')}

    def worker() -> None:
        try:
            for _ in range(20):
                for q, want in expected.items():
                    assert ids(language, q) == want
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


@pytest.mark.parametrize(
    "toc",
    [
        None,  # no table of contents at all
        pytest.param(
            b"not a table of contents",
            # Whoosh leaves the file of an unreadable table of contents open
            marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
        ),
    ],
)
def test_a_broken_generation_keeps_the_old_snapshot_serving(
    tmp_path: Path, toc: bytes | None
) -> None:
    built = build(tmp_path, [Doc("Kestrel hovering", doc_id="k1")])
    broken = built.index / "gen-20990101T000000-broken"
    broken.mkdir()
    if toc is not None:
        (broken / "_MAIN_1.toc").write_bytes(toc)
    layout.switch_to(built.index, broken.name)
    result = built.engine.search(request(q="kestrel"))
    assert [hit.article.id for hit in result.hits] == ["k1"]
    assert not result.generation.startswith(broken.name)
    with pytest.raises(IndexUnavailable):
        WhooshEngine(built.index)


def test_an_and_clause_scores_only_where_both_sides_match(tmp_path: Path) -> None:
    """``harbour (tram AND ferry)``: a document with the tram but no ferry matches the AND clause
    no more than one with neither, so it gets no part of that clause's score."""
    built = build(
        tmp_path,
        [
            Doc("harbour tram", date="2024-05-01T12:00:00Z"),
            Doc("harbour crane", date="2024-05-01T12:00:00Z"),
            Doc("harbour tram ferry", date="2024-05-01T12:00:00Z"),
        ],
    )
    for q in ("harbour (tram AND ferry)", "harbour quay dock pier (tram AND ferry)"):
        score = {hit.article.title: hit.score for hit in built.engine.search(request(q=q)).hits}
        assert score["harbour tram"] == score["harbour crane"], q
        assert score["harbour tram ferry"] > score["harbour tram"], q
