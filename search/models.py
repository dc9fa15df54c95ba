"""The engine contract: ``SearchRequest → SearchResult`` (plus suggestions, get, health).

Every engine (the embedded Whoosh one, later a distributed one) takes these requests and returns
these results; the web page, the JSON API and the CLI only render them. Nothing here imports an
engine, Flask or click.

Errors (all subclasses of ``NewsfindError``)::

    NewsfindError
    ├── RequestError      a request parameter is invalid: ``.param`` names it (HTTP 400)
    │   └── QueryTooLong  the query text is over ``MAX_QUERY_CHARS`` (HTTP 414/400)
    ├── NotFound          no (visible) article with that id (HTTP 404)
    └── IndexUnavailable  no index has been built yet, or it cannot be opened (HTTP 503)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from .articles import Article

SORTS = ("relevance", "newest", "oldest", "quality", "heat")
RELATIVE_RANGES: dict[str, tuple[str, dt.timedelta]] = {
    "1h": ("Past hour", dt.timedelta(hours=1)),
    "24h": ("Past 24 hours", dt.timedelta(hours=24)),
    "7d": ("Past 7 days", dt.timedelta(days=7)),
    "30d": ("Past 30 days", dt.timedelta(days=30)),
    "1y": ("Past year", dt.timedelta(days=365)),
}
FACET_NAMES = ("topic", "provider", "type", "date", "range")
MAX_QUERY_CHARS = 1_000
MAX_PER_PAGE = 100
MAX_FILTER_VALUES = 50
MAX_FACET_SIZE = 100
MAX_RESULT_WINDOW = 10_000
"""Deep-paging limit: ``page * per_page`` may not exceed this (as Elasticsearch's window)."""


class NewsfindError(Exception):
    """Base of every error newsfind raises on purpose."""


class RequestError(NewsfindError, ValueError):
    def __init__(self, param: str, message: str) -> None:
        self.param = param
        self.message = message
        super().__init__(f"{param}: {message}")


class QueryTooLong(RequestError):
    pass


class NotFound(NewsfindError, LookupError):
    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(f"no article with id {article_id!r}")


class IndexUnavailable(NewsfindError):
    pass


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    topics: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    """Provider names or domains (either matches exactly)."""
    types: tuple[str, ...] = ()
    since: dt.datetime | None = None
    """Absolute range, inclusive start (aware datetime)."""
    until: dt.datetime | None = None
    """Absolute range, exclusive end (aware datetime)."""
    range: str | None = None
    """Relative range, a key of ``RELATIVE_RANGES``, counted back from ``now``."""
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    facets: tuple[str, ...] = FACET_NAMES
    facet_size: int = 10
    include_unpublished: bool = False
    now: dt.datetime | None = None
    """The clock for relative ranges and freshness; ``None`` means the current time."""

    def __post_init__(self) -> None:
        if not isinstance(self.q, str):
            raise RequestError("q", "must be text")
        if len(self.q) > MAX_QUERY_CHARS:
            raise QueryTooLong("q", f"is longer than {MAX_QUERY_CHARS} characters")
        for name in ("topics", "providers", "types"):
            values = getattr(self, name)
            if isinstance(values, str) or not isinstance(values, tuple | list):
                raise RequestError(name, "must be a list of values")
            if len(values) > MAX_FILTER_VALUES:
                raise RequestError(name, f"at most {MAX_FILTER_VALUES} values")
            for value in values:
                if not isinstance(value, str) or not value.strip():
                    raise RequestError(name, "values must be non-empty text")
            object.__setattr__(self, name, tuple(dict.fromkeys(v.strip() for v in values)))
        for name in ("since", "until", "now"):
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, dt.datetime) or value.tzinfo is None:
                    raise RequestError(name, "must be a timezone-aware datetime")
                object.__setattr__(self, name, value.astimezone(dt.UTC))
        if self.since and self.until and self.since >= self.until:
            raise RequestError("until", "must be after 'since'")
        if self.range is not None and self.range not in RELATIVE_RANGES:
            raise RequestError("range", f"must be one of {', '.join(RELATIVE_RANGES)}")
        if self.sort not in SORTS:
            raise RequestError("sort", f"must be one of {', '.join(SORTS)}")
        _check_int("page", self.page, 1, None)
        _check_int("per_page", self.per_page, 1, MAX_PER_PAGE)
        _check_int("facet_size", self.facet_size, 1, MAX_FACET_SIZE)
        if self.page * self.per_page > MAX_RESULT_WINDOW:
            raise RequestError(
                "page", f"page × per_page may not exceed {MAX_RESULT_WINDOW}; narrow the search"
            )
        unknown = [name for name in self.facets if name not in FACET_NAMES]
        if unknown:
            raise RequestError("facets", f"unknown facet {unknown[0]!r}; use {FACET_NAMES}")
        object.__setattr__(self, "facets", tuple(dict.fromkeys(self.facets)))
        if not isinstance(self.include_unpublished, bool):
            raise RequestError("include_unpublished", "must be true or false")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def clock(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)


