"""Sparse vector arithmetic of the story method, in numpy: tf-idf, pruning, smoothing, and the
similarity of every pair of articles less than a window of time apart.

Vectors are ``Ragged`` rows of (column, weight); a column is a term's 32-bit hash, used as it is
(keys of ``column × rows + row`` fit in 64 bits). Pair products (``window_pairs``) walk an
inverted index of the candidate side: for each term of a query article, the articles with that
term inside the query's window, their products accumulated with ``bincount`` in a dense block of
(query rows × the window's candidates), so the cost is the number of term matches, never the
number of pairs. Blocks are bounded in cells and in matches, so memory stays flat at any size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .table import Ragged

BLOCK_CELLS = 1 << 20
"""Query rows × candidate columns of one accumulation block."""
BLOCK_MATCHES = 1 << 21
"""Term matches expanded at once."""


@dataclass(frozen=True)
class DocFrequencies:
    """How many articles hold each term hash (``hashes`` sorted), over ``documents`` articles."""

    hashes: np.ndarray
    counts: np.ndarray
    documents: int

    @classmethod
    def of(cls, terms: Ragged) -> DocFrequencies:
        hashes, counts = np.unique(terms.values, return_counts=True)
        return cls(hashes.astype(np.uint32), counts.astype(np.uint32), len(terms))

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """The frequency of each hash (0 for a term never seen)."""
        if not len(self.hashes):
            return np.zeros(len(hashes), dtype=np.float64)
        where = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        found = self.hashes[where] == hashes
        return np.where(found, self.counts[where], 0).astype(np.float64)


def tfidf(terms: Ragged, df: DocFrequencies) -> Ragged:
    """tf = 1 + ln(count), idf = ln((N + 1) / (df + 1)) + 1; rows L2-normalised."""
    assert terms.weights is not None
    idf = np.log((df.documents + 1.0) / (df.lookup(terms.values) + 1.0)) + 1.0
    weights = (1.0 + np.log(terms.weights.astype(np.float64))) * idf
    return normalise(Ragged(terms.ptr, terms.values, weights))


def normalise(rows: Ragged) -> Ragged:
    assert rows.weights is not None
    weights = rows.weights.astype(np.float64)
    norms = np.sqrt(np.bincount(rows.row_ids(), weights=weights**2, minlength=len(rows)))
    norms[norms == 0] = 1.0
    return Ragged(rows.ptr, rows.values, weights / np.repeat(norms, rows.lengths()))


def prune(rows: Ragged, keep: int) -> Ragged:
    """Each row's ``keep`` heaviest entries (ties: the smaller column, as entries come sorted by
    column within a row), L2-normalised again; the kept entries stay sorted by column."""
    assert rows.weights is not None
    row_ids = rows.row_ids()
    order = _by_row_heaviest(row_ids, rows.weights)
    rank = np.arange(len(order)) - np.repeat(rows.ptr[:-1], rows.lengths())
    chosen = np.sort(order[rank < keep])
    kept = np.bincount(row_ids[chosen], minlength=len(rows))
    return normalise(Ragged.of(kept, rows.values[chosen], rows.weights[chosen]))


def _by_row_heaviest(row_ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Positions by row (ascending), then weight (descending); ties keep their order. Weights are
    in [0, 1] (normalised rows), so one float key sorts both."""
    key = row_ids.astype(np.float64) * 4.0 + (2.0 - weights.astype(np.float64))
    return np.argsort(key, kind="stable")


@dataclass(frozen=True)
class Side:
    """One side of a pair product: rows in time order, their vectors (columns), times, provider
    keys, and each row's number in the caller's numbering."""

    vectors: Ragged
    t: np.ndarray
    provider: np.ndarray
    index: np.ndarray


@dataclass(frozen=True)
class Pairs:
    query: np.ndarray
    """Row numbers (the caller's) of the query side."""
    other: np.ndarray
    sim: np.ndarray


def window_pairs(
    queries: Side,
    candidates: Side,
    window: int,
    same_provider: float,
    *,
    upper: bool = False,
) -> Iterator[Pairs]:
    """Every (query, candidate) pair at most ``window`` seconds apart with a positive cosine,
    times ``same_provider`` when both have the same provider; a row is never paired with itself
    (same ``index``). ``upper``: only pairs whose candidate comes after the query (both sides the
    same rows: each pair once). Yields blocks of pairs, by query rows."""
    n_c = len(candidates.t)
    if not len(queries.t) or not n_c:
        return
    postings = _Postings(candidates)
    low = np.searchsorted(candidates.t, queries.t - window, "left")
    high = np.searchsorted(candidates.t, queries.t + window, "right")
    if upper:
        own = np.searchsorted(candidates.index, queries.index)  # both sides sorted alike
        low = np.maximum(low, own + 1)
    entry_rows = queries.vectors.row_ids()
    start = 0
    while start < len(queries.t):
        stop = _block_end(low, high, start)
        block = _block(queries, candidates, postings, entry_rows, (low, high), start, stop)
        if block is not None:
            factor = np.where(
                queries.provider[block[0]] == candidates.provider[block[1]], same_provider, 1.0
            )
            yield Pairs(queries.index[block[0]], candidates.index[block[1]], block[2] * factor)
        start = stop


