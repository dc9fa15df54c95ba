"""Plain renderings of a ``SearchResult``: JSON-able data, and a text table for terminals.

``result_to_dict`` is the one JSON shape of a search (the CLI's ``--json``; the same shape as the
web API's): dates ISO 8601 in UTC with ``Z``, highlights as ``[{"text", "match"}]`` segments
(never HTML), each hit's article fields as ``documents.article_to_stored`` gives them (no body),
plus ``score`` and ``highlights``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from .contract import (
    DateHistogram,
    Facet,
    Hit,
    SearchRequest,
    SearchResult,
    Segment,
    StoryBrief,
)
from .documents import article_to_stored


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return _iso(value)


@functools.lru_cache(maxsize=4096)
def _iso(value: dt.datetime) -> str:
    """(cached: a histogram's bucket bounds are the same few hundred moments every time)"""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def segments_to_list(parts: tuple[Segment, ...]) -> list[dict[str, Any]]:
    return [{"text": part.text, "match": part.match} for part in parts]


HIT_KEYS = (
    "id", "title", "excerpt", "url", "type", "category", "quality", "heat", "published",
    "published_at", "provider", "topics", "images", "related", "score", "highlights",
    "related_matches", "story",
)  # fmt: skip
"""The keys of ``hit_to_dict``'s answer, in its order (the API's ``fields=`` names them)."""


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    data = article_to_stored(hit.article)
    del data["has_body"]  # a hit never carries its body
    data["score"] = hit.score
    data["highlights"] = {
        "title": segments_to_list(hit.title),
        "excerpt": segments_to_list(hit.excerpt),
        "body": segments_to_list(hit.body_snippet),
    }
    data["related_matches"] = [segments_to_list(title) for title in hit.related_matches]
    data["story"] = story_brief_to_dict(hit.story) if hit.story is not None else None
    return data


def story_brief_to_dict(brief: StoryBrief) -> dict[str, Any]:
    return {
        "id": brief.id,
        "articles": brief.articles,
        "sources": brief.sources,
        "other_sources": list(brief.other_sources),
        "matches": brief.matches,
    }


def facet_to_dict(facet: Facet) -> dict[str, Any]:
    return {
        "values": [
            {"value": value.value, "count": value.count, "selected": value.selected}
            for value in facet.values
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
        "mode": request.mode,
        "group": request.group,
        "page": request.page,
        "per_page": request.per_page,
        "facet_size": request.facet_size,
        "exact": request.exact,
    }


def result_to_dict(result: SearchResult) -> dict[str, Any]:
    correction = result.did_you_mean
    corrected = result.corrected
    return {
        "query": request_to_dict(result.request),
        "total": result.total,
        "stories": result.stories,
        "page": result.request.page,
        "per_page": result.request.per_page,
        "pages": result.pages,
        "took_ms": round(result.took_ms, 3),
        "generation": result.generation,
        "plain_fallback": result.plain_fallback,
        "mode": result.mode,
        "did_you_mean": {"q": correction.q, "total": correction.total} if correction else None,
        "corrected": {"q": corrected.q, "total": corrected.total} if corrected else None,
        "hits": [hit_to_dict(hit) for hit in result.hits],
        "facets": {name: facet_to_dict(facet) for name, facet in result.facets.items()},
        "date_histogram": histogram_to_dict(result.date_histogram),
        "ranges": [
            {
                "key": r.key,
                "label": r.label,
                "count": r.count,
                "selected": r.selected,
                "end": iso(r.end),
            }
            for r in result.ranges
        ],
    }


# -- the terminal table --------------------------------------------------------------------------

TITLE_WIDTH = 60


def result_to_text(result: SearchResult, facet_values: int = 5) -> str:
    """Ranked hits as a table (rank, date, provider, title, topics), then the facet counts."""
    request = result.request
    lines = [_summary(result)]
    if result.corrected is not None:
        lines.append(
            f"Showing results for {result.corrected.q!r} — search instead for "
            f"{request.q!r} with --exact"
        )
    if result.did_you_mean is not None:
        fix = result.did_you_mean
        lines.append(f"Did you mean: {fix.q!r} ({fix.total} results)?")
    if result.plain_fallback:
        lines.append("(query syntax not understood: searched as plain words)")
    if result.hits:
        rows = [("#", "date", "provider", "title", "topics")]
        if result.stories is not None:
            rows = [(*rows[0][:4], "story")]
        for rank, hit in enumerate(result.hits, start=request.offset + 1):
            article = hit.article
            last = _clip(", ".join(article.topics), 40)
            if hit.story is not None:
                last = f"{hit.story.articles} articles · {hit.story.sources} sources"
            rows.append(
                (
                    str(rank),
                    article.published_at.strftime("%Y-%m-%d") if article.published_at else "-",
                    _clip(article.provider.name or article.provider.domain or "-", 20),
                    _clip(article.title, TITLE_WIDTH),
                    last,
                )
            )
        lines.append("")
        lines.extend(_table(rows))
        for rank, hit in enumerate(result.hits, start=request.offset + 1):
            if hit.related_matches:
                titles = "; ".join(_clip(_plain(t), TITLE_WIDTH) for t in hit.related_matches)
                lines.append(f"  #{rank} matched in related coverage: {titles}")
    for name, facet in result.facets.items():
        shown = ", ".join(
            f"{'*' if v.selected else ''}{v.value} ({v.count})" for v in facet.values[:facet_values]
        )
        more = " …" if facet.truncated or len(facet.values) > facet_values else ""
        lines.append(f"{name}: {shown or '-'}{more}")
    histogram = result.date_histogram
    if histogram is not None and (histogram.buckets or histogram.undated):
        buckets = [b for b in histogram.buckets if b.count]
        shown = ", ".join(f"{b.label} ({b.count})" for b in buckets[-8:])
        earlier = "… " if len(buckets) > 8 else ""
        undated = f"; undated ({histogram.undated})" if histogram.undated else ""
        lines.append(f"date by {histogram.interval}: {earlier}{shown}{undated}")
    if result.ranges:
        lines.append(
            "ranges: "
            + ", ".join(f"{'*' if r.selected else ''}{r.key} ({r.count})" for r in result.ranges)
        )
    return "\n".join(lines)


def _plain(parts: Sequence[Segment]) -> str:
    return "".join(part.text for part in parts)


def _summary(result: SearchResult) -> str:
    request = result.request
    if not result.total:
        shown = result.corrected.q if result.corrected else request.q
        return f"No results for {shown!r}."
    entries = "stories" if result.stories is not None else "results"
    if not result.hits:
        return f"{result.total} results; page {request.page} is past the last ({result.pages})."
    first = request.offset + 1
    last = request.offset + len(result.hits)
    count = result.stories if result.stories is not None else result.total
    articles = f" of {result.total} articles" if result.stories is not None else ""
    return (
        f"{first}-{last} of {count} {entries}{articles} (page {request.page} of {result.pages}, "
        f"{result.took_ms:.1f} ms)"
    )


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
