"""The story method: which articles tell the same news event (research: docs/research/stories.md,
§3–4; uci2014 B-cubed F1 0.857 at these defaults).

**Full run** (``cluster``), over the published articles in canonical order:

1. x = tf-idf of each article's terms (``features``; df and N over these articles), its
   ``x_terms`` heaviest kept.
2. s(i, j) = cos(x_i, x_j) for dated articles at most ``window_hours`` apart, × ``same_provider``
   when both come from one provider (one outlet's series and templates reuse wording without
   being one event); undated articles have no similarity.
3. y_i = x_i + Σ s(i, j) · x_j over its ``neighbours`` most similar articles (ties: the earlier),
   its ``y_terms`` heaviest kept; σ(i, j) = cos(y_i, y_j) × the provider factor in the window,
   0 below ``floor``. A ``related`` link between two articles sets their σ to ``related``.
4. Near-duplicates: pairs with s ≥ ``candidate`` whose word-3-shingle sets have a Jaccard of at
   least ``near_duplicate``, joined into groups (reprints are never split across stories).
5. Exact average linkage on σ from the near-duplicate groups, cut at ``theta``
   (``linkage.average_link``). A story's id is its earliest article's id.

``similarity`` is the one place σ is defined: an embedding term (issue 15) is added there.

Unpublished articles are never clustered: each is then attached (``incremental``) to the published
stories, so it gets a story but never changes one.

**Incremental** (``incremental.attach``), for articles added to a clustered archive, in canonical
order: x
with the frozen df of the last full run; candidates are the published dated articles in its window
(earlier additions included). The first candidate with s ≥ ``candidate`` (most similar first) that
is a near-duplicate gives its story and group. Otherwise y is smoothed over its neighbours among
the candidates, and it joins the story with the highest average σ over the story's published
articles (all of them, wherever they are in time) if that is at least ``theta`` (ties: the
smaller story id), or starts its own. Nothing else moves: stories never merge or split here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import linkage
from .table import Ragged, Table
from .vectors import (
    DocFrequencies,
    Pairs,
    Side,
    prune,
    smooth,
    tfidf,
    top_per_row,
    window_pairs,
)


@dataclass(frozen=True)
class Params:
    window_hours: int = 72
    same_provider: float = 0.25
    neighbours: int = 10
    floor: float = 0.10
    theta: float = 0.125
    x_terms: int = 12
    y_terms: int = 15
    related: float = 1.0
    near_duplicate: float = 0.8
    """Jaccard of word-3-shingle sets."""
    candidate: float = 0.125
    """s(i, j) from which a pair is checked for near-duplication."""
    full_after: float = 0.05
    """Articles added, changed or deleted incrementally, as a share of the archive, after which
    the next run clusters everything again (research: incremental drift stays small below 5%)."""
    full_after_minimum: int = 100
    """... and at least this many (a small archive is not reclustered for every article)."""

    def reclusters(self, changes: int, archive: int) -> bool:
        """Whether ``changes`` incremental changes since the last full story run call for one."""
        return changes > max(self.full_after * archive, self.full_after_minimum)

    @property
    def window(self) -> int:
        return self.window_hours * 3600


DEFAULTS = Params()


@dataclass(frozen=True)
class Clustered:
    table: Table
    """Every row with ``y``, ``story`` and ``group`` filled in."""
    df: DocFrequencies


def cluster(table: Table, params: Params = DEFAULTS) -> Clustered:
    """Cluster the published rows of ``table`` (canonical order); the others are left out (the
    caller attaches them: ``incremental.attach``)."""
    published = np.flatnonzero(table.published)
    rows = table.take(published)
    df = DocFrequencies.of(rows.terms)
    x = prune(tfidf(rows.terms, df), params.x_terms)
    x_cols = x
    dated = np.flatnonzero(rows.dated)
    first = lexical_pairs(rows, x_cols, dated, params)
    neighbours = first.neighbours
    y_cols = smooth(x_cols, neighbours.query, neighbours.other, neighbours.sim, params.y_terms)
    y_side = side_of(rows, y_cols, dated)
    sigma = collect(
        (p.query, p.other, p.sim) for p in similarity(y_side, y_side, params, upper=True)
    )
    a, b, s = _with_related(rows, sigma, params)
    groups = _near_duplicates(rows, first.candidates, params)
    labels = linkage.average_link(len(rows), a, b, s, groups, params.theta)
    ids = rows.ids
    clustered = rows.with_(
        x=x_cols,
        y=y_cols,
        story=[ids[label] for label in labels.tolist()],
        group=[ids[label] for label in groups.tolist()],
    )
    return Clustered(clustered, df)


def similarity(
    queries: Side, candidates: Side, params: Params, *, upper: bool = False
) -> list[Pairs]:
    """σ of every pair in the window at least ``floor`` (queries' and candidates' vectors are
    smoothed y). The one definition of story similarity: a second signal (an embedding cosine,
    issue 15) is mixed in here."""
    found = []
    for pairs in window_pairs(
        queries, candidates, params.window, params.same_provider, upper=upper
    ):
        keep = pairs.sim >= params.floor
        found.append(Pairs(pairs.query[keep], pairs.other[keep], pairs.sim[keep]))
    return found


@dataclass(frozen=True)
class _Lexical:
    neighbours: Pairs
    """Each query's most similar articles (s > 0)."""
    candidates: Pairs
    """Near-duplicate candidates: s ≥ ``candidate`` (each pair once, query first)."""


