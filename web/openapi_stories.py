"""The OpenAPI description of the story endpoints and shapes: ``/api/stories/{id}``,
``/api/trending``, and the story of each hit of a grouped search (``web.openapi`` includes them)."""

from __future__ import annotations

from typing import Any

from search.contract import TRENDING_WINDOWS

from .data import MAX_TRENDING
from .openapi_parts import (
    DATE_TIME,
    ETAG_HEADER,
    INTEGER,
    NULLABLE_DATE_TIME,
    STRING,
    _array,
    _errors,
    _nullable,
    _obj,
    _query_param,
    _ref,
    _response,
)


def schemas(article_fields: dict[str, Any]) -> dict[str, Any]:
    """``article_fields``: the properties every article shape has (``web.openapi``)."""
    return {
        "StoryBrief": _obj(
            {
                "id": {"type": "string", "description": "The story (see /api/stories/{id})."},
                "articles": {
                    "type": "integer",
                    "description": "Articles of the story the caller may see (not only matches).",
                },
                "sources": {"type": "integer", "description": "Distinct providers among them."},
                "other_sources": {
                    **_array(STRING),
                    "description": "Up to 3 providers besides the hit's, most articles first.",
                },
                "matches": {"type": "integer", "description": "Its articles matching the search."},
            }
        ),
        "SourceCount": _obj({"name": STRING, "domain": STRING, "count": INTEGER}),
        "ArticleBrief": _obj(
            {
                "id": STRING,
                "title": STRING,
                "published_at": NULLABLE_DATE_TIME,
                "provider": _ref("Provider"),
            }
        ),
        "StoryArticle": _obj(
            {
                **article_fields,
                "reprint_of": {
                    "type": ["string", "null"],
                    "description": "The earlier article of the story this one reprints.",
                },
            }
        ),
        "Story": _obj(
            {
                "id": STRING,
                "generation": STRING,
                "count": {"type": "integer", "description": "Articles the caller may see."},
                "first": {**_nullable(_ref("ArticleBrief")), "description": "The first report."},
                "latest": {**_nullable(_ref("ArticleBrief")), "description": "The latest update."},
                "headline": {
                    **_ref("ArticleBrief"),
                    "description": "The article most typical of the story: its title names it.",
                },
                "sources": _array(_ref("SourceCount")),
                "topics": _array(_obj({"value": STRING, "count": INTEGER})),
                "timeline": {
                    **_ref("DateHistogram"),
                    "description": "By hour for a story of up to three days, else by day or more.",
                },
                "articles": {
                    **_array(_ref("StoryArticle")),
                    "description": "Oldest first, undated ones last.",
                },
            }
        ),
        "Trending": _obj(
            {
                "window": {"type": "string", "enum": list(TRENDING_WINDOWS)},
                "start": DATE_TIME,
                "end": {
                    **DATE_TIME,
                    "description": "Now, or the newest visible article's time when the archive "
                    "is older than the window.",
                },
                "generation": STRING,
                "stories": _array(
                    _obj(
                        {
                            "id": STRING,
                            "title": {"type": "string", "description": "Its latest article's."},
                            "article_id": STRING,
                            "count": {"type": "integer", "description": "Articles in the window."},
                            "baseline": {
                                "type": "integer",
                                "description": "Articles in the window before.",
                            },
                            "sources": INTEGER,
                        }
                    )
                ),
                "topics": _array(_obj({"topic": STRING, "count": INTEGER, "baseline": INTEGER})),
            }
        ),
    }


def paths() -> dict[str, Any]:
    return {
        "/api/stories/{story_id}": {
            "get": {
                "operationId": "getStory",
                "summary": "Every article of a story the caller may see, its sources and timeline",
                "parameters": [
                    {
                        "name": "story_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                ],
                "responses": {
                    "200": {**_response("The story.", "Story"), "headers": ETAG_HEADER},
                    **_errors("304", "404"),
                },
            }
        },
        "/api/trending": {
            "get": {
                "operationId": "trending",
                "summary": "Stories and topics that grew most in a window against the one before",
                "parameters": [
                    _query_param(
                        "window",
                        {"type": "string", "enum": list(TRENDING_WINDOWS), "default": "24h"},
                        "The window, ending now (or at the newest visible article when the "
                        "archive is older); the baseline is the window before it.",
                    ),
                    _query_param(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_TRENDING, "default": 10},
                        "Stories and topics at most (each).",
                    ),
                ],
                "responses": {
                    "200": {**_response("What is trending.", "Trending"), "headers": ETAG_HEADER},
                    **_errors("304"),
                },
            }
        },
    }
