"""Meaning as well as words: what the dense side of a query is, and how its list is fused with
the keyword list. Engine-neutral: an engine supplies the keyword list (documents and BM25F ×
boost scores, in its order), the dense candidates and exact cosines; this module decides.

**Modes** (``SearchRequest.mode``)::

    keyword   the keyword matches, ranked by BM25F (as before hybrid search)
    semantic  the SEMANTIC_DEPTH articles nearest the query in meaning, ranked by similarity
    hybrid    the keyword matches ∪ the HYBRID_DENSE_DEPTH nearest, fused (the default)

"Nearest" always means: among the visible articles that satisfy the query's exact clauses
(below), with a cosine similarity of at least ``ranking.SIMILARITY_FLOOR``. Filters (topic,
source, type, dates) then apply to every mode's matches alike, and facets, totals and pages are
counted on those matches, so they stay exact and consistent: a facet value's count is the total
that selecting it gives. ``total`` in semantic mode is the number of such nearest articles that
pass the filters (at most ``SEMANTIC_DEPTH``); in hybrid mode, keyword matches plus the nearest
ones that match no keyword clause, filtered.

**Operators keep their exact meaning** (``plan``). The query's top-level clauses are of two
kinds: *loose words* — plain unquoted words searched in every field, also inside parentheses
without an operator (``(oil gas) prices``: any of the words, as plain words are) — and *exact
clauses* — everything else: a quoted phrase, a field prefix (``title:oil``), a prefix
(``econom*``), a group with ``AND`` / ``OR`` or holding an exact clause, and every exclusion
(``-word``, ``NOT x``). The
keyword side is unchanged. An article found by meaning alone must satisfy every exact clause: it
contains every phrase, matches every field-prefixed or grouped clause, and none of the excluded
words. So semantic matching never brings back an excluded word or a broken phrase; for a query
of exact clauses only (``"central bank"``, ``oil AND gas``) the dense side can only re-rank
keyword matches. The text embedded is the query as typed without its operators, field names and
excluded parts (its stop words stay). A query with nothing to embed (only exclusions, or empty)
is answered as in keyword mode.

**Fusion** (``fuse``, the "union" method, chosen by leave-one-collection-out in
bench/README.md)::

    K = the keyword list's first HYBRID_KEYWORD_DEPTH        (its scores s)
    D = the HYBRID_DENSE_DEPTH nearest that pass the filters
    C = K ∪ D;  kz = z-score of s over K (an article outside K takes min kz)
    dz = z-score of the exact cosine over C
    fused = (1 − w)·kz + w·dz,  w = HYBRID_DENSE_WEIGHT;  C sorted by fused
    then the rest of the keyword list, in its order.

The keyword list's strict coordination tiers order K but do not enter ``s`` (measured so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import query, ranking
from .query import Node


@dataclass(frozen=True)
class DensePlan:
    text: str
    """What is embedded ("": no dense side)."""
    required: Node | None
    """What an article found by meaning alone must satisfy (None: nothing)."""
    exact_only: bool = False
    """Every clause of the query is exact: ``required`` is the whole query, and the dense side
    can only re-rank keyword matches."""


def plan(root: Node | None, typed: str) -> DensePlan:
    """The dense side of a query: ``root`` parsed from the ``typed`` text (see the module
    docstring). The text embedded is the typed one less its operators and excluded parts
    (``query.positive_text``): stop words stay, as the model was trained with them."""
    if root is None or not any(True for _ in query.positive_leaves(root)):
        return DensePlan("", None)
    clauses = root.children if isinstance(root, query.Soft) else (root,)
    required = tuple(clause for clause in clauses if not _loose(clause))
    text = query.positive_text(typed)
    if not required:
        return DensePlan(text, None)
    node = required[0] if len(required) == 1 else query.All(required)
    return DensePlan(text, node, exact_only=len(required) == len(clauses))


def _loose(clause: Node) -> bool:
    if isinstance(clause, query.Soft):  # (a b): any of the words, as plain words are
        return all(_loose(child) for child in clause.children)
    return (
        isinstance(clause, query.Words)
        and not clause.quoted
        and clause.fields == ranking.SEARCH_FIELDS
    )


def fuse(
    keyword: np.ndarray,
    keyword_scores: np.ndarray,
    dense: np.ndarray,
    cosine: np.ndarray,
    tiebreak: np.ndarray,
    weight: float = ranking.HYBRID_DENSE_WEIGHT,
) -> np.ndarray:
    """The fused head: ``keyword`` (K, in keyword order, with ``keyword_scores``) ∪ ``dense``
    (D), sorted by fused score. ``cosine`` and ``tiebreak`` are given for the candidates in the
    order ``keyword`` then the members of ``dense`` not in ``keyword`` (``candidates``)."""
    kz = _zscore(keyword_scores.astype(np.float64))
    floor = float(kz.min()) if len(kz) else 0.0
    extra = len(cosine) - len(keyword)
    kz = np.concatenate([kz, np.full(extra, floor)])
    fused = (1.0 - weight) * kz + weight * _zscore(cosine.astype(np.float64))
    order = np.lexsort((tiebreak, -fused))
    return candidates(keyword, dense)[order]


def candidates(keyword: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """K then the members of D not in K (the order ``fuse`` expects its inputs in)."""
    return np.concatenate([keyword, dense[~np.isin(dense, keyword)]]).astype(np.int64)


def _zscore(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return values
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)
