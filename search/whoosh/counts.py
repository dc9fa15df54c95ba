"""Filters, order and counts of one Whoosh request, as numpy masks over a ``Snapshot``.

``Matches`` holds the visible matches before the filters, each filter's mask and the final set;
``Matches.without(name)`` is what a disjunctive facet counts. Counting is a ``bincount`` over a
facet's (document, value) entries (``snapshot.FacetIndex``); what the counts become (the listed
values, ``selected``, ``truncated``, histogram buckets) is engine-neutral: ``search.facets`` and
``search.dates``.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import dates, facets, ranking
from ..contract import FILTERS, RELATIVE_RANGES, DateHistogram, Facet, RangeCount, SearchRequest
from . import matching
from .schema import MISSING_DATE
from .snapshot import Snapshot

_COMPARE: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Matches:
    evaluation: matching.Evaluation
    base: np.ndarray
    """Matches that are visible, before the filters."""
    filters: dict[str, np.ndarray]
    final: np.ndarray
    keyword: np.ndarray | None = None
    """In hybrid and semantic mode, the keyword matches with the filters (did-you-mean)."""
    mode: str = "keyword"
    """The mode these matches are of."""

    def without(self, name: str) -> np.ndarray:
        """Visible matches with every filter except ``name`` (disjunctive facets)."""
        if name not in self.filters:
            return self.final
        mask = self.base.copy()
        for other, filter_mask in self.filters.items():
            if other != name:
                mask &= filter_mask
        return mask


def filter_masks(
    snapshot: Snapshot, request: SearchRequest, now: dt.datetime
) -> dict[str, np.ndarray]:
    """One mask per filter of the request (a provider matches by name or domain)."""
    n = snapshot.doc_count
    masks: dict[str, np.ndarray] = {}
    for name in (filter_field.name for filter_field in FILTERS):
        values = request.selected(name)
        if values:
            masks[name] = snapshot.facets[name].mask(values, n)
            if name == "provider":
                masks[name] |= snapshot.facets["domain"].mask(values, n)
    newest = snapshot.newest(request.include_unpublished)
    conditions = dates.conditions(request, now, newest)
    if conditions:
        mask = snapshot.dated.copy()
        for op, seconds in conditions:
            mask &= _COMPARE[op](snapshot.dates, seconds)
        masks["date"] = mask
    return masks


def page(
    snapshot: Snapshot, request: SearchRequest, matches: Matches, now: dt.datetime
) -> tuple[list[int], list[float], list[bool]]:
    """Document numbers, scores and related-only flags of the requested page, in order.

    Whatever the sort, documents matching in their own text come first, then those matching
    only through related titles (``Evaluation.own``), each group in the sort's order."""
    candidates = np.flatnonzero(matches.final)
    if request.offset >= len(candidates):
        return [], [], []
    evaluation = matches.evaluation
    keys, scores = _sort_keys(snapshot, request, evaluation, candidates, now)
    start, stop = request.offset, request.offset + request.per_page
    if evaluation.own is None:
        groups = [np.arange(len(candidates))]
    else:
        own = evaluation.own[candidates]
        groups = [np.flatnonzero(own), np.flatnonzero(~own)]
    chosen: list[np.ndarray] = []
    flags: list[bool] = []
    for number, group in enumerate(groups):
        if start < len(group) and stop > 0:
            picked = group[_ordered([key[group] for key in keys], start, min(stop, len(group)))]
            chosen.append(picked)
            flags += [number == 1] * len(picked)
        start, stop = max(0, start - len(group)), max(0, stop - len(group))
    cut = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    return candidates[cut].tolist(), scores[cut].tolist(), flags


