"""Relevance: the searchable fields and their weights, BM25F, small bounded boosts. Pure numpy.

**BM25F** (one score per query term and document, summed over the query's terms)::

    tf~(t, d)  = Σ_f  w_f · tf_f(t, d) / (1 − b_f + b_f · len_f(d) / avglen_f)
    idf(t)     = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
    score(t,d) = idf(t) · tf~ · (k1 + 1) / (k1 + tf~)

``w_f`` are ``FIELD_WEIGHTS`` (title 1.5 > excerpt 1.4 > topics 1.3 > provider 1.2 >
body 1.0 > related titles 0.3); ``df`` counts documents having the term in any of the fields the
clause searches; ``len_f`` are Whoosh's stored (byte-quantised) field lengths; ``N`` counts every
document of the index. Knobs: ``K1`` and ``B`` below. An excerpt that the body starts with is
indexed in ``LEAD_FIELD`` instead of ``excerpt`` (plain words find its words in the body,
once; ``excerpt:`` searches it with the excerpt's weight and ``b``).

A prefix (``econom*``) scores as one term: the term-frequency part of a document's best
expansion times the idf of the documents having any expansion.

**Repeated words**: a word (or phrase) typed ``c`` times is scored once, times
``c ** REPEAT_EXPONENT`` (0.7): long questions repeat their topic, which should weigh more, but
not ``c`` times more.

**Coordination** (plain words): for up to ``STRICT_COORDINATION`` (3) distinct words — what
readers type — documents are ranked first by how many of the words they contain, so all-words
documents always come before some-words ones. A longer query (a pasted sentence, a question) is
ranked by the BM25F sum alone, with no tiers and no matched-share factor: the sum already
favours documents with more of the words, and a document with a query's two rare words should
not fall below one with three common ones. Such a query is also read as a sentence
(``query.is_natural_language``): joined words (``non-linear``) are separate words rather than
a phrase, and in all-caps text ``AND`` / ``OR`` / ``NOT`` are words rather than operators.
Measured on four test collections in ``bench/README.md`` ("Ranking quality").

**Boosts** (relevance sort only, applied to the BM25F sum)::

    final = bm25f × (1 + FRESHNESS · 2^(−age / HALF_LIFE) + QUALITY · q + HEAT · h)

``age`` is counted from the request's clock (future dates count as age 0; undated articles get
no freshness boost); ``q`` and ``h`` are the article's ``quality`` and ``heat`` as percentiles
of the index (0…1), so outliers cannot dominate. The boosts add at most
``FRESHNESS + QUALITY + HEAT`` = 14 %: they reorder near-equal matches (the newer and better one
first) but a strong old match keeps its place above a weak new one. Remaining ties: newer first,
then by id.
"""

from __future__ import annotations

import math

import numpy as np

# BM25F weight of each searchable field (title above excerpt above topics/provider above body
# above related titles). The Whoosh engine scores with these (its schema's field_boost mirrors
# them); the Typesense engine sends them as query_by_weights. An excerpt that repeats the body's
# lead is indexed in LEAD_FIELD, so it is not counted twice: with the double count gone, these
# rank best on the relevance collections (bench/README.md, "Ranking quality").
FIELD_WEIGHTS: dict[str, float] = {
    "title": 1.5,
    "excerpt": 1.4,
    "topics_text": 1.3,
    "provider_text": 1.2,
    "body": 1.0,
    "related_text": 0.3,
}
SEARCH_FIELDS = tuple(FIELD_WEIGHTS)
"""The fields plain words search."""
LEAD_FIELD = "lead"
"""Where the excerpt is indexed when the body starts with it (in news the excerpt is usually the
body's first sentences): plain words find those words in the body, so they are not counted
twice, while ``excerpt:`` searches this field beside ``excerpt`` and scores it as the excerpt."""
WORDS_FIELD = "title_words"
"""The title's every word, stop words kept and nothing stemmed (``analysis.all_words``): only
a query of stop words alone searches it (``query.parse``), scored as the title."""
TEXT_FIELDS = (*SEARCH_FIELDS, LEAD_FIELD, WORDS_FIELD)
"""Every BM25F-scored text field."""
OWN_FIELDS = tuple(field for field in TEXT_FIELDS if field != "related_text")
"""An article's own text: a hit matching only outside these (in its related coverage's titles)
ranks after every hit matching in them."""


