"""Grouping items by their pairs: connected components (near-duplicates) and exact average-linkage
clustering cut at a threshold (stories). Items are numbered 0…n−1 in canonical order; every group
is labelled by its smallest member, so labels do not depend on the order pairs are given in.
"""

from __future__ import annotations

import numpy as np


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest member of each item's connected component over the edges ``a[i]–b[i]``."""
    label = np.arange(n, dtype=np.int64)
    if not len(a):
        return label
    while True:
        low = np.minimum(label[a], label[b])
        updated = label.copy()
        np.minimum.at(updated, a, low)
        np.minimum.at(updated, b, low)
        while True:  # pointer jumping: each label to its label's label
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, label):
            return label
        label = updated


def average_link(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    sim: np.ndarray,
    groups: np.ndarray,
    theta: float,
) -> np.ndarray:
    """Exact average linkage cut at ``theta``, starting from ``groups`` (each item's group label):
    clusters merge while the average similarity of their item pairs (a missing pair counts 0) is
    at least ``theta``. Returns each item's cluster label (its smallest member).

    Runs as rounds of reciprocal-nearest-neighbour merges over the sparse cluster × cluster sums,
    which is exact because average linkage is reducible; ties go to the neighbour with the
    smaller label. A cluster whose best average is below ``theta`` can never merge again (its
    average to a union is a size-weighted mean of its averages to the parts), so it is retired
    with its pairs, which keeps the rounds cheap."""
    reps, start = np.unique(groups, return_inverse=True)
    size: np.ndarray = np.bincount(start).astype(np.float64)
    rows, cols, sums = _sum_pairs(start[a], start[b], sim, len(reps))
    final = reps.copy()
    owner = np.arange(len(reps))
    """Each starting cluster's current cluster (−1 once retired)."""
    while len(rows):
        count = len(reps)
        average = sums / (size[rows] * size[cols])
        order = np.lexsort((cols, -average, rows))
        first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
        best = np.full(count, -1)
        value = np.full(count, -np.inf)
        best[rows[first]] = cols[first]
        value[rows[first]] = average[first]
        index = np.arange(count)
        ok = value >= theta
        partner = np.where(best >= 0, best, 0)
        mutual = ok & (best[partner] == index) & (index < partner)
        if not mutual.any():
            break
        target = index.copy()
        target[best[mutual]] = index[mutual]
        absorbed = np.zeros(count, dtype=bool)
        absorbed[best[mutual]] = True
        alive = ~absorbed & ok
        renumber = np.cumsum(alive) - 1
        live = owner >= 0
        owner[live] = target[owner[live]]
        retired = live & ~alive[np.maximum(owner, 0)]
        final[retired] = reps[owner[retired]]
        owner[retired] = -1
        still = owner >= 0
        owner[still] = renumber[owner[still]]
        size = np.bincount(target, weights=size, minlength=count)[alive]
        rows, cols = target[rows], target[cols]
        keep = (rows != cols) & alive[rows] & alive[cols]
        rows, cols, sums = _sum_pairs(renumber[rows[keep]], renumber[cols[keep]], sums[keep], None)
        reps = reps[alive]
    live = owner >= 0
    final[live] = reps[owner[live]]
    return final[start]


def _sum_pairs(
    a: np.ndarray, b: np.ndarray, sim: np.ndarray, n: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric (row, col, sum) entries: pairs summed, self-pairs dropped, both directions
    present once ``n`` is given (first call: ``a``/``b`` are one direction)."""
    if n is not None:
        keep = a != b
        a, b, sim = a[keep], b[keep], sim[keep]
        a, b = np.concatenate([a, b]), np.concatenate([b, a])
        sim = np.concatenate([sim, sim])
    if not len(a):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    width = int(max(a.max(), b.max())) + 1
    keys = a.astype(np.int64) * width + b
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sums = np.add.reduceat(sim[order], first)
    return keys[first] // width, keys[first] % width, sums
