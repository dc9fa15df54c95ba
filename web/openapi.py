"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``.

It mirrors ``web.jsonview`` (the response shapes) and ``web.params`` (the parameters); the tests
validate live responses against it, so a change to either that is not made here fails them.
Every object is closed (``additionalProperties: false``): a field that leaks shows up at once.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

from search.contract import (
    DEFAULT_MODE,
    GROUPS,
    MAX_FACET_SIZE,
    MAX_FILTER_VALUES,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    MAX_RESULT_WINDOW,
    MODES,
    RELATIVE_RANGES,
    SORTS,
)
from search.ranking import HYBRID_DENSE_DEPTH, SEMANTIC_DEPTH, SIMILARITY_FLOOR

from . import openapi_stories
from .data import MAX_MORE_LIKE_THIS, MAX_SUGGESTIONS
from .exports import EXPORT_DEFAULT, EXPORT_MAX
from .openapi_parts import (
    BOOLEAN,
    DATE_TIME,
    ETAG_HEADER,
    INTEGER,
    NULLABLE_DATE_TIME,
    NUMBER,
    STRING,
    _array,
    _errors,
    _nullable,
    _obj,
    _query_param,
    _ref,
    _response,
    shape_params,
)
from .params import HIT_FIELDS

MODE_DESCRIPTION = (
    "What matches and how it ranks. keyword: articles with the query's words (BM25F). "
    f"semantic: the {SEMANTIC_DEPTH} articles nearest the query in meaning (cosine similarity of "
    f"all-MiniLM-L6-v2 vectors, at least {SIMILARITY_FLOOR}), most similar first. hybrid (the "
    f"default): the keyword matches plus the {HYBRID_DENSE_DEPTH} nearest in meaning, ranked by "
    "fusing both scores. 'Nearest' is counted among the visible articles that satisfy the "
    "query's exact clauses: a quoted phrase, a field prefix, a prefix*, AND / OR groups and "
    "every -exclusion hold in every mode, so meaning never brings back an excluded word or a "
    "broken phrase. Filters then apply to every mode's matches alike; total, facets and pages "
    "count those matches exactly. A query with nothing to embed (only exclusions) is answered "
    "as in keyword mode."
)


