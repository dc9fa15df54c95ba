"""Facets as data (as datasette's facets): what each engine's counts become, the same for both.

Disjunctive faceting: an engine counts each facet over the matches with every filter applied
except the facet's own, so the counts say what ticking one more value would add.

Facet values: the ``facet_size`` values with the highest counts (ties by value), values with a
zero count left out, and every selected value always listed (with its count, possibly 0, and
``selected`` set: the engine knows the request, so nobody recomputes it); ``truncated`` says more
values with a count exist than are listed.

Relative ranges (``contract.RELATIVE_RANGES``, bounds in ``dates.range_bounds``): one count per
range over the dated matches without any date filter.

The date histogram is ``dates.histogram``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from .contract import RELATIVE_RANGES, Facet, FacetValue, RangeCount


def facet(
    name: str,
    ranked: Sequence[tuple[str, int]],
    with_count: int,
    size: int,
    selected: Mapping[str, int],
) -> Facet:
    """The facet ``name`` shows.

    ``ranked``: values with a count, highest first then by value, at least the first
    ``size + len(selected)`` of them (or all); ``with_count``: how many values have a count in
    all; ``selected``: each selected value's count (it may not be among ``ranked``).
    """
    listed = dict(ranked[:size])
    listed.update(selected)
    truncated = with_count > len(ranked) or any(value not in listed for value, _ in ranked[size:])
    ordered = sorted(listed.items(), key=lambda item: (-item[1], item[0]))
    return Facet(
        name=name,
        values=tuple(FacetValue(value, count, value in selected) for value, count in ordered),
        truncated=truncated,
    )


def ranges(
    counts: Mapping[str, int],
    selected: str | None,
    ends: Mapping[str, dt.datetime | None] | None = None,
) -> tuple[RangeCount, ...]:
    """The relative ranges in their order, each with its count (``counts`` by key) and, when
    counted back from the newest article rather than now, its end (``dates.range_end``)."""
    ends = ends or {}
    return tuple(
        RangeCount(key, label, int(counts.get(key, 0)), key == selected, ends.get(key))
        for key, (label, _) in RELATIVE_RANGES.items()
    )
