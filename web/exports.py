"""The current search in other shapes: a CSV or JSON export and an Atom feed.

- ``/api/search.csv`` and ``/api/search.json``: every hit of a search, best first, up to
  ``limit`` (default ``EXPORT_DEFAULT``, at most ``EXPORT_MAX``), streamed as it is read from
  the engine a hundred hits at a time (memory stays flat, the first bytes leave at once). Same
  parameters as ``/api/search`` except ``page``, ``per_page`` and ``facet_size``. A cell that a
  spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``…) is prefixed with ``'``.
- ``/feed``: an Atom 1.0 feed (RFC 4287) of a search, newest first (``FEED_ENTRIES`` entries),
  for news readers: each entry is an article (id and alternate link: its page here).

The search is the engine's ``search`` (respelling included), so an export holds what the page
shows — as articles: an export's row and a feed's entry are each one article, so both list every
matching article whatever ``group`` says (the page's links carry it; a story's other articles are
what a reader exporting or subscribing to a search wants too).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from flask import Response, request, stream_with_context, url_for
from werkzeug.datastructures import MultiDict

from search.contract import MAX_PER_PAGE, Hit, SearchRequest
from search.errors import RequestError
from search.serialize import hit_to_dict, iso, request_to_dict

from .auth import is_admin
from .params import SEARCH_PARAMS, parse_int, parse_search, reject_unknown
from .state import get_engine

EXPORT_DEFAULT = 1_000
EXPORT_MAX = 10_000
FEED_ENTRIES = 20
EXPORT_PARAMS = tuple(p for p in SEARCH_PARAMS if p not in ("page", "per_page", "facet_size"))
CSV_COLUMNS = (
    "rank",
    "id",
    "title",
    "published_at",
    "provider",
    "domain",
    "topics",
    "type",
    "url",
    "excerpt",
    "score",
)
_FORMULA = re.compile(r"^[=+\-@\t\r]")
ATOM = "http://www.w3.org/2005/Atom"


def export_request() -> tuple[SearchRequest, int]:
    """The search to export and how many hits at most (``limit``)."""
    reject_unknown(request.args, (*EXPORT_PARAMS, "limit"))
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "limit"])
    text = request.args.get("limit")
    limit = parse_int("limit", text) if text is not None else EXPORT_DEFAULT
    if not 1 <= limit <= EXPORT_MAX:
        raise RequestError("limit", f"must be between 1 and {EXPORT_MAX}")
    params = parse_search(args, per_page=MAX_PER_PAGE, include_unpublished=is_admin())
    return replace(params.request, facets=(), group="none"), limit


def hits_of(search: SearchRequest, limit: int) -> Iterator[tuple[int, Hit]]:
    """``(rank, hit)`` of the search's first ``limit`` hits, read a page at a time."""
    engine = get_engine()
    rank = 0
    for page in range(1, limit // MAX_PER_PAGE + 2):
        result = engine.search(replace(search, page=page, per_page=MAX_PER_PAGE))
        for hit in result.hits:
            rank += 1
            yield rank, hit
            if rank >= limit:
                return
        if len(result.hits) < MAX_PER_PAGE:
            return


def csv_response() -> Response:
    search, limit = export_request()

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for rank, hit in hits_of(search, limit):
            writer.writerow([_cell(value) for value in _row(rank, hit)])
            if buffer.tell() > 16_384:
                yield _drain(buffer)
        yield _drain(buffer)

    return _download(rows(), "text/csv; charset=utf-8", "csv")


def json_response() -> Response:
    search, limit = export_request()

    def parts() -> Iterator[str]:
        yield '{"query": ' + json.dumps(request_to_dict(search), ensure_ascii=False)
        yield ', "limit": ' + str(limit) + ', "hits": ['
        for rank, hit in hits_of(search, limit):
            yield ("" if rank == 1 else ", ") + json.dumps(hit_to_dict(hit), ensure_ascii=False)
        yield "]}\n"

    return _download(parts(), "application/json", "json")


def _row(rank: int, hit: Hit) -> list[object]:
    article = hit.article
    return [
        rank,
        article.id,
        article.title,
        iso(article.published_at) or "",
        article.provider.name,
        article.provider.domain,
        "; ".join(article.topics),
        article.type,
        article.url,
        article.excerpt,
        round(hit.score, 4),
    ]


def _cell(value: object) -> object:
    return "'" + value if isinstance(value, str) and _FORMULA.match(value) else value


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _download(chunks: Iterator[str], mimetype: str, extension: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    words = re.sub(r"[^A-Za-z0-9]+", "-", request.args.get("q", "")).strip("-")[:40]
    name = f"newsfind-{words or 'all'}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store" if is_admin() else "no-cache"
    return response


# -- the Atom feed -------------------------------------------------------------------------------


def feed_response() -> Response:
    reject_unknown(request.args, EXPORT_PARAMS)
    params = parse_search(request.args, per_page=FEED_ENTRIES, include_unpublished=is_admin())
    search = replace(
        params.request, sort="newest", page=1, per_page=FEED_ENTRIES, facets=(), group="none"
    )
    result = get_engine().search(search)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    shown = result.corrected.q if result.corrected else search.q
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", f"newsfind: {shown}" if shown else "newsfind: newest articles")
    _text(feed, "id", request.url)
    dates = [hit.article.published_at for hit in result.hits if hit.article.published_at]
    _text(feed, "updated", _atom_time(max(dates, default=now)))
    _link(feed, request.url, "self", "application/atom+xml")
    page_args = [(k, v) for k, v in request.args.items(multi=True) if k in EXPORT_PARAMS]
    _link(feed, _absolute(url_for("pages.search"), page_args), "alternate", "text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "newsfind")
    _text(feed, "generator", "newsfind")
    for hit in result.hits:
        _entry(feed, hit, now)
    body = ET.tostring(feed, encoding="unicode", xml_declaration=True)
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = "private, no-store" if is_admin() else "no-cache"
    return response


def _entry(feed: ET.Element, hit: Hit, now: dt.datetime) -> None:
    article = hit.article
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    page = _absolute(url_for("pages.article", article_id=article.id), [])
    _text(entry, "id", page)
    _text(entry, "title", article.title or article.id)
    _text(entry, "updated", _atom_time(article.published_at or now))
    if article.published_at:
        _text(entry, "published", _atom_time(article.published_at))
    _link(entry, page, "alternate", "text/html")
    if article.url.startswith(("https://", "http://")):
        _link(entry, article.url, "related", "text/html")
    author = ET.SubElement(entry, f"{{{ATOM}}}author")
    _text(author, "name", article.provider.name or article.provider.domain or "unknown source")
    for topic in article.topics:
        ET.SubElement(entry, f"{{{ATOM}}}category", {"term": topic})
    if article.excerpt:
        _text(entry, "summary", article.excerpt)


def _text(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{name}").text = _xml_safe(text)


def _link(parent: ET.Element, href: str, rel: str, kind: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"href": href, "rel": rel, "type": kind})


def _xml_safe(text: str) -> str:
    # XML 1.0 cannot hold most control characters, even escaped
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", " ", text)


def _atom_time(moment: dt.datetime) -> str:
    return iso(moment.replace(microsecond=0)) or ""


def _absolute(path: str, args: list[tuple[str, str]]) -> str:
    root = request.host_url.rstrip("/")
    query = urlencode(args)
    return f"{root}{path}{'?' + query if query else ''}"


def limits() -> dict[str, int]:
    """For the OpenAPI document."""
    return {"default": EXPORT_DEFAULT, "max": EXPORT_MAX, "feed": FEED_ENTRIES}