def schemas() -> dict[str, Any]:
    article_fields = {
        "id": STRING,
        "title": STRING,
        "excerpt": STRING,
        "url": STRING,
        "published_at": NULLABLE_DATE_TIME,
        "provider": _nullable(_ref("Provider")),
        "topics": _array(STRING),
        "type": STRING,
        "category": STRING,
        "quality": NUMBER,
        "heat": NUMBER,
        "published": {
            "type": "boolean",
            "description": "False only in answers to an admin request (see the security scheme).",
        },
        "images": _array(_ref("Image")),
        "related": _array(_ref("RelatedArticle")),
    }
    highlights = {
        "title": _array(_ref("Segment")),
        "excerpt": _array(_ref("Segment")),
        "body": {
            **_array(_ref("Segment")),
            "description": "Empty unless the body matched the query.",
        },
    }
    hit_fields = {
        **article_fields,
        "story": {
            **_nullable(_ref("StoryBrief")),
            "description": "With group=story: the story this hit stands for; else null.",
        },
        "score": NUMBER,
        "highlights": _obj(highlights),
        "related_matches": {
            **_array(_array(_ref("Segment"))),
            "description": (
                "Non-empty when the hit matched the query only through the titles of "
                "its related coverage: those titles, marked. Such hits come after every "
                "hit matching in its own title, excerpt, body, topics or source."
            ),
        },
    }

    return {
        "Error": _obj(
            {
                "error": _obj(
                    {
                        "code": {
                            "type": "string",
                            "examples": ["invalid_parameter", "not_found", "query_too_long"],
                        },
                        "message": STRING,
                        "param": {
                            "type": "string",
                            "description": "The parameter at fault (400 and 414 only).",
                        },
                    },
                    required=["code", "message"],
                )
            }
        ),
        "Segment": _obj(
            {
                "text": STRING,
                "match": {"type": "boolean", "description": "True for a matched query term."},
            }
        ),
        "Provider": _obj({"name": STRING, "domain": STRING}),
        "Image": _obj(
            {
                "url": STRING,
                "width": {"type": ["integer", "null"]},
                "height": {"type": ["integer", "null"]},
                "title": STRING,
            }
        ),
        "RelatedArticle": _obj(
            {
                "title": STRING,
                "url": STRING,
                "excerpt": STRING,
                "published_at": NULLABLE_DATE_TIME,
                "type": STRING,
                "provider": _nullable(_ref("Provider")),
                "quality": {"type": ["number", "null"]},
                "images": _array(_ref("Image")),
            }
        ),
        **openapi_stories.schemas(article_fields),
        "Hit": _obj(hit_fields),
        "SearchHit": {
            **_obj({**hit_fields, "highlights": _obj(highlights, required=[])}, required=["id"]),
            "description": "A Hit, cut to what `fields=` and `highlights=` ask (id always).",
        },
        "Article": _obj(
            {
                **article_fields,
                "body": STRING,
                "more_like_this": _array(_ref("Hit")),
            }
        ),
        "FacetValue": _obj({"value": STRING, "count": INTEGER, "selected": BOOLEAN}),
        "Facet": _obj(
            {
                "values": _array(_ref("FacetValue")),
                "truncated": {
                    "type": "boolean",
                    "description": "More values exist than facet_size shows.",
                },
            }
        ),
        "DateBucket": _obj(
            {
                "start": DATE_TIME,
                "end": {**DATE_TIME, "description": "Exclusive."},
                "label": STRING,
                "count": INTEGER,
            }
        ),
        "DateHistogram": _obj(
            {
                "interval": {
                    "type": "string",
                    "enum": ["year", "month", "day", "hour"],
                    "description": "hour: only a story's timeline (a story of up to three days).",
                },
                "buckets": _array(_ref("DateBucket")),
                "undated": INTEGER,
            }
        ),
        "RangeCount": _obj(
            {
                "key": {"type": "string", "enum": list(RELATIVE_RANGES)},
                "label": STRING,
                "count": INTEGER,
                "selected": BOOLEAN,
                "end": {
                    **NULLABLE_DATE_TIME,
                    "description": (
                        "Where the window ends when the archive is older than it: the newest "
                        "visible article's time (null: now)."
                    ),
                },
            }
        ),
        "Query": _obj(
            {
                "q": STRING,
                "topic": _array(STRING),
                "provider": _array(STRING),
                "type": _array(STRING),
                "since": NULLABLE_DATE_TIME,
                "until": {**NULLABLE_DATE_TIME, "description": "Exclusive end."},
                "range": {"type": ["string", "null"], "enum": [*RELATIVE_RANGES, None]},
                "sort": {"type": "string", "enum": list(SORTS)},
                "mode": {"type": "string", "enum": list(MODES)},
                "group": {"type": "string", "enum": list(GROUPS)},
                "page": INTEGER,
                "per_page": INTEGER,
                "facet_size": INTEGER,
                "exact": BOOLEAN,
            }
        ),
        "SearchResult": _obj(
            {
                "query": {**_ref("Query"), "description": "The request as the engine ran it."},
                "total": {
                    "type": "integer",
                    "description": "Exact number of matching articles (with the filters). "
                    "hybrid: keyword matches plus the nearest in meaning that match no keyword "
                    f"clause (at most {HYBRID_DENSE_DEPTH} of them); semantic: the nearest in "
                    f"meaning (at most {SEMANTIC_DEPTH}); see the mode parameter.",
                },
                "stories": {
                    "type": ["integer", "null"],
                    "description": "With group=story: exact number of matching stories; else null.",
                },
                "page": INTEGER,
                "per_page": INTEGER,
                "pages": {
                    "type": "integer",
                    "description": "Pages of hits: of stories with group=story, else of articles.",
                },
                "took_ms": NUMBER,
                "generation": {"type": "string", "description": "The index generation searched."},
                "plain_fallback": {
                    "type": "boolean",
                    "description": "The query had a syntax error and was searched as plain words.",
                },
                "mode": {
                    "type": "string",
                    "enum": list(MODES),
                    "description": "The mode the engine answered in: the requested one, or "
                    "keyword when the query has nothing to embed (only exclusions).",
                },
                "did_you_mean": {
                    **_nullable(_obj({"q": STRING, "total": INTEGER})),
                    "description": "A respelling offered; the hits are for the query as typed.",
                },
                "corrected": {
                    **_nullable(_obj({"q": STRING, "total": INTEGER})),
                    "description": (
                        "A respelling applied: the hits are for `corrected.q` (the query as "
                        "typed found nothing or clearly less). `exact=1` searches it as typed."
                    ),
                },
                "hits": _array(_ref("SearchHit")),
                "facets": {
                    "type": "object",
                    "additionalProperties": _ref("Facet"),
                    "description": (
                        "topic, provider and type counts (each without its own filter); they "
                        "count articles, also with group=story."
                    ),
                },
                "date_histogram": _nullable(_ref("DateHistogram")),
                "ranges": _array(_ref("RangeCount")),
            }
        ),
        "Suggestion": _obj(
            {
                "text": STRING,
                "kind": {"type": "string", "enum": ["title", "topic", "provider", "term"]},
                "count": INTEGER,
                "article_id": {
                    "type": "string",
                    "description": "A title's article (present for titles only).",
                },
            },
            required=["text", "kind", "count"],
        ),
        "Suggestions": _obj({"suggestions": _array(_ref("Suggestion"))}),
        "Health": _obj(
            {
                "status": {
                    "type": "string",
                    "enum": ["ok", "warning"],
                    "description": "warning: the last reindex rejected files (`rejected`).",
                },
                "rejected": {
                    "type": "integer",
                    "description": "Files the last reindex rejected (its report lists them).",
                },
                "generation": STRING,
                "doc_count": {"type": "integer", "description": "Visible (published) articles."},
                "last_reindex": NULLABLE_DATE_TIME,
                "version": STRING,
            }
        ),
    }