class _Postings:
    """The candidate side's entries by (column, row): the rows of a term in a window are a
    slice found by ``searchsorted`` on ``column * rows + row``."""

    def __init__(self, side: Side) -> None:
        vectors = side.vectors
        assert vectors.weights is not None
        rows = vectors.row_ids()
        self.width = len(side.t)
        keys = vectors.values.astype(np.int64) * self.width + rows
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.rows = rows[order]
        self.weights = vectors.weights[order]


def _block_end(low: np.ndarray, high: np.ndarray, start: int) -> int:
    """The end of the block of query rows from ``start`` whose cells stay within the bound."""
    stop = start + 1
    step = 1
    while stop < len(low):
        candidate = min(len(low), stop + step)
        span = int(high[start:candidate].max()) - int(low[start:candidate].min())
        if (candidate - start) * max(span, 1) > BLOCK_CELLS:
            if step == 1:
                break
            step //= 2
            continue
        stop = candidate
        step *= 2
    return stop


def _block(
    queries: Side,
    candidates: Side,
    postings: _Postings,
    all_entry_rows: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    low, high = bounds
    base = int(low[start:stop].min())
    span = int(high[start:stop].max()) - base
    if span <= 0:
        return None
    vectors = queries.vectors
    assert vectors.weights is not None
    begin, end = int(vectors.ptr[start]), int(vectors.ptr[stop])
    entry_rows = all_entry_rows[begin:end]
    entry_cols = vectors.values[begin:end].astype(np.int64) * postings.width
    first = np.searchsorted(postings.keys, entry_cols + low[entry_rows])
    last = np.searchsorted(postings.keys, entry_cols + np.maximum(high, low)[entry_rows])
    counts = last - first
    sums = np.zeros((stop - start) * span, dtype=np.float64)
    cut = 0
    while cut < len(counts):  # bounded expansions
        reach = np.searchsorted(np.cumsum(counts[cut:]), BLOCK_MATCHES, "right")
        upto = cut + max(1, int(reach))
        lengths = counts[cut:upto]
        total = int(lengths.sum())
        if total:
            at = np.repeat(first[cut:upto] - _starts(lengths), lengths) + np.arange(total)
            cells = np.repeat((entry_rows[cut:upto] - start) * span, lengths)
            cells += postings.rows[at] - base
            products = np.repeat(vectors.weights[begin + cut : begin + upto], lengths)
            sums += np.bincount(cells, products * postings.weights[at], minlength=len(sums))
        cut = upto
    found = np.flatnonzero(sums > 0)
    query = found // span + start
    other = found % span + base
    keep = candidates.index[other] != queries.index[query]
    return query[keep], other[keep], sums[found[keep]]


def _starts(lengths: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def top_per_row(query: np.ndarray, other: np.ndarray, sim: np.ndarray, k: int) -> np.ndarray:
    """Positions of each query's ``k`` most similar pairs (ties: the smaller ``other``); pairs
    come sorted by (query, other), as ``window_pairs`` yields them."""
    if not len(query):
        return np.zeros(0, dtype=np.int64)
    order = _by_row_heaviest(query, sim)
    grouped = query[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return order[rank < k]


def smooth(
    x: Ragged,
    query: np.ndarray,
    other: np.ndarray,
    sim: np.ndarray,
    keep: int,
    rows: np.ndarray | None = None,
) -> Ragged:
    """y_i = x_i + Σ s_ij · x_j over the given pairs (i = ``query``), its ``keep`` heaviest
    entries kept, L2-normalised, for the ``rows`` asked (default: all, in order); computed
    ``SMOOTH_ROWS`` rows at a time (bounded memory). ``x`` rows are numbered as ``query`` and
    ``other``."""
    wanted = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64)
    place = np.full(len(x), -1, dtype=np.int64)
    place[wanted] = np.arange(len(wanted))
    mine = place[query] >= 0
    query, other, sim = place[query[mine]], other[mine], sim[mine]
    order = np.argsort(query, kind="stable")
    query, other, sim = query[order], other[order], sim[order]
    parts = []
    for start in range(0, max(len(wanted), 1), SMOOTH_ROWS):
        stop = min(len(wanted), start + SMOOTH_ROWS)
        low, high = np.searchsorted(query, [start, stop])
        part = x.take(wanted[start:stop])
        summed = _smooth_rows(part, query[low:high] - start, other[low:high], sim[low:high], x)
        parts.append(prune(summed, keep))
    return Ragged.concat(parts) if parts else x.take(wanted)


SMOOTH_ROWS = 5_000


def _smooth_rows(
    rows: Ragged, query: np.ndarray, other: np.ndarray, sim: np.ndarray, x: Ragged
) -> Ragged:
    assert rows.weights is not None
    linked = x.take(other)
    assert linked.weights is not None
    row = np.concatenate([rows.row_ids(), np.repeat(query, linked.lengths())])
    col = np.concatenate([rows.values, linked.values]).astype(np.int64)
    weight = np.concatenate([rows.weights, linked.weights * np.repeat(sim, linked.lengths())])
    width = int(col.max()) + 1 if len(col) else 1
    keys = row * width + col
    order = np.argsort(keys, kind="stable")
    keys, weight = keys[order], weight[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else keys[:0]
    summed = np.add.reduceat(weight, first) if len(first) else weight[:0]
    lengths = np.bincount(keys[first] // width, minlength=len(rows))
    return normalise(Ragged.of(lengths, (keys[first] % width).astype(np.uint32), summed))
