"""The peers newsfind is measured against, each indexing and answering the same thing.

Every peer indexes the same six searchable texts newsfind indexes (title, excerpt, body, topics,
provider name + domain, related titles) plus the facet values, and answers one *request* = the
top 10 + the exact total + topic, provider and year facet counts over the published articles
that match, with the same filters. Their analysis is their own standard English one:

- ``whoosh``: the plain single-process loop: ``read_article`` (PyYAML's C loader), then
  ``add_document`` with newsfind's own schema and ``article_fields`` (indexing only).
- ``fts5``: SQLite FTS5 the way Datasette serves a searchable table (sqlite-utils
  ``enable-fts``): an ``articles`` table plus an external-content ``articles_fts`` virtual table,
  ``tokenize='porter unicode61 remove_diacritics 2'`` (Porter 1, no stop words). A request is
  Datasette's set of statements: a ``bm25()``-ranked ``MATCH`` (newsfind's field weights), a
  ``count(*)``, and one ``GROUP BY`` per facet over the same filtered SQL (topics as a JSON array,
  counted with ``json_each`` like Datasette's array facet).
- ``tantivy``: tantivy-py, text fields with ``en_stem`` (Snowball English, no stop words) and
  newsfind's field boosts; facet values as raw fast fields; a request is one ``search`` (top 10 +
  count) and one ``aggregate`` (terms on topic and provider, histogram on year).

The peers' facets are not disjunctive (Datasette's are not): a ticked topic narrows the topic
counts too. newsfind counts each facet without its own filter, which is more work.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search.articles import Article, ArticleError, read_article

FIELDS = ("title", "excerpt", "body", "topics_text", "provider_text", "related_text")
try:
    from search.ranking import FIELD_WEIGHTS
except ImportError:  # pragma: no cover - the schema defines them; keep the peers usable
    FIELD_WEIGHTS = dict.fromkeys(FIELDS, 1.0)
FACET_SIZE = 10


@dataclass(frozen=True)
class Doc:
    """What a peer indexes from one article."""

    id: str
    title: str
    excerpt: str
    body: str
    topics: tuple[str, ...]
    provider: str
    domain: str
    related_text: str
    published_at: dt.datetime | None
    published: bool
    quality: float

    @classmethod
    def from_article(cls, article: Article) -> Doc:
        return cls(
            id=article.id,
            title=article.title,
            excerpt=article.excerpt,
            body=article.body,
            topics=article.topics,
            provider=article.provider.name,
            domain=article.provider.domain,
            related_text="\n".join(entry.title for entry in article.related),
            published_at=article.published_at,
            published=article.published,
            quality=article.quality,
        )

    def texts(self) -> dict[str, str]:
        return {
            "title": self.title,
            "excerpt": self.excerpt,
            "body": self.body,
            "topics_text": "\n".join(self.topics),
            "provider_text": f"{self.provider}\n{self.domain}",
            "related_text": self.related_text,
        }


@dataclass(frozen=True)
class Request:
    """One benchmark request in engine-neutral form (see ``bench.queryset``)."""

    terms: tuple[str, ...]
    mode: str = "or"
    """``or`` (any word), ``and`` (every word) or ``phrase`` (the words in a row)."""
    topics: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    sort: str = "relevance"


@dataclass
class Answer:
    total: int
    ids: list[str]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def corpus_files(corpus: Path) -> list[tuple[str, Path]]:
    """``(relative path, path)`` of the seed files, as newsfind's indexer finds them."""
    found = []
    for path in sorted(corpus.rglob("*.txt")):
        rel = path.relative_to(corpus)
        if not any(part.startswith(".") for part in rel.parts):
            found.append((str(rel), path))
    return found


def parse_corpus(corpus: Path) -> Iterator[tuple[str, Article]]:
    """Parse every file in one process, as the plain loop does; unreadable files are skipped."""
    for rel, path in corpus_files(corpus):
        try:
            yield rel, read_article(path)
        except ArticleError:
            continue


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


# --- plain Whoosh --------------------------------------------------------------------------------


def build_plain_whoosh(articles: Iterable[tuple[str, Article]], directory: Path) -> int:
    """newsfind's schema, one process, one writer: ``add_document`` per article, one commit."""
    from whoosh import index as whoosh_index

    from search.whoosh.schema import article_fields, make_schema

    directory.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(directory), make_schema())
    writer = ix.writer()
    count = 0
    for rel, article in articles:
        writer.add_document(**article_fields(article, rel, ""))
        count += 1
    writer.commit()
    return count