def _repeatable(name: str, description: str) -> dict[str, Any]:
    schema = {
        "type": "array",
        # a value of white space alone is refused, as an empty one (leave the parameter out)
        "items": {"type": "string", "minLength": 1, "pattern": "\\S"},
        "maxItems": MAX_FILTER_VALUES,
    }
    return _query_param(name, schema, description, style="form", explode=True)


DATE_OR_TIME = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
}


def parameters() -> dict[str, Any]:
    return {
        "q": _query_param(
            "q",
            {"type": "string", "maxLength": MAX_QUERY_CHARS},
            'Query text: words (all words rank first), "phrases", -exclude, OR/AND/NOT, '
            "parentheses, title:/topic:/provider: fields, prefix*. Empty lists everything. "
            f"Over {MAX_QUERY_CHARS} characters as sent (white space included): 414. A typo "
            "that finds nothing or clearly less than a close word is respelled (`corrected`).",
        ),
        "topic": _repeatable("topic", "Only articles with this topic (repeat for any of several)."),
        "provider": _repeatable(
            "provider", "Only articles from this provider, by name or domain (repeatable)."
        ),
        "type": _repeatable("type", "Only articles of this type (repeatable)."),
        "since": _query_param(
            "since",
            DATE_OR_TIME,
            "Published at or after: an ISO date (2024-03-05) or date-time (UTC without offset).",
        ),
        "until": _query_param(
            "until",
            DATE_OR_TIME,
            "Published before: a date-time (exclusive), or a date (that whole day included).",
        ),
        "range": _query_param(
            "range",
            {"type": "string", "enum": list(RELATIVE_RANGES)},
            "Relative date range counted back from now, or from the newest article when the "
            "archive is older than the range.",
        ),
        "sort": _query_param(
            "sort", {"type": "string", "enum": list(SORTS), "default": "relevance"}, "Result order."
        ),
        "group": _query_param(
            "group",
            {"type": "string", "enum": list(GROUPS), "default": "none"},
            "story: one hit per story (the story's first article in the order; with 'newest', "
            "stories by their latest matching article), each with its story; pages and "
            "'stories' count stories, 'total' and the facets still count articles. The search "
            "page groups by default; the API does not, so existing clients keep one hit per "
            "article: add group=story for the page's answer.",
        ),
        "mode": _query_param(
            "mode",
            {"type": "string", "enum": list(MODES), "default": DEFAULT_MODE},
            MODE_DESCRIPTION,
        ),
        "page": _query_param(
            "page",
            {"type": "integer", "minimum": 1, "default": 1},
            f"Page number; page × per_page may not exceed {MAX_RESULT_WINDOW}.",
        ),
        "per_page": _query_param(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 10},
            "Hits per page.",
        ),
        "facet_size": _query_param(
            "facet_size",
            {"type": "integer", "minimum": 1, "maximum": MAX_FACET_SIZE, "default": 10},
            "Values per facet.",
        ),
        "exact": _query_param(
            "exact",
            {"type": "string", "enum": ["1", "true", "0", "false"], "default": "0"},
            "1: search `q` as typed, with no automatic respelling.",
        ),
    }


