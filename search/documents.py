"""The public JSON shape of an article, and back: what the API returns for an article, what
``serialize`` puts in each hit, and what both engines store to render a hit without the file.

Dates are ISO 8601 in UTC with ``Z``; ``secured`` is never part of an ``Article``, so it is
never here; ``has_body`` says whether the (separately stored) body is empty.
"""

from __future__ import annotations

from typing import Any

from .articles import Article, Image, Provider, RelatedArticle, to_utc
from .ranking import LEAD_FIELD, WORDS_FIELD


def field_texts(article: Article) -> dict[str, str]:
    """The text of each searchable field (``ranking.TEXT_FIELDS``): what both engines index and
    what a query's fields name. An excerpt the body starts with is the ``lead``, not the
    ``excerpt`` (the body already holds its words)."""
    provider = article.provider
    repeats_lead = without_lead(article.body, article.excerpt) is not None
    return {
        "title": article.title,
        LEAD_FIELD if repeats_lead else "excerpt": article.excerpt,
        "topics_text": "\n".join(article.topics),
        "provider_text": f"{provider.name}\n{provider.domain}",
        "body": article.body,
        "related_text": "\n".join(entry.title for entry in article.related),
        WORDS_FIELD: article.title,
    }


def without_lead(text: str, lead: str) -> str | None:
    """The rest of ``text`` when it starts with ``lead`` (whitespace aside), else None.

    A lead cut inside a word leaves that whole word in the rest.
    """
    words = lead.split()
    if not words:
        return None
    cut = 0  # walked word by word: a regex built per article cost a fifth of indexing time
    for number, word in enumerate(words):
        start = cut
        while cut < len(text) and text[cut].isspace():
            cut += 1
        if (number and cut == start) or not text.startswith(word, cut):
            return None
        cut += len(word)
    while 0 < cut < len(text) and text[cut].isalnum() and text[cut - 1].isalnum():
        cut -= 1
    return text[cut:]


def article_to_stored(article: Article) -> dict[str, Any]:
    """The JSON-safe stored form of an article (``secured`` is never part of an Article)."""
    return {
        "id": article.id,
        "title": article.title,
        "excerpt": article.excerpt,
        "url": article.url,
        "type": article.type,
        "category": article.category,
        "quality": article.quality,
        "heat": article.heat,
        "published": article.published,
        "published_at": _iso(article.published_at),
        "provider": {"name": article.provider.name, "domain": article.provider.domain},
        "topics": list(article.topics),
        "images": [_image(image) for image in article.images],
        "related": [_related(entry) for entry in article.related],
        "has_body": bool(article.body),
    }


def stored_to_article(stored: dict[str, Any], body: str = "", source_path: str = "") -> Article:
    """Rebuild an ``Article`` from ``article_to_stored`` output (the inverse, used to render)."""

    def image(raw: dict[str, Any]) -> Image:
        return Image(raw["url"], raw.get("width"), raw.get("height"), raw.get("title", ""))

    def provider(raw: dict[str, Any] | None) -> Provider | None:
        return Provider(raw["name"], raw["domain"]) if raw else None

    related = tuple(
        RelatedArticle(
            title=raw["title"],
            url=raw.get("url", ""),
            excerpt=raw.get("excerpt", ""),
            published_at=to_utc(raw["published_at"]) if raw.get("published_at") else None,
            type=raw.get("type", ""),
            provider=provider(raw.get("provider")),
            quality=raw.get("quality"),
            images=tuple(image(i) for i in raw.get("images", ())),
        )
        for raw in stored.get("related", ())
    )
    published_at = stored.get("published_at")
    return Article(
        id=stored["id"],
        title=stored["title"],
        excerpt=stored.get("excerpt", ""),
        body=body,
        published_at=to_utc(published_at) if published_at else None,
        url=stored.get("url", ""),
        type=stored.get("type", ""),
        category=stored.get("category", ""),
        quality=float(stored.get("quality", 0.0)),
        heat=float(stored.get("heat", 0.0)),
        published=bool(stored.get("published", True)),
        provider=provider(stored.get("provider")) or Provider("", ""),
        topics=tuple(stored.get("topics", ())),
        images=tuple(image(i) for i in stored.get("images", ())),
        related=related,
        source_path=source_path,
    )


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _image(image: Image) -> dict[str, Any]:
    return {"url": image.url, "width": image.width, "height": image.height, "title": image.title}


def _related(entry: RelatedArticle) -> dict[str, Any]:
    provider = entry.provider
    return {
        "title": entry.title,
        "url": entry.url,
        "excerpt": entry.excerpt,
        "published_at": _iso(entry.published_at),
        "type": entry.type,
        "provider": {"name": provider.name, "domain": provider.domain} if provider else None,
        "quality": entry.quality,
        "images": [_image(image) for image in entry.images],
    }
