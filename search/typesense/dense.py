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
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .. import highlight, hybrid, ranking
from .. import query as ql
from ..contract import MAX_RESULT_WINDOW, Hit, SearchRequest
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
    engine: _Multi, request: SearchRequest, plan: TextPlan, found: HybridList | SemanticList
) -> Answer:
    """The request's page of ``found`` (``listing``), with its counts."""
    page = found.first(request.offset + request.per_page)[request.offset :]
    hits = fetch(engine, request, page, plan, found.scores, found.related)
    return dataclasses.replace(found.answer, hits=hits)


def listing(
    engine: _Multi,
    request: SearchRequest,
    plan: TextPlan,
    meaning: hybrid.DensePlan,
    filters: Filters,
    vector: np.ndarray,
    newest: dt.datetime | None = None,
    own: TextPlan | None | bool = True,
) -> HybridList | SemanticList:
    """The mode's matches and order (a grouped page groups them); ``newest``: where relative
    ranges end (``batch.request_filters``); ``own``: see ``HybridList.own``."""
    semantic = request.mode == "semantic"
    depth = ranking.SEMANTIC_DEPTH if semantic else ranking.HYBRID_DENSE_DEPTH
    allowed = allowed_batch(engine, request, plan, meaning)
    near = nearest(engine, vector, depth, request.include_unpublished, allowed)
    if semantic:
        return SemanticList(engine, request, plan, filters, near, newest)
    return HybridList(engine, request, plan, filters, near, vector, newest, own)


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
    found = documents(engine, [i for i, _ in pairs], include)
    plain = highlight.marks(None)  # as on Whoosh: similar articles are not marked
    cos = dict(pairs)
    return [plain.hit(article_of(document), cos[document["id"]], "") for document in found]


class SemanticList:
    """Semantic mode's matches: the nearest (an ``id`` filter: ``plan``) with the request's
    filters, counted by one batch (``answer``), in the sort's order (relevance: nearest first,
    then newer, undated last, then by id, as on Whoosh)."""

    shown: list[str] = []
    """Nothing is added to ``plan``'s matches (the union of hybrid mode)."""
    related: set[str] = set()
    """Every article is found by meaning: none matches only through related titles."""

    def __init__(
        self,
        engine: _Multi,
        request: SearchRequest,
        plan: TextPlan,
        filters: Filters,
        near: Near,
        newest: dt.datetime | None,
    ) -> None:
        near = near.within(ranking.SIMILARITY_FLOOR)
        self.plan = dataclasses.replace(
            plan, q="*", filters=[ids_filter(near.ids)], orders=[], exclusions=[],
            any_word=False, prefix=False,
        )  # fmt: skip
        self.counts = batch = SearchBatch(engine, request, self.plan, filters, newest, hits=(1, 0))
        members = batch.add(
            {
                "q": "*",
                "filter_by": batch.filter_for(filters.all()),
                "include_fields": "id,published_at,dated,quality,heat",
                "per_page": PAGE_LIMIT,
            }
        )
        self.answer = batch.run()
        self.scores = dict(zip(near.ids, near.cosines.tolist(), strict=True))
        found = [item["document"] for item in batch.responses[members].get("hits", [])]
        if request.sort == "relevance":
            cos = self.scores
            found.sort(
                key=lambda d: (
                    -cos[str(d["id"])],
                    -int(d["published_at"]) if int(d.get("dated", 0)) else math.inf,
                    str(d["id"]),
                )
            )
        else:
            found.sort(key=_sort_key(request.sort))
        self.order = [str(d["id"]) for d in found]

    def first(self, stop: int) -> list[str]:
        return self.order[:stop]