def _check_int(name: str, value: Any, low: int, high: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(name, "must be an integer")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RequestError(name, f"must be {bounds}")


@dataclass(frozen=True)
class Segment:
    """A piece of highlighted text; ``match`` marks a query term. Never pre-escaped HTML."""

    text: str
    match: bool = False


@dataclass(frozen=True)
class Hit:
    article: Article
    """Display fields (``body`` is empty here: a hit carries a snippet, not the whole body)."""
    score: float
    title: tuple[Segment, ...]
    excerpt: tuple[Segment, ...]
    body_snippet: tuple[Segment, ...] = ()
    """Empty unless the body matched the query."""


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool = False


@dataclass(frozen=True)
class Facet:
    name: str
    values: tuple[FacetValue, ...]
    truncated: bool
    """True when more values with a count exist than ``facet_size`` shows."""


@dataclass(frozen=True)
class DateBucket:
    start: dt.datetime
    end: dt.datetime
    """Exclusive."""
    label: str
    count: int


@dataclass(frozen=True)
class DateHistogram:
    interval: str
    """``year``, ``month`` or ``day``: chosen from the span of the results."""
    buckets: tuple[DateBucket, ...]
    undated: int = 0


@dataclass(frozen=True)
class RangeCount:
    key: str
    label: str
    count: int
    selected: bool = False


@dataclass(frozen=True)
class Correction:
    q: str
    total: int


@dataclass(frozen=True)
class SearchResult:
    request: SearchRequest
    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, Facet] = field(default_factory=dict)
    date_histogram: DateHistogram | None = None
    ranges: tuple[RangeCount, ...] = ()
    did_you_mean: Correction | None = None
    took_ms: float = 0.0
    generation: str = ""
    plain_fallback: bool = False
    """True when the query had a syntax error and was searched as plain words."""

    @property
    def pages(self) -> int:
        per_page = self.request.per_page
        return (self.total + per_page - 1) // per_page


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str
    """``title``, ``topic``, ``provider`` or ``term``."""
    count: int = 0


@dataclass(frozen=True)
class IndexInfo:
    generation: str
    doc_count: int
    """Visible (published) documents."""
    last_reindex: dt.datetime | None
    version: str


class Engine(Protocol):
    """What every engine offers; ``web/`` and the CLI depend on this and nothing more."""

    def search(self, request: SearchRequest) -> SearchResult: ...

    def suggest(
        self, prefix: str, limit: int = 8, include_unpublished: bool = False
    ) -> list[Suggestion]: ...

    def get(self, article_id: str, include_unpublished: bool = False) -> Article:
        """The whole article (body included); NotFound when absent or not visible."""
        ...

    def more_like_this(
        self, article_id: str, limit: int = 5, include_unpublished: bool = False
    ) -> list[Hit]: ...

    def info(self) -> IndexInfo: ...