def lexical_pairs(
    rows: Table,
    x_cols: Ragged,
    queries: np.ndarray,
    params: Params,
    candidates: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> _Lexical:
    """s(i, j) of the query rows against the candidate rows (default: the queries themselves),
    reduced as it is computed to the neighbours and the near-duplicate candidates. ``allowed``:
    a pair (query, candidate) counts only where ``allowed(query) > candidate`` in row order, or
    the candidate is not new (incremental: an article sees only those before it)."""
    pool = queries if candidates is None else candidates
    neighbours, near = [], []
    for pairs in window_pairs(
        side_of(rows, x_cols, queries), side_of(rows, x_cols, pool), params.window,
        params.same_provider,
    ):  # fmt: skip
        if allowed is not None:
            keep = allowed[pairs.other] < allowed[pairs.query]
            pairs = Pairs(pairs.query[keep], pairs.other[keep], pairs.sim[keep])
        top = top_per_row(pairs.query, pairs.other, pairs.sim, params.neighbours)
        neighbours.append((pairs.query[top], pairs.other[top], pairs.sim[top]))
        close = pairs.sim >= params.candidate
        if candidates is None:
            close &= pairs.other > pairs.query
        near.append((pairs.query[close], pairs.other[close], pairs.sim[close]))
    return _Lexical(Pairs(*collect(neighbours)), Pairs(*collect(near)))


def side_of(rows: Table, vectors: Ragged, which: np.ndarray) -> Side:
    return Side(vectors.take(which), rows.t[which], rows.provider[which], which)


def collect(
    parts: object,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    found = list(parts)  # type: ignore[call-overload]
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    return (
        np.concatenate([part[0] for part in found]).astype(np.int64),
        np.concatenate([part[1] for part in found]).astype(np.int64),
        np.concatenate([part[2] for part in found]),
    )


def _with_related(
    rows: Table, sigma: tuple[np.ndarray, np.ndarray, np.ndarray], params: Params
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = related_pairs(rows)
    if not len(a) or not params.related:
        return sigma
    return (
        np.concatenate([sigma[0], a]),
        np.concatenate([sigma[1], b]),
        np.concatenate([sigma[2], np.full(len(a), params.related)]),
    )


def related_pairs(rows: Table) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), i < j, where one lists the other's URL among its ``related`` (a URL held
    by several rows resolves to the first)."""
    keys, first = np.unique(rows.url, return_index=True)
    links = rows.related.values
    where = np.minimum(np.searchsorted(keys, links), max(len(keys) - 1, 0))
    found = (keys[where] == links) & (links != 0) if len(keys) else np.zeros(0, dtype=bool)
    source = rows.related.row_ids()[found]
    target = first[where[found]]
    keep = source != target
    low = np.minimum(source[keep], target[keep])
    high = np.maximum(source[keep], target[keep])
    pairs = np.unique(low * len(rows) + high)
    return pairs // max(len(rows), 1), pairs % max(len(rows), 1)


def _near_duplicates(rows: Table, candidates: Pairs, params: Params) -> np.ndarray:
    """Each row's near-duplicate group (its smallest member)."""
    same = jaccard(rows, candidates.query, candidates.other) >= params.near_duplicate
    return linkage.components(len(rows), candidates.query[same], candidates.other[same])


def jaccard(rows: Table, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The Jaccard of the shingle sets of rows ``a[i]`` and ``b[i]``."""
    size_a = rows.shingles.lengths()[a].astype(np.float64)
    size_b = rows.shingles.lengths()[b].astype(np.float64)
    result = np.zeros(len(a))
    # |A ∩ B| ≤ min, |A ∪ B| ≥ max: pairs of very different sizes cannot reach 0.8
    check = np.flatnonzero(np.minimum(size_a, size_b) >= 0.5 * np.maximum(size_a, size_b))
    for start in range(0, len(check), 50_000):
        part = check[start : start + 50_000]
        left = rows.shingles.take(a[part])
        right = rows.shingles.take(b[part])
        pair = np.concatenate([left.row_ids(), right.row_ids()])
        values = np.concatenate([left.values, right.values]).astype(np.int64)
        union_keys = np.unique(pair * (1 << 32) + values)
        union = np.bincount(union_keys >> 32, minlength=len(part)).astype(np.float64)
        inter = size_a[part] + size_b[part] - union
        with np.errstate(invalid="ignore", divide="ignore"):
            result[part] = np.where(union > 0, inter / union, 0.0)
    return result
