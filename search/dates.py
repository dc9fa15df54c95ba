"""Dates, in one place: date parameters, the date filters, relative ranges, histogram buckets.

**Parameters** (web, CLI): ``parse_date`` takes an ISO date (``2024-03-05``) or date-time
(``2024-03-05T14:00:00Z``; without an offset it is UTC). A date-only ``until`` includes that whole
day (a reader's "until the 5th"): it becomes the next midnight, since the contract's ``until`` is
an exclusive end. A date-time ``until`` is that exclusive end as given.

A date-only ``until`` of 9999-12-31 ends at the last representable moment; a date-time before
year 1 in UTC (``0001-01-01T00:00+14:00``) starts at the first; a leap second (``…T23:59:60Z``)
is the next second, as RFC 3339 reads it.

**Relative windows** (``window_end``, the one rule for ranges here and trending elsewhere): a
window of ``span`` ends now, unless the archive's newest visible article is older than the
window: then it ends at that article's time, so "past 7 days" of an archive from 1987 means
its last 7 days, not an empty week of today.

**Filters**: stored dates are whole UTC epoch seconds; ``conditions(request, now, newest)``
turns ``since`` (inclusive), ``until`` (exclusive) and a relative ``range`` (``end − span ≤ date
≤ end``, ``end`` from ``window_end``, spans in ``contract.RELATIVE_RANGES``) into comparisons
both engines apply as they are. Every date filter drops undated articles.

**Histogram**: the interval follows the span of the dated matches (``day`` up to ``DAY_SPAN``,
``month`` up to ``MONTH_SPAN``, else ``year``); buckets are calendar days, months or years in UTC,
contiguous from the first to the last match (empty ones included) unless that would exceed
``MAX_BUCKETS``, when only non-empty buckets are listed. Slots are numbered from 1970 (days,
months or years since the epoch); an engine counts its matches per slot, ``histogram`` does the
rest.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping

import numpy as np

from .contract import RELATIVE_RANGES, DateBucket, DateHistogram, SearchRequest
from .errors import RequestError

DAY_SPAN = 62 * 86_400
MONTH_SPAN = 3 * 366 * 86_400
MAX_BUCKETS = 400
UNITS = {"day": "D", "month": "M", "year": "Y"}
"""numpy's name of each interval's unit."""
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# -- parameters ----------------------------------------------------------------------------------


FIRST = dt.datetime.min.replace(tzinfo=dt.UTC)
LAST = dt.datetime.max.replace(tzinfo=dt.UTC)
_LEAP_SECOND = re.compile(r"(T\d\d:\d\d):60(?=[.,Z+-]|$)")


def parse_date(name: str, text: str, *, end: bool = False) -> dt.datetime:
    """An ISO date or date-time as an aware UTC datetime; ``end`` makes a date-only value the
    exclusive end of that day. ``RequestError(name, …)`` when it is neither."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return _add(start, dt.timedelta(days=1)) if end else start
        upper = text.upper()  # RFC 3339 allows a lower-case t and z
        leap = _LEAP_SECOND.search(upper)
        if leap:
            upper = upper[: leap.start()] + leap.group(1) + ":59" + upper[leap.end() :]
        value = dt.datetime.fromisoformat(upper)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = _to_utc(value)
        return _add(value, dt.timedelta(seconds=1)) if leap else value
    except (ValueError, OverflowError):
        raise RequestError(
            name,
            "must be an ISO date (2024-03-05) or date-time (2024-03-05T14:00:00Z), "
            f"got {text[:40]!r}",
        ) from None


def _to_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC, clamped to the representable range (an offset can cross its ends)."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        offset = value.utcoffset() or dt.timedelta()
        return FIRST if offset > dt.timedelta() else LAST