# --- SQLite FTS5 ---------------------------------------------------------------------------------

_FTS_COLUMNS = ", ".join(FIELDS)
_BM25_WEIGHTS = ", ".join(str(FIELD_WEIGHTS[name]) for name in FIELDS)


def build_fts5(docs: Iterable[Doc], db_path: Path) -> int:
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE articles (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, title TEXT, "
            "excerpt TEXT, body TEXT, topics_text TEXT, provider_text TEXT, related_text TEXT, "
            "topics TEXT, provider TEXT, domain TEXT, published_at TEXT, published INTEGER, "
            "quality REAL)"
        )
        rows = (
            (
                doc.id,
                *doc.texts().values(),
                json.dumps(doc.topics, ensure_ascii=False),
                doc.provider,
                doc.domain,
                _iso(doc.published_at),
                int(doc.published),
                doc.quality,
            )
            for doc in docs
        )
        db.executemany(
            f"INSERT INTO articles (id, {_FTS_COLUMNS}, topics, provider, domain, published_at, "
            "published, quality) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        # sqlite-utils enable-fts: external content table, then populate from the table
        db.execute(
            f"CREATE VIRTUAL TABLE articles_fts USING fts5({_FTS_COLUMNS}, content='articles', "
            "content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2')"
        )
        db.execute(
            f"INSERT INTO articles_fts (rowid, {_FTS_COLUMNS}) "
            f"SELECT rowid, {_FTS_COLUMNS} FROM articles"
        )
        for column in ("provider", "published_at", "published"):
            db.execute(f"CREATE INDEX articles_{column} ON articles({column})")
        db.commit()
        (count,) = db.execute("SELECT count(*) FROM articles").fetchone()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return int(count)


def fts5_match(request: Request) -> str:
    """FTS5 query syntax: every word quoted (escape_fts), joined by OR / AND, or one phrase."""
    words = [word.replace('"', '""') for word in request.terms]
    if request.mode == "phrase":
        return '"' + " ".join(words) + '"'
    return f" {request.mode.upper()} ".join(f'"{word}"' for word in words)


class Fts5:
    name = "fts5"

    def __init__(self, db_path: Path) -> None:
        self.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)

    def close(self) -> None:
        self.db.close()

    def search(self, request: Request) -> Answer:
        where = ["rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"]
        params: list[Any] = [fts5_match(request)]
        where.append("published = 1")
        if request.topics:
            marks = ", ".join("?" * len(request.topics))
            where.append(
                "rowid IN (SELECT articles.rowid FROM articles, json_each(articles.topics) j "
                f"WHERE j.value IN ({marks}))"
            )
            params += request.topics
        if request.providers:
            marks = ", ".join("?" * len(request.providers))
            where.append(f"(provider IN ({marks}) OR domain IN ({marks}))")
            params += request.providers * 2
        if request.since:
            where.append("published_at >= ?")
            params.append(_iso(request.since))
        if request.until:
            where.append("published_at < ?")
            params.append(_iso(request.until))
        base = "SELECT * FROM articles WHERE " + " AND ".join(where)
        if request.sort == "relevance":
            top_sql = (
                "SELECT a.id FROM articles_fts JOIN ("
                + base
                + ") a ON a.rowid = articles_fts.rowid "
                f"WHERE articles_fts MATCH ? ORDER BY bm25(articles_fts, {_BM25_WEIGHTS}) LIMIT 10"
            )
            top_params = [*params, params[0]]
        else:
            order = "DESC" if request.sort == "newest" else "ASC"
            top_sql = f"SELECT id FROM ({base}) ORDER BY published_at {order} LIMIT 10"
            top_params = params
        db = self.db
        ids = [row[0] for row in db.execute(top_sql, top_params)]
        (total,) = db.execute(f"SELECT count(*) FROM ({base})", params).fetchone()
        limit = FACET_SIZE + 1
        facets = {
            "topic": db.execute(
                "SELECT j.value AS value, count(*) AS count "
                f"FROM ({base}) a, json_each(a.topics) j "
                f"GROUP BY j.value ORDER BY count DESC, value LIMIT {limit}",
                params,
            ).fetchall(),
            "provider": db.execute(
                f"SELECT provider AS value, count(*) AS count FROM ({base}) WHERE provider IS NOT "
                f"NULL GROUP BY provider ORDER BY count DESC, value LIMIT {limit}",
                params,
            ).fetchall(),
            "date": db.execute(
                f"SELECT substr(published_at, 1, 4) AS value, count(*) AS count FROM ({base}) "
                "WHERE published_at IS NOT NULL GROUP BY value ORDER BY value",
                params,
            ).fetchall(),
        }
        return Answer(int(total), ids, facets)


