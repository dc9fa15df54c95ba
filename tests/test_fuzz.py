"""Hostile queries: whatever the parameters of ``/api/search``, ``/api/suggest`` (and the search
page, which parses the same ones) or the article path, the answer is never a 500, every error is
in the documented shape ``{"error": {"code", "message"[, "param"]}}``, and every request ends in
bounded time.

- Property-based (hypothesis, derandomized so that CI is repeatable) through Flask's test client
  over a real index: parameter names and values, and raw query-string bytes.
- Explicit cases: pathological wildcards, huge page numbers, thousands of filters, 100 KB query
  strings, invalid UTF-8 and percent-encoded garbage in the URL — each also with the app's 8 KB
  query-string limit lifted, so that the parser itself meets them.
- Over the live gunicorn server: the same garbage as raw bytes on the wire. gunicorn answers a
  request line that is not ASCII or over 8190 bytes itself, with its own plain HTML 400 / 414
  (before the app, so not in the JSON shape); everything that reaches the app is.

The time bound (``HANG_SECONDS``) is a hang detector, not a performance check. The OpenAPI
conformance run (schemathesis, positive and negative data, no 5xx) is
``test_web_server.test_api_conforms_to_its_openapi_document``; it is not repeated here.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, write_web_corpus
from factory import write_many
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.whoosh.target import reindex
from web import create_app
from web.params import SEARCH_PARAMS

pytestmark = pytest.mark.slow

HANG_SECONDS = 10.0
ERROR_KEYS = {"code", "message", "param"}
FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
WILDCARDS = [
    "a*", "*", "**", "a*b*c*", "*a", "a**", "?", "???", "*?*", "title:*", "topic:(*)", '"a*"',
    "(a* OR b*) AND c*", "-*", "NOT *", "a* " * 333, "*" * 1000, "(" * 500 + "a*",
    " ".join(f"{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}*" for i in range(250)),
]  # fmt: skip
GARBAGE_QUERY_STRINGS = [
    b"q=\xff\xfe", b"q=caf\xe9", b"q=\xc0\xaf", b"q=\xed\xa0\x80", b"\xff=1", b"topic=\x80",
    b"q=%ff%fe%fd", b"q=%", b"q=%%", b"q=%zz", b"%ff=1", b"q=%00", b"q=%ed%a0%80", b"q=%c0%af",
    b"topic=%ff&topic=%fe", b"page=%ff", b"since=%ff", b"q=a&&&&=&=", b"=", b"&", b"q",
    b"q=" + b"%ff" * 2000, b"q=%e2%82", b"q=%F0%9F%92%A9%F0%9F", b"sort=%00newest",
]  # fmt: skip
GARBAGE_PATHS = ["/api/articles/%ff%fe", "/api/articles/%00", "/articles/%c0%af",
                 "/api/articles/..%2f..%2fetc%2fpasswd", "/api/articles/" + "x" * 5000,
                 "/api/articles/%25%32%65", "/articles/%ed%a0%80"]  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web corpus plus 1,000 generated articles: a vocabulary for wildcards to expand over."""
    root = tmp_path_factory.mktemp("fuzz")
    write_web_corpus(root / "seeds")
    write_many(root / "seeds" / "more", 1000)
    reindex(root / "seeds", root / "index", workers=2)
    return root / "index"


@pytest.fixture(scope="module")
def client(fuzz_index: Path) -> FlaskClient:
    return create_app({"INDEX_DIR": str(fuzz_index)}).test_client()


@pytest.fixture(scope="module")
def unlimited(fuzz_index: Path) -> FlaskClient:
    """The app with its query-string limit lifted: thousands of parameters reach the parser."""
    return create_app({"INDEX_DIR": str(fuzz_index), "MAX_QUERY_STRING_BYTES": 10**8}).test_client()


def get(client: FlaskClient, path: str, query: Any = None, raw: bytes | None = None) -> Any:
    """One request, checked: bounded in time, no 5xx, errors in the documented shape."""
    started = time.perf_counter()
    if raw is not None:
        response = client.get(path, environ_overrides={"QUERY_STRING": raw.decode("latin-1")})
    else:
        response = client.get(path, query_string=query)
    elapsed = time.perf_counter() - started
    assert elapsed < HANG_SECONDS, (path, query, raw, elapsed)
    check_response(response.status_code, response.mimetype, response.get_data(), path)
    return response


