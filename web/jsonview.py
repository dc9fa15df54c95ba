"""The JSON renderings of the contract's dataclasses (the shapes ``web.openapi`` documents).

Dates are ISO 8601 in UTC with a ``Z``; highlighted text is a list of ``{"text", "match"}``
segments, never HTML. ``secured`` is not part of an ``Article``, so it cannot appear here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from search.articles import Article, Image, Provider, RelatedArticle
from search.models import (
    DateHistogram,
    Facet,
    Hit,
    IndexInfo,
    SearchRequest,
    SearchResult,
    Segment,
    Suggestion,
)


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def provider_to_dict(provider: Provider | None) -> dict[str, str] | None:
    return {"name": provider.name, "domain": provider.domain} if provider else None


def image_to_dict(image: Image) -> dict[str, Any]:
    return {"url": image.url, "width": image.width, "height": image.height, "title": image.title}


def related_to_dict(entry: RelatedArticle) -> dict[str, Any]:
    return {
        "title": entry.title,
        "url": entry.url,
        "excerpt": entry.excerpt,
        "published_at": iso(entry.published_at),
        "type": entry.type,
        "provider": provider_to_dict(entry.provider),
        "quality": entry.quality,
        "images": [image_to_dict(image) for image in entry.images],
    }


def article_to_dict(article: Article, *, body: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "excerpt": article.excerpt,
        "url": article.url,
        "published_at": iso(article.published_at),
        "provider": provider_to_dict(article.provider),
        "topics": list(article.topics),
        "type": article.type,
        "category": article.category,
        "quality": article.quality,
        "heat": article.heat,
        "published": article.published,
        "images": [image_to_dict(image) for image in article.images],
        "related": [related_to_dict(entry) for entry in article.related],
    }
    if body:
        data["body"] = article.body
    return data


def segments(parts: tuple[Segment, ...]) -> list[dict[str, Any]]:
    return [{"text": part.text, "match": part.match} for part in parts]


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    return {
        **article_to_dict(hit.article, body=False),
        "score": hit.score,
        "highlights": {
            "title": segments(hit.title),
            "excerpt": segments(hit.excerpt),
            "body": segments(hit.body_snippet),
        },
    }


def facet_to_dict(facet: Facet) -> dict[str, Any]:
    return {
        "values": [
            {"value": v.value, "count": v.count, "selected": v.selected} for v in facet.values
        ],
        "truncated": facet.truncated,
    }


def histogram_to_dict(histogram: DateHistogram | None) -> dict[str, Any] | None:
    if histogram is None:
        return None
    return {
        "interval": histogram.interval,
        "buckets": [
            {"start": iso(b.start), "end": iso(b.end), "label": b.label, "count": b.count}
            for b in histogram.buckets
        ],
        "undated": histogram.undated,
    }


def request_to_dict(request: SearchRequest) -> dict[str, Any]:
    return {
        "q": request.q,
        "topic": list(request.topics),
        "provider": list(request.providers),
        "type": list(request.types),
        "since": iso(request.since),
        "until": iso(request.until),
        "range": request.range,
        "sort": request.sort,
        "page": request.page,
        "per_page": request.per_page,
        "facet_size": request.facet_size,
    }


def result_to_dict(result: SearchResult) -> dict[str, Any]:
    correction = result.did_you_mean
    return {
        "query": request_to_dict(result.request),
        "total": result.total,
        "page": result.request.page,
        "per_page": result.request.per_page,
        "pages": result.pages,
        "took_ms": round(result.took_ms, 3),
        "generation": result.generation,
        "plain_fallback": result.plain_fallback,
        "did_you_mean": {"q": correction.q, "total": correction.total} if correction else None,
        "hits": [hit_to_dict(hit) for hit in result.hits],
        "facets": {name: facet_to_dict(facet) for name, facet in result.facets.items()},
        "date_histogram": histogram_to_dict(result.date_histogram),
        "ranges": [
            {"key": r.key, "label": r.label, "count": r.count, "selected": r.selected}
            for r in result.ranges
        ],
    }


def suggestion_to_dict(suggestion: Suggestion) -> dict[str, Any]:
    return {"text": suggestion.text, "kind": suggestion.kind, "count": suggestion.count}


def info_to_dict(info: IndexInfo) -> dict[str, Any]:
    return {
        "status": "ok",
        "generation": info.generation,
        "doc_count": info.doc_count,
        "last_reindex": iso(info.last_reindex),
        "version": info.version,
    }
