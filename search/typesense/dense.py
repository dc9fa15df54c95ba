"""Meaning on Typesense: hybrid and semantic mode (``search.hybrid`` says what they mean), and
more-like-this by vectors.

Each document holds its article's vector (``embedding``, the same vectors as the Whoosh index:
``search.vectors``). Typesense 0.24 answers a ``vector_query`` (its HNSW index) only with
``q=*``, and has no hybrid search, so the modes are put together here, with the engine-neutral
parts shared with Whoosh:

1. **The nearest** (``nearest``): the visible articles that satisfy the query's exact clauses,
   ``depth`` of them by exact cosine (``search.nearest.cosines`` on the vectors the documents
   return: the same arithmetic, so the same numbers, as on Whoosh). Typesense is asked for
   ``depth + RESCORE_MARGIN`` candidates by its own distance, which the exact cosines then cut
   to ``depth``. With exact clauses (a phrase, ``-word``…) the allowed articles are the matches
   of a text search: when they are few (``ENUMERATE``) all their vectors are read and scored;
   otherwise the vector query is deepened until enough of its candidates pass the clauses.
2. **Semantic mode**: the set is those nearest (an ``id`` filter), so ``batch.SearchBatch``
   counts total, facets, histogram and ranges over it with the request's filters, exactly as in
   keyword mode; the relevance order is the cosine's.
3. **Hybrid mode**: the keyword list's first ``HYBRID_KEYWORD_DEPTH`` (Typesense's order and
   ``text_match`` scores, the request's filters applied) and the nearest that pass the filters
   are fused by ``search.hybrid.fuse``; the rest of the keyword list follows. The nearest that
   match no keyword clause are added to every count (``SearchBatch(union=…)``).

Where the engines may differ, and why: the keyword side's scores (BM25F × boosts on Whoosh,
``text_match`` here), hence the fused order; and the nearest when Typesense's HNSW search misses
a neighbour outside the margin (exact on Whoosh up to 20,000 articles, an 8-bit scan beyond).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .. import highlight, hybrid, ranking
from .. import query as ql
from ..contract import Hit, SearchRequest
from ..nearest import RESCORE_MARGIN, best, cosines
from .batch import (
    NOTHING,
    PAGE_LIMIT,
    SORTS,
    Answer,
    Filters,
    SearchBatch,
    base_filter,
    hit,
    join,
)
from .documents import EMBEDDING, PACKED, STRIP_FIELDS, article_of, unpacked
from .plan import TextPlan, plan_query

ENUMERATE = 1_000
"""Articles satisfying the exact clauses up to which all their vectors are read and scored."""
DEEPEN = 1.5
"""With more, the vector query asks this many times the candidates the clauses' share needs."""
VECTOR_FIELDS = f"id,{PACKED}"


class _Multi(Protocol):
    def multi(
        self, searches: list[dict[str, Any]], include_unpublished: bool
    ) -> list[dict[str, Any]]: ...


@dataclasses.dataclass(frozen=True)
class Near:
    """The nearest articles, best first, with their exact cosines and vectors."""

    ids: list[str]
    cosines: np.ndarray
    vectors: np.ndarray

    def within(self, floor: float) -> Near:
        keep = self.cosines >= floor
        return Near(
            [i for i, k in zip(self.ids, keep, strict=True) if k],
            self.cosines[keep],
            self.vectors[keep],
        )


def ids_filter(ids: Sequence[str]) -> str:
    """Exactly these articles (a filter matching nothing when there is none)."""
    if not ids:
        return NOTHING
    return "id:[" + ",".join(f"`{article_id}`" for article_id in ids) + "]"


