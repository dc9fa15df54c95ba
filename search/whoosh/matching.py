"""Evaluate a parsed query over a snapshot: dense boolean and score arrays, one per clause.

Every clause becomes ``(mask, score)`` over all ``N`` documents (deleted and unpublished ones
included: visibility is applied once, by the engine, afterwards):

- a word, phrase or prefix: its ``ClauseVector`` scattered into the arrays;
- ``NOT x``: the complement of ``x``, scoring nothing;
- ``a AND b``: intersection, scores added where both match; ``a OR b``: union, scores added;
- juxtaposed clauses (``Soft``): the union of the positive clauses minus every negated one,
  scores added; a clause typed ``c`` times (the same words, the same fields) is evaluated once
  and weighs ``c ** ranking.REPEAT_EXPONENT``; at the top of the query, up to
  ``ranking.STRICT_COORDINATION`` distinct clauses, the number of them a document matches is
  returned as its ``tier`` (ranked before the score); longer or nested: the plain sum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import query, ranking
from .snapshot import ClauseVector, Snapshot


@dataclass(frozen=True)
class Evaluation:
    mask: np.ndarray
    score: np.ndarray
    tier: np.ndarray | None
    """Matched top-level clauses per document (strict coordination), or None."""
    scored: bool
    """False when no clause contributes a score (only negations)."""
    own: np.ndarray | None = None
    """Documents a positive clause matches in their own text (``ranking.OWN_FIELDS``); the
    others match only through related titles and rank after them. None: no positive clause."""
    order: np.ndarray | None = None
    """A sort key per document that replaces score and tier in relevance order (hybrid and
    semantic modes: ``dense.combine``); None in keyword mode."""


def evaluate(root: query.Node | None, snapshot: Snapshot) -> Evaluation:
    n = snapshot.doc_count
    if root is None:
        return Evaluation(np.zeros(n, dtype=bool), np.zeros(n, dtype=np.float32), None, False)
    own = own_matches(root, snapshot)
    scored = own is not None
    if isinstance(root, query.Soft):
        mask, score, tier = _soft(root, snapshot, top=True)
        return Evaluation(mask, score, tier, scored, own)
    mask, score = _evaluate(root, snapshot)
    return Evaluation(mask, score, None, scored, own)


def own_matches(root: query.Node, snapshot: Snapshot) -> np.ndarray | None:
    """The documents where a positive clause matches outside the related titles (from the
    clauses' field bits), or None when the query has no positive clause."""
    leaves = list(query.positive_leaves(root))
    if not leaves:
        return None
    own = np.zeros(snapshot.doc_count, dtype=bool)
    for leaf in leaves:
        vector = clause_vector(leaf, snapshot)
        own[vector.docs[(vector.matched_bits & ranking.OWN_BITS) != 0]] = True
    return own


def clause_vector(leaf: query.Words | query.Prefix, snapshot: Snapshot) -> ClauseVector:
    if isinstance(leaf, query.Words):
        return snapshot.words(leaf.stems, leaf.fields)
    return snapshot.prefix(leaf.prefix, leaf.fields)


def _evaluate(node: query.Node, snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    n = snapshot.doc_count
    if isinstance(node, query.Words | query.Prefix):
        return _scatter(clause_vector(node, snapshot), n)
    if isinstance(node, query.Not):
        mask, _ = _evaluate(node.child, snapshot)
        return ~mask, np.zeros(n, dtype=np.float32)
    if isinstance(node, query.Soft):
        mask, score, _ = _soft(node, snapshot, top=False)
        return mask, score
    parts = [_evaluate(child, snapshot) for child in node.children]
    combine = np.logical_and if isinstance(node, query.All) else np.logical_or
    mask = parts[0][0].copy()
    score = parts[0][1].copy()
    for child_mask, child_score in parts[1:]:
        combine(mask, child_mask, out=mask)
        score += child_score
    score[~mask] = 0  # a AND b: a document with only a gets no score from this clause
    return mask, score


def _soft(
    node: query.Soft, snapshot: Snapshot, top: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    n = snapshot.doc_count
    positives: dict[object, tuple[query.Node, int]] = {}
    for child in node.children:
        if not isinstance(child, query.Not):
            key = query.clause_key(child)
            first, count = positives.get(key, (child, 0))
            positives[key] = (first, count + 1)
    negatives = [child.child for child in node.children if isinstance(child, query.Not)]
    mask = np.zeros(n, dtype=bool)
    score = np.zeros(n, dtype=np.float32)
    matched = np.zeros(n, dtype=np.uint8)
    for child, count in positives.values():
        child_mask, child_score = _evaluate(child, snapshot)
        mask |= child_mask
        if count > 1:
            child_score = child_score * np.float32(count**ranking.REPEAT_EXPONENT)
        score += child_score
        matched += child_mask
    if not positives:
        mask[:] = True
    for negated in negatives:
        child_mask, _ = _evaluate(negated, snapshot)
        mask &= ~child_mask
    tier = None
    if top and positives and len(positives) <= ranking.STRICT_COORDINATION:
        tier = matched
    return mask, score, tier


def _scatter(vector: ClauseVector, n: int) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros(n, dtype=bool)
    score = np.zeros(n, dtype=np.float32)
    mask[vector.docs] = True
    score[vector.docs] = vector.scores
    return mask, score


def to_whoosh(node: query.Node | None, expand: Callable[[query.Prefix], Sequence[str]]) -> object:
    """The same query as ``whoosh.query`` objects (``expand`` gives a prefix's terms).

    The engine does not run these: they let tests compare its matching with Whoosh's own.
    """
    from whoosh import query as wq

    def convert(item: query.Node) -> wq.Query:
        if isinstance(item, query.Words):
            if len(item.stems) == 1:
                return wq.Or([wq.Term(f, item.stems[0]) for f in item.fields])
            return wq.Or([wq.Phrase(f, list(item.stems)) for f in item.fields])
        if isinstance(item, query.Prefix):
            terms = expand(item)
            if not terms:
                return wq.NullQuery
            return wq.Or([wq.Term(f, t) for f in item.fields for t in terms])
        if isinstance(item, query.Not):
            return wq.Not(convert(item.child))
        if isinstance(item, query.All):
            return wq.And([convert(c) for c in item.children])
        if isinstance(item, query.Any):
            return wq.Or([convert(c) for c in item.children])
        positives = [convert(c) for c in item.children if not isinstance(c, query.Not)]
        negatives = [wq.Not(convert(c.child)) for c in item.children if isinstance(c, query.Not)]
        if not negatives:
            return wq.Or(positives)
        # not AndNot: Whoosh's AndNot matcher can keep documents the excluded part matches
        return wq.And(([wq.Or(positives)] if positives else []) + negatives)

    if node is None:
        return wq.NullQuery
    return convert(node)
