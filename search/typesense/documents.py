"""The Typesense document of an article, and the collection's fields.

Every searchable text is stored twice: as written (for display and highlighting) and as the
space-separated terms ``search.analysis`` makes of it (``s_title`` … ``s_related``): Typesense
0.24 has no stemming and no stop words, so this is what makes both engines match the same
documents for the same words.

**Exact values** (topic, provider name and domain, type, URL) are kept as written and compared
exactly, as with Whoosh: Typesense 0.24 folds case, accents and punctuation in ``string`` facets
and ``:=`` filters and cuts tokens at 100 characters, so each is also indexed as a hex key
(``exact_key``) that filters compare, and faceted as its text followed by that key
(``facet_value``, read back by ``facet_text``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from ..analysis import all_words, analyse
from ..articles import Article
from ..documents import article_to_stored, field_texts, stored_to_article
from ..embedding.model import DIMENSIONS
from ..ranking import LEAD_FIELD, WORDS_FIELD

SCHEMA_VERSION = "ts-7"
"""Bump when the collection fields or the analysis change: the next reindex is then full.
ts-5 (main): the title's stop words and the story fields; ts-6 (hybrid): the vectors; ts-7 has
all of them."""

EMBEDDING = "embedding"
"""The article's vector, indexed for ``vector_query`` (float[])."""
PACKED = "vector16"
"""The same vector, stored unindexed as the base64 of its float16 bytes: what the engine reads
back to compute exact cosines (Typesense writes a float[] out as decimal text, ~0.9 ms per
article; this string costs a small fraction of that)."""

TEXT_FIELDS: dict[str, str] = {
    "title": "s_title",
    "excerpt": "s_excerpt",
    "topics_text": "s_topics",
    "provider_text": "s_provider",
    "body": "s_body",
    "related_text": "s_related",
    WORDS_FIELD: "s_title_words",
}
UNDATED = 0
"""``published_at`` of an undated article; ``dated`` is 0 then, and every date filter asks 1."""
STRIP_FIELDS = ",".join([*TEXT_FIELDS.values(), EMBEDDING, PACKED])
"""Never sent back with hits: the analysed texts and the vector (both forms)."""
COLLECTION_FIELDS: list[dict[str, Any]] = [
    *({"name": name, "type": "string"} for name in TEXT_FIELDS.values()),
    {"name": "title", "type": "string"},
    {"name": "path", "type": "string"},
    # exact values (see exact_key): faceted as "<value> <marked key>", filtered by key
    {"name": "topic_facet", "type": "string[]", "facet": True, "optional": True},
    {"name": "provider_facet", "type": "string", "facet": True, "optional": True},
    {"name": "type_facet", "type": "string", "facet": True, "optional": True},
    {"name": "topic_key", "type": "string[]", "optional": True},
    {"name": "provider_key", "type": "string", "optional": True},
    {"name": "domain_key", "type": "string", "optional": True},
    {"name": "type_key", "type": "string", "optional": True},
    {"name": "url_key", "type": "string", "optional": True},
    {"name": "published", "type": "bool"},
    {"name": "published_at", "type": "int64"},
    {"name": "dated", "type": "int32"},
    {"name": "year", "type": "int32", "facet": True},
    {"name": "month", "type": "int32", "facet": True},
    {"name": "day", "type": "int32", "facet": True},
    {"name": "quality", "type": "float"},
    {"name": "heat", "type": "float"},
    # search.stories: the story (grouped with group_by, so a facet) and near-duplicate group
    {"name": "story", "type": "string", "facet": True},
    {"name": "near_duplicate", "type": "string"},
    # search.vectors: the article's vector (vector_query; searched with the same model's vector)
    {"name": "embedding", "type": "float[]", "num_dim": DIMENSIONS},
]
"""Indexed fields. ``excerpt``, ``body``, ``url``, ``doc`` (the stored JSON), ``content_hash``,
``stamp`` and ``vector16`` (``PACKED``) are stored in each document without an index (Typesense
keeps undeclared fields)."""
FACET_FIELDS: dict[str, str] = {
    "topic": "topic_facet",
    "provider": "provider_facet",
    "type": "type_facet",
}
"""The facet field of each facet of ``SearchRequest.facets`` (values decoded by ``facet_text``)."""
KEY_CHUNK = 64
"""Hex digits per token of an exact key: Typesense 0.24 cuts every token at 100 characters."""
KEY_MARK = "ǂ"
"""Leads each key token in a facet field, so that a typed prefix never matches the hex digits
(a letter Typesense keeps as it is and nobody types; ``ⓧ`` would be folded to ``x``)."""
NOTHING = "dated:<0"
"""A filter that matches no document (a filter on empty values only, as Whoosh)."""


