"""What the page shows, computed from a ``SearchResult``: escaped highlights, dates a reader
understands, and the URLs that change one piece of the search state (filters, page, sort).

All state lives in the URL: every link here is the current canonical query with one change.
The facet code returns data; URLs are added here, as datasette's facets do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import url_for
from markupsafe import Markup, escape

from search.articles import Article, RelatedArticle
from search.contract import (
    FILTERS,
    MAX_RESULT_WINDOW,
    RELATIVE_RANGES,
    DateBucket,
    DateHistogram,
    Facet,
    Hit,
    SearchResult,
    Segment,
)
from search.highlight import trim_text

from .errors import ApiError
from .params import SEARCH_PARAMS

SORT_LABELS = {
    "relevance": "Best match",
    "newest": "Newest first",
    "oldest": "Oldest first",
    "quality": "Highest quality",
    "heat": "Trending",
}
MODE_LABELS = {
    "hybrid": "Words and meaning",
    "keyword": "Exact words only",
    "semantic": "Meaning only",
}
_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


# --- text -------------------------------------------------------------------------------------


def highlight(parts: Sequence[Segment], fallback: str = "") -> Markup:
    """Segments → escaped HTML with ``<mark>`` around matches (document text is never trusted)."""
    if not parts:
        return escape(fallback)
    return Markup("").join(
        Markup("<mark>%s</mark>") % part.text if part.match else escape(part.text) for part in parts
    )


def web_url(url: str | None) -> bool:
    """Only http(s) links are rendered as links (never ``javascript:`` or ``data:``)."""
    return bool(url) and urlsplit(url or "").scheme.lower() in ("http", "https")


def paragraphs(body: str) -> list[str]:
    return [block.strip() for block in body.split("\n\n") if block.strip()]


def relative_time(when: dt.datetime, now: dt.datetime) -> str:
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    for size, unit in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            if unit == "day" and count == 1:
                return "tomorrow" if future else "yesterday"
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if future else f"{words} ago"
    return "just now"  # pragma: no cover - the loop always returns


def absolute_time(when: dt.datetime) -> str:
    when = when.astimezone(dt.UTC)
    return f"{when.day} {when:%b %Y, %H:%M} UTC"


def machine_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- URLs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrlState:
    """The canonical query of the current search; each method returns a URL with one change.

    A page holds a link per facet value, chip, bar and page number, so the query string is
    encoded here directly (``url_for`` once, for the path) rather than through the router.
    """

    args: dict[str, list[str]]
    path: str = field(default_factory=lambda: url_for("pages.search"))

    def url(self, **changes: str | list[str] | None) -> str:
        args = dict(self.args)
        for name, value in changes.items():
            if value is None or value == []:
                args.pop(name, None)
            else:
                args[name] = [value] if isinstance(value, str) else list(value)
        pairs = [(name, value) for name in SEARCH_PARAMS for value in args.get(name, ())]
        return f"{self.path}?{urlencode(pairs)}" if pairs else self.path

    def refine(self, **changes: str | list[str] | None) -> str:
        """A new filter state starts again at page 1."""
        return self.url(**{"page": None, **changes})

    def values(self, name: str) -> list[str]:
        return self.args.get(name, [])

    def first(self, name: str) -> str:
        values = self.args.get(name)
        return values[0] if values else ""

    def toggle(self, name: str, value: str) -> str:
        current = self.values(name)
        if value in current:
            return self.refine(**{name: [v for v in current if v != value]})
        return self.refine(**{name: [*current, value]})

    def add(self, name: str, value: str) -> str:
        current = self.values(name)
        return self.refine(**{name: current if value in current else [*current, value]})


# --- the sidebar and the chips -----------------------------------------------------------------


@dataclass(frozen=True)
class FacetLink:
    value: str
    count: int
    selected: bool
    url: str


@dataclass(frozen=True)
class FacetView:
    name: str
    label: str
    values: list[FacetLink]
    truncated: bool


def facet_views(result: SearchResult, state: UrlState) -> list[FacetView]:
    """The sidebar's facets as the engine counted them (``selected`` included), the selected
    values first in the order they were ticked."""
    views = []
    for filter_field in FILTERS:
        name = filter_field.name
        facet = result.facets.get(name) or Facet(name, (), False)
        ticked = {value: index for index, value in enumerate(result.request.selected(name))}
        chosen = sorted((v for v in facet.values if v.selected), key=lambda v: ticked[v.value])
        ordered = [*chosen, *(v for v in facet.values if not v.selected)]
        links = [
            FacetLink(v.value, v.count, v.selected, state.toggle(name, v.value)) for v in ordered
        ]
        if links:
            views.append(FacetView(name, filter_field.label, links, facet.truncated))
    return views


@dataclass(frozen=True)
class Chip:
    label: str
    value: str
    remove_url: str


def chips(state: UrlState) -> list[Chip]:
    found = [
        Chip(filter_field.label, value, state.toggle(filter_field.name, value))
        for filter_field in FILTERS
        for value in state.values(filter_field.name)
    ]
    if state.first("range") in RELATIVE_RANGES:
        found.append(
            Chip("Date", RELATIVE_RANGES[state.first("range")][0], state.refine(range=None))
        )
    if state.first("since") or state.first("until"):
        found.append(
            Chip(
                "Date",
                date_span(state.first("since"), state.first("until")),
                state.refine(since=None, until=None),
            )
        )
    return found


def date_span(since: str, until: str) -> str:
    if since and until:
        return f"{since} – {until}" if since != until else since
    return f"from {since}" if since else f"until {until}"


@dataclass(frozen=True)
class RangeLink:
    label: str
    count: int | None
    selected: bool
    url: str


def range_links(result: SearchResult, state: UrlState) -> list[RangeLink]:
    """ "Any time" (no date filter at all: it clears a typed range too), then each relative
    range; one counted back from the newest article says where it ends."""
    current = state.first("range")
    typed = bool(state.first("since") or state.first("until"))
    links = [
        RangeLink(
            "Any time",
            None,
            not current and not typed,
            state.refine(range=None, since=None, until=None),
        )
    ]
    links += [
        RangeLink(
            f"{r.label} (to {r.end.day} {r.end:%b %Y})" if r.end else r.label,
            r.count,
            r.key == current,
            state.refine(range=r.key, since=None, until=None),
        )
        for r in result.ranges
    ]
    return links


# --- the date histogram, drawn on the server ------------------------------------------------

CHART_WIDTH = 600
CHART_HEIGHT = 96


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    count: int
    label: str
    url: str | None
    selected: bool


@dataclass(frozen=True)
class Histogram:
    width: int
    height: int
    bars: list[Bar]
    interval: str
    first: str
    last: str
    peak: int
    undated: int


def histogram(result: SearchResult, state: UrlState) -> Histogram | None:
    """The search page's date histogram: each bar links to its bucket's date range."""
    source = result.date_histogram
    if source is None:
        return None

    def link(bucket: DateBucket) -> tuple[str | None, bool]:
        since, until = bucket_bounds(bucket)
        selected = state.first("since") == since and state.first("until") == until
        url = state.refine(since=since, until=until, range=None) if bucket.count else None
        return url, selected

    return chart(source, link)


def chart(
    source: DateHistogram,
    link: Callable[[DateBucket], tuple[str | None, bool]] | None = None,
) -> Histogram | None:
    """Bars of a date histogram (the search page's, a story's timeline); ``link`` gives a bar's
    URL and whether it is the selected range (no links without it). None when nothing is dated."""
    buckets = source.buckets
    if not buckets or not any(b.count for b in buckets):
        return None
    peak = max(b.count for b in buckets)
    slot = CHART_WIDTH / len(buckets)
    gap = min(2.0, slot * 0.2)
    bars = []
    for index, bucket in enumerate(buckets):
        height = max(2.0, (CHART_HEIGHT - 2) * bucket.count / peak) if bucket.count else 0.0
        url, selected = link(bucket) if link is not None else (None, False)
        bars.append(
            Bar(
                x=round(index * slot + gap / 2, 2),
                width=round(max(slot - gap, 0.5), 2),
                y=round(CHART_HEIGHT - height, 2),
                height=round(height, 2),
                count=bucket.count,
                label=bucket.label,
                url=url,
                selected=selected,
            )
        )
    return Histogram(
        CHART_WIDTH,
        CHART_HEIGHT,
        bars,
        source.interval,
        buckets[0].label,
        buckets[-1].label,
        peak,
        source.undated,
    )


def bucket_bounds(bucket: DateBucket) -> tuple[str, str]:
    """The ``since``/``until`` parameters selecting one bucket: whole days read as dates."""
    start = bucket.start.astimezone(dt.UTC)
    end = bucket.end.astimezone(dt.UTC)
    if _midnight(start) and _midnight(end):
        return start.date().isoformat(), (end - dt.timedelta(days=1)).date().isoformat()
    return machine_time(start), machine_time(end)


def _midnight(when: dt.datetime) -> bool:
    return when.hour == when.minute == when.second == when.microsecond == 0


# --- hits and pages -------------------------------------------------------------------------


@dataclass(frozen=True)
class Thumbnail:
    url: str
    width: int
    height: int


THUMB_WIDTH = 96
THUMB_HEIGHT = 64


@dataclass(frozen=True)
class HitView:
    article: Article
    title: Markup
    text: Markup
    """One text: the excerpt, or the body's snippet when only the body matched."""
    text_kind: str
    """``excerpt``, ``snippet`` or ``""`` (nothing to show)."""
    topic_links: list[tuple[str, str]]
    related: list[RelatedArticle]
    related_matches: list[Markup]
    """The related titles this hit matched through, when it matched only there."""
    thumbnail: Thumbnail | None