def responses() -> dict[str, Any]:
    error = "Error"
    return {
        "NotModified": {
            "description": "The ETag sent in If-None-Match still holds (same index generation)."
        },
        "BadRequest": _response("A parameter is invalid or unknown; `param` names it.", error),
        "Unauthorized": {
            **_response("A Bearer token was sent and it is not the admin token.", error),
            "headers": {"WWW-Authenticate": {"schema": STRING}},
        },
        "NotFound": _response("No such article (or not visible to this caller).", error),
        "UriTooLong": _response(
            f"The query text is over {MAX_QUERY_CHARS} characters, or the query string too long.",
            error,
        ),
        "InternalError": _response("An unexpected error; details are only in the log.", error),
        "Unavailable": {
            **_response("No index has been built yet, or it cannot be opened.", error),
            "headers": {"Retry-After": {"schema": STRING}},
        },
    }


EXPORT_PARAMS = ("page", "per_page", "facet_size")


def _export(mimetype: str, shape: str) -> dict[str, Any]:
    limit = _query_param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": EXPORT_MAX, "default": EXPORT_DEFAULT},
        "How many hits at most, best first.",
    )
    params = [
        {"$ref": f"#/components/parameters/{name}"}
        for name in parameters()
        if name not in EXPORT_PARAMS
    ]
    return {
        "get": {
            "operationId": "export" + mimetype.split("/")[1].upper(),
            "summary": f"Export the search's hits (streamed, at most {EXPORT_MAX})",
            "description": shape
            + " Same search parameters as /api/search but the paging ones (not fields or"
            " highlights); every matching article, whatever `group` says.",
            "parameters": [*params, limit],
            "responses": {
                "200": {
                    "description": "The hits, as an attachment.",
                    "content": {
                        mimetype: {"schema": {"type": "object" if "json" in mimetype else "string"}}
                    },
                },
                **_errors(),
            },
        }
    }


def paths() -> dict[str, Any]:
    search_params = [{"$ref": f"#/components/parameters/{name}"} for name in parameters()]
    return {
        "/api/search": {
            "get": {
                "operationId": "search",
                "summary": "Ranked, faceted search",
                "parameters": [*search_params, *shape_params(HIT_FIELDS)],
                "responses": {
                    "200": {
                        **_response("Hits, total, facets, date histogram.", "SearchResult"),
                        "headers": ETAG_HEADER,
                    },
                    **_errors("304"),
                },
            }
        },
        "/api/search.csv": _export("text/csv", "CSV: one row per hit (rank, id, title, …)."),
        "/api/search.json": _export(
            "application/json", "JSON: {query, limit, hits: [Hit…]} (a document, streamed)."
        ),
        "/api/suggest": {
            "get": {
                "operationId": "suggest",
                "summary": "Completions for the search box",
                "parameters": [
                    _query_param(
                        "q",
                        {"type": "string", "maxLength": MAX_QUERY_CHARS},
                        "What has been typed so far; empty gives no suggestions.",
                    ),
                    _query_param(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS, "default": 8},
                        "How many suggestions at most.",
                    ),
                ],
                "responses": {
                    "200": {**_response("Suggestions.", "Suggestions"), "headers": ETAG_HEADER},
                    **_errors("304"),
                },
            }
        },
        "/api/articles/{article_id}": {
            "get": {
                "operationId": "getArticle",
                "summary": "One article, with its body and similar articles",
                "parameters": [
                    {
                        "name": "article_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    },
                    _query_param(
                        "more_like_this",
                        {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": MAX_MORE_LIKE_THIS,
                            "default": 5,
                        },
                        "How many similar articles to include.",
                    ),
                ],
                "responses": {
                    "200": {**_response("The article.", "Article"), "headers": ETAG_HEADER},
                    **_errors("304", "404"),
                },
            }
        },
        **openapi_stories.paths(),
        "/api/health": {
            "get": {
                "operationId": "health",
                "summary": "Index generation, document count, last reindex, version",
                "responses": {
                    "200": _response("The index is being served.", "Health"),
                    **_errors(),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(),
                },
            }
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newsfind",
            "version": _version(),
            "summary": "Ranked, faceted search over a news archive.",
            "description": (
                "Every error has the same shape (`Error`) and the right HTTP status. Responses "
                "carry a weak ETag tied to the index generation: send it back in If-None-Match "
                "for a 304. Unpublished articles are visible only with the admin Bearer token. "
                "Other methods than GET/HEAD get 405, bodies over the limit 413 (same shape)."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "parameters": parameters(),
            "responses": responses(),
            "securitySchemes": {
                "admin": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "NEWSFIND_ADMIN_TOKEN: also shows unpublished articles.",
                }
            },
        },
        "security": [{}, {"admin": []}],
    }


def _version() -> str:
    try:
        return metadata.version("newsfind")
    except metadata.PackageNotFoundError:
        return "0.0.0+source"
