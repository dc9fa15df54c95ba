"""The web layer through Flask's test client: every endpoint, parameter error and status.

The index is the real one (built by ``reindex`` from the corpus in ``conftest.write_web_corpus``)
and the engine is the real one; nothing of ours is replaced.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import UNPUBLISHED_WORD, WEB_ADMIN_TOKEN, XSS_TITLE, write_web_corpus
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from test_engine_helpers import has_term, passes, visible

from search.analysis import analyse
from search.articles import Article, read_article
from search.contract import (
    MAX_QUERY_CHARS,
    Correction,
    DateBucket,
    DateHistogram,
    SearchRequest,
    SearchResult,
)
from search.ranking import SEMANTIC_DEPTH
from search.whoosh.target import reindex
from web import create_app, openapi
from web.pages import render_search

SECRET = "c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du"  # the ``secured`` value factory.py writes
ADMIN = {"Authorization": f"Bearer {WEB_ADMIN_TOKEN}"}


# --- helpers -------------------------------------------------------------------------------


def api(client: FlaskClient, url: str, status: int = 200, **kwargs: Any) -> Any:
    response = client.get(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def assert_error(response: Any, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if param is None:
        assert "param" not in error
    else:
        assert error["param"] == param
    validate("Error", body)


def validate(schema_name: str, instance: Any) -> None:
    """Check a body against the OpenAPI document the app serves."""
    document = openapi.document()
    registry = Registry().with_resource(
        "urn:newsfind",
        Resource.from_contents(
            {**document, "$schema": "https://json-schema.org/draft/2020-12/schema"}
        ),
    )
    validator = Draft202012Validator(
        {"$ref": f"urn:newsfind#/components/schemas/{schema_name}"}, registry=registry
    )
    validator.validate(instance)


def html(response: Any, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    return str(response.get_data(as_text=True))


def links(page: str, css_class: str) -> list[str]:
    return [
        href.replace("&amp;", "&")
        for href in re.findall(rf'<a[^>]*class="[^"]*{css_class}[^"]*"[^>]*href="([^"]*)"', page)
        + re.findall(rf'<a[^>]*href="([^"]*)"[^>]*class="[^"]*{css_class}[^"]*"', page)
    ]


@pytest.fixture(scope="module")
def articles(web_index: Path) -> list[Article]:
    """The published articles of the web corpus, read from its seed files: the brute-force
    reference the answers are checked against."""
    seeds = web_index.parent / "seeds"
    return visible(read_article(path) for path in sorted(seeds.rglob("*.txt")))


def with_word(articles: list[Article], word: str) -> list[Article]:
    stem = analyse(word)[0]
    return [article for article in articles if has_term(article, stem)]


def filtered(articles: list[Article], **fields: Any) -> list[Article]:
    request = SearchRequest(**fields)
    return [article for article in articles if passes(article, request)]


# --- the search API ----------------------------------------------------------------------------


def test_api_search_returns_the_result_as_documented(
    web_client: FlaskClient, articles: list[Article]
) -> None:
    body = api(web_client, "/api/search?q=oil&mode=keyword")
    validate("SearchResult", body)
    assert body["total"] == len(with_word(articles, "oil"))
    assert body["query"]["q"] == "oil"
    assert body["page"] == 1 and body["pages"] == -(-body["total"] // body["per_page"])
    titles = " ".join(hit["title"].lower() + hit["excerpt"].lower() for hit in body["hits"])
    assert "oil" in titles
    first = body["hits"][0]
    matched = [
        s["text"].lower() for part in first["highlights"].values() for s in part if s["match"]
    ]
    assert matched and all("oil" in text for text in matched)
    assert set(body["facets"]) == {"topic", "provider", "type"}


def test_modes_through_the_api(web_client: FlaskClient, articles: list[Article]) -> None:
    keyword = api(web_client, "/api/search?q=oil&mode=keyword&per_page=100")
    default = api(web_client, "/api/search?q=oil&per_page=100")
    semantic = api(web_client, "/api/search?q=oil&mode=semantic&per_page=100")
    for body in (keyword, default, semantic):
        validate("SearchResult", body)
        assert body["total"] == len(body["hits"])
    assert default["query"]["mode"] == default["mode"] == "hybrid"
    assert keyword["mode"] == "keyword" and semantic["mode"] == "semantic"
    assert {h["id"] for h in keyword["hits"]} <= {h["id"] for h in default["hits"]}
    assert 0 < semantic["total"] <= SEMANTIC_DEPTH
    # only exclusions: nothing to embed, answered (and said to be answered) in keyword mode
    assert api(web_client, "/api/search?q=-oil&mode=semantic")["mode"] == "keyword"


def ids(body: dict[str, Any]) -> list[str]:
    return sorted(hit["id"] for hit in body["hits"])


def test_filters_sort_and_paging_reach_the_engine(
    web_client: FlaskClient, articles: list[Article]
) -> None:
    everything = api(web_client, "/api/search?per_page=100")
    assert everything["total"] == len(articles)
    energy = api(web_client, "/api/search?topic=Energy&per_page=100")
    expected = filtered(articles, topics=("Energy",))
    assert 0 < len(expected) < len(articles)
    assert ids(energy) == sorted(a.id for a in expected)
    either = api(web_client, "/api/search?topic=Energy&topic=Sports&per_page=100")
    assert ids(either) == sorted(a.id for a in filtered(articles, topics=("Energy", "Sports")))
    assert either["query"]["topic"] == ["Energy", "Sports"]
    by_domain = api(web_client, "/api/search?provider=lemonde.fr&per_page=100")
    expected = filtered(articles, providers=("lemonde.fr",))
    assert expected and ids(by_domain) == sorted(a.id for a in expected)
    assert {h["provider"]["name"] for h in by_domain["hits"]} == {"Le Monde"}
    newest = api(web_client, "/api/search?sort=newest&per_page=20")
    dates = [hit["published_at"] for hit in newest["hits"] if hit["published_at"]]
    assert dates == sorted(dates, reverse=True)
    page2 = api(web_client, "/api/search?sort=newest&per_page=10&page=2")
    assert [h["id"] for h in page2["hits"]] == [h["id"] for h in newest["hits"][10:20]]


def test_date_parameters(web_client: FlaskClient, articles: list[Article]) -> None:
    body = api(web_client, "/api/search?since=2023-03-01&until=2023-03-31&per_page=100")
    assert body["query"]["since"] == "2023-03-01T00:00:00Z"
    assert body["query"]["until"] == "2023-04-01T00:00:00Z"  # a date-only until keeps its day
    march = filtered(
        articles,
        since=dt.datetime(2023, 3, 1, tzinfo=dt.UTC),
        until=dt.datetime(2023, 4, 1, tzinfo=dt.UTC),
    )
    assert march and ids(body) == sorted(a.id for a in march)
    for hit in body["hits"]:
        assert "2023-03-01" <= hit["published_at"][:10] <= "2023-03-31"
    exact = api(web_client, "/api/search?since=2023-03-01T00:00:00%2B01:00&until=2023-04-01T00:00")
    assert exact["query"]["since"] == "2023-02-28T23:00:00Z"
    assert exact["query"]["until"] == "2023-04-01T00:00:00Z"
    recent = api(web_client, "/api/search?range=7d&per_page=100")
    assert recent["query"]["range"] == "7d"
    now = dt.datetime.now(dt.UTC)
    week = [a for a in articles if a.published_at and now - dt.timedelta(days=7) <= a.published_at]
    assert {hit["title"] for hit in recent["hits"]} == {a.title for a in week}
    assert "Fresh oil prices bulletin 103" in {a.title for a in week}


def test_empty_values_count_as_absent_on_the_page_only(web_client: FlaskClient) -> None:
    form = "q=oil&since=&until=&range=&sort=&page=&topic="
    assert "articles" in html(web_client.get(f"/?{form}"))
    assert_error(web_client.get(f"/api/search?{form}"), 400, "invalid_parameter", "topic")
    assert_error(web_client.get("/api/search?q=oil&page="), 400, "invalid_parameter", "page")
    assert api(web_client, "/api/search?q=")["query"]["q"] == ""


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("per_page=101", "per_page"),
        ("per_page=1.5", "per_page"),
        ("facet_size=0", "facet_size"),
        ("sort=best", "sort"),
        ("mode=fuzzy", "mode"),
        ("range=2w", "range"),
        ("since=yesterday", "since"),
        ("since=2024-02-30", "since"),
        ("until=2024-13-01", "until"),
        ("since=2024-05-01&until=2024-04-01", "until"),
        ("q=a&q=b", "q"),
        ("sort=newest&sort=oldest", "sort"),
        ("page=2000&per_page=10", "page"),
        ("colour=red", "colour"),
        ("topics=Energy", "topics"),
        ("&".join(f"topic=t{n}" for n in range(51)), "topic"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    web_client: FlaskClient, query: str, param: str
) -> None:
    assert_error(web_client.get(f"/api/search?{query}"), 400, "invalid_parameter", param)


@pytest.mark.parametrize(
    ("query", "param"),
    [("page=abc", "page"), ("sort=best", "sort")],  # a bad date is explained in place
)
def test_bad_parameters_on_the_page_show_an_error_state(
    web_client: FlaskClient, query: str, param: str
) -> None:
    page = html(web_client.get(f"/?q=oil&{query}"), 400)
    assert 'role="alert"' in page and f"<code>{param}</code>" in page
    assert 'id="q"' in page and 'value="oil"' in page  # the form stays, with the query


def test_the_page_ignores_unknown_parameters(web_client: FlaskClient) -> None:
    assert "articles" in html(web_client.get("/?q=oil&utm_source=newsletter"))


def test_over_long_input(web_client: FlaskClient) -> None:
    too_long = "a" * (MAX_QUERY_CHARS + 1)
    assert_error(web_client.get(f"/api/search?q={too_long}"), 414, "query_too_long", "q")
    assert_error(web_client.get(f"/api/suggest?q={too_long}"), 414, "query_too_long", "q")
    html(web_client.get(f"/?q={too_long}"), 414)
    api(web_client, f"/api/search?q={'a' * MAX_QUERY_CHARS}")
    huge = "&".join(f"type=x{n:05d}" for n in range(1500))
    assert_error(web_client.get(f"/api/search?{huge}"), 414, "uri_too_long")
    assert_error(web_client.get("/api/search", data=b"x" * 100_000), 413, "payload_too_large")


# --- other endpoints -----------------------------------------------------------------------


def test_suggest(web_client: FlaskClient) -> None:
    body = api(web_client, "/api/suggest?q=oil")
    validate("Suggestions", body)
    assert body["suggestions"], body
    assert all("oil" in s["text"].lower() for s in body["suggestions"])
    assert len(api(web_client, "/api/suggest?q=oil&limit=1")["suggestions"]) == 1
    assert api(web_client, "/api/suggest?q=")["suggestions"] == []
    assert_error(web_client.get("/api/suggest?q=oil&limit=0"), 400, "invalid_parameter", "limit")
    assert_error(web_client.get("/api/suggest?q=oil&limit=x"), 400, "invalid_parameter", "limit")
    assert_error(web_client.get("/api/suggest?prefix=oil"), 400, "invalid_parameter", "prefix")


def test_article_api_and_page(web_client: FlaskClient) -> None:
    hit = api(web_client, "/api/search?q=vaccine&per_page=1")["hits"][0]
    body = api(web_client, f"/api/articles/{hit['id']}")
    validate("Article", body)
    assert body["id"] == hit["id"] and body["title"] == hit["title"]
    assert isinstance(body["more_like_this"], list)
    assert all(similar["id"] != hit["id"] for similar in body["more_like_this"])
    assert api(web_client, f"/api/articles/{hit['id']}?more_like_this=0")["more_like_this"] == []
    assert_error(
        web_client.get(f"/api/articles/{hit['id']}?more_like_this=99"),
        400, "invalid_parameter", "more_like_this",
    )  # fmt: skip
    page = html(web_client.get(f"/articles/{hit['id']}"))
    assert f"<h1>{hit['title']}</h1>" in page
    # the documented default count: the other vaccine articles are more than enough
    parameters = openapi.document()["paths"]["/api/articles/{article_id}"]["get"]["parameters"]
    default = next(p for p in parameters if p["name"] == "more_like_this")["schema"]["default"]
    similar = [entry["id"] for entry in body["more_like_this"]]
    assert len(similar) == default
    section = page.split('<h2 id="similar-heading">More like this</h2>', 1)[1]
    links = re.findall(r'href="/articles/([^"]+)"', section.split("</section>", 1)[0])
    assert links == similar


def test_article_body_paragraphs_and_related_coverage(web_client: FlaskClient) -> None:
    found = api(web_client, "/api/search?per_page=100")
    article = next(h for h in found["hits"] if h["title"] == "Oil Prices update 0")
    page = html(web_client.get(f"/articles/{article['id']}"))
    assert "<p>Paragraph one about oil prices and the economy.</p>" in page
    assert "<p>Paragraph two with detail number 0.</p>" in page
    assert "Also covered by" in page and "Earlier coverage of oil prices" in page
    assert 'href="https://apnews.com/earlier-0"' in page


def test_unknown_ids_and_paths_are_404(web_client: FlaskClient) -> None:
    assert_error(web_client.get("/api/articles/no-such-id"), 404, "not_found")
    assert_error(web_client.get("/api/nothing/here"), 404, "not_found")
    assert "Not found" in html(web_client.get("/articles/no-such-id"), 404)
    html(web_client.get("/no/such/page"), 404)


def test_wrong_methods_are_405_with_allow(web_client: FlaskClient) -> None:
    response = web_client.post("/api/search", data={"q": "oil"})
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert_error(web_client.delete("/api/articles/x"), 405, "method_not_allowed")
    html(web_client.put("/"), 405)


def test_head_requests(web_client: FlaskClient) -> None:
    response = web_client.head("/api/search?q=oil")
    assert response.status_code == 200 and response.get_data() == b""


def test_health(web_client: FlaskClient) -> None:
    body = api(web_client, "/api/health")
    validate("Health", body)
    assert body["status"] == "ok" and body["generation"].startswith("gen-")
    assert body["doc_count"] == api(web_client, "/api/search?per_page=1")["total"]
    assert web_client.get("/api/health").headers["Cache-Control"] == "no-store"


def test_openapi_document_is_valid_and_covers_every_endpoint(web_app: Flask) -> None:
    from openapi_spec_validator import validate as validate_spec

    body = api(web_app.test_client(), "/api/openapi.json")
    validate_spec(body)
    assert body["openapi"].startswith("3.1")
    api_rules = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in web_app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }
    assert api_rules == set(body["paths"])
    documented = {
        p["$ref"].rsplit("/", 1)[1] if "$ref" in p else p["name"]
        for p in body["paths"]["/api/search"]["get"]["parameters"]
    }
    from web.params import SEARCH_PARAMS, SHAPE_PARAMS

    assert documented == {*SEARCH_PARAMS, *SHAPE_PARAMS}


# --- errors without internals, and no index ----------------------------------------------


def test_unexpected_errors_are_500_without_internals(web_index: Path) -> None:
    app = create_app({"INDEX_DIR": str(web_index)})

    def broken() -> str:
        raise RuntimeError("secret internal detail at /srv/newsfind")

    app.add_url_rule("/api/broken", view_func=broken)
    app.add_url_rule("/broken", view_func=broken, endpoint="broken_page")
    client = app.test_client()
    response = client.get("/api/broken")
    assert_error(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    page = html(client.get("/broken"), 500)
    assert "secret" not in page and "Traceback" not in page


def test_no_index_is_503_everywhere(tmp_path: Path) -> None:
    client = create_app({"INDEX_DIR": str(tmp_path / "missing")}).test_client()
    for url in ("/api/search?q=oil", "/api/health", "/api/suggest?q=oil", "/api/articles/x"):
        response = client.get(url)
        assert_error(response, 503, "index_unavailable")
        assert response.headers["Retry-After"]
    assert "newsfind reindex" in html(client.get("/?q=oil"), 503)


# --- caching ---------------------------------------------------------------------------------


def test_etag_and_304(web_client: FlaskClient) -> None:
    first = web_client.get("/api/search?q=oil")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"] == "no-cache"
    again = web_client.get("/api/search?q=oil", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    other = web_client.get("/api/search?q=gas", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag
    page = web_client.get("/?q=oil")
    assert page.headers["ETag"] != etag  # the page and the JSON are different representations
    assert (
        web_client.get("/?q=oil", headers={"If-None-Match": page.headers["ETag"]}).status_code
        == 304
    )
    article_id = first.get_json()["hits"][0]["id"]
    one = web_client.get(f"/api/articles/{article_id}")
    same = web_client.get(
        f"/api/articles/{article_id}", headers={"If-None-Match": one.headers["ETag"]}
    )
    assert same.status_code == 304


def test_a_reindex_changes_etags_and_is_served_without_restart(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_web_corpus(seeds)
    reindex(seeds, index, workers=1)
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    before = client.get("/api/search?q=marmalade")
    assert before.get_json()["total"] == 0
    from factory import file_name, write_article

    write_article(seeds, file_name(999), "Marmalade exports soar", topics=["Economy"])
    reindex(seeds, index, full=True, workers=1)
    after = client.get("/api/search?q=marmalade", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.get_json()["total"] == 1
    assert after.headers["ETag"] != before.headers["ETag"]


# --- admin, CORS, security -----------------------------------------------------------------


def test_unpublished_articles_only_for_the_admin_token(web_client: FlaskClient) -> None:
    anonymous = api(web_client, f"/api/search?q={UNPUBLISHED_WORD}")
    assert anonymous["total"] == 0
    admin = api(web_client, f"/api/search?q={UNPUBLISHED_WORD}", headers=ADMIN)
    assert admin["total"] == 1 and admin["hits"][0]["published"] is False
    hidden_id = admin["hits"][0]["id"]
    assert_error(web_client.get(f"/api/articles/{hidden_id}"), 404, "not_found")
    assert api(web_client, f"/api/articles/{hidden_id}", headers=ADMIN)["id"] == hidden_id
    response = web_client.get(f"/api/articles/{hidden_id}", headers=ADMIN)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Vary" in response.headers and "Authorization" in response.headers["Vary"]
    assert "Secret draft" not in html(web_client.get(f"/?q={UNPUBLISHED_WORD}"))
    assert "Unpublished" in html(web_client.get(f"/?q={UNPUBLISHED_WORD}", headers=ADMIN))
    suggestions = api(web_client, "/api/suggest?q=secret")["suggestions"]
    assert all(UNPUBLISHED_WORD not in s["text"] for s in suggestions)


@pytest.mark.parametrize(
    "header", ["Bearer wrong", "Bearer ", f"Bearer {WEB_ADMIN_TOKEN}x", "bearer nope"]
)
def test_a_wrong_token_is_401_and_nothing_else(web_client: FlaskClient, header: str) -> None:
    for url in ("/api/search?q=oil", "/api/health", "/api/articles/x"):
        response = web_client.get(url, headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "hits" not in response.get_data(as_text=True)


def test_without_a_configured_token_nobody_is_admin(web_index: Path) -> None:
    client = create_app({"INDEX_DIR": str(web_index), "ADMIN_TOKEN": ""}).test_client()
    assert_error(
        client.get(f"/api/search?q={UNPUBLISHED_WORD}", headers=ADMIN), 401, "unauthorized"
    )
    assert_error(
        client.get("/api/search", headers={"Authorization": "Bearer "}), 401, "unauthorized"
    )


def test_other_authorization_schemes_are_ignored(web_client: FlaskClient) -> None:
    body = api(
        web_client, f"/api/search?q={UNPUBLISHED_WORD}", headers={"Authorization": "Basic dTpw"}
    )
    assert body["total"] == 0


def test_cors_is_off_by_default(web_client: FlaskClient) -> None:
    response = web_client.get("/api/search?q=oil", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_when_configured(web_index: Path) -> None:
    client = create_app(
        {"INDEX_DIR": str(web_index), "CORS_ORIGINS": "https://a.example, https://b.example"}
    ).test_client()
    allowed = client.get("/api/search?q=oil", headers={"Origin": "https://b.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "Origin" in allowed.headers["Vary"]
    denied = client.get("/api/search?q=oil", headers={"Origin": "https://c.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    preflight = client.options(
        "/api/search",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    page = client.get("/?q=oil", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in page.headers  # pages are not an API


@pytest.mark.parametrize(
    "url",
    ["/", "/?q=oil", "/api/search?q=oil", "/api/search?page=x", "/api/nope", "/static/app.js"],
)
def test_security_headers_everywhere(web_client: FlaskClient, url: str) -> None:
    with web_client.get(url) as response:
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def test_markup_in_documents_is_shown_as_text(web_client: FlaskClient) -> None:
    found = api(web_client, "/api/search?q=markup")
    article = next(hit for hit in found["hits"] if hit["title"] == XSS_TITLE)
    for page in (
        html(web_client.get("/?q=markup")),
        html(web_client.get("/?q=script+alert")),
        html(web_client.get(f"/articles/{article['id']}")),
        html(web_client.get(f"/?q={XSS_TITLE}")),
    ):
        assert "<script>alert" not in page
        assert 'href="javascript:' not in page  # an unsafe original URL is not made a link
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html(
        web_client.get(f"/articles/{article['id']}")
    )


def test_no_inline_script_and_only_local_assets(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=oil"))
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert " on" not in " ".join(re.findall(r"<[^>]+>", page)).replace(" only", "")  # no onclick=
    # the only way off the site: links to the originals, which never pass on the page
    external = [
        tag
        for tag in re.findall(r"<[a-z]+\b[^>]*>", page)
        if re.search(r'\b(?:src|href)="(?:https?:)?//', tag)
    ]
    assert external, "the hits link to their original articles"
    for tag in external:
        assert tag.startswith("<a ") and 'rel="noopener noreferrer"' in tag, tag
    assets = r'(?:<link(?![^>]*rel="alternate")[^>]*href|<script[^>]*src)="([^"]+)"'
    for asset in re.findall(assets, page):
        assert asset.startswith("/static/")
        with web_client.get(asset) as response:
            assert response.status_code == 200


def test_secured_never_appears(web_client: FlaskClient) -> None:
    bodies = [
        web_client.get("/api/search?per_page=100", headers=ADMIN).get_data(as_text=True),
        web_client.get("/?per_page=100", headers=ADMIN).get_data(as_text=True),
        web_client.get("/api/suggest?q=a").get_data(as_text=True),
    ]
    for hit in json.loads(bodies[0])["hits"]:
        bodies.append(
            web_client.get(f"/api/articles/{hit['id']}", headers=ADMIN).get_data(as_text=True)
        )
        bodies.append(
            web_client.get(f"/articles/{hit['id']}", headers=ADMIN).get_data(as_text=True)
        )
    for body in bodies:
        assert "secured" not in body and SECRET not in body


# --- the page ---------------------------------------------------------------------------------


def test_search_page_shows_hits_highlights_and_state(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=oil"))
    assert re.search(r'<h1 id="result-count"[^>]*aria-live="polite"', page)
    assert "<mark>" in page.lower()
    assert re.search(r"\(\d+ ms\)", page)
    assert re.search(
        r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z" title="[^"]+">[^<]+ ago</time>', page
    )
    assert 'name="q"' in page and '<label for="q"' in page
    assert 'rel="noopener noreferrer"' in page
    assert 'class="skip-link"' in page


def test_facet_checkboxes_chips_and_clear_all(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=oil&topic=Energy&provider=Reuters"))
    assert re.search(r'name="topic" value="Energy" form="search"[^>]* checked', page)
    assert re.search(r'name="provider" value="Reuters" form="search"[^>]* checked', page)
    chips = links(page, "chip")
    assert "/?q=oil&provider=Reuters" in chips and "/?q=oil&topic=Energy" in chips
    assert "/?q=oil" in links(page, "clear-all")


def test_topic_links_add_a_filter(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=oil&provider=Reuters"))
    assert (
        'href="/?q=oil&amp;topic=Energy&amp;provider=Reuters" title="Filter by topic Energy"'
        in page
    )


def test_histogram_bars_narrow_the_dates(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=prices"))
    bars = re.findall(r'<a href="([^"]+)" aria-label="([^"]+): ([\d,]+) articles?"', page)
    assert bars, "no histogram bars"
    url, label, count = bars[0]
    url = url.replace("&amp;", "&")
    assert "since=" in url and "until=" in url and "q=prices" in url
    narrowed = api(web_client, "/api/search" + url[1:])
    assert narrowed["total"] == int(count.replace(",", ""))
    assert "<title>" in page


def test_range_links_and_sort_selector(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=oil&sort=newest"))
    assert '<option value="newest" selected>' in page
    assert "/?q=oil&range=7d&sort=newest" in [
        href.replace("&amp;", "&") for href in re.findall(r'href="([^"]*range=7d[^"]*)"', page)
    ]


def test_pagination(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?per_page=5"))
    assert 'rel="next"' in page and "/?page=2&amp;per_page=5" in page
    second = html(web_client.get("/?per_page=5&page=2"))
    assert 'rel="prev"' in second and 'aria-current="page"' in second
    assert '<ol class="hits" start="6">' in second
    beyond = html(web_client.get("/?per_page=5&page=200"))
    assert "past the last result" in beyond


def test_empty_state_is_helpful(web_client: FlaskClient) -> None:
    page = html(web_client.get("/?q=xylophonequartz&topic=Energy"))
    assert "No articles match" in page and "search without filters" in page


def test_did_you_mean_and_plain_fallback_are_rendered(web_app: Flask) -> None:
    request = SearchRequest(q="oill", now=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    bucket = DateBucket(
        dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        dt.datetime(2024, 4, 1, tzinfo=dt.UTC),
        "Mar 2024",
        4,
    )
    result = SearchResult(
        request, 0, (), did_you_mean=Correction("oil", 12), plain_fallback=True,
        date_histogram=DateHistogram("month", (bucket,), undated=2),
    )  # fmt: skip
    with web_app.test_request_context("/?q=oill"):
        page = render_search(result, {"q": ["oill"], "range": ["7d"]})
    assert 'Did you mean <a href="/?q=oil&amp;range=7d">oil</a>?' in page
    assert "searched as plain text" in page
    assert 'href="/?q=oill&amp;since=2024-03-01&amp;until=2024-03-31"' in page
    assert "2 undated articles not shown" in page


def test_configuration_from_the_environment(
    web_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFIND_INDEX_DIR", str(web_index))
    monkeypatch.setenv("NEWSFIND_PER_PAGE", "3")
    monkeypatch.setenv("NEWSFIND_ADMIN_TOKEN", "12345")
    client = create_app().test_client()
    assert api(client, "/api/search")["per_page"] == 3
    hidden = api(
        client, f"/api/search?q={UNPUBLISHED_WORD}", headers={"Authorization": "Bearer 12345"}
    )
    assert hidden["total"] == 1


@pytest.mark.parametrize("per_page", [0, 101, "ten", True])
def test_a_bad_page_size_setting_fails_at_start_up(per_page: Any) -> None:
    with pytest.raises(ValueError, match="NEWSFIND_PER_PAGE"):
        create_app({"PER_PAGE": per_page})