def hit_view(hit: Hit, state: UrlState) -> HitView:
    article = hit.article
    text, kind = one_text(hit)
    return HitView(
        article=article,
        title=highlight(hit.title, article.title),
        text=highlight(text),
        text_kind=kind,
        topic_links=[(topic, state.add("topic", topic)) for topic in article.topics],
        related=list(article.related[:3]),
        related_matches=[highlight(title) for title in hit.related_matches],
        thumbnail=thumbnail(article),
    )


def one_text(hit: Hit) -> tuple[tuple[Segment, ...], str]:
    """The excerpt (cut at a sentence or word boundary), unless only the body's snippet holds
    a match: never both, which in news mostly repeat each other (the excerpt is the lead)."""
    excerpt = hit.excerpt or ((Segment(hit.article.excerpt),) if hit.article.excerpt else ())
    if hit.body_snippet and not any(part.match for part in excerpt):
        return hit.body_snippet, "snippet"
    if excerpt:
        return trim_text(excerpt), "excerpt"
    return (), ""


def thumbnail(article: Article) -> Thumbnail | None:
    """The article's own first image (http or https), shown small; None without one."""
    for image in article.images:
        if web_url(image.url):
            return Thumbnail(image.url, THUMB_WIDTH, THUMB_HEIGHT)
    return None