def check_response(status: int, mimetype: str, body: bytes, path: str) -> None:
    assert status < 500, body[:500]
    api = path.startswith("/api/")
    if api or status < 400:
        assert mimetype == ("application/json" if api else "text/html"), (status, mimetype)
    if status >= 400 and api:
        error = json.loads(body)
        assert set(error) == {"error"} and set(error["error"]) <= ERROR_KEYS, error
        assert error["error"]["code"] and isinstance(error["error"]["code"], str)
        assert error["error"]["message"] and isinstance(error["error"]["message"], str)
        assert isinstance(error["error"].get("param", ""), str)
    elif status == 200 and api:
        json.loads(body)


# --- property-based ------------------------------------------------------------------------------

names = st.one_of(
    st.sampled_from([*SEARCH_PARAMS, "limit", "more_like_this", "facets", "Q", "q[]", "", " q"]),
    st.text(max_size=12),
)
values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet='ab*?()"-:ORANDTNOtitle ', max_size=200),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["", " ", "0", "-0", "1e9", "NaN", "inf", "0x10", "١٢", "2024-13-45",
                     "2024-02-30T25:61:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31",
                     "9999-12-31T23:59:59-14:00", "24h", "1y", "newest", *WILDCARDS[:15]]),
)  # fmt: skip
parameters = st.lists(st.tuples(names, values), max_size=12)


@FUZZ
@given(query=parameters)
def test_search_parameters(client: FlaskClient, query: list[tuple[str, str]]) -> None:
    response = get(client, "/api/search", query)
    if response.status_code == 200:
        assert {"total", "hits", "facets", "generation"} <= set(response.get_json())
    get(client, "/", query)


@FUZZ
@given(query=parameters)
def test_suggest_parameters(client: FlaskClient, query: list[tuple[str, str]]) -> None:
    response = get(client, "/api/suggest", query)
    if response.status_code == 200:
        assert isinstance(response.get_json()["suggestions"], list)


@FUZZ
@given(
    name=st.sampled_from(["since", "until"]),
    when=st.one_of(  # anywhere, and within a day of the ends of the calendar
        st.datetimes(),
        st.datetimes(max_value=dt.datetime(1, 1, 2)),
        st.datetimes(min_value=dt.datetime(9999, 12, 30)),
    ),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    separator=st.sampled_from(["T", "t", " "]),
)
def test_dates_at_any_offset(
    client: FlaskClient, name: str, when: dt.datetime, offset_minutes: int, separator: str
) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = when.isoformat(sep=separator) + f"{sign}{hours:02d}:{minutes:02d}"
    for value in (text, text[:10], when.isoformat(sep=separator)):
        response = get(client, "/api/search", {name: value})
        assert response.status_code in (200, 400)


@FUZZ
@given(raw=st.binary(max_size=300), path=st.sampled_from(["/api/search", "/api/suggest", "/"]))
def test_raw_query_string_bytes(client: FlaskClient, raw: bytes, path: str) -> None:
    get(client, path, raw=raw)


@FUZZ
@given(article_id=st.text(min_size=1, max_size=80), mlt=st.one_of(st.none(), values))
def test_article_ids(client: FlaskClient, article_id: str, mlt: str | None) -> None:
    quoted = urllib.parse.quote(article_id, safe="")
    query = {"more_like_this": mlt} if mlt is not None else None
    get(client, f"/api/articles/{quoted}", query)
    get(client, f"/articles/{quoted}", query)


# --- explicit hostile cases --------------------------------------------------------------------


@pytest.mark.parametrize("q", WILDCARDS)
def test_pathological_wildcards_are_answered(client: FlaskClient, q: str) -> None:
    assert get(client, "/api/search", {"q": q, "per_page": "100"}).status_code == 200
    assert get(client, "/api/suggest", {"q": q}).status_code == 200
    assert get(client, "/", {"q": q}).status_code == 200


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"page": str(10**30)}, "page"),
        ({"page": "999999999999"}, "page"),
        ({"page": "101", "per_page": "100"}, "page"),
        ({"per_page": str(10**100)}, "per_page"),
        ({"facet_size": "9" * 5000}, "facet_size"),
        ({"page": "-1"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "1e5"}, "page"),
    ],
)
def test_huge_and_bad_page_numbers_are_400(
    client: FlaskClient, query: dict[str, str], param: str
) -> None:
    response = get(client, "/api/search", query)
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param
    assert get(client, "/api/search", {"page": "100", "per_page": "100"}).status_code == 200


