"""The reader's side of the web (issue 16), through the real app and a real index on disk:
respellings, related coverage, one text per hit, dates that cannot apply, the parameters links
carry, exports, the Atom feed, health after a bad file. The browser half is in
``test_browser_reader.py``."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import feedparser
import pytest
from factory import article_text, file_name, write_article
from flask.testing import FlaskClient
from test_web import api, assert_error, html, validate

from search.contract import MAX_QUERY_CHARS
from search.whoosh.target import reindex
from web import create_app

# -- the shared web corpus ---------------------------------------------------------------------


def test_a_typo_is_respelled_and_can_be_searched_as_typed(web_client: FlaskClient) -> None:
    found = api(web_client, "/api/search?q=vacine")
    assert found["corrected"]["q"] == "vaccine" and found["did_you_mean"] is None
    assert found["total"] == found["corrected"]["total"] > 0 and found["query"]["q"] == "vacine"
    validate("SearchResult", found)
    page = html(web_client.get("/?q=vacine"))
    assert page.count("Showing results for") == 1 and "Did you mean" not in page
    exact_link = re.search(r'class="exact" href="([^"]+)"', page)
    assert exact_link and exact_link.group(1).replace("&amp;", "&") == "/?q=vacine&exact=1"
    exact = html(web_client.get("/?q=vacine&exact=1"))
    assert exact.count("Did you mean") == 1 and "Showing results for" not in exact
    assert "No articles" in exact
    assert api(web_client, "/api/search?q=vacine&exact=true")["total"] == 0
    # a word of the query found, the other a typo in no article: respelled too
    both = api(web_client, "/api/search?q=solar%20vacine")
    assert both["corrected"]["q"] == "solar vaccine" and both["query"]["q"] == "solar vacine"
    assert_error(web_client.get("/api/search?q=x&exact=maybe"), 400, "invalid_parameter", "exact")


def test_a_match_only_in_related_titles_is_labelled(web_client: FlaskClient) -> None:
    # "earlier" is only in the related coverage's titles ("Earlier coverage of …")
    found = api(web_client, "/api/search?q=earlier&mode=keyword")
    assert found["total"] > 0
    for hit in found["hits"]:
        (title,) = hit["related_matches"]
        assert [part["text"] for part in title if part["match"]] == ["Earlier"]
    page = html(web_client.get("/?q=earlier&mode=keyword"))
    assert page.count("Matched in related coverage:") == len(found["hits"])
    assert "<q><mark>Earlier</mark> coverage of" in page
    # by meaning too (the default), the articles found by meaning come first, then those
    # matching only through related titles, still labelled
    hybrid = api(web_client, "/api/search?q=earlier&per_page=100")
    labelled = [bool(hit["related_matches"]) for hit in hybrid["hits"]]
    assert labelled == sorted(labelled) and sum(labelled) == min(found["total"], len(labelled))


def test_one_text_per_hit(web_client: FlaskClient) -> None:
    """``paragraph`` is only in bodies: the snippet alone; ``analysts`` in excerpts: the
    excerpt alone; never both, never a doubled ellipsis."""
    body_only = html(web_client.get("/?q=paragraph"))
    assert body_only.count('<p class="snippet">') > 0 and '<p class="excerpt">' not in body_only
    excerpt_only = html(web_client.get("/?q=analysts"))
    assert '<p class="snippet">' not in excerpt_only and '<p class="excerpt">' in excerpt_only
    assert "……" not in body_only + excerpt_only


def test_dates_that_cannot_apply_are_explained_in_place(web_client: FlaskClient) -> None:
    everything = api(web_client, "/api/search?q=oil")["total"]
    for query, field in (
        ("since=2024-03-10&until=2024-03-01", "“To”"),
        ("since=yesterday", "“From”"),
        ("since=0002-01-02&until=2024-13-01", "“To”"),
    ):
        page = html(web_client.get(f"/?q=oil&{query}"))
        note = re.search(r'<p id="date-note"[^>]*role="alert">([^<]+)</p>', page)
        assert note and field in note.group(1), query
        assert 'aria-invalid="true"' in page
        assert f"<strong>{everything}</strong>" in page  # the results stand, dates not applied
        assert "Remove filter Date" not in page
    assert_error(
        web_client.get("/api/search?since=2024-03-10&until=2024-03-01"),
        400,
        "invalid_parameter",
        "until",
    )


def test_any_time_clears_a_typed_range(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=oil&since=2023-01-01&until=2023-12-31&range=1y"))
    links = re.findall(r'<a href="([^"]*)"( aria-current="true" class="current")?>Any time', page)
    assert links == [("/?q=oil", "")]


@pytest.mark.parametrize(
    "query",
    [
        "until=9999-12-31",
        "since=0001-01-01T00:00%2B14:00",
        "since=2016-12-31T23:59:60Z",
        "until=2016-12-31T23:59:60%2B01:00",
        "since=0001-01-01&until=9999-12-31",
    ],
)
def test_dates_valid_per_the_schema_are_accepted(web_client: FlaskClient, query: str) -> None:
    api(web_client, f"/api/search?{query}")


def test_q_is_limited_as_sent(web_client: FlaskClient) -> None:
    padded = "a" * (MAX_QUERY_CHARS - 1) + "%20%20"
    assert_error(web_client.get(f"/api/search?q={padded}"), 414, "query_too_long", "q")
    api(web_client, f"/api/search?q={'a' * (MAX_QUERY_CHARS - 2)}%20%20")


def test_parameters_links_carry_are_ignored(web_client: FlaskClient) -> None:
    extra = "_=1700000000&utm_source=news&utm_medium=x&fbclid=IwAR0&gclid=EAIa"
    api(web_client, f"/api/search?q=oil&{extra}")
    api(web_client, f"/api/suggest?q=oi&{extra}")
    first = api(web_client, "/api/search?q=oil")["hits"][0]["id"]
    api(web_client, f"/api/articles/{first}?{extra}")
    assert_error(
        web_client.get("/api/search?q=oil&utmsource=x"), 400, "invalid_parameter", "utmsource"
    )
    assert_error(web_client.get("/api/search?q=oil&_x=1"), 400, "invalid_parameter", "_x")


@pytest.mark.parametrize(
    ("query", "param"),
    [("q=%ff", "q"), ("q=oil%zz", "q"), ("topic=%C3", "topic"), ("q=ok&sort=%e9", "sort")],
)
def test_broken_percent_encoding_is_a_400(web_client: FlaskClient, query: str, param: str) -> None:
    assert_error(web_client.get(f"/api/search?{query}"), 400, "invalid_parameter", param)
    assert web_client.get(f"/?{query}").status_code == 400
    api(web_client, "/api/search?q=caf%C3%A9+100%25")


def test_title_suggestions_carry_their_article(web_client: FlaskClient) -> None:
    found = api(web_client, "/api/suggest?q=fresh")["suggestions"]
    titles = [s for s in found if s["kind"] == "title"]
    assert titles and all(s["article_id"] for s in titles)
    for suggestion in titles:
        article = api(web_client, f"/api/articles/{suggestion['article_id']}")
        assert article["title"] == suggestion["text"]
    validate("Suggestions", {"suggestions": found})


def test_stop_words_alone_find_titles(web_client: FlaskClient) -> None:
    """No title of the web corpus has "the"; "Report 3: oil prices move markets" has "move"."""
    assert api(web_client, "/api/search?q=the")["total"] == 0
    assert api(web_client, "/api/search?q=%22of%22")["total"] == 0


def test_exports(web_client: FlaskClient) -> None:
    total = api(web_client, "/api/search?q=oil")["total"]
    response = web_client.get("/api/search.csv?q=oil&topic=Energy")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert 'filename="newsfind-oil.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    expected = api(web_client, "/api/search?q=oil&topic=Energy&per_page=100")
    assert [row["id"] for row in rows] == [hit["id"] for hit in expected["hits"]]
    assert [int(row["rank"]) for row in rows] == list(range(1, len(rows) + 1))
    exported = json.loads(web_client.get("/api/search.json?q=oil").get_data(as_text=True))
    assert len(exported["hits"]) == total and exported["query"]["q"] == "oil"
    for hit in exported["hits"]:
        validate("Hit", hit)
    limited = web_client.get("/api/search.csv?q=oil&limit=2").get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(limited)))) == 2
    assert_error(web_client.get("/api/search.csv?limit=0"), 400, "invalid_parameter", "limit")
    assert_error(web_client.get("/api/search.csv?page=2"), 400, "invalid_parameter", "page")
    page = html(web_client.get("/?q=oil&page=2&sort=newest"))
    assert 'href="/api/search.csv?q=oil&amp;sort=newest"' in page
    assert 'href="/api/search.json?q=oil&amp;sort=newest"' in page
    assert '<link rel="alternate" type="application/atom+xml"' in page


def test_a_csv_cell_is_never_a_formula(tmp_path: Path) -> None:
    client = _client_for(tmp_path, [("=HYPERLINK(1) budget", {})])
    text = client.get("/api/search.csv?q=budget").get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["title"] == "'=HYPERLINK(1) budget"


def test_the_atom_feed_of_a_search(web_client: FlaskClient) -> None:
    response = web_client.get("/feed?q=oil&topic=Energy")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and parsed.feed.title == "newsfind: oil"
    newest = api(web_client, "/api/search?q=oil&topic=Energy&sort=newest&per_page=20")
    assert [entry.title for entry in parsed.entries] == [h["title"] for h in newest["hits"]]
    stamps = [entry.published_parsed for entry in parsed.entries if "published" in entry]
    assert stamps == sorted(stamps, reverse=True) and stamps
    assert all(entry.id.startswith("http://localhost/articles/") for entry in parsed.entries)
    assert parsed.feed.links[0].href.startswith("http://localhost/feed?q=oil")
    empty = feedparser.parse(web_client.get("/feed?q=zzzzzz&exact=1").get_data())
    assert not empty.bozo and empty.entries == []
    assert web_client.get("/feed?per_page=5").status_code == 400


def test_every_page_has_one_h1(web_client: FlaskClient) -> None:
    first = api(web_client, "/api/search?q=oil")["hits"][0]["id"]
    for url, status in (
        ("/", 200),
        ("/?q=oil", 200),
        ("/?q=zzzzzz&exact=1", 200),
        ("/?page=x", 400),
        (f"/articles/{first}", 200),
        ("/articles/nope", 404),
        ("/nowhere", 404),
    ):
        page = html(web_client.get(url), status)
        assert len(re.findall(r"<h1\b", page)) == 1, url


def test_the_article_page_links_back(web_client: FlaskClient) -> None:
    first = api(web_client, "/api/search?q=oil")["hits"][0]["id"]
    page = html(web_client.get(f"/articles/{first}"))
    assert '<a class="back-link" href="/" data-back>' in page


# -- small indexes of their own ------------------------------------------------------------------


def _client_for(folder: Path, articles: list[tuple[str, dict[str, Any]]]) -> FlaskClient:
    seeds = folder / "seeds"
    for number, (title, fields) in enumerate(articles):
        write_article(seeds, file_name(number), title, **fields)
    reindex(seeds, folder / "index", workers=1)
    return create_app({"TESTING": True, "INDEX_DIR": str(folder / "index")}).test_client()


def test_thumbnails_are_the_articles_own_images(tmp_path: Path) -> None:
    client = _client_for(tmp_path, [("Harbour budget", {}), ("Budget pictures", {})])
    path = next((tmp_path / "seeds").glob(f"*{file_name(1)[4:]}"))
    text = path.read_text().replace(
        "\n---\n", '\nimages: [{url: "https://img.sample/p.jpg", width: 800, height: 600}]\n---\n'
    )
    path.write_text(text)
    reindex(tmp_path / "seeds", tmp_path / "index", workers=1)
    page = html(client.get("/?q=budget"))
    (image,) = re.findall(r"<img [^>]*>", page)
    for attribute in ('src="https://img.sample/p.jpg"', 'loading="lazy"', 'width="96"'):
        assert attribute in image
    assert 'height="64"' in image and 'alt=""' in image
    assert 'referrerpolicy="no-referrer"' in image


def test_an_excerpt_cut_mid_sentence_is_cut_at_a_boundary(tmp_path: Path) -> None:
    lead = "The council approved the budget for next year. It also said the tram would"
    client = _client_for(tmp_path, [("Council news", {"excerpt": lead, "body": lead + " soon."})])
    page = html(client.get("/?q=council"))
    assert (
        '<p class="excerpt">The <mark>council</mark> approved the budget for next year.</p>' in page
    )


def test_health_warns_after_a_reindex_that_rejected_files(tmp_path: Path) -> None:
    client = _client_for(tmp_path, [("Harbour budget", {})])
    health = api(client, "/api/health")
    assert health["status"] == "ok" and health["rejected"] == 0
    (tmp_path / "seeds" / "001_badbadbadbadbadba.txt").write_text("no front matter\n")
    reindex(tmp_path / "seeds", tmp_path / "index", workers=1)
    health = api(client, "/api/health")
    assert health["status"] == "warning" and health["rejected"] == 1
    validate("Health", health)


def test_the_feed_is_valid_with_hostile_text(tmp_path: Path) -> None:
    title = 'Budget <b>&amp; "quotes" \x07 ]]> done'
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / file_name(0)).write_text(article_text(title.replace("\x07", ""), topics=["A&B"]))
    reindex(seeds, tmp_path / "index", workers=1)
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")}).test_client()
    parsed = feedparser.parse(client.get("/feed?q=budget").get_data())
    assert not parsed.bozo and parsed.entries[0].title == title.replace("\x07", "")
    assert parsed.entries[0].tags[0].term == "A&B"
