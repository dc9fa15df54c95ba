"""The data behind each view, built once and rendered twice (as a page and as JSON).

As datasette's ``table_view_data``: the search page and ``/api/search`` parse the same
parameters into the same ``SearchRequest`` and get the same ``SearchResult``; they differ only
in rendering (conditional requests are answered before, by ``web.caching``).
"""

from __future__ import annotations

from flask import current_app, request

from search.articles import Article
from search.contract import MAX_QUERY_CHARS, TRENDING_WINDOWS, Hit, Story, Suggestion, Trending
from search.errors import QueryTooLong, RequestError

from .auth import is_admin
from .params import SearchParams, parse_int, parse_search, reject_unknown, single
from .state import get_engine

MAX_SUGGESTIONS = 20
MAX_MORE_LIKE_THIS = 20
MAX_TRENDING = 50


def search_params(*, strict: bool, also: tuple[str, ...] = ()) -> SearchParams:
    """The page (not ``strict``) groups by story unless told otherwise; the API does not, so
    that its clients keep one hit per article (``group=story`` gives the page's answer).
    ``also``: parameters the caller reads itself (``/api/search``'s shape)."""
    return parse_search(
        request.args,
        per_page=int(current_app.config["PER_PAGE"]),
        include_unpublished=is_admin(),
        strict=strict,
        also=also,
        default_group="none" if strict else "story",
    )


def suggestions() -> list[Suggestion]:
    reject_unknown(request.args, ("q", "limit"))
    prefix = single(request.args, "q") or ""
    if len(prefix) > MAX_QUERY_CHARS:
        raise QueryTooLong("q", f"is longer than {MAX_QUERY_CHARS} characters")
    text = single(request.args, "limit")
    limit = parse_int("limit", text) if text is not None else 8
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise RequestError("limit", f"must be between 1 and {MAX_SUGGESTIONS}")
    if not prefix:
        return []
    return get_engine().suggest(prefix, limit=limit, include_unpublished=is_admin())


def story(story_id: str) -> Story:
    reject_unknown(request.args, ())
    return get_engine().story(story_id, include_unpublished=is_admin())


def story_of(article_id: str) -> Story | None:
    """The story of a visible article (None when it is the story's only visible article)."""
    found = get_engine().story_of(article_id, include_unpublished=is_admin())
    return found if len(found.entries) > 1 else None


def trending(default: str = "24h", *, strict: bool = True) -> Trending:
    """``window`` (``24h``, ``7d``, ``30d``) and ``limit`` from the query string (the API); the
    home page's ``trending`` parameter, where anything else is the default."""
    if strict:
        reject_unknown(request.args, ("window", "limit"))
        window = single(request.args, "window") or default
    else:
        window = request.args.get("trending") or default
    if window not in TRENDING_WINDOWS:
        if strict:
            raise RequestError("window", f"must be one of {', '.join(TRENDING_WINDOWS)}")
        window = default
    text = single(request.args, "limit") if strict else None
    limit = parse_int("limit", text) if text is not None else 10
    if not 1 <= limit <= MAX_TRENDING:
        raise RequestError("limit", f"must be between 1 and {MAX_TRENDING}")
    return get_engine().trending(window, include_unpublished=is_admin(), limit=limit)


def article_and_similar(article_id: str, *, default_similar: int = 5) -> tuple[Article, list[Hit]]:
    reject_unknown(request.args, ("more_like_this",))
    text = single(request.args, "more_like_this")
    limit = parse_int("more_like_this", text) if text is not None else default_similar
    if not 0 <= limit <= MAX_MORE_LIKE_THIS:
        raise RequestError("more_like_this", f"must be between 0 and {MAX_MORE_LIKE_THIS}")
    engine = get_engine()
    admin = is_admin()
    article = engine.get(article_id, include_unpublished=admin)
    similar = engine.more_like_this(article_id, limit, include_unpublished=admin) if limit else []
    return article, similar
