"""Shared by the engine tests: tiny real indexes from article specs, and brute-force answers.

(Named ``test_engine_*`` to live beside the engine's tests; it holds no test itself.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory import file_name, write_article

from search.articles import Article, read_article
from search.contract import RELATIVE_RANGES, SearchRequest
from search.ranking import SEARCH_FIELDS
from search.whoosh.engine import WhooshEngine
from search.whoosh.schema import news_analyzer
from search.whoosh.target import reindex

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)


@dataclass
class Doc:
    """One article to write; ``date`` is ISO text (any offset) or None for undated."""

    title: str
    excerpt: str = ""
    body: str = ""
    topics: list[str] = field(default_factory=list)
    provider: tuple[str, str] = ("Test Wire", "testwire.sample")
    date: str | None = "2024-05-01T12:00:00Z"
    published: bool = True
    quality: float = 50
    heat: float = 0
    doc_id: str | None = None
    related: list[dict[str, Any]] | None = None


@dataclass
class Built:
    engine: WhooshEngine
    articles: list[Article]
    seeds: Path
    index: Path

    def by_id(self, article_id: str) -> Article:
        return next(a for a in self.articles if a.id == article_id)

    def id_of(self, title: str) -> str:
        return next(a.id for a in self.articles if a.title == title)


def write_docs(seeds: Path, docs: Sequence[Doc], start: int = 0) -> None:
    for number, doc in enumerate(docs, start=start):
        write_article(
            seeds,
            file_name(number),
            doc.title,
            excerpt=doc.excerpt or None,
            body=doc.body,
            topics=doc.topics or None,
            provider=doc.provider,
            date=doc.date,
            published=doc.published,
            quality=doc.quality,
            heat=doc.heat,
            doc_id=doc.doc_id,
            related=doc.related,
        )


def build(root: Path, docs: Sequence[Doc], **engine_options: Any) -> Built:
    """Seed files → the real ``reindex`` → a ``WhooshEngine`` over the index."""
    seeds = root / "seeds"
    write_docs(seeds, docs)
    report = reindex(seeds, root / "index", workers=1)
    assert not report.rejected, report.rejected
    articles = sorted((read_article(path) for path in seeds.glob("*.txt")), key=lambda a: a.id)
    return Built(WhooshEngine(root / "index", **engine_options), articles, seeds, root / "index")


def request(**fields: Any) -> SearchRequest:
    """Keyword mode unless asked: these tests hold the keyword engine to brute-force references
    (the modes that add meaning: tests/test_hybrid.py)."""
    fields.setdefault("now", NOW)
    fields.setdefault("mode", "keyword")
    return SearchRequest(**fields)


def all_ids(engine: WhooshEngine, **fields: Any) -> list[str]:
    """Every hit of a search, in order, over as many pages as needed."""
    ids: list[str] = []
    page = 1
    while True:
        result = engine.search(request(page=page, per_page=100, **fields))
        ids.extend(hit.article.id for hit in result.hits)
        if len(ids) >= result.total or not result.hits:
            return ids
        page += 1


def titles(result: Any) -> list[str]:
    return [hit.article.title for hit in result.hits]


# -- brute force over parsed articles ------------------------------------------------------------


def field_texts(article: Article) -> dict[str, str]:
    return {
        "title": article.title,
        "excerpt": article.excerpt,
        "body": article.body,
        "topics_text": "\n".join(article.topics),
        "provider_text": f"{article.provider.name}\n{article.provider.domain}",
        "related_text": "\n".join(entry.title for entry in article.related),
    }


def has_term(article: Article, stem: str, fields: Iterable[str] = SEARCH_FIELDS) -> bool:
    texts = field_texts(article)
    return any(stem in {t.text for t in news_analyzer(texts[f])} for f in fields)


def visible(articles: Iterable[Article], include_unpublished: bool = False) -> list[Article]:
    return [a for a in articles if a.published or include_unpublished]


def newest_of(articles: Iterable[Article], include_unpublished: bool = False) -> dt.datetime | None:
    """The newest visible article's time: where windows end when the archive is older."""
    dates = [a.published_at for a in visible(articles, include_unpublished) if a.published_at]
    return max(dates).replace(microsecond=0) if dates else None


def window(req: SearchRequest, span: dt.timedelta, newest: dt.datetime | None) -> tuple[Any, Any]:
    """A relative range as a reader is told it works: the last ``span`` before now, or before
    the newest visible article when the archive is older than ``span``."""
    end = req.clock()
    if newest is not None and newest < end - span:
        end = newest
    return end - span, end


def passes(
    article: Article, req: SearchRequest, skip: str = "", newest: dt.datetime | None = None
) -> bool:
    """Does ``article`` pass the request's filters (all but the ``skip`` one)? ``newest``: the
    newest visible article's time (``newest_of``), for relative ranges."""
    if skip != "topic" and req.topics and not set(req.topics) & set(article.topics):
        return False
    provider = article.provider
    if (
        skip != "provider"
        and req.providers
        and not (provider.name in req.providers or provider.domain in req.providers)
    ):
        return False
    if skip != "type" and req.types and article.type not in req.types:
        return False
    if skip != "date" and (req.since or req.until or req.range):
        when = article.published_at
        if when is None:
            return False
        when = when.replace(microsecond=0)
        if req.since and when < req.since:
            return False
        if req.until and when >= req.until:
            return False
        if req.range:
            low, high = window(req, RELATIVE_RANGES[req.range][1], newest)
            if not (low <= when <= high):
                return False
    return True
