"""Facet counts, the date histogram and the relative-range counts, from boolean masks.

Disjunctive faceting: the engine hands each facet the mask of the matches with every filter
applied except the facet's own, so the counts say what ticking one more value would add.
Counting is a ``bincount`` over the facet's (document, value) entries (``snapshot.FacetIndex``).

Facet values: the ``facet_size`` values with the highest counts (ties by value), values with a
zero count left out, and every selected value always listed (with its count, possibly 0);
``truncated`` says more values with a count exist than are listed.

Date histogram: over the dated matches; the interval follows their span (``day`` up to
``DAY_SPAN``, ``month`` up to ``MONTH_SPAN``, else ``year``); buckets are calendar days, months
or years in UTC, contiguous from the first to the last match (empty ones included) unless that
would exceed ``MAX_BUCKETS``, when only non-empty buckets are listed.

Relative ranges (``models.RELATIVE_RANGES``): ``now − span ≤ date ≤ now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np

from .models import RELATIVE_RANGES, DateBucket, DateHistogram, Facet, FacetValue, RangeCount

DAY_SPAN = 62 * 86_400
MONTH_SPAN = 3 * 366 * 86_400
MAX_BUCKETS = 400
_UNITS = {"day": "D", "month": "M", "year": "Y"}


def facet_from_counts(
    name: str,
    values: Sequence[str],
    counts: np.ndarray,
    size: int,
    selected: dict[str, int],
) -> Facet:
    """``selected`` maps each selected value to its count (it may not be among ``values``)."""
    nonzero = np.flatnonzero(counts)
    # highest counts first, then by value: values are sorted, so a stable sort on -count does it
    order = nonzero[np.argsort(-counts[nonzero], kind="stable")]
    listed = {values[i]: int(counts[i]) for i in order[:size].tolist()}
    listed.update(selected)
    truncated = any(values[i] not in listed for i in order[size:].tolist())
    ranked = sorted(listed.items(), key=lambda item: (-item[1], item[0]))
    return Facet(
        name=name,
        values=tuple(FacetValue(value, count, value in selected) for value, count in ranked),
        truncated=truncated,
    )


def date_histogram(
    dates: np.ndarray,
    undated: int,
    slots_of: Callable[[str], np.ndarray] | None = None,
) -> DateHistogram:
    """Buckets of ``dates`` (UTC epoch seconds of the dated matches).

    ``slots_of(unit)``, when given, returns the same documents' day / month / year numbers
    (``slots(dates, unit)``), precomputed.
    """
    if not len(dates):
        return DateHistogram(interval="year", buckets=(), undated=undated)
    span = int(dates.max()) - int(dates.min())
    interval = "day" if span <= DAY_SPAN else "month" if span <= MONTH_SPAN else "year"
    unit = _UNITS[interval]
    slots = slots_of(unit) if slots_of is not None else slot_numbers(dates, unit)
    first = int(slots.min())
    counts = np.bincount(slots - first)
    indexes = np.arange(len(counts)) if len(counts) <= MAX_BUCKETS else np.flatnonzero(counts)
    starts, ends = (_bounds(indexes + first + step, unit) for step in (0, 1))
    buckets = tuple(
        DateBucket(start, end, _label(start, interval), int(counts[index]))
        for start, end, index in zip(starts, ends, indexes.tolist(), strict=True)
    )
    return DateHistogram(interval=interval, buckets=buckets, undated=undated)


def slot_numbers(dates: np.ndarray, unit: str) -> np.ndarray:
    """Days (``D``), months (``M``) or years (``Y``) since 1970 of epoch seconds, in UTC."""
    return dates.astype("datetime64[s]").astype(f"datetime64[{unit}]").astype(np.int64)


def _bounds(slots: np.ndarray, unit: str) -> list[dt.datetime]:
    """The UTC start of each day / month / year slot (counted from 1970)."""
    seconds = slots.astype(f"datetime64[{unit}]").astype("datetime64[s]").astype(np.int64)
    return [_utc(value) for value in seconds.tolist()]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _utc(seconds: int) -> dt.datetime:
    try:
        return _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError:  # the end of the bucket of year 9999
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def _label(start: dt.datetime, interval: str) -> str:
    if interval == "year":
        return f"{start.year:04d}"
    if interval == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return f"{start.year:04d}-{start.month:02d}-{start.day:02d}"


def range_bounds(key: str, now: dt.datetime) -> tuple[int, int]:
    """Inclusive epoch-second bounds of a relative range."""
    _, span = RELATIVE_RANGES[key]
    end = now.timestamp()
    return int(np.ceil(end - span.total_seconds())), int(np.floor(end))


def range_counts(
    dates: np.ndarray, now: dt.datetime, selected: str | None
) -> tuple[RangeCount, ...]:
    """How many of ``dates`` (the dated matches without any date filter) fall in each range."""
    counts = []
    for key, (label, _) in RELATIVE_RANGES.items():
        low, high = range_bounds(key, now)
        count = int(np.count_nonzero((dates >= low) & (dates <= high)))
        counts.append(RangeCount(key, label, count, key == selected))
    return tuple(counts)
