"""Stories on the web: the grouped search page and API, the story page and API, "Also covered by"
on article pages, trending on the home page and the API — the real app over a real index."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import feedparser
import pytest
from factory import write_article
from flask.testing import FlaskClient
from test_web import api, assert_error, html, validate

from search.whoosh.target import reindex
from web import create_app

PROVIDERS = [("Wire One", "one.sample"), ("Paper Two", "two.sample"),
             ("Daily Three", "three.sample"), ("Post Four", "four.sample")]  # fmt: skip
MERGER = "Chiquita and Fyffes agree to merge, creating the top banana company"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """An archive of 1987 (older than every trending window): a story told by four providers
    over a day, one by one provider and a lone article the week before."""
    root = tmp_path_factory.mktemp("web-stories")
    seeds = root / "seeds"
    titles = [
        "Chiquita, Fyffes agree banana merger",
        "Banana giants Chiquita and Fyffes merge",
        "Chiquita Fyffes merger creates top banana",
        "Fyffes and Chiquita seal merger",
    ]
    for number, title in enumerate(titles):
        write_article(seeds, f"001_merger{number:06d}.txt", title, excerpt=MERGER,
                      provider=PROVIDERS[number], topics=["Business"],
                      date=f"1987-10-19T{8 + 3 * number:02d}:00:00Z")  # fmt: skip
    for number in range(3):
        write_article(seeds, f"002_wire{number:08d}.txt", f"Dollar falls against yen, day {number}",
                      excerpt=f"The dollar fell against the yen in Tokyo trading {number}.",
                      provider=PROVIDERS[0], topics=["Markets"],
                      date=f"1987-10-1{5 + number}T06:00:00Z")  # fmt: skip
    write_article(seeds, "003_lone00000000.txt", "Harvest festival draws crowds",
                  excerpt="A harvest festival in the valley.", provider=PROVIDERS[2],
                  topics=["Culture"], date="1987-10-10T12:00:00Z")  # fmt: skip
    assert not reindex(seeds, root / "index", workers=1).rejected
    return create_app({"TESTING": True, "INDEX_DIR": str(root / "index")}).test_client()


def story_links(page: str) -> list[str]:
    return re.findall(r'<p class="story-line"><a href="([^"]+)">', page)


def test_the_page_groups_by_story_and_can_list_every_article(client: FlaskClient) -> None:
    page = html(client.get("/?q=chiquita+fyffes"))
    assert "<strong>4</strong> articles in <strong>1</strong> story" in page
    assert story_links(page) == ["/stories/merger000000"]
    assert "4 articles · 4 sources" in page and "— also " in page
    assert page.count('class="hit"') == 1
    every = html(client.get("/?q=chiquita+fyffes&group=none"))
    assert every.count('class="hit"') == 4 and not story_links(every)
    assert 'name="group" value="none"' in every  # the form keeps the choice


def test_the_api_groups_only_when_asked(client: FlaskClient) -> None:
    plain = api(client, "/api/search?q=chiquita")
    validate("SearchResult", plain)
    assert plain["stories"] is None and len(plain["hits"]) == 4
    assert all(hit["story"] is None for hit in plain["hits"])
    grouped = api(client, "/api/search?q=chiquita&group=story")
    validate("SearchResult", grouped)
    assert (grouped["total"], grouped["stories"], grouped["pages"]) == (4, 1, 1)
    (hit,) = grouped["hits"]
    assert hit["story"]["id"] == "merger000000" and hit["story"]["articles"] == 4
    assert grouped["facets"] == plain["facets"]  # facets count articles
    assert grouped["query"]["group"] == "story" and plain["query"]["group"] == "none"
    assert_error(client.get("/api/search?group=stories"), 400, "invalid_parameter", "group")


def test_grouped_pages_count_stories(client: FlaskClient) -> None:
    everything = api(client, "/api/search?group=story&per_page=1")
    assert everything["total"] == 8 and everything["stories"] == everything["pages"]
    seen = [
        api(client, f"/api/search?group=story&per_page=1&page={n}")["hits"][0]["story"]["id"]
        for n in range(1, everything["pages"] + 1)
    ]
    assert len(seen) == len(set(seen)) == everything["stories"]


def test_the_story_page_and_api(client: FlaskClient) -> None:
    body = api(client, "/api/stories/merger000000")
    validate("Story", body)
    assert body["count"] == 4 and [a["id"] for a in body["articles"]] == [
        f"merger{n:06d}" for n in range(4)
    ]
    assert body["first"]["id"] == "merger000000" and body["latest"]["id"] == "merger000003"
    assert body["timeline"]["interval"] == "hour"
    assert [s["count"] for s in body["sources"]] == [1, 1, 1, 1]
    page = html(client.get("/stories/merger000000"))
    assert "<h1>Chiquita, Fyffes agree banana merger</h1>" in page
    assert "First report" in page and "Latest update" in page
    assert page.count('class="story-article"') == 4 and "<svg" in page
    for provider, _ in PROVIDERS:
        assert provider in page
    assert_error(client.get("/api/stories/nope"), 404, "not_found")
    assert_error(client.get("/api/stories/merger000000?x=1"), 400, "invalid_parameter", "x")
    assert client.get("/stories/nope").status_code == 404


def test_an_article_page_shows_its_story(client: FlaskClient) -> None:
    page = html(client.get("/articles/merger000001"))
    assert "Also covered by" in page
    covered = page.split("Also covered by", 1)[1].split("</section>", 1)[0]
    assert covered.count("<li>") == 3 and "/articles/merger000000" in covered
    assert 'href="/stories/merger000000"' in covered and "The whole story: 4 articles" in covered
    lone = html(client.get("/articles/lone00000000"))
    assert "Also covered by" not in lone


def test_trending_on_an_old_archive(client: FlaskClient) -> None:
    body = api(client, "/api/trending?window=24h")
    validate("Trending", body)
    assert body["end"] == "1987-10-19T17:00:00Z"  # the newest article: the archive is old
    assert [(s["id"], s["count"], s["baseline"]) for s in body["stories"]] == [
        ("merger000000", 4, 0)
    ]
    assert body["topics"] == [{"topic": "Business", "count": 4, "baseline": 0}]
    week = api(client, "/api/trending?window=7d&limit=5")
    assert {s["id"] for s in week["stories"]} == {"merger000000", "wire00000000"}
    assert_error(client.get("/api/trending?window=1y"), 400, "invalid_parameter", "window")
    assert_error(client.get("/api/trending?limit=0"), 400, "invalid_parameter", "limit")
    home = html(client.get("/"))
    assert 'id="trending-heading"' in home and 'href="/stories/merger000000"' in home
    assert "Business" in home.split('id="trending-heading"', 1)[1]
    assert 'aria-current="true" class="current">7 days' in html(client.get("/?trending=7d"))
    assert 'id="trending-heading"' not in html(client.get("/?q=banana"))


def test_what_the_story_endpoints_answer_is_documented(client: FlaskClient) -> None:
    from web import openapi

    paths: dict[str, Any] = openapi.document()["paths"]
    assert {"/api/stories/{story_id}", "/api/trending"} <= set(paths)
    group = openapi.document()["components"]["parameters"]["group"]
    assert group["schema"]["default"] == "none" and "page" in group["description"]


def test_etags_hold_for_stories(client: FlaskClient) -> None:
    first = client.get("/api/stories/merger000000")
    again = client.get(
        "/api/stories/merger000000", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


def test_exports_and_the_feed_list_articles_whatever_the_grouping(client: FlaskClient) -> None:
    for group in ("", "&group=story", "&group=none"):
        text = client.get(f"/api/search.csv?q=chiquita{group}").get_data(as_text=True)
        assert len(list(csv.DictReader(io.StringIO(text)))) == 4, group
        exported = client.get(f"/api/search.json?q=chiquita{group}").get_json()
        assert len(exported["hits"]) == 4 and all(h["story"] is None for h in exported["hits"])
        feed = feedparser.parse(client.get(f"/feed?q=chiquita{group}").get_data())
        assert not feed.bozo and len(feed.entries) == 4, group
    page = html(client.get("/?q=chiquita"))  # grouped: its export links still give articles
    assert 'href="/api/search.csv?q=chiquita"' in page