def test_thousands_of_filters(client: FlaskClient, unlimited: FlaskClient) -> None:
    many = [("topic", f"Topic {n}") for n in range(5000)]
    assert get(client, "/api/search", many).status_code == 414  # over the 8 KB query string
    response = get(unlimited, "/api/search", many)
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "topic"
    same = [("provider", "Reuters")] * 5000
    assert get(unlimited, "/api/search", same).status_code == 400
    fifty = [("topic", f"Topic {n}") for n in range(50)] + [("provider", "Reuters")]
    assert get(client, "/api/search", fifty).status_code == 200
    unknown = [(f"p{n}", "1") for n in range(5000)]
    assert get(unlimited, "/api/search", unknown).status_code == 400
    assert get(unlimited, "/", many + unknown).status_code in (200, 400)


def test_100_kb_query_strings(client: FlaskClient, unlimited: FlaskClient) -> None:
    for text in ("x" * 100_000, "a* " * 34_000, "é" * 50_000, "(" * 100_000):
        for path in ("/api/search", "/api/suggest", "/"):
            assert get(client, path, {"q": text}).status_code == 414
            assert get(unlimited, path, {"q": text}).status_code in (400, 414)
        body = get(unlimited, "/api/search", {"q": text}).get_json()
        assert body["error"] == {
            "code": "query_too_long",
            "message": "is longer than 1000 characters",
            "param": "q",
        }


@pytest.mark.parametrize("raw", GARBAGE_QUERY_STRINGS)
def test_invalid_utf8_and_percent_garbage_in_the_query(client: FlaskClient, raw: bytes) -> None:
    for path in ("/api/search", "/api/suggest", "/"):
        get(client, path, raw=raw)


@pytest.mark.parametrize("path", GARBAGE_PATHS)
def test_garbage_article_paths_are_404(client: FlaskClient, path: str) -> None:
    assert get(client, path).status_code == 404


@pytest.mark.parametrize("raw", [b"/api/articles/\xff\xfe", b"/articles/\xc0\xaf", b"/\xff"])
def test_raw_bytes_in_the_path(client: FlaskClient, raw: bytes) -> None:
    started = time.perf_counter()
    response = client.get("/", environ_overrides={"PATH_INFO": raw.decode("latin-1")})
    assert time.perf_counter() - started < HANG_SECONDS
    check_response(
        response.status_code, response.mimetype, response.get_data(), raw.decode("latin-1")
    )
    assert response.status_code == 404


# --- on the wire, against the live gunicorn server ---------------------------------------------


def raw_request(server: LiveServer, target: bytes) -> tuple[int, str, bytes]:
    """``GET <target>`` as raw bytes; (status, content type, body)."""
    port = int(server.url.rsplit(":", 1)[1])
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS) as connection:
        connection.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: newsfind\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    assert time.perf_counter() - started < HANG_SECONDS
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), body


@pytest.mark.parametrize(
    "target",
    [b"/api/search?q=\xff\xfe", b"/api/suggest?q=caf\xc3\xa9", b"/api/articles/\xff",
     b"/?q=\x00", b"/api/search?q=" + b"a" * 100_000],
)  # fmt: skip
def test_gunicorn_rejects_what_is_not_http_before_the_app(
    live_server: LiveServer, target: bytes
) -> None:
    status, _, _ = raw_request(live_server, target)
    assert status in (400, 414)
    assert raw_request(live_server, b"/api/health")[0] == 200


@pytest.mark.parametrize(
    "target",
    [b"/api/search?q=%ff%fe", b"/api/search?q=%", b"/api/suggest?q=%c0%af",
     b"/api/search?" + b"&".join(b"topic=t%d" % n for n in range(1000))[:8100],
     b"/api/search?page=" + b"9" * 4000, b"/api/articles/%ff%00", b"/api/search?q=" + b"a*+" * 300],
)  # fmt: skip
def test_garbage_that_reaches_the_app_over_http(live_server: LiveServer, target: bytes) -> None:
    status, content_type, body = raw_request(live_server, target)
    check_response(status, content_type.split(";")[0], body, target.decode("latin-1"))