@dataclass(frozen=True)
class PageLink:
    number: int | None
    """None for an ellipsis."""
    url: str
    current: bool


@dataclass(frozen=True)
class Pagination:
    previous: str | None
    next: str | None
    links: list[PageLink]


def pagination(result: SearchResult, state: UrlState) -> Pagination | None:
    per_page = result.request.per_page
    last = min(result.pages, MAX_RESULT_WINDOW // per_page)
    current = result.request.page
    if last <= 1 and current == 1:
        return None

    def link(number: int) -> str:
        return state.url(page=str(number) if number > 1 else None)

    links = []
    for number in page_numbers(current, last):
        links.append(PageLink(number, link(number) if number else "", number == current))
    return Pagination(
        previous=link(current - 1) if current > 1 else None,
        next=link(current + 1) if current < last else None,
        links=links,
    )


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """``1 … 4 5 [6] 7 8 … 20``: the ends, a window around the current page, gaps as None."""
    wanted = sorted({1, last, *range(current - around, current + around + 1)})
    numbers: list[int | None] = []
    for number in (n for n in wanted if 1 <= n <= last):
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None if number - (numbers[-1] or 0) > 2 else number - 1)
        numbers.append(number)
    return numbers


def providers_of(related: Iterable[RelatedArticle]) -> list[str]:
    names = (entry.provider.name or entry.provider.domain for entry in related if entry.provider)
    return list(dict.fromkeys(name for name in names if name))


