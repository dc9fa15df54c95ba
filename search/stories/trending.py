"""Trending: the stories and topics whose article count grew most in a window of time against the
window before it, for both engines (an engine only counts).

The window (``contract.TRENDING_WINDOWS``) ends now — or, when the archive's newest visible
article is older than the window, at that article (``dates.window_end``: an archive of 1987 news
still has a "last 24 hours"). The baseline is the window of the same length just before.

Growth of a count ``c`` over a baseline ``b`` is ``(c − b) / √(b + 1)``: a story that went from
nothing to 8 articles outranks a topic that went from 400 to 420, and both outrank noise. Only
what has at least ``MINIMUM`` articles in the window and grew is listed; ties by count, then name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from .. import dates
from ..contract import TRENDING_WINDOWS, Trending, TrendingStory, TrendingTopic
from ..errors import RequestError

MINIMUM = 2


@dataclass(frozen=True)
class Counts:
    """Visible dated articles in one period, by story and by topic."""

    stories: Mapping[str, int]
    topics: Mapping[str, int]


@dataclass(frozen=True)
class Described:
    """A trending story's face in the window: its latest article, its distinct providers."""

    title: str
    article_id: str
    sources: int


class Counter(Protocol):
    """What an engine answers for trending (start inclusive, end inclusive, epoch seconds)."""

    def newest(self) -> dt.datetime | None: ...

    def counts(self, start: int, end: int) -> Counts: ...

    def describe(self, story_ids: list[str], start: int, end: int) -> dict[str, Described]: ...


def bounds(window: str, now: dt.datetime, newest: dt.datetime | None) -> tuple[int, int, int]:
    """(baseline start, window start, window end), epoch seconds; the window is ``[start, end]``
    and the baseline ``[baseline start, start)``."""
    if window not in TRENDING_WINDOWS:
        raise RequestError("window", f"must be one of {', '.join(TRENDING_WINDOWS)}")
    span = TRENDING_WINDOWS[window]
    end = dates.window_end(now, newest, span)
    seconds = int(span.total_seconds())
    last = math.floor(end.timestamp())
    return last - 2 * seconds + 1, last - seconds + 1, last


def growth(count: int, baseline: int) -> float:
    return (count - baseline) / math.sqrt(baseline + 1)


def rank(current: Mapping[str, int], baseline: Mapping[str, int], limit: int) -> list[str]:
    """The keys that grew most (at least ``MINIMUM`` in the window)."""
    grown = [
        key for key, count in current.items() if count >= MINIMUM and count > baseline.get(key, 0)
    ]
    grown.sort(key=lambda key: (-growth(current[key], baseline.get(key, 0)), -current[key], key))
    return grown[:limit]


def trending(
    counter: Counter, window: str, now: dt.datetime | None, limit: int, generation: str = ""
) -> Trending:
    clock = now or dt.datetime.now(dt.UTC)
    base_start, start, end = bounds(window, clock, counter.newest())
    current = counter.counts(start, end)
    before = counter.counts(base_start, start - 1)
    story_ids = rank(current.stories, before.stories, limit)
    described = counter.describe(story_ids, start, end)
    stories = tuple(
        TrendingStory(
            story_id,
            described[story_id].title,
            described[story_id].article_id,
            current.stories[story_id],
            before.stories.get(story_id, 0),
            described[story_id].sources,
        )
        for story_id in story_ids
        if story_id in described
    )
    topics = tuple(
        TrendingTopic(topic, current.topics[topic], before.topics.get(topic, 0))
        for topic in rank(current.topics, before.topics, limit)
    )
    moment = dt.datetime.fromtimestamp
    return Trending(window, moment(start, dt.UTC), moment(end, dt.UTC), stories, topics, generation)