class HybridList:
    """Hybrid mode's matches: the counts of the union (``answer``) and its order, as far as asked
    (``first``): for relevance the fused head then the rest of the keyword list, for another
    sort the two sides merged by it."""

    def __init__(
        self,
        engine: _Multi,
        request: SearchRequest,
        plan: TextPlan,
        filters: Filters,
        near: Near,
        vector: np.ndarray,
        newest: dt.datetime | None,
        own: TextPlan | None | bool = True,
    ) -> None:
        self.engine, self.request, self.plan, self.filters = engine, request, plan, filters
        """``plan``: the keyword matches, to which the nearest are added."""
        self.own = own
        """The query's matches in an article's own text (without related titles) when the
        query searches related titles (None: it searches nothing else); True: no such rule."""
        self.related: set[str] = set()
        """Ids known to match only through related titles (they follow every own match)."""
        self._owns: dict[str, bool] = {}
        include = request.include_unpublished
        self.near = near = near.within(ranking.SIMILARITY_FLOOR)
        keyword = SearchBatch(engine, request, plan, filters)
        matching = keyword.count_params([*base_filter(include), ids_filter(near.ids)])
        membership = [
            {**matching, "include_fields": "id", "per_page": PAGE_LIMIT},
            {"q": "*", "filter_by": join([*filters.all(), ids_filter(near.ids)])},
        ]
        membership[1].update(include_fields="id", per_page=PAGE_LIMIT)
        matched, self.passing = (
            {str(item["document"]["id"]) for item in response.get("hits", [])}
            for response in (engine.multi(membership, include) if near.ids else [{}, {}])
        )
        self.added = [i for i in near.ids if i not in matched]
        """The nearest that match no keyword clause (every count adds them)."""
        self.shown = [i for i in self.added if i in self.passing]
        """Those of them that pass the filters too."""
        union = ids_filter(self.added) if self.added else ""
        self.counts = SearchBatch(engine, request, plan, filters, newest, hits=(1, 0), union=union)
        self.answer = self.counts.run()
        self.scores: dict[str, float] = {}
        self.order: list[str] = []
        self._keyword_seen = 0
        """How far into the keyword list ``order`` has read."""
        self._vector = vector

    def first(self, stop: int) -> list[str]:
        """The first ``stop`` ids in the mode's order (fewer when there are fewer): as on Whoosh,
        matches in an article's own text (and every article found by meaning) come first, then
        those matching only through related titles, each in the mode's order."""
        if self.own is True:
            return self._first(stop)
        depth = stop
        while True:
            ids = self._first(depth)
            self._classify(ids)
            own = [i for i in ids if self._owns[i]]
            if len(own) >= stop:
                return own[:stop]
            if len(ids) < depth or depth >= MAX_RESULT_WINDOW:  # every match is read
                self.related = {i for i in ids if not self._owns[i]}
                return (own + [i for i in ids if not self._owns[i]])[:stop]
            depth = min(MAX_RESULT_WINDOW, depth + max(depth, PAGE_LIMIT))

    def _classify(self, ids: list[str]) -> None:
        unknown = [i for i in ids if i not in self._owns]
        added = set(self.added)
        asked = [i for i in unknown if i not in added]
        found: set[str] = set()
        if asked and isinstance(self.own, TextPlan):
            own = SearchBatch(self.engine, self.request, self.own, self.filters)
            searches = [
                {**own.count_params([ids_filter(part)]), "include_fields": "id",
                 "per_page": len(part)}
                for part in (asked[n : n + PAGE_LIMIT] for n in range(0, len(asked), PAGE_LIMIT))
            ]  # fmt: skip
            responses = self.engine.multi(searches, self.request.include_unpublished)
            found = {str(item["document"]["id"]) for item in _hits(responses)}
        for i in unknown:
            self._owns[i] = i in added or i in found

    def _first(self, stop: int) -> list[str]:
        if self.request.sort != "relevance":
            return self._sorted(stop)
        if not self._keyword_seen and not self.order:
            self._head()
        while len(self.order) < stop and self._keyword_seen >= ranking.HYBRID_KEYWORD_DEPTH:
            taken = set(self.order)
            start = self._keyword_seen
            rest = self._keyword(start, start + max(stop - len(self.order), PAGE_LIMIT), "id")
            self._keyword_seen += len(rest)
            self.order += [i for i in (str(r["document"]["id"]) for r in rest) if i not in taken]
            if not rest:
                break
        return self.order[:stop]

    def _keyword(self, start: int, stop: int, fields: str) -> list[dict[str, Any]]:
        return _keyword_list(
            self.engine, self.request, self.plan, self.filters, start, stop, fields
        )

    def _head(self) -> None:
        """The keyword list's first ``HYBRID_KEYWORD_DEPTH`` ∪ the nearest passing the filters,
        in ``hybrid.fuse``'s order."""
        depth = ranking.HYBRID_KEYWORD_DEPTH
        fields = f"{VECTOR_FIELDS},published_at,quality"  # the last two: merged lists' order
        hits = self._keyword(0, depth, fields)
        self._keyword_seen = len(hits) if len(hits) == depth else -1  # -1: the whole list read
        head_ids, head_vectors = _vectors(hits)
        self.scores = {
            i: float(item.get("text_match", 0) or 0) for i, item in zip(head_ids, hits, strict=True)
        }
        near = self.near
        dense = [i for i in near.ids if i in self.passing]
        known = dict(zip(near.ids, near.vectors, strict=True))
        extra = [i for i in dense if i not in set(head_ids)]
        ids = head_ids + extra
        if not ids:
            return
        rows = [*head_vectors] + [known[i] for i in extra]
        rank = {article_id: position for position, article_id in enumerate(sorted(ids))}
        index = {article_id: position for position, article_id in enumerate(ids)}
        head = hybrid.fuse(
            np.arange(len(head_ids)),
            np.array([self.scores[i] for i in head_ids], dtype=np.float64),
            np.array([index[i] for i in dense], dtype=np.int64),
            cosines(np.array(rows, dtype=np.float32), self._vector),
            np.array([rank[i] for i in ids]),
        )
        self.order = [ids[position] for position in head.tolist()]

    def _sorted(self, stop: int) -> list[str]:
        """Another sort than relevance: the keyword list and the added articles merged by it."""
        fields = "id,published_at,dated,quality,heat"
        ours = self._keyword(0, stop, fields)
        theirs: list[dict[str, Any]] = []
        if self.shown:
            search: dict[str, Any] = {"q": "*", "filter_by": ids_filter(self.shown)}
            search.update(include_fields=fields, per_page=PAGE_LIMIT)
            (response,) = self.engine.multi([search], self.request.include_unpublished)
            theirs = response.get("hits", [])
        key = _sort_key(self.request.sort)
        merged = sorted([*ours, *theirs], key=lambda item: key(item["document"]))
        for item in ours:
            self.scores[str(item["document"]["id"])] = float(item.get("text_match", 0) or 0)
        return [str(item["document"]["id"]) for item in merged][:stop]


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