# --- the pages' declared template contexts ---------------------------------------------------


@dataclass(frozen=True)
class SearchPage:
    """Everything ``search.html`` may use: only these keys are its contract (as datasette's
    ``TableContext``). ``result`` is None when the request was invalid (``problem`` says why)."""

    state: UrlState
    chips: list[Chip]
    notes: dict[str, str] = field(default_factory=dict)
    """Parameters given but not applied (a date that cannot be), and why: shown in place."""
    exports: dict[str, str] = field(default_factory=dict)
    """``csv``, ``json`` and ``feed``: the current search as an export and an Atom feed."""
    exact_url: str = ""
    """"Search instead for" the query as typed (when a respelling was applied)."""
    result: SearchResult | None = None
    now: dt.datetime | None = None
    hits: list[HitView] = field(default_factory=list)
    facets: list[FacetView] = field(default_factory=list)
    ranges: list[RangeLink] = field(default_factory=list)
    chart: Histogram | None = None
    pages: Pagination | None = None
    problem: ApiError | None = None
    retry_url: str | None = None
    story_lines: list[Any] = field(default_factory=list)
    """Grouped: each hit's story line (``storyview.StoryLine``, None for a one-article story)."""
    group_links: list[Any] = field(default_factory=list)
    trending: Any = None
    """The home page's trending section (``storyview.TrendingView``)."""

    @classmethod
    def of(
        cls,
        result: SearchResult,
        args: dict[str, list[str]],
        notes: dict[str, str] | None = None,
    ) -> SearchPage:
        """The page of a result; ``args`` is the canonical query that produced it; ``notes``
        the parameters it could not apply."""
        notes = notes or {}
        state = UrlState(args)
        applied = UrlState({k: v for k, v in args.items() if k not in notes}, state.path)
        return cls(
            state=state,
            chips=chips(applied),
            notes=notes,
            exports=export_links(applied),
            exact_url=applied.refine(exact="1") if result.corrected else "",
            result=result,
            now=result.request.clock(),
            hits=[hit_view(hit, state) for hit in result.hits],
            facets=facet_views(result, state),
            ranges=range_links(result, state),
            chart=histogram(result, state),
            pages=pagination(result, state),
        )

    def context(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def export_links(state: UrlState) -> dict[str, str]:
    """The search without its paging, as a CSV and a JSON export and an Atom feed."""
    kept = {k: v for k, v in state.args.items() if k not in ("page", "per_page", "facet_size")}
    query = UrlState(kept, "").url().lstrip("?")
    suffix = f"?{query}" if query else ""
    return {
        "csv": url_for("api.search_csv") + suffix,
        "json": url_for("api.search_json") + suffix,
        "feed": url_for("pages.feed") + suffix,
    }


@dataclass(frozen=True)
class ArticlePage:
    """Everything ``article.html`` may use."""

    article: Article
    paragraphs: list[str]
    similar: list[HitView]
    state: UrlState
    now: dt.datetime

    @classmethod
    def of(cls, article: Article, similar: Sequence[Hit], now: dt.datetime) -> ArticlePage:
        state = UrlState({})
        return cls(
            article=article,
            paragraphs=paragraphs(article.body),
            similar=[hit_view(hit, state) for hit in similar],
            state=state,
            now=now,
        )

    def context(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
