"""The real server: ``newsfind serve`` (gunicorn, pre-fork workers) on 127.0.0.1, over HTTP.

Also the OpenAPI conformance run: schemathesis generates requests from the document and checks
every live response (status, content type, headers, body) against it; the run is bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import LiveServer, start_server, stop_server, wait_until_up, write_web_corpus
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_engine_helpers import has_term

from search.analysis import analyse
from search.articles import read_article
from search.contract import MAX_RESULT_WINDOW
from web import openapi

pytestmark = pytest.mark.slow


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def published_in(seeds: Path) -> list[Any]:
    """The published articles of a seeds folder, read by the parser: the expected answers."""
    return [a for a in map(read_article, sorted(seeds.rglob("*.txt"))) if a.published]


def test_pages_and_api_over_http(live_server: LiveServer, web_index: Path) -> None:
    status, headers, body = get(live_server.url + "/?q=oil")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<mark>" in body and headers["Server"].startswith("gunicorn")
    status, headers, body = get(live_server.url + "/api/search?q=oil")
    stem = analyse("oil")[0]
    oil = [a for a in published_in(web_index.parent / "seeds") if has_term(a, stem)]
    assert status == 200 and json.loads(body)["total"] == len(oil) > 0
    status, _, _ = get(live_server.url + "/api/search?q=oil", {"If-None-Match": headers["ETag"]})
    assert status == 304
    status, _, body = get(live_server.url + "/api/search?page=x")
    assert status == 400 and json.loads(body)["error"]["param"] == "page"


def test_the_served_openapi_document_is_the_one_tested(live_server: LiveServer) -> None:
    _, _, body = get(live_server.url + "/api/openapi.json")
    assert json.loads(body) == json.loads(json.dumps(openapi.document()))


@pytest.mark.parametrize("length", [8_200, 20_000])
def test_a_long_url_gets_the_json_414(live_server: LiveServer, length: int) -> None:
    """Longer than gunicorn's old request-line limit (8,190 bytes): the app's JSON, not
    gunicorn's HTML page."""
    status, headers, body = get(live_server.url + "/api/search?q=" + "a" * length)
    assert status == 414 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_concurrent_requests_are_all_answered(live_server: LiveServer) -> None:
    statuses: list[int] = []
    queries = ["oil", "bank", "election", "vaccine", "football", "solar", "markets", "update"]

    def worker(query: str) -> None:
        for page in (1, 2):
            statuses.append(get(f"{live_server.url}/api/search?q={query}&page={page}")[0])

    threads = [threading.Thread(target=worker, args=(q,)) for q in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * len(queries) * 2


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_killed_worker_is_replaced(web_index: Path, tmp_path: Path) -> None:
    server = start_server(web_index, web_index.parent / "seeds", tmp_path / "log", "--workers", "2")
    try:
        wait_until_up(server)
        workers = _children(server.process.pid)
        assert len(workers) == 2
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _children(server.process.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.2)
        assert victim not in _children(server.process.pid)
        assert len(_children(server.process.pid)) == 2
        for _ in range(6):  # both workers, old and new, answer
            assert get(server.url + "/api/search?q=oil")[0] == 200
    finally:
        stop_server(server)


def test_serve_builds_the_index_from_the_seeds_when_there_is_none(tmp_path: Path) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_web_corpus(seeds)
    server = start_server(index, seeds, tmp_path / "log", "--workers", "1", "--threads", "2")
    try:
        wait_until_up(server)
        _, _, body = get(server.url + "/api/health")
        assert json.loads(body)["doc_count"] == len(published_in(seeds))
        log = server.log.read_text()
        assert "building it from" in log and f"open {server.url}/" in log
    finally:
        stop_server(server)


# --- OpenAPI conformance of the live server -------------------------------------------------

# Schema-valid requests must be answered (2xx, or 304), with the exceptions OpenAPI cannot
# express, checked one by one in ``refused_for_a_documented_reason`` instead of letting every
# endpoint answer 400 or 404. Every other check is schemathesis' default.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # an over-long q is a 414 (URI Too Long), not a 400
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "404", "405", "414"],
            },
        }
    }
)
schema = schemathesis.openapi.from_dict(openapi.document(), config=CONFIG)


def _bound(text: str, end: bool) -> dt.datetime:
    """A ``since`` / ``until`` value as documented: a date starts at midnight UTC, and as an end
    takes its whole day; a date-time without offset is UTC."""
    if len(text) == 10:
        start = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end else start
    moment = dt.datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


SEARCHES = ("/api/search", "/api/search.csv", "/api/search.json")
"""The search and its exports: the same parameters, the same documented refusals."""


def refused_for_a_documented_reason(case: Any, status: int, body: bytes) -> str | None:
    """Why a schema-valid request may be refused, or None: an unknown article or story id
    (404), an ``until`` not after ``since``, and ``page × per_page`` past the result window (400
    naming the parameter)."""
    if status == 404 and case.operation.path in ("/api/articles/{article_id}",
                                                 "/api/stories/{story_id}"):  # fmt: skip
        return "no such id" if json.loads(body)["error"]["code"] == "not_found" else None
    if status != 400 or case.operation.path not in SEARCHES:
        return None
    query, param = case.query or {}, json.loads(body)["error"].get("param")
    if param == "until" and query.get("since") and query.get("until"):
        if _bound(query["since"], end=False) >= _bound(query["until"], end=True):
            return "until is not after since"
    if param == "page":
        window = int(query.get("page", 1)) * int(query.get("per_page", 10))
        return "past the result window" if window > MAX_RESULT_WINDOW else None
    return None


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case: Any, live_server: LiveServer) -> None:
    response = case.call(base_url=live_server.url)
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    meta = case.meta
    if meta is not None and not meta.generation.mode.is_positive:
        return
    status = response.status_code
    if not (200 <= status < 300 or status == 304):
        reason = refused_for_a_documented_reason(case, status, response.content)
        assert reason, f"a valid request was refused: {case.as_curl_command()} -> {status}"


def test_serve_refuses_a_bad_setting_with_one_clear_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from web.cli import main

    result = CliRunner().invoke(
        main, ["serve", "--index-dir", str(tmp_path)], env={"NEWSFIND_PER_PAGE": "0"}
    )
    assert result.exit_code == 1
    assert result.output.strip() == "Error: NEWSFIND_PER_PAGE must be between 1 and 100"