# --- tantivy -------------------------------------------------------------------------------------


def _tantivy_schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name="en_stem")
    for name in ("topic", "provider", "domain"):
        builder.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    builder.add_date_field("published_at", indexed=True, fast=True)
    builder.add_unsigned_field("year", indexed=True, fast=True)
    builder.add_unsigned_field("published", indexed=True, fast=True)
    return builder.build()


def build_tantivy(docs: Iterable[Doc], directory: Path, threads: int = 0) -> int:
    import tantivy

    directory.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(_tantivy_schema(), path=str(directory), reuse=False)
    writer = index.writer(heap_size=256_000_000, num_threads=threads)
    count = 0
    for doc in docs:
        document = tantivy.Document()
        document.add_text("id", doc.id)
        for name, text in doc.texts().items():
            if text:
                document.add_text(name, text)
        for topic in doc.topics:
            document.add_text("topic", topic)
        if doc.provider:
            document.add_text("provider", doc.provider)
        if doc.domain:
            document.add_text("domain", doc.domain)
        if doc.published_at is not None:
            document.add_date("published_at", doc.published_at)
            document.add_unsigned("year", doc.published_at.year)
        document.add_unsigned("published", int(doc.published))
        writer.add_document(document)
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


class Tantivy:
    name = "tantivy"

    def __init__(self, directory: Path) -> None:
        import tantivy

        self.tantivy = tantivy
        self.index = tantivy.Index.open(str(directory))
        self.schema = self.index.schema
        self.searcher = self.index.searcher()

    def close(self) -> None:
        self.searcher = None

    def text_query(self, request: Request) -> Any:
        words = " ".join(request.terms)
        if request.mode == "phrase":
            words = f'"{words}"'
        return self.index.parse_query(
            words,
            list(FIELDS),
            field_boosts=dict(FIELD_WEIGHTS),
            conjunction_by_default=request.mode == "and",
        )

    def query(self, request: Request) -> Any:
        tantivy = self.tantivy
        must = tantivy.Occur.Must
        clauses = [
            (must, self.text_query(request)),
            (must, tantivy.Query.term_query(self.schema, "published", 1)),
        ]
        if request.topics:
            clauses.append(
                (must, tantivy.Query.term_set_query(self.schema, "topic", list(request.topics)))
            )
        if request.providers:
            values = list(request.providers)
            either = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, tantivy.Query.term_set_query(self.schema, name, values))
                    for name in ("provider", "domain")
                ]
            )
            clauses.append((must, either))
        if request.since or request.until:
            clauses.append(
                (
                    must,
                    tantivy.Query.range_query(
                        self.schema,
                        "published_at",
                        tantivy.FieldType.Date,
                        request.since,
                        request.until,
                        include_lower=True,
                        include_upper=request.until is None,
                    ),
                )
            )
        return tantivy.Query.boolean_query(clauses)

    def search(self, request: Request) -> Answer:
        query = self.query(request)
        searcher = self.searcher
        if request.sort == "relevance":
            result = searcher.search(query, 10, count=True)
        else:
            order = self.tantivy.Order.Desc if request.sort == "newest" else self.tantivy.Order.Asc
            result = searcher.search(
                query, 10, count=True, order_by_field="published_at", order=order
            )
        ids = [searcher.doc(address)["id"][0] for _key, address in result.hits]
        aggregations = searcher.aggregate(
            query,
            {
                "topic": {"terms": {"field": "topic", "size": FACET_SIZE + 1}},
                "provider": {"terms": {"field": "provider", "size": FACET_SIZE + 1}},
                "date": {"histogram": {"field": "year", "interval": 1, "min_doc_count": 1}},
            },
        )
        facets = {
            name: [
                (str(bucket["key"] if name != "date" else int(bucket["key"])), bucket["doc_count"])
                for bucket in aggregations[name]["buckets"]
            ]
            for name in ("topic", "provider", "date")
        }
        return Answer(int(result.count), ids, facets)


def timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started