def _sort_keys(
    snapshot: Snapshot,
    request: SearchRequest,
    evaluation: matching.Evaluation,
    candidates: np.ndarray,
    now: dt.datetime,
) -> tuple[list[np.ndarray], np.ndarray]:
    """The sort keys of the candidates (first decides), and their boosted scores."""
    stamps = snapshot.dates[candidates]
    dated = stamps != MISSING_DATE
    newer_first = np.where(dated, -stamps.astype(np.float64), np.inf)
    if evaluation.scored:
        boosts = ranking.boost_factors(
            stamps,
            MISSING_DATE,
            now.timestamp(),
            snapshot.quality_rank[candidates],
            snapshot.heat_rank[candidates],
        )
        scores = evaluation.score[candidates].astype(np.float64) * boosts
    else:
        scores = np.zeros(len(candidates))
    sort = request.sort
    if sort == "relevance" and not evaluation.scored:
        sort = "newest"
    if sort == "relevance" and evaluation.order is not None:
        keys = [evaluation.order[candidates], newer_first]
    elif sort == "relevance":
        primary = -scores
        if evaluation.tier is not None:
            step = float(scores.max()) + 1.0
            primary = primary - evaluation.tier[candidates].astype(np.float64) * step
        keys = [primary, newer_first]
    elif sort == "newest":
        keys = [newer_first]
    elif sort == "oldest":
        keys = [np.where(dated, stamps.astype(np.float64), np.inf)]
    else:
        values = snapshot.quality if sort == "quality" else snapshot.heat
        keys = [-values[candidates], newer_first]
    keys.append(snapshot.id_rank[candidates].astype(np.float64))
    return keys, scores


def _ordered(keys: list[np.ndarray], start: int, stop: int) -> np.ndarray:
    """Positions ``start:stop`` of the order the keys give (the first key decides)."""
    chosen = np.arange(len(keys[0]))
    if stop < len(chosen):
        # the first key decides but for ties at the cut: keep every tie, then sort exactly
        first = keys[0]
        threshold = first[np.argpartition(first, stop - 1)[:stop]].max()
        chosen = np.flatnonzero(first <= threshold)
    order = chosen[np.lexsort([key[chosen] for key in reversed(keys)])]
    return order[start:stop]


def facet_counts(
    snapshot: Snapshot, request: SearchRequest, matches: Matches, now: dt.datetime
) -> tuple[dict[str, Facet], DateHistogram | None, tuple[RangeCount, ...]]:
    wanted = request.facets
    result: dict[str, Facet] = {}
    for name in (filter_field.name for filter_field in FILTERS):
        if name in wanted:
            result[name] = _facet(snapshot, request, name, matches.without(name))
    histogram = None
    if "date" in wanted:
        histogram = _histogram(snapshot, matches.final)
    ranges: tuple[RangeCount, ...] = ()
    if "range" in wanted:
        stamps = snapshot.dates[matches.without("date") & snapshot.dated]
        newest = snapshot.newest(request.include_unpublished)
        counts = {}
        for key in RELATIVE_RANGES:
            low, high = dates.range_bounds(key, now, newest)
            counts[key] = int(np.count_nonzero((stamps >= low) & (stamps <= high)))
        ends = {key: dates.range_end(key, now, newest) for key in RELATIVE_RANGES}
        ranges = facets.ranges(counts, request.range, ends)
    return result, histogram, ranges


def _facet(snapshot: Snapshot, request: SearchRequest, name: str, mask: np.ndarray) -> Facet:
    index = snapshot.facets[name]
    counts = index.counts(mask)
    selected: dict[str, int] = {}
    for value in request.selected(name):
        ordinal = index.ordinals.get(value)
        if ordinal is not None:
            selected[value] = int(counts[ordinal])
        elif name == "provider":  # a provider selected by its domain: counted on the domain
            selected[value] = int(np.count_nonzero(mask[snapshot.facets["domain"].docs_of(value)]))
        else:
            selected[value] = 0
    nonzero = np.flatnonzero(counts)
    # highest counts first, then by value: values are sorted, so a stable sort on -count does it
    order = nonzero[np.argsort(-counts[nonzero], kind="stable")]
    top = order[: request.facet_size + len(selected)].tolist()
    ranked = [(index.values[i], int(counts[i])) for i in top]
    return facets.facet(name, ranked, len(nonzero), request.facet_size, selected)


def _histogram(snapshot: Snapshot, final: np.ndarray) -> DateHistogram:
    dated = final & snapshot.dated
    undated = int(np.count_nonzero(final)) - int(np.count_nonzero(dated))
    stamps = snapshot.dates[dated]
    if not len(stamps):
        return dates.no_dates(undated)
    interval = dates.interval_for(int(stamps.max()) - int(stamps.min()))
    slots = snapshot.date_slots(dates.UNITS[interval])[dated]
    first = int(slots.min())
    counts = np.bincount(slots - first)
    found = np.flatnonzero(counts)
    by_slot = dict(zip((found + first).tolist(), counts[found].tolist(), strict=True))
    return dates.histogram(interval, first, first + len(counts) - 1, by_slot, undated)