def _add(value: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    try:
        return value + delta
    except OverflowError:
        return LAST


# -- filters -------------------------------------------------------------------------------------


def epoch_ceil(moment: dt.datetime) -> int:
    """Epoch seconds, rounded up: stored dates are whole seconds."""
    return math.ceil(moment.timestamp())


def window_end(now: dt.datetime, newest: dt.datetime | None, span: dt.timedelta) -> dt.datetime:
    """Where a window of ``span`` counted back ends: ``now``, or the newest visible article's
    time when the archive is older than the window (``newest < now − span``)."""
    if newest is not None and newest < now - span:
        return newest
    return now


def range_end(key: str, now: dt.datetime, newest: dt.datetime | None) -> dt.datetime | None:
    """The end of a relative range when it is not ``now`` (for the page: "to 19 Oct 1987")."""
    end = window_end(now, newest, RELATIVE_RANGES[key][1])
    return None if end == now else end


def range_bounds(key: str, now: dt.datetime, newest: dt.datetime | None = None) -> tuple[int, int]:
    """Inclusive epoch-second bounds of a relative range (``window_end`` chooses its end)."""
    _, span = RELATIVE_RANGES[key]
    end = window_end(now, newest, span).timestamp()
    return math.ceil(end - span.total_seconds()), math.floor(end)


def conditions(
    request: SearchRequest, now: dt.datetime, newest: dt.datetime | None = None
) -> list[tuple[str, int]]:
    """The request's date filter as ``(operator, epoch seconds)`` pairs, all to hold (``>=``,
    ``<``, ``<=``); empty when it has none. ``newest``: the newest visible article's time."""
    found: list[tuple[str, int]] = []
    if request.since is not None:
        found.append((">=", epoch_ceil(request.since)))
    if request.until is not None:
        found.append(("<", epoch_ceil(request.until)))
    if request.range is not None:
        low, high = range_bounds(request.range, now, newest)
        found += [(">=", low), ("<=", high)]
    return found


def from_epoch(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


# -- histogram -----------------------------------------------------------------------------------


def interval_for(span: int) -> str:
    """The histogram interval for dated matches ``span`` seconds apart."""
    return "day" if span <= DAY_SPAN else "month" if span <= MONTH_SPAN else "year"


def slot_numbers(dates: np.ndarray, unit: str) -> np.ndarray:
    """Days (``D``), months (``M``) or years (``Y``) since 1970 of epoch seconds, in UTC."""
    return dates.astype("datetime64[s]").astype(f"datetime64[{unit}]").astype(np.int64)


def slot_of(interval: str, moment: dt.datetime) -> int:
    """The slot of ``moment`` (UTC) counted from 1970."""
    moment = moment.astimezone(dt.UTC)
    if interval == "year":
        return moment.year - 1970
    if interval == "month":
        return (moment.year - 1970) * 12 + moment.month - 1
    return (moment.date() - EPOCH.date()).days


def slot_start(interval: str, slot: int) -> dt.datetime:
    """The UTC start of a slot; ``datetime.max`` for the one after year 9999."""
    try:
        if interval == "year":
            return dt.datetime(1970 + slot, 1, 1, tzinfo=dt.UTC)
        if interval == "month":
            year, month = divmod(slot, 12)
            return dt.datetime(1970 + year, month + 1, 1, tzinfo=dt.UTC)
        return EPOCH + dt.timedelta(days=slot)
    except (ValueError, OverflowError):
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def label(interval: str, start: dt.datetime) -> str:
    if interval == "year":
        return f"{start.year:04d}"
    if interval == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return f"{start.year:04d}-{start.month:02d}-{start.day:02d}"


def histogram(
    interval: str, first: int, last: int, counts: Mapping[int, int], undated: int
) -> DateHistogram:
    """The histogram of dated matches whose slots run from ``first`` to ``last``; ``counts``
    maps a slot to its matches (absent: none)."""
    if last - first + 1 <= MAX_BUCKETS:
        slots = list(range(first, last + 1))
    else:
        slots = sorted(slot for slot, count in counts.items() if count)
    buckets = []
    for slot in slots:
        start, end, name = _bucket(interval, slot)
        buckets.append(DateBucket(start, end, name, int(counts.get(slot, 0))))
    return DateHistogram(interval=interval, buckets=tuple(buckets), undated=undated)


@functools.lru_cache(maxsize=4096)
def _bucket(interval: str, slot: int) -> tuple[dt.datetime, dt.datetime, str]:
    """A slot's start, end and label (the same few hundred slots make every histogram)."""
    start = slot_start(interval, slot)
    return start, slot_start(interval, slot + 1), label(interval, start)


def no_dates(undated: int) -> DateHistogram:
    """The histogram of matches none of which is dated."""
    return DateHistogram(interval="year", buckets=(), undated=undated)
