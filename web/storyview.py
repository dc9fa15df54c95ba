"""What the pages show of stories: the line under a grouped hit, the story page, "Also covered
by" on an article page, and the trending section of the home page. Data in, URLs added here
(as ``present`` does for facets); the templates only lay it out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import url_for

from search.articles import Article
from search.contract import TRENDING_WINDOWS, DateHistogram, SearchResult, Story, Trending

from .present import Histogram, UrlState, chart, web_url

# -- grouped hits --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryLine:
    url: str
    articles: int
    sources: int
    other_sources: tuple[str, ...]
    matches: int

    @property
    def label(self) -> str:
        articles = f"{self.articles:,} article{'s' if self.articles != 1 else ''}"
        return f"{articles} · {self.sources:,} source{'s' if self.sources != 1 else ''}"


def story_lines(result: SearchResult) -> list[StoryLine | None]:
    """For each hit of a grouped result, its story's line (None for a story of one article)."""
    lines: list[StoryLine | None] = []
    for hit in result.hits:
        brief = hit.story
        if brief is None or brief.articles < 2:
            lines.append(None)
            continue
        url = url_for("pages.story_page", story_id=brief.id)
        lines.append(
            StoryLine(url, brief.articles, brief.sources, brief.other_sources, brief.matches)
        )
    return lines


@dataclass(frozen=True)
class GroupLink:
    label: str
    url: str
    selected: bool


def group_links(result: SearchResult, state: UrlState) -> list[GroupLink]:
    """The switch between one entry per story (the page's default) and one per article."""
    grouped = result.request.grouped
    return [
        GroupLink("By story", state.refine(group=None), grouped),
        GroupLink("All articles", state.refine(group="none"), not grouped),
    ]


# -- the story page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    article: Article
    url: str
    reprint_of: str
    """The URL of the article this one reprints, if it is a reprint."""


@dataclass(frozen=True)
class StoryPage:
    """Everything ``story.html`` may use."""

    story: Story
    entries: list[EntryView]
    chart: Histogram | None
    topic_links: list[tuple[str, int, str]]
    now: dt.datetime
    state: UrlState

    @classmethod
    def of(cls, story: Story, now: dt.datetime) -> StoryPage:
        return cls(
            story=story,
            entries=[
                EntryView(
                    entry.article,
                    url_for("pages.article", article_id=entry.article.id),
                    url_for("pages.article", article_id=entry.reprint_of)
                    if entry.reprint_of
                    else "",
                )
                for entry in story.entries
            ],
            chart=timeline_chart(story.timeline),
            topic_links=[
                (topic.value, topic.count, url_for("pages.search", topic=topic.value))
                for topic in story.topics
            ],
            now=now,
            state=UrlState({}),
        )

    def context(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def timeline_chart(timeline: DateHistogram) -> Histogram | None:
    """The story's articles over time, drawn as the search page's histogram (no links)."""
    return chart(timeline)


# -- "Also covered by" on an article page --------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Another article on the same event: in the index (a link to its page) or only listed in
    the article's ``related`` field (a link to the outside, when it is a web link)."""

    title: str
    provider: str
    published_at: dt.datetime | None
    url: str
    external: bool


@dataclass(frozen=True)
class AlsoCovered:
    items: list[Coverage]
    story_url: str
    story_size: int


MAX_COVERAGE = 8


def also_covered(article: Article, story: Story | None) -> AlsoCovered | None:
    """The story's other articles (other providers first), then ``related`` entries that are not
    among them."""
    items: list[Coverage] = []
    known_urls = {article.url}
    if story is not None:
        others = [e.article for e in story.entries if e.article.id != article.id]
        others.sort(key=lambda a: a.provider == article.provider)  # stable: story order kept
        for other in others:
            known_urls.add(other.url)
            items.append(
                Coverage(
                    other.title,
                    other.provider.name or other.provider.domain,
                    other.published_at,
                    url_for("pages.article", article_id=other.id),
                    False,
                )
            )
    for entry in article.related:
        if entry.url in known_urls:
            continue
        known_urls.add(entry.url)
        provider = entry.provider.name or entry.provider.domain if entry.provider else ""
        url = entry.url if web_url(entry.url) else ""
        items.append(Coverage(entry.title, provider, entry.published_at, url, True))
    if not items:
        return None
    story_url = url_for("pages.story_page", story_id=story.id) if story is not None else ""
    size = len(story.entries) if story is not None else 0
    return AlsoCovered(items[:MAX_COVERAGE], story_url, size)


# -- trending on the home page -------------------------------------------------------------------


@dataclass(frozen=True)
class TrendingView:
    trending: Trending
    windows: list[tuple[str, str, bool]]
    """(label, URL, selected) of each window."""
    stories: list[tuple[str, str, int, int, int]]
    """(title, story URL, articles, before, sources)."""
    topics: list[tuple[str, str, int, int]]
    """(topic, search URL, articles, before)."""


WINDOW_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}


def trending_view(trending: Trending) -> TrendingView:
    home = url_for("pages.search")
    return TrendingView(
        trending=trending,
        windows=[
            (WINDOW_LABELS[key], f"{home}?trending={key}", key == trending.window)
            for key in TRENDING_WINDOWS
        ],
        stories=[
            (s.title, url_for("pages.story_page", story_id=s.id), s.count, s.baseline, s.sources)
            for s in trending.stories
        ],
        topics=[
            (t.topic, url_for("pages.search", topic=t.topic), t.count, t.baseline)
            for t in trending.topics
        ],
    )