K1 = 1.1
B: dict[str, float] = {
    "title": 1.0,
    "excerpt": 0.6,
    "topics_text": 0.3,
    "provider_text": 0.0,
    "body": 0.6,
    "related_text": 0.5,
}
FRESHNESS = 0.08
HALF_LIFE_SECONDS = 30 * 86_400
QUALITY = 0.04
HEAT = 0.02
STRICT_COORDINATION = 3
"""Up to this many distinct plain words, documents with more of them always rank first."""
REPEAT_EXPONENT = 0.7
"""A clause typed ``c`` times weighs ``c ** REPEAT_EXPONENT`` (not ``c``)."""

# Hybrid search (search.hybrid): chosen by leave-one-collection-out (bench/README.md)
HYBRID_KEYWORD_DEPTH = 200
"""The keyword list's first this many enter the fusion."""
HYBRID_DENSE_DEPTH = 50
"""The nearest this many articles (in meaning) join the keyword matches in hybrid mode."""
HYBRID_DENSE_WEIGHT = 0.7
"""The dense side's weight in the fused score (z-scores: 0.3 · keyword + 0.7 · dense)."""
SEMANTIC_DEPTH = 200
"""Semantic mode answers the nearest this many articles."""
SIMILARITY_FLOOR = 0.2
"""An article is "near" only with at least this cosine similarity to the query."""

FIELD_BITS = {field: 1 << index for index, field in enumerate(TEXT_FIELDS)}
"""One bit per text field (eight: they fit the ``uint8`` field bits of a clause vector)."""
OWN_BITS = sum(FIELD_BITS[field] for field in OWN_FIELDS)


_SCORED_AS = {LEAD_FIELD: "excerpt", WORDS_FIELD: "title"}


def field_weight(field: str) -> float:
    """``FIELD_WEIGHTS``; the lead-excerpt field weighs as the excerpt, the title's words as
    the title."""
    return FIELD_WEIGHTS[_SCORED_AS.get(field, field)]


def field_b(field: str) -> float:
    return B[_SCORED_AS.get(field, field)]


def bm25f(
    per_field: list[tuple[str, np.ndarray, np.ndarray]],
    lengths: dict[str, np.ndarray],
    averages: dict[str, float],
    doc_count: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(docs, scores, field bits)`` of one term from ``(field, docs, term frequencies)``.

    ``docs`` are sorted and unique; ``field bits`` has bit ``FIELD_BITS[f]`` set where the term
    occurs in field ``f``.
    """
    pseudo_tf = np.zeros(doc_count, dtype=np.float64)
    bits = np.zeros(doc_count, dtype=np.uint8)
    for field, docs, tf in per_field:
        if not len(docs):
            continue
        b = field_b(field)
        average = averages[field]
        if average > 0 and b > 0:
            norm = (1.0 - b) + b * (lengths[field][docs] / average)
        else:
            norm = 1.0
        # a document number appears once per field: plain fancy-index addition is exact
        pseudo_tf[docs] += field_weight(field) * tf / norm
        bits[docs] |= FIELD_BITS[field]
    docs = np.flatnonzero(bits).astype(np.int32)
    if not len(docs):
        return docs, np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.uint8)
    tf_tilde = pseudo_tf[docs]
    scores = idf(len(docs), doc_count) * tf_tilde * (K1 + 1.0) / (K1 + tf_tilde)
    return docs, scores.astype(np.float32), bits[docs]


def idf(df: int, doc_count: int) -> float:
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))


def boost_factors(
    dates: np.ndarray,
    missing_date: int,
    now_seconds: float,
    quality_rank: np.ndarray,
    heat_rank: np.ndarray,
) -> np.ndarray:
    """``1 + FRESHNESS·2^(−age/HALF_LIFE) + QUALITY·q + HEAT·h`` for the given documents."""
    dated = dates != missing_date
    age = np.maximum(now_seconds - dates.astype(np.float64), 0.0)
    freshness = np.where(dated, np.exp2(-age / HALF_LIFE_SECONDS), 0.0)
    return 1.0 + FRESHNESS * freshness + QUALITY * quality_rank + HEAT * heat_rank


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank among all values, 0…1 (ties share the lowest rank)."""
    count = len(values)
    if count < 2:
        return np.zeros(count, dtype=np.float32)
    ordered = np.sort(values)
    ranks = np.searchsorted(ordered, values, side="left")
    return (ranks / (count - 1)).astype(np.float32)
