"""The dense side of a Whoosh request (``search.hybrid`` says what it means): each document's
vector as a row of one matrix, and the request's matches in hybrid and semantic mode.

``DenseIndex`` is built once per snapshot, on first use, from the vector state of the
snapshot's commit (``layout.derived_file(…, "vectors", TOC number)``): row = document number,
float16 (widened to float32 only for the rows scored); a document without a vector (none,
after a complete reindex) is never "near".

``combine`` turns the keyword evaluation into the mode's: the nearest documents come from
``search.nearest`` restricted to the visible ones that satisfy the query's exact clauses, and
the relevance order becomes ``Evaluation.order`` (a key per document), which the page and the
grouped page sort by, as they sort by score and tier in keyword mode.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from .. import hybrid, ranking, vectors
from ..contract import SearchRequest
from ..embedding.model import DIMENSIONS
from ..nearest import NearestIndex
from . import counts, layout, matching
from .snapshot import Snapshot


class DenseIndex:
    def __init__(self, snapshot: Snapshot) -> None:
        path = layout.derived_file(snapshot.folder, vectors.KIND, snapshot.toc_generation)
        state = vectors.load(path) or vectors.VectorState.empty()
        n = snapshot.doc_count
        matrix = np.zeros((n, DIMENSIONS), dtype=np.float16)  # as stored: half of float32
        docs = snapshot.doc_of_id.many(state.ids)
        known = docs >= 0
        matrix[docs[known]] = state.vectors[known]
        self.has = np.zeros(n, dtype=bool)
        self.has[docs[known]] = True
        self.index = NearestIndex(matrix)

    @property
    def nbytes(self) -> int:
        return self.index.nbytes + int(self.has.nbytes)


def dense_index(snapshot: Snapshot) -> DenseIndex:
    """The snapshot's vectors (built once per snapshot, on first use)."""
    return snapshot.derived("dense", lambda: DenseIndex(snapshot))


def combine(
    snapshot: Snapshot,
    request: SearchRequest,
    keyword: matching.Evaluation,
    plan: hybrid.DensePlan,
    query_vector: np.ndarray,
    visible: np.ndarray,
    filters: dict[str, np.ndarray],
    now: dt.datetime,
) -> counts.Matches:
    """The matches of ``request`` in its mode (hybrid or semantic)."""
    dense = dense_index(snapshot)
    allowed = visible & dense.has
    if plan.required is not None:
        allowed &= matching.evaluate(plan.required, snapshot).mask
    words = keyword.mask & visible
    semantic = request.mode == "semantic"
    depth = ranking.SEMANTIC_DEPTH if semantic else ranking.HYBRID_DENSE_DEPTH
    rows, sims = dense.index.search(query_vector, allowed, depth)
    near_rows = rows[sims >= ranking.SIMILARITY_FLOOR]
    n = snapshot.doc_count
    near = np.zeros(n, dtype=bool)
    near[near_rows] = True
    if semantic:
        cosine = np.zeros(n, dtype=np.float32)
        cosine[rows] = sims
        order = -cosine.astype(np.float64)
        evaluation = matching.Evaluation(near, cosine, None, True, order=order)
        return counts.Matches(
            evaluation, near, filters, _final(near, filters), _final(words, filters), "semantic"
        )
    base = words | near
    final = _final(base, filters)
    order = _fused_order(snapshot, request, keyword, final, near_rows, query_vector, now)
    score = np.where(keyword.mask, keyword.score, 0).astype(np.float32)
    # an article found by meaning matches in its own text; a keyword match only through
    # related titles still follows every own match (``Evaluation.own``)
    own = keyword.own | (near & ~keyword.mask) if keyword.own is not None else None
    evaluation = matching.Evaluation(keyword.mask | near, score, keyword.tier, True, own, order)
    return counts.Matches(evaluation, base, filters, final, final & keyword.mask, "hybrid")


def _fused_order(
    snapshot: Snapshot,
    request: SearchRequest,
    keyword: matching.Evaluation,
    final: np.ndarray,
    near_rows: np.ndarray,
    query_vector: np.ndarray,
    now: dt.datetime,
) -> np.ndarray:
    """One key per document: the fused head first (in its order), then the keyword order."""
    order = np.full(snapshot.doc_count, np.inf)
    matched = np.flatnonzero(final & keyword.mask)
    relevance = dataclasses.replace(request, sort="relevance")
    head_keyword = np.zeros(0, dtype=np.int64)
    head_scores = np.zeros(0)
    if len(matched) and keyword.scored:
        keys, scores = counts._sort_keys(snapshot, relevance, keyword, matched, now)
        order[matched] = keys[0]
        top = counts._ordered(keys, 0, ranking.HYBRID_KEYWORD_DEPTH)
        head_keyword, head_scores = matched[top], scores[top]
    elif len(matched):
        order[matched] = 0.0
    near = near_rows[final[near_rows]]
    candidates = hybrid.candidates(head_keyword, near)
    if not len(candidates):
        return order
    head = hybrid.fuse(
        head_keyword,
        head_scores,
        near,
        dense_cosine(snapshot, query_vector, candidates),
        snapshot.id_rank[candidates],
    )
    lowest = float(order[np.isfinite(order)].min()) if np.isfinite(order).any() else 0.0
    order[head] = lowest - len(head) - 1.0 + np.arange(len(head))
    return order


def dense_cosine(snapshot: Snapshot, query_vector: np.ndarray, docs: np.ndarray) -> np.ndarray:
    return dense_index(snapshot).index.similarity(query_vector, docs)


def _final(base: np.ndarray, filters: dict[str, np.ndarray]) -> np.ndarray:
    final = base
    for mask in filters.values():
        final = final & mask
    return final
