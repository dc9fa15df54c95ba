"""Incremental story assignment: articles added to a clustered archive join a story or start one
(the method is described in ``method``; research: docs/research/stories.md §4).

Only the rows that can matter are looked at: the published articles within the window of an
added one, and those a ``related`` link joins to one. So a run that adds a handful of articles to
a million costs a handful of windows, plus a count of each story's published articles.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .method import DEFAULTS, Params, collect, jaccard, lexical_pairs, related_pairs, side_of
from .method import similarity as story_similarity
from .table import Ragged, Table, concat
from .vectors import DocFrequencies, prune, smooth, tfidf


def attach(known: Table, added: Table, df: DocFrequencies, params: Params = DEFAULTS) -> Table:
    """Stories for ``added`` rows against ``known`` rows (with stories): published ones first,
    each seeing those before it (canonical order) and counting in the story it joins, then
    unpublished ones, each seeing every published one and counting nowhere. The added rows
    come back (in canonical order) with ``x``, ``y``, ``story`` and ``group``."""
    shown = known.published.tolist()
    sizes = Counter(name for name, visible in zip(known.story, shown, strict=True) if visible)
    taken = set(known.story)
    relevant = known.take(np.flatnonzero(_relevant(known, added, params)))
    added = added.with_(x=prune(tfidf(added.terms, df), params.x_terms))
    rows = concat([relevant, added]).sorted()
    where = {row_id: index for index, row_id in enumerate(rows.ids)}
    new_rows = np.array(sorted(where[row_id] for row_id in added.ids), dtype=np.int64)
    is_new = np.zeros(len(rows), dtype=bool)
    is_new[new_rows] = True
    # a pair (q, o) counts where rank[o] < rank[q]: known rows are seen by every new row; a new
    # published row by the new rows after it; a new unpublished row by none
    hidden = is_new & ~rows.published
    rank = np.where(is_new, np.arange(len(rows)), -1)
    rank[hidden] = len(rows)
    assert rows.x is not None
    x = rows.x
    dated_new = new_rows[rows.dated[new_rows]]
    pool = np.flatnonzero(rows.dated & (rank < len(rows)))
    lexical = lexical_pairs(rows, x, dated_new, params, pool, rank)
    nb = lexical.neighbours
    y_new = smooth(x, nb.query, nb.other, nb.sim, params.y_terms, new_rows)
    y = _y_columns(rows, is_new, y_new)
    sigma = collect(
        (p.query, p.other, p.sim)
        for p in story_similarity(side_of(rows, y, dated_new), side_of(rows, y, pool), params)
    )
    similar = _by_query(*sigma)
    for i, j in zip(*related_pairs(rows), strict=True):
        for q, o in ((int(i), int(j)), (int(j), int(i))):
            if is_new[q] and rank[o] < rank[q]:
                similar.setdefault(q, {})[o] = max(similar.get(q, {}).get(o, 0.0), params.related)
    candidates = lexical.candidates
    near = _by_query(candidates.query, candidates.other, candidates.sim)
    story, group = list(rows.story), list(rows.group)
    order = sorted(new_rows.tolist(), key=lambda q: (bool(hidden[q]), q))
    for q in order:  # the published ones first: an unpublished one joins but counts nowhere
        joined = _near_duplicate_of(rows, q, near.get(q, {}), params)
        if joined is not None:
            story[q], group[q] = story[joined], group[joined]
        else:
            group[q] = rows.ids[q]
            story[q] = _best_story(similar.get(q, {}), story, sizes, params.theta)
            story[q] = story[q] or _fresh_id(rows.ids[q], taken)
        taken.add(story[q])
        if not hidden[q]:
            sizes[story[q]] += 1
    picked = new_rows.tolist()
    return rows.take(new_rows).with_(
        y=y.take(new_rows),
        story=[story[i] for i in picked],
        group=[group[i] for i in picked],
    )


def _relevant(part: Table, new: Table, params: Params) -> np.ndarray:
    """The published rows of ``part`` that a new row can meet: in the window of a dated new row,
    or joined to one by a ``related`` link (either way)."""
    moments = np.sort(new.t[new.dated])
    near = np.zeros(len(part), dtype=bool)
    if len(moments):
        after = np.minimum(np.searchsorted(moments, part.t), len(moments) - 1)
        before = np.maximum(after - 1, 0)
        gap = np.minimum(np.abs(moments[after] - part.t), np.abs(moments[before] - part.t))
        near = part.dated & (gap <= params.window)
    linked = np.isin(part.url, new.related.values[new.related.values != 0])
    reverse = np.isin(part.related.values, new.url[new.url != 0])
    linked[part.related.row_ids()[reverse]] = True
    relevant: np.ndarray = part.published & (near | linked)
    return relevant


def _y_columns(rows: Table, is_new: np.ndarray, y_new: Ragged) -> Ragged:
    """Every row's y: as stored for known rows, just computed for new ones."""
    old_rows = np.flatnonzero(~is_new)
    new_rows = np.flatnonzero(is_new)
    if rows.y is not None and len(old_rows):
        old = rows.y.take(old_rows)
    else:
        old = Ragged.empty(len(old_rows), np.int64, weighted=True)
    order = np.argsort(np.concatenate([old_rows, new_rows]), kind="stable")
    return Ragged.concat([old, y_new]).take(order)


def _by_query(query: np.ndarray, other: np.ndarray, sim: np.ndarray) -> dict[int, dict[int, float]]:
    found: dict[int, dict[int, float]] = {}
    for q, o, s in zip(query.tolist(), other.tolist(), sim.tolist(), strict=True):
        found.setdefault(q, {})[o] = s
    return found


def _near_duplicate_of(rows: Table, q: int, near: dict[int, float], params: Params) -> int | None:
    """The most similar candidate that is a near-duplicate (ties: the earlier)."""
    order = sorted(near, key=lambda o: (-near[o], o))
    if not order:
        return None
    scores = jaccard(rows, np.full(len(order), q), np.array(order, dtype=np.int64))
    for other, score in zip(order, scores.tolist(), strict=True):
        if score >= params.near_duplicate:
            return other
    return None


def _best_story(
    similar: dict[int, float], story: list[str], sizes: Counter[str], theta: float
) -> str:
    """The story of highest average σ over its published articles, if at least ``theta``
    (ties: the smaller id); "" when none."""
    totals: dict[str, float] = {}
    for other, value in similar.items():
        totals[story[other]] = totals.get(story[other], 0.0) + value
    best, best_value = "", -1.0
    for name in sorted(totals):
        average = totals[name] / max(sizes[name], 1)
        if average > best_value:
            best, best_value = name, average
    return best if best_value >= theta else ""


def _fresh_id(article_id: str, taken: set[str]) -> str:
    """The article's id, or (when a story kept that id after its first article left) the id
    with ``~2``, ``~3``…"""
    if article_id not in taken:
        return article_id
    number = 2
    while f"{article_id}~{number}" in taken:
        number += 1
    return f"{article_id}~{number}"