def documents(
    engine: _Multi, ids: list[str], include: bool, fields: str = ""
) -> list[dict[str, Any]]:
    """The documents of ``ids``, in that order (``fields`` only, or all but the vectors and the
    analysed texts)."""
    if not ids:
        return []
    shown = {"include_fields": fields} if fields else {"exclude_fields": STRIP_FIELDS}
    searches = [
        {"q": "*", "filter_by": ids_filter(part), "per_page": len(part), **shown}
        for part in (ids[start : start + PAGE_LIMIT] for start in range(0, len(ids), PAGE_LIMIT))
    ]
    by_id = {
        str(item["document"]["id"]): item["document"]
        for response in engine.multi(searches, include)
        for item in response.get("hits", [])
    }
    return [by_id[i] for i in ids if i in by_id]


def fetch(
    engine: _Multi,
    request: SearchRequest,
    ids: list[str],
    plan: TextPlan,
    scores: dict[str, float],
    related: set[str] | frozenset[str] = frozenset(),
) -> tuple[Hit, ...]:
    """The hits of ``ids``, in that order, marked as keyword hits are."""
    found = documents(engine, ids, request.include_unpublished)
    return hits([{"document": document} for document in found], plan, scores, related)


def hits(
    raw: list[dict[str, Any]],
    plan: TextPlan,
    scores: dict[str, float],
    related: set[str] | frozenset[str] = frozenset(),
) -> tuple[Hit, ...]:
    """Hits of fetched documents, marked as keyword hits are, with the mode's scores (``related``:
    ids matching only through related titles, which the hits then give)."""
    return tuple(
        hit(
            {"document": item["document"], "text_match": scores.get(item["document"]["id"], 0.0)},
            plan.marks,
            item["document"]["id"] in related,
        )
        for item in raw
    )