def packed(vector: np.ndarray) -> str:
    """``PACKED``'s text of a vector (float16, as ``search.vectors`` holds it)."""
    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode("ascii")


def unpacked(text: str) -> np.ndarray:
    """The vector of ``PACKED``'s text (float32; empty when there is none)."""
    return np.frombuffer(base64.b64decode(text or ""), dtype="<f2").astype(np.float32)


def stems(text: str) -> str:
    """Space-separated indexed terms of ``text`` (what Whoosh indexes for it)."""
    return " ".join(analyse(text))


def article_document(
    article: Article, rel: str, content_hash: str, stamp: str = ""
) -> dict[str, Any]:
    """The Typesense document of one article (``rel`` is its path within the seeds folder)."""
    provider = article.provider
    moment = article.published_at
    texts = field_texts(article)
    texts["excerpt"] = texts.pop(LEAD_FIELD, texts.get("excerpt", ""))  # one excerpt field here
    document: dict[str, Any] = {
        "id": article.id,
        **{TEXT_FIELDS[name]: stems(text) for name, text in texts.items() if name != WORDS_FIELD},
        TEXT_FIELDS[WORDS_FIELD]: " ".join(all_words(article.title)),
        "title": article.title,
        "excerpt": article.excerpt,
        "body": article.body,
        "path": rel,
        "url": article.url,
        "published": article.published,
        "published_at": int(moment.timestamp()) if moment else UNDATED,
        "dated": 1 if moment else 0,
        "year": moment.year if moment else 0,
        "month": moment.year * 100 + moment.month if moment else 0,
        "day": (moment.year * 100 + moment.month) * 100 + moment.day if moment else 0,
        "quality": float(article.quality),
        "heat": float(article.heat),
        "doc": json.dumps(article_to_stored(article), separators=(",", ":")),
        "content_hash": content_hash,
        "stamp": stamp,
    }
    topics = [topic for topic in article.topics if topic]
    if topics:
        document["topic_facet"] = [facet_value(topic) for topic in topics]
        document["topic_key"] = [exact_key(topic) for topic in topics]
    for name, value in (
        ("provider", provider.name),
        ("domain", provider.domain),
        ("type", article.type),
        ("url", article.url),
    ):
        if value:  # Whoosh indexes no empty value either
            document[f"{name}_key"] = exact_key(value)
            if name in FACET_FIELDS:
                document[FACET_FIELDS[name]] = facet_value(value)
    return document


def exact_key(value: str) -> str:
    """The case- and accent-exact form of a facet or filter value: the lower-case hex of its UTF-8
    bytes, in tokens of ``KEY_CHUNK`` digits. Typesense 0.24 folds case, accents, punctuation and
    Unicode compatibility forms in ``string`` facets and ``:=`` filters (``MarketWatch`` and
    ``Marketwatch``, ``Café`` and ``Cafe``, ``A, B`` and ``A B`` would be one value) and cuts
    tokens at 100 characters; hex digits it cannot fold, and a filter on them needs no escaping."""
    digits = value.encode("utf-8").hex()
    return " ".join(digits[start : start + KEY_CHUNK] for start in range(0, len(digits), KEY_CHUNK))


def facet_value(value: str) -> str:
    """A facet field's text: the value as written (for facet-query prefixes: suggestions), then
    its key, each token marked with ``KEY_MARK`` (which keeps the facet values apart)."""
    return " ".join([value, *(KEY_MARK + part for part in exact_key(value).split(" "))])


def facet_text(stored: str) -> str | None:
    """The value of a facet field's text (``facet_value``'s inverse); None if it is not one."""
    end = len(stored)
    while (end := stored.rfind(" " + KEY_MARK, 0, end)) >= 0:
        candidate = stored[:end]
        if facet_value(candidate) == stored:
            return candidate
    return None


def collection_schema(name: str) -> dict[str, Any]:
    return {"name": name, "fields": COLLECTION_FIELDS, "token_separators": []}


def article_of(document: dict[str, Any], body: str = "") -> Article:
    """The article a stored document renders (without its body unless given)."""
    return stored_to_article(
        json.loads(document["doc"]), body=body, source_path=document.get("path", "")
    )