def _vectors(hits: list[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    ids = [str(item["document"]["id"]) for item in hits]
    rows = [unpacked(item["document"].get(PACKED, "")) for item in hits]
    matrix = np.array(rows, dtype=np.float32).reshape(len(ids), -1) if ids else np.zeros((0, 0))
    return ids, matrix


def _pages(search: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``search`` for its first ``count`` hits, in pages of ``PAGE_LIMIT``."""
    pages = max(1, math.ceil(count / PAGE_LIMIT))
    return [
        {**search, "per_page": min(PAGE_LIMIT, count), "page": page} for page in range(1, pages + 1)
    ]


def _hits(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for response in responses for item in response.get("hits", [])]


def vector_search(
    engine: _Multi, vector: np.ndarray, k: int, filters: list[str], include: bool
) -> list[dict[str, Any]]:
    """Typesense's ``k`` nearest (by its HNSW index) among ``filters``, with their vectors."""
    values = ",".join(f"{float(x):.8g}" for x in vector)
    search = {
        "q": "*",
        "vector_query": f"{EMBEDDING}:([{values}], k:{k})",
        "filter_by": join(filters),
        "include_fields": VECTOR_FIELDS,
    }
    return _hits(engine.multi(_pages(search, k), include))[:k]


def nearest(
    engine: _Multi,
    vector: np.ndarray,
    depth: int,
    include: bool,
    allowed: SearchBatch | None = None,
) -> Near:
    """The ``depth`` visible articles nearest ``vector`` by exact cosine (ties by id) among
    those matching ``allowed``'s plan (any when None)."""
    base = base_filter(include)
    if allowed is None:
        hits = vector_search(engine, vector, depth + RESCORE_MARGIN, base, include)
    else:
        hits = _allowed_nearest(engine, vector, depth, include, allowed, base)
    ids, matrix = _vectors(hits)
    if not ids:
        return Near([], np.zeros(0, np.float32), np.zeros((0, len(vector)), np.float32))
    order = sorted(range(len(ids)), key=ids.__getitem__)  # ties by id
    ids, matrix = [ids[i] for i in order], matrix[order]
    rows, sims = best(np.arange(len(ids)), cosines(matrix, vector), depth)
    return Near([ids[r] for r in rows.tolist()], sims, matrix[rows])


def _allowed_nearest(
    engine: _Multi,
    vector: np.ndarray,
    depth: int,
    include: bool,
    allowed: SearchBatch,
    base: list[str],
) -> list[dict[str, Any]]:
    matching = allowed.count_params(base)
    everything = {"q": "*", "filter_by": join(base), "per_page": 0}
    counted = engine.multi([{**matching, "per_page": 0}, everything], include)
    count, total = (int(response.get("found", 0)) for response in counted)
    if count == 0:
        return []
    if count <= ENUMERATE:  # all of them, with their vectors
        search = {**matching, "include_fields": VECTOR_FIELDS}
        return _hits(engine.multi(_pages(search, count), include))
    wanted = depth + RESCORE_MARGIN
    k = min(total, math.ceil(wanted * total / count * DEEPEN))
    while True:
        hits = vector_search(engine, vector, k, base, include)
        ids = [str(item["document"]["id"]) for item in hits]
        check = {**matching, "filter_by": join([matching["filter_by"], ids_filter(ids)])}
        check["include_fields"] = "id"
        passing = {
            str(item["document"]["id"])
            for item in _hits(engine.multi(_pages(check, len(ids)), include))
        }
        kept = [item for item in hits if str(item["document"]["id"]) in passing]
        if len(kept) >= wanted or len(hits) < k or k >= total:
            return kept
        k = min(total, k * 2)


def allowed_batch(
    engine: _Multi, request: SearchRequest, plan: TextPlan, dense_plan: hybrid.DensePlan
) -> SearchBatch | None:
    """What an article found by meaning alone must match on Typesense (None: anything)."""
    if dense_plan.required is None:
        return None
    if dense_plan.exact_only:
        required = plan
    else:
        node = dense_plan.required
        clauses = node.children if isinstance(node, ql.All) else (node,)
        if all(isinstance(clause, ql.Not) for clause in clauses):
            node = ql.Soft(tuple(clauses))
        required = plan_query(node) or TextPlan()
    return SearchBatch(engine, request, required, Filters({}))


# -- the modes -----------------------------------------------------------------------------------


def answer(
    engine: _Multi,
    request: SearchRequest,
    plan: TextPlan,
    meaning: hybrid.DensePlan,
    filters: Filters,
    vector: np.ndarray,
) -> Answered:
    """The request in its mode (hybrid or semantic), ``meaning`` its dense side."""
    allowed = allowed_batch(engine, request, plan, meaning)
    if request.mode == "semantic":
        near = nearest(engine, vector, ranking.SEMANTIC_DEPTH, request.include_unpublished, allowed)
        return semantic(engine, request, plan, filters, near)
    near = nearest(engine, vector, ranking.HYBRID_DENSE_DEPTH, request.include_unpublished, allowed)
    return fused(engine, request, plan, filters, near, vector)


def similar(engine: _Multi, document: dict[str, Any], limit: int, include: bool) -> list[Hit]:
    """More like this: the visible articles nearest ``document``'s vector (at least
    ``ranking.SIMILARITY_FLOOR``), itself excluded, best first."""
    vector = unpacked(document.get(PACKED, ""))
    if not len(vector):
        return []
    near = nearest(engine, vector, limit + 1, include).within(ranking.SIMILARITY_FLOOR)
    pairs = [
        (i, c) for i, c in zip(near.ids, near.cosines.tolist(), strict=True) if i != document["id"]
    ][:limit]
    if not pairs:
        return []
    search = {
        "q": "*",
        "filter_by": ids_filter([i for i, _ in pairs]),
        "exclude_fields": STRIP_FIELDS,
        "per_page": len(pairs),
    }
    (response,) = engine.multi([search], include)
    by_id = {str(item["document"]["id"]): item["document"] for item in response.get("hits", [])}
    plain = highlight.marks(None)  # as on Whoosh: similar articles are not marked
    return [plain.hit(article_of(by_id[i]), c, "") for i, c in pairs if i in by_id]


@dataclasses.dataclass(frozen=True)
class Answered:
    answer: Answer
    keyword_total: int
    """Keyword matches with the filters (did-you-mean judges words by them)."""


def semantic(
    engine: _Multi,
    request: SearchRequest,
    plan: TextPlan,
    filters: Filters,
    near: Near,
) -> Answered:
    near = near.within(ranking.SIMILARITY_FLOOR)
    chosen = dataclasses.replace(
        plan,
        q="*",
        filters=[ids_filter(near.ids)],
        orders=[],
        exclusions=[],
        any_word=False,
        prefix=False,
    )
    relevance = request.sort == "relevance"
    window = (1, 0) if relevance else (request.page, request.per_page)
    batch = SearchBatch(engine, request, chosen, filters, hits=window)
    words = SearchBatch(engine, request, plan, filters).count_params(filters.all())
    words_index = batch.add({**words, "per_page": 0})
    if relevance:
        members = batch.add(
            {
                "q": "*",
                "filter_by": batch.filter_for(filters.all()),
                "include_fields": "id,published_at,dated",
                "per_page": PAGE_LIMIT,
            }
        )
    answer = batch.run()
    keyword_total = int(batch.responses[words_index].get("found", 0))
    if relevance:
        cos = dict(zip(near.ids, near.cosines.tolist(), strict=True))
        found = [item["document"] for item in batch.responses[members].get("hits", [])]
        # as on Whoosh: nearest first, then newer (undated last), then by id
        found.sort(
            key=lambda d: (
                -cos[str(d["id"])],
                -int(d["published_at"]) if int(d.get("dated", 0)) else math.inf,
                str(d["id"]),
            )
        )
        ordered = [str(d["id"]) for d in found]
        page = ordered[request.offset : request.offset + request.per_page]
        hits = fetch(engine, request, page, plan, {i: cos[i] for i in page})
        answer = dataclasses.replace(answer, hits=hits)
    return Answered(answer, keyword_total)


def fused(
    engine: _Multi,
    request: SearchRequest,
    plan: TextPlan,
    filters: Filters,
    near: Near,
    vector: np.ndarray,
) -> Answered:
    include = request.include_unpublished
    near = near.within(ranking.SIMILARITY_FLOOR)
    keyword = SearchBatch(engine, request, plan, filters)
    membership = [
        {
            **keyword.count_params([*base_filter(include), ids_filter(near.ids)]),
            "include_fields": "id",
            "per_page": PAGE_LIMIT,
        },
        {
            "q": "*",
            "filter_by": join([*filters.all(), ids_filter(near.ids)]),
            "include_fields": "id",
            "per_page": PAGE_LIMIT,
        },
    ]
    for search in membership:
        search.pop("_union_parts", None)
    matched, passing = (
        {str(item["document"]["id"]) for item in response.get("hits", [])}
        for response in (engine.multi(membership, include) if near.ids else [{}, {}])
    )
    added = [i for i in near.ids if i not in matched]
    union = ids_filter(added) if added else ""
    counts = SearchBatch(engine, request, plan, filters, hits=(1, 0), union=union)
    answer = counts.run()
    keyword_total = answer.total - sum(1 for i in added if i in passing)
    relevance = request.sort == "relevance"
    if relevance:
        order, scores = _fused_order(engine, request, plan, filters, near, passing, vector)
    else:
        order, scores = _sorted_union(engine, request, plan, filters, added, passing)
    page = order[request.offset : request.offset + request.per_page]
    hits = fetch(engine, request, page, plan, {i: scores.get(i, 0.0) for i in page})
    return Answered(dataclasses.replace(answer, hits=hits), keyword_total)


def _keyword_list(
    engine: _Multi,
    request: SearchRequest,
    plan: TextPlan,
    filters: Filters,
    start: int,
    stop: int,
    fields: str,
) -> list[dict[str, Any]]:
    """The keyword list's hits ``start`` to ``stop`` (the request's filters and sort)."""
    bare = dataclasses.replace(request, facets=(), page=1, per_page=1)
    found: list[dict[str, Any]] = []
    first = start // PAGE_LIMIT + 1
    for page in range(first, (max(stop, 1) - 1) // PAGE_LIMIT + 2):
        batch = SearchBatch(engine, bare, plan, filters, hits=(page, PAGE_LIMIT), fields=fields)
        raw = list(batch.run().raw)
        found += raw
        if len(raw) < PAGE_LIMIT:
            break
    skip = start - (first - 1) * PAGE_LIMIT
    return found[skip : skip + stop - start]


def _fused_order(
    engine: _Multi,
    request: SearchRequest,
    plan: TextPlan,
    filters: Filters,
    near: Near,
    passing: set[str],
    vector: np.ndarray,
) -> tuple[list[str], dict[str, float]]:
    """The fused head (``hybrid.fuse``), then the rest of the keyword list, as far as the page."""
    depth = ranking.HYBRID_KEYWORD_DEPTH
    fields = f"{VECTOR_FIELDS},published_at,quality"  # the last two: merged lists' order
    head_hits = _keyword_list(engine, request, plan, filters, 0, depth, fields)
    head_ids, head_vectors = _vectors(head_hits)
    scores = {
        i: float(item.get("text_match", 0) or 0)
        for i, item in zip(head_ids, head_hits, strict=True)
    }
    dense = [i for i in near.ids if i in passing]
    known = dict(zip(near.ids, near.vectors, strict=True))
    extra = [i for i in dense if i not in set(head_ids)]
    ids = head_ids + extra
    if not ids:
        return [], scores
    rows = [*head_vectors] + [known[i] for i in extra]
    sims = cosines(np.array(rows, dtype=np.float32), vector)
    rank = {article_id: position for position, article_id in enumerate(sorted(ids))}
    index = {article_id: position for position, article_id in enumerate(ids)}
    head = hybrid.fuse(
        np.arange(len(head_ids)),
        np.array([scores[i] for i in head_ids], dtype=np.float64),
        np.array([index[i] for i in dense], dtype=np.int64),
        sims,
        np.array([rank[i] for i in ids]),
    )
    order = [ids[position] for position in head.tolist()]
    stop = request.offset + request.per_page
    if stop > len(order) and len(head_ids) == depth:  # the page reaches past the head
        taken = set(order)
        rest = _keyword_list(engine, request, plan, filters, depth, depth + stop + len(dense), "id")
        order += [i for i in (str(item["document"]["id"]) for item in rest) if i not in taken]
    return order, scores


def _sorted_union(
    engine: _Multi,
    request: SearchRequest,
    plan: TextPlan,
    filters: Filters,
    added: list[str],
    passing: set[str],
) -> tuple[list[str], dict[str, float]]:
    """Another sort than relevance: the keyword list and the added articles, merged by it."""
    stop = request.offset + request.per_page
    fields = "id,published_at,dated,quality,heat"
    ours = _keyword_list(engine, request, plan, filters, 0, stop, fields)
    theirs: list[dict[str, Any]] = []
    extra = [i for i in added if i in passing]
    if extra:
        search = {
            "q": "*",
            "filter_by": ids_filter(extra),
            "include_fields": fields,
            "per_page": PAGE_LIMIT,
        }
        (response,) = engine.multi([search], request.include_unpublished)
        theirs = response.get("hits", [])
    key = _sort_key(request.sort)
    merged = sorted([*ours, *theirs], key=lambda item: key(item["document"]))
    scores = {str(item["document"]["id"]): float(item.get("text_match", 0) or 0) for item in ours}
    return [str(item["document"]["id"]) for item in merged], scores


def _sort_key(sort: str) -> Any:
    """``batch.SORTS[sort]`` as a Python key (Typesense's own order within each side)."""
    fields = [part.split(":") for part in SORTS[sort].split(",")]

    def key(document: dict[str, Any]) -> tuple[Any, ...]:
        values: list[Any] = []
        for name, direction in fields:
            value = float(document.get(name, 0) or 0)
            values.append(-value if direction == "desc" else value)
        values.append(str(document["id"]))
        return tuple(values)

    return key


def fetch(
    engine: _Multi,
    request: SearchRequest,
    ids: list[str],
    plan: TextPlan,
    scores: dict[str, float],
) -> tuple[Hit, ...]:
    """The hits of ``ids``, in that order, marked as keyword hits are."""
    if not ids:
        return ()
    search = {
        "q": "*",
        "filter_by": ids_filter(ids),
        "exclude_fields": STRIP_FIELDS,
        "per_page": min(PAGE_LIMIT, len(ids)),
    }
    (response,) = engine.multi([search], request.include_unpublished)
    by_id = {str(item["document"]["id"]): item["document"] for item in response.get("hits", [])}
    return tuple(
        hit({"document": by_id[i], "text_match": scores.get(i, 0.0)}, plan.marks)
        for i in ids
        if i in by_id
    )
