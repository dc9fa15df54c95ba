"""Datasette over HTTP: the simplest peer a user would pick, served on 127.0.0.1.

The database is built the way Datasette users build one, with sqlite-utils: an ``articles``
table (``insert_all``, the list of topics stored as a JSON array), full-text search enabled with
``enable_fts`` (FTS5, ``tokenize="porter"``, an external-content ``articles_fts`` table) and
indexes on the facet and filter columns. ``datasette serve`` (its defaults: one process,
uvicorn, SQLite in threads) answers two request kinds:

- **ranked SQL** (``search.json``, a canned query in ``metadata.json``): one page of SQL that
  returns the bm25-ranked top 10 (newsfind's field weights), the exact total and the provider
  facet (top 10 values) in one result set, with the query set's filters (topic, provider, date
  range) and ``newest`` order;
- **table view** (``articles.json?_search=…&_facet=provider&_facet_array=topics``): Datasette's
  own search (``escape_fts``, rows in table order), the filtered count and two facets.

What each answers is less than a newsfind request (one or two facets, no highlights, no date
histogram); that is what a user who picks it gets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import http_client
from bench.http_client import HOST
from bench.peers import FIELD_WEIGHTS, FIELDS, Doc, _iso

DATABASE = "news"
TABLE = "articles"
_WEIGHTS = ", ".join(str(FIELD_WEIGHTS[name]) for name in FIELDS)

# MATERIALIZED: the matches are computed once for the three parts; CROSS JOIN: the full-text
# match drives the join (left to itself, SQLite starts from the index on ``published`` and
# probes the full-text table for every published row: 100x slower)
RANKED_SQL = f"""
with matches as materialized (
  select articles.rowid, articles.id, articles.title, articles.provider,
         articles.published_at, bm25(articles_fts, {_WEIGHTS}) as rank
  from articles_fts cross join articles on articles.rowid = articles_fts.rowid
  where articles_fts match :q and articles.published = 1
    and (:topic = '' or exists (select 1 from json_each(articles.topics) t where t.value = :topic))
    and (:provider = '' or articles.provider = :provider or articles.domain = :provider)
    and (:since = '' or articles.published_at >= :since)
    and (:until = '' or articles.published_at < :until)
),
top as (
  select * from matches
  order by case when :sort = 'newest' then 0 else rank end, published_at desc limit 10
)
select 'hit' as kind, id as value, title, rank as n from top
union all select 'total', null, null, count(*) from matches
union all select * from (
  select 'provider', provider, null, count(*) as n from matches where provider is not null
  group by provider order by n desc, provider limit 10
)
"""


def build(docs: Iterable[Doc], db_path: Path) -> int:
    """The database as ``sqlite-utils insert`` + ``enable-fts`` + ``create-index`` make it."""
    import sqlite_utils

    db_path.unlink(missing_ok=True)
    db = sqlite_utils.Database(db_path)
    rows = (
        {
            "id": doc.id,
            **doc.texts(),
            "topics": list(doc.topics),
            "provider": doc.provider or None,
            "domain": doc.domain or None,
            "published_at": _iso(doc.published_at),
            "published": int(doc.published),
            "quality": doc.quality,
        }
        for doc in docs
    )
    table = db[TABLE]
    table.insert_all(rows, pk="id", batch_size=1000)  # type: ignore[union-attr]
    table.enable_fts(list(FIELDS), fts_version="FTS5", tokenize="porter")  # type: ignore[union-attr]
    for column in ("provider", "domain", "published", "published_at"):
        table.create_index([column])  # type: ignore[union-attr]
    db.vacuum()
    count = table.count  # type: ignore[union-attr]
    db.close()
    return int(count)


def metadata() -> dict[str, Any]:
    return {
        "databases": {
            DATABASE: {
                "queries": {
                    "search": {
                        "sql": RANKED_SQL,
                        "title": "Ranked search: top 10, total and provider facet",
                    }
                },
                "tables": {TABLE: {"facets": []}},
            }
        }
    }


def ranked_path(entry: dict[str, Any], now: Any) -> str:
    """The canned query's URL for one query of the set (FTS5 syntax as ``peers.fts5_match``)."""
    from bench.peers import fts5_match
    from bench.queryset import to_request

    request = to_request(entry, now)
    params = {
        "q": fts5_match(request),
        "topic": request.topics[0] if request.topics else "",
        "provider": request.providers[0] if request.providers else "",
        "since": _iso(request.since) or "",
        "until": _iso(request.until) or "",
        "sort": request.sort,
        "_shape": "array",
    }
    return f"/{DATABASE}/search.json?" + urllib.parse.urlencode(params)


def table_path(entry: dict[str, Any], now: Any) -> str:
    """Datasette's table view: ``_search`` (escaped as Datasette does), filters, two facets."""
    from bench.queryset import to_request

    request = to_request(entry, now)
    words = " ".join(request.terms)
    params: list[tuple[str, str]] = [
        ("_search", f'"{words}"' if request.mode == "phrase" else words),
        ("published", "1"),
        ("_facet", "provider"),
        ("_facet_array", "topics"),
        ("_size", "10"),
    ]
    params += [("topics__arraycontains", topic) for topic in request.topics[:1]]
    params += [("provider", provider) for provider in request.providers[:1]]
    if request.since:
        params.append(("published_at__gte", _iso(request.since) or ""))
    if request.until:
        params.append(("published_at__lt", _iso(request.until) or ""))
    if request.sort == "newest":
        params.append(("_sort_desc", "published_at"))
    return f"/{DATABASE}/{TABLE}.json?" + urllib.parse.urlencode(params)


class Server(http_client.ServedProcess):
    """``datasette serve`` on 127.0.0.1 (its default settings), stopped on exit."""

    ready_path = "/-/versions.json"
    label = "datasette"

    def __init__(self, db_path: Path, port: int, log: Path) -> None:
        meta = db_path.with_suffix(".metadata.json")
        meta.write_text(json.dumps(metadata(), indent=2), encoding="utf-8")
        # --immutable: a read-only file, counted once and never locked (as `datasette publish`)
        command = [
            sys.executable,
            "-m",
            "datasette",
            "serve",
            "--immutable",
            str(db_path),
            "--host",
            HOST,
            "--port",
            str(port),
            "--metadata",
            str(meta),
        ]
        self.port = port
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
