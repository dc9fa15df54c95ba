"""The contract between the engines and everything that uses them; nothing here imports an
engine, Flask or click.

Read side: ``Engine.search(SearchRequest) → SearchResult`` plus ``suggest``, ``get``,
``more_like_this``, ``story``, ``story_of``, ``trending``, ``info``, ``generation`` and ``close``.
Write side: ``Indexer.reindex(seeds) → ReindexReport``. ``search.backends`` builds both by name;
``web/`` and the CLI depend on this module and nothing engine-specific. Errors: ``search.errors``.

``FILTERS`` is the one table of the exact-value filters: facet name = URL parameter = CLI option,
the ``SearchRequest`` field holding the selected values, and the label a page shows.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from .articles import Article
from .errors import EXIT_OK, EXIT_REJECTED, QueryTooLong, RequestError

SORTS = ("relevance", "newest", "oldest", "quality", "heat")
MODES = ("hybrid", "keyword", "semantic")
"""What matches and how it ranks (``search.hybrid``): words and meaning fused, words only,
meaning only."""
DEFAULT_MODE = "hybrid"
RELATIVE_RANGES: dict[str, tuple[str, dt.timedelta]] = {
    "1h": ("Past hour", dt.timedelta(hours=1)),
    "24h": ("Past 24 hours", dt.timedelta(hours=24)),
    "7d": ("Past 7 days", dt.timedelta(days=7)),
    "30d": ("Past 30 days", dt.timedelta(days=30)),
    "1y": ("Past year", dt.timedelta(days=365)),
}
GROUPS = ("none", "story")
"""``SearchRequest.group``: one hit per article, or per story (its best article in the order)."""
TRENDING_WINDOWS: dict[str, dt.timedelta] = {
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
FACET_NAMES = ("topic", "provider", "type", "date", "range")
"""What ``SearchRequest.facets`` may ask for: the ``FILTERS``, the date histogram, the ranges."""
MAX_QUERY_CHARS = 1_000
MAX_PER_PAGE = 100
MAX_FILTER_VALUES = 50
MAX_FACET_SIZE = 100
MAX_RESULT_WINDOW = 10_000
"""Deep-paging limit: ``page * per_page`` may not exceed this (as Elasticsearch's window)."""


@dataclass(frozen=True)
class FilterField:
    """One exact-value filter and facet."""

    name: str
    """The facet's name, the URL parameter and the CLI option (``topic``)."""
    field: str
    """The ``SearchRequest`` field holding the selected values (``topics``)."""
    label: str
    """What a page calls it."""


FILTERS = (
    FilterField("topic", "topics", "Topic"),
    FilterField("provider", "providers", "Source"),
    FilterField("type", "types", "Type"),
)
"""Providers match by name or domain (either, exactly); topics and types by value."""
FILTER_FIELDS = {filter_field.name: filter_field.field for filter_field in FILTERS}
"""Facet name → ``SearchRequest`` field."""


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
    group: str = "none"
    """``story``: one hit per story, the story's first article in the requested order (its best
    match, or its latest for ``newest``); pages and ``SearchResult.stories`` count stories, the
    facets still count articles."""
    diversify: bool = True
    """Grouped, in relevance order: the first page spreads providers
    (``search.stories.diversity``). False only to measure what that costs."""
    mode: str = DEFAULT_MODE
    """A key of ``MODES`` (``search.hybrid`` says exactly what each matches and how operators
    and filters combine with meaning)."""
    exact: bool = False
    """Search ``q`` as typed: no automatic respelling (the page's "search instead for")."""

    def __post_init__(self) -> None:
        if not isinstance(self.q, str):
            raise RequestError("q", "must be text")
        if len(self.q) > MAX_QUERY_CHARS:
            raise QueryTooLong("q", f"is longer than {MAX_QUERY_CHARS} characters")
        for name in (filter_field.field for filter_field in FILTERS):
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
        if self.mode not in MODES:
            raise RequestError("mode", f"must be one of {', '.join(MODES)}")
        if self.group not in GROUPS:
            raise RequestError("group", f"must be one of {', '.join(GROUPS)}")
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
        for name in ("include_unpublished", "diversify", "exact"):
            if not isinstance(getattr(self, name), bool):
                raise RequestError(name, "must be true or false")

    def selected(self, name: str) -> tuple[str, ...]:
        """The values selected for the filter ``name`` (``topic``, ``provider``, ``type``)."""
        return tuple(getattr(self, FILTER_FIELDS[name]))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def grouped(self) -> bool:
        return self.group == "story"

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
class StoryBrief:
    """A grouped hit's story: what the page shows beside it."""

    id: str
    articles: int
    """Articles of the story the caller may see (all of them, not only the matching ones)."""
    sources: int
    """Distinct providers among them."""
    other_sources: tuple[str, ...] = ()
    """A few providers besides the hit's, most articles first."""
    matches: int = 1
    """Articles of the story matching the request."""


@dataclass(frozen=True)
class Hit:
    article: Article
    """Display fields (``body`` is empty here: a hit carries a snippet, not the whole body)."""
    score: float
    title: tuple[Segment, ...]
    excerpt: tuple[Segment, ...]
    body_snippet: tuple[Segment, ...] = ()
    """Empty unless the body matched the query."""
    story: StoryBrief | None = None
    """The hit's story, in a grouped search."""
    related_matches: tuple[tuple[Segment, ...], ...] = ()
    """When the hit matched the query only through the titles of its related coverage (none of
    its own title, excerpt, body, topics or provider): those titles, marked. Such hits rank
    after every hit matching in its own text (``search.highlight.related_only``)."""


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
    end: dt.datetime | None = None
    """The end of the window when it is counted back from the newest visible article (the
    archive is older than the range: ``dates.window_end``); None when counted from now."""


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
    """A respelling offered, not applied (the results are for ``request.q``)."""
    corrected: Correction | None = None
    """A respelling applied: the results are for ``corrected.q``, not for ``request.q``, which
    found nothing or clearly less (``spelling.should_apply``); never set with ``did_you_mean``.
    ``SearchRequest(exact=True)`` searches ``request.q`` as typed."""
    took_ms: float = 0.0
    generation: str = ""
    plain_fallback: bool = False
    """True when the query had a syntax error and was searched as plain words."""
    stories: int | None = None
    """Matching stories, in a grouped search (``total`` still counts articles)."""
    mode: str = "keyword"
    """The mode the engine answered in: the request's, or ``keyword`` when the query had nothing
    to embed (only exclusions, or no text)."""

    @property
    def pages(self) -> int:
        per_page = self.request.per_page
        entries = self.stories if self.stories is not None else self.total
        return (entries + per_page - 1) // per_page


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str
    """``title``, ``topic``, ``provider`` or ``term``."""
    count: int = 0
    article_id: str = ""
    """A title's article (choosing it opens that article); empty for other kinds."""


@dataclass(frozen=True)
class StoryEntry:
    article: Article
    """Without its body."""
    reprint_of: str = ""
    """The id of the earlier article this one reprints (a near-duplicate), if any."""


@dataclass(frozen=True)
class SourceCount:
    name: str
    domain: str
    count: int


@dataclass(frozen=True)
class Story:
    """Every article of a story the caller may see (``search.stories.view`` builds it)."""

    id: str
    entries: tuple[StoryEntry, ...]
    """Oldest first, undated ones last."""
    first: Article | None
    """The first report (the earliest dated article)."""
    latest: Article | None
    """The latest update."""
    headline: Article
    """The article most typical of the story (its title's words recur most in the others')."""
    sources: tuple[SourceCount, ...]
    """Most articles first."""
    topics: tuple[FacetValue, ...]
    timeline: DateHistogram
    """Articles by hour (a story of up to three days), else by day."""
    generation: str = ""


@dataclass(frozen=True)
class TrendingStory:
    id: str
    title: str
    """Its latest article's title in the window."""
    article_id: str
    count: int
    """Articles in the window."""
    baseline: int
    """Articles in the window before."""
    sources: int


@dataclass(frozen=True)
class TrendingTopic:
    topic: str
    count: int
    baseline: int


@dataclass(frozen=True)
class Trending:
    window: str
    start: dt.datetime
    end: dt.datetime
    """Now, or the newest visible article's time when the archive is older than the window."""
    stories: tuple[TrendingStory, ...]
    topics: tuple[TrendingTopic, ...]
    generation: str = ""


@dataclass(frozen=True)
class IndexInfo:
    generation: str
    doc_count: int
    """Visible (published) documents."""
    last_reindex: dt.datetime | None
    version: str
    rejected: int = 0
    """Files the last reindex rejected (its report lists them): the health check warns."""


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

    def story(self, story_id: str, include_unpublished: bool = False) -> Story:
        """A story's articles the caller may see; NotFound when it has none."""
        ...

    def story_of(self, article_id: str, include_unpublished: bool = False) -> Story:
        """The story of an article (NotFound when the article is absent or not visible)."""
        ...

    def trending(
        self,
        window: str = "24h",
        *,
        include_unpublished: bool = False,
        now: dt.datetime | None = None,
        limit: int = 10,
    ) -> Trending:
        """The stories and topics whose article count grew most in ``window`` (a key of
        ``TRENDING_WINDOWS``) against the window before (``search.stories.trending``)."""
        ...

    def info(self) -> IndexInfo:
        """What the health check shows (reads the last report: not for every request)."""
        ...

    def generation(self) -> str:
        """The live index generation, cheaply: it changes with every reindex that changed
        something (the web layer's ETags are made of it)."""
        ...

    def close(self) -> None:
        """Release files and connections; the engine is not used afterwards."""
        ...


# -- the write side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    path: str
    """Relative to the seeds folder (a folder that cannot be listed ends with ``/``)."""
    reason: str


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


ProgressFn = Callable[[Progress], None]


@dataclass
class ReindexReport:
    seeds_dir: str
    index_dir: str
    """Where the index is: a folder, or ``typesense:<collection>``."""
    generation: str = ""
    full: bool = False
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    documents: int = 0
    seconds: float = 0.0
    started_at: str = ""
    finished_at: str = ""
    note: str = ""
    stories: int = 0
    """Stories in the index after the run (published and not)."""
    story_seconds: float = 0.0
    """Time the story step took (part of ``seconds``)."""
    embedded: int = 0
    """Articles whose text was embedded in this run (new or changed text)."""
    vectors_reused: int = 0
    """Articles of this run whose vector was reused (the same text had one)."""
    vector_seconds: float = 0.0
    """Time the vector step took (part of ``seconds``)."""

    @property
    def parsed(self) -> int:
        return self.added + self.updated

    @property
    def docs_per_second(self) -> float:
        return self.parsed / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_REJECTED if self.rejected else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["docs_per_second"] = round(self.docs_per_second, 1)
        data["seconds"] = round(self.seconds, 3)
        data["story_seconds"] = round(self.story_seconds, 3)
        data["vector_seconds"] = round(self.vector_seconds, 3)
        data["exit_code"] = self.exit_code
        return data


class Indexer(Protocol):
    """Brings one engine's index up to date with a seeds folder (``search.reindex`` runs it)."""

    def reindex(
        self,
        seeds_dir: str | os.PathLike[str],
        *,
        full: bool = False,
        workers: int | None = None,
        lock_timeout: float = 30.0,
        progress: ProgressFn | None = None,
    ) -> ReindexReport:
        """Raises ``ReindexError`` (nothing changed) or ``LockTimeout``."""
        ...
