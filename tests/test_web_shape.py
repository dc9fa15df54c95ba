"""``/api/search``'s shape parameters: ``fields=`` and ``highlights=`` (real app, real index)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from test_web import validate

from web.params import HIT_FIELDS


def _search(client: FlaskClient, query: str) -> tuple[int, dict[str, Any]]:
    response = client.get(f"/api/search?q=economy{query}")
    return response.status_code, response.get_json()


def _valid(body: dict[str, Any]) -> None:
    validate("SearchResult", body)


def test_by_default_every_hit_has_every_field(web_client: FlaskClient) -> None:
    status, body = _search(web_client, "")
    assert status == 200 and body["hits"]
    for hit in body["hits"]:
        assert list(hit) == list(HIT_FIELDS[:1]) + [k for k in hit if k != "id"]
        assert set(hit) == set(HIT_FIELDS)
        assert set(hit["highlights"]) == {"title", "excerpt", "body"}
    _valid(body)


def test_fields_keep_only_the_named_keys_and_the_id(web_client: FlaskClient) -> None:
    _, whole = _search(web_client, "")
    for query in ("&fields=title,url", "&fields=title&fields=url", "&fields=url,title,id"):
        status, body = _search(web_client, query)
        assert status == 200
        assert [set(hit) for hit in body["hits"]] == [{"id", "title", "url"}] * len(whole["hits"])
        assert [hit["title"] for hit in body["hits"]] == [hit["title"] for hit in whole["hits"]]
        assert {k: v for k, v in body.items() if k != "hits"} == {
            k: v for k, v in whole.items() if k not in ("hits", "took_ms")
        } | {"took_ms": body["took_ms"]}
        _valid(body)


def test_highlights_none_or_some(web_client: FlaskClient) -> None:
    _, whole = _search(web_client, "")
    status, none = _search(web_client, "&highlights=none")
    assert status == 200 and all("highlights" not in hit for hit in none["hits"])
    _valid(none)
    _, titles = _search(web_client, "&highlights=title")
    assert [hit["highlights"] for hit in titles["hits"]] == [
        {"title": hit["highlights"]["title"]} for hit in whole["hits"]
    ]
    _valid(titles)
    _, both = _search(web_client, "&fields=id,highlights&highlights=body,title")
    assert [hit for hit in both["hits"]] == [
        {"id": hit["id"], "highlights": {"title": hit["highlights"]["title"],
                                         "body": hit["highlights"]["body"]}}
        for hit in whole["hits"]
    ]  # fmt: skip
    _, mixed = _search(web_client, "&highlights=none,title")
    assert [h["highlights"] for h in mixed["hits"]] == [h["highlights"] for h in titles["hits"]]
    _, all_ = _search(web_client, "&highlights=all")
    assert [h["highlights"] for h in all_["hits"]] == [h["highlights"] for h in whole["hits"]]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("&fields=title,secured", "fields"),
        ("&fields=", "fields"),
        ("&fields=title,,url", "fields"),
        ("&highlights=snippet", "highlights"),
    ],
)
def test_bad_shapes_are_a_clear_400(web_client: FlaskClient, query: str, param: str) -> None:
    status, body = _search(web_client, query)
    assert status == 400
    assert body["error"]["code"] == "invalid_parameter" and body["error"]["param"] == param


def test_an_unknown_name_is_named_in_the_error(web_client: FlaskClient) -> None:
    _, body = _search(web_client, "&fields=title,secured,body_html")
    message = body["error"]["message"]
    assert "'secured'" in message and "'body_html'" in message and "published_at" in message
    _, body = _search(web_client, "&highlights=title,lead")
    assert "'lead'" in body["error"]["message"]


def test_highlights_asked_by_name_come_with_fields(web_client: FlaskClient) -> None:
    _, whole = _search(web_client, "")
    _, body = _search(web_client, "&fields=title&highlights=title")
    assert body["hits"] == [
        {"id": h["id"], "title": h["title"], "highlights": {"title": h["highlights"]["title"]}}
        for h in whole["hits"]
    ]
    _, body = _search(web_client, "&fields=title&highlights=all")
    assert [hit["highlights"] for hit in body["hits"]] == [h["highlights"] for h in whole["hits"]]
    _, body = _search(web_client, "&fields=title&highlights=none")
    assert all(set(hit) == {"id", "title"} for hit in body["hits"])
    _valid(body)


def test_the_openapi_document_lists_the_hit_fields(web_client: FlaskClient) -> None:
    document = web_client.get("/api/openapi.json").get_json()
    given = {
        p["name"]: p for p in document["paths"]["/api/search"]["get"]["parameters"] if "name" in p
    }
    assert given["fields"]["schema"]["items"]["enum"] == list(HIT_FIELDS)
    assert set(HIT_FIELDS) == set(document["components"]["schemas"]["Hit"]["properties"])
    assert "all" in given["highlights"]["schema"]["items"]["enum"]


def test_each_shape_has_its_own_etag(web_client: FlaskClient) -> None:
    tags = {
        web_client.get(f"/api/search?q=economy{query}").headers["ETag"]
        for query in ("", "&fields=title", "&highlights=none")
    }
    assert len(tags) == 3


def test_the_page_and_the_other_endpoints_do_not_take_them(web_client: FlaskClient) -> None:
    assert web_client.get("/api/search.json?q=economy&fields=title").status_code == 400
    assert web_client.get("/api/suggest?q=ec&fields=title").status_code == 400
