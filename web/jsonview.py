"""The JSON renderings the API serves (the shapes ``web.openapi`` documents).

A search result is ``search.serialize.result_to_dict`` — the one JSON shape of a search, shared
with the CLI's ``--json``. This module adds what only the API returns: a whole article (with its
body), suggestions, and the health report. ``secured`` is not part of an ``Article``, so it
cannot appear in any of them.
"""

from __future__ import annotations

from typing import Any

from search.articles import Article
from search.contract import IndexInfo, Suggestion
from search.documents import article_to_stored
from search.serialize import hit_to_dict, iso, result_to_dict

__all__ = ["article_to_dict", "hit_to_dict", "info_to_dict", "result_to_dict", "suggestion_to_dict"]


def article_to_dict(article: Article) -> dict[str, Any]:
    data = article_to_stored(article)
    del data["has_body"]
    data["body"] = article.body
    return data


def suggestion_to_dict(suggestion: Suggestion) -> dict[str, Any]:
    found = {"text": suggestion.text, "kind": suggestion.kind, "count": suggestion.count}
    if suggestion.article_id:
        found["article_id"] = suggestion.article_id
    return found


def info_to_dict(info: IndexInfo) -> dict[str, Any]:
    """``status`` is ``warning`` when the last reindex rejected files (it lists them)."""
    return {
        "status": "warning" if info.rejected else "ok",
        "rejected": info.rejected,
        "generation": info.generation,
        "doc_count": info.doc_count,
        "last_reindex": iso(info.last_reindex),
        "version": info.version,
    }
