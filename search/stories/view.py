"""A story as a reader sees it, from the articles an engine found in it: the ``Story`` of the
contract (first report, latest update, sources, topics, timeline), the same for both engines.

Only articles the caller may see are given, so nothing here can show an unpublished one: a
reprint points at the earliest *visible* article of its near-duplicate group.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from .. import dates
from ..articles import Article
from ..contract import DateBucket, DateHistogram, FacetValue, SourceCount, Story, StoryEntry
from . import features

HOURLY_SPAN = dt.timedelta(days=3)
"""A story spanning up to this is drawn by hour, a longer one by day (or month, year)."""
TOPICS_SHOWN = 12


def canonical(article: Article) -> tuple[bool, dt.datetime, str]:
    """Dated articles by time, then undated ones; ties by id."""
    moment = article.published_at
    return (moment is None, moment or dt.datetime.min.replace(tzinfo=dt.UTC), article.id)


def story(story_id: str, members: Sequence[tuple[Article, str]], generation: str = "") -> Story:
    """The story of ``members``: (article, its near-duplicate group id), visible ones only."""
    ordered = sorted(members, key=lambda member: canonical(member[0]))
    originals: dict[str, str] = {}
    entries = []
    for article, group in ordered:
        original = originals.setdefault(group, article.id)
        entries.append(StoryEntry(article, "" if original == article.id else original))
    articles = [entry.article for entry in entries]
    dated = [a for a in articles if a.published_at is not None]
    return Story(
        id=story_id,
        entries=tuple(entries),
        first=dated[0] if dated else None,
        latest=dated[-1] if dated else None,
        headline=headline(articles),
        sources=sources(articles),
        topics=topics(articles),
        timeline=timeline([a.published_at for a in dated if a.published_at], len(articles)),
        generation=generation,
    )


def headline(articles: Sequence[Article]) -> Article:
    """The article whose title's terms recur most in the other titles (on average; ties: the
    earlier): a chain of reports is named by its middle, not by a stray first one."""
    words = [set(features.terms(features.fold(article.title))) for article in articles]
    counted = Counter(term for terms in words for term in terms)

    def typical(index: int) -> float:
        terms = words[index]
        return sum(counted[term] - 1 for term in terms) / len(terms) if terms else -1.0

    best = max(range(len(articles)), key=lambda index: (typical(index), -index))
    return articles[best]


def sources(articles: Sequence[Article]) -> tuple[SourceCount, ...]:
    counted = Counter((a.provider.name, a.provider.domain) for a in articles)
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0][0] or item[0][1]))
    return tuple(SourceCount(name, domain, count) for (name, domain), count in ranked)


def topics(articles: Sequence[Article]) -> tuple[FacetValue, ...]:
    counted = Counter(topic for a in articles for topic in dict.fromkeys(a.topics))
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return tuple(FacetValue(topic, count) for topic, count in ranked[:TOPICS_SHOWN])


def timeline(moments: Sequence[dt.datetime], total: int) -> DateHistogram:
    """Articles per hour (a span up to ``HOURLY_SPAN``), else per day, month or year."""
    undated = total - len(moments)
    if not moments:
        return dates.no_dates(undated)
    low, high = min(moments), max(moments)
    if high - low > HOURLY_SPAN:
        interval = dates.interval_for(int((high - low).total_seconds()))
        slots = Counter(dates.slot_of(interval, moment) for moment in moments)
        first, last = dates.slot_of(interval, low), dates.slot_of(interval, high)
        return dates.histogram(interval, first, last, slots, undated)
    start = low.replace(minute=0, second=0, microsecond=0)
    hours = Counter(int((moment - start).total_seconds() // 3600) for moment in moments)
    buckets = []
    for hour in range(max(hours) + 1):
        begin = start + dt.timedelta(hours=hour)
        label = f"{begin:%Y-%m-%d %H:00}"
        buckets.append(DateBucket(begin, begin + dt.timedelta(hours=1), label, hours[hour]))
    return DateHistogram(interval="hour", buckets=tuple(buckets), undated=undated)
