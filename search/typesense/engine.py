"""newsfind on a Typesense cluster: ``TypesenseEngine`` answers the contract of ``search.contract``.

Selected with ``NEWSFIND_ENGINE=typesense`` (``search.backends``; docs/typesense.md).
What runs where::

    SearchRequest ─▶ query.parse ─▶ plan.plan_query (the query language on Typesense)
                  ─▶ batch.SearchBatch: one multi_search (hits, counts, facets, histogram)
                  ─▶ cluster.ClusterReads on several nodes (only nodes in step answer)
                  ─▶ SearchResult, with facets, dates, highlight and spelling shared with Whoosh
    hybrid / semantic mode: search.hybrid.plan ─▶ dense.answer (the nearest by vector_query,
                  rescored by exact cosines; hybrid.fuse; counts over the union: union)

**Ranking** (keyword mode; the keyword side of hybrid mode) is Typesense's ``_text_match``
(field weights from ``ranking.FIELD_WEIGHTS``), then newer first, then quality — not
newsfind's BM25F with freshness boosts: totals and facets match the Whoosh engine, the order of
hits may not.

**Visibility**: requests without ``include_unpublished`` use a scoped search key whose embedded
filter is ``published:=true``, so the cluster itself refuses to return unpublished articles;
the request's own filter repeats it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .. import hybrid, spelling
from .. import query as ql
from ..analysis import fold_accents
from ..articles import Article
from ..contract import (
    MAX_PER_PAGE,
    MAX_RESULT_WINDOW,
    Hit,
    IndexInfo,
    SearchRequest,
    SearchResult,
    Story,
    Suggestion,
    Trending,
)
from ..embedding.encoder import QueryVectors
from ..errors import IndexUnavailable, NotFound, RequestError
from ..stories import trending as story_trending
from ..stories import view as story_view
from . import dense, stories
from .batch import (
    FACET_SLACK,
    Filters,
    SearchBatch,
    base_filter,
    facet_counts,
    join,
    request_filters,
)
from .cluster import ClusterReads
from .documents import (
    FACET_FIELDS,
    PACKED,
    SCHEMA_VERSION,
    STRIP_FIELDS,
    TEXT_FIELDS,
    article_of,
)
from .meta import changes, current_collection, read_meta, schema_mark
from .plan import TextPlan, plan_query
from .settings import (
    KEY_PROPAGATION,
    TypesenseSettings,
    ensure_search_key,
    errors,
    unreachable,
)

RELATED_FIELD = "related_text"
GENERATION_TTL = 1.0
"""Seconds ``generation()`` is answered from memory (it changes only with a reindex)."""


def _searches_related(root: ql.Node | None) -> bool:
    return any(RELATED_FIELD in leaf.fields for leaf in ql.positive_leaves(root))


class TypesenseEngine:
    """``Engine`` on a Typesense cluster; thread-safe (the client pools HTTP connections)."""

    def __init__(self, settings: TypesenseSettings | Mapping[str, Any] | None = None) -> None:
        if not isinstance(settings, TypesenseSettings):
            settings = TypesenseSettings.from_mapping(settings)
        self.settings = settings
        self.admin = settings.client()
        self._public: Any = None
        self._scoped = ""
        self._lock = threading.Lock()
        self._reads = ClusterReads(self) if len(settings.nodes) > 1 else None
        self._generation: tuple[float, str] | None = None
        self._newest: tuple[tuple[str, bool], dt.datetime | None] | None = None
        self.vectors = QueryVectors()

    # -- clients

    def client(self, include_unpublished: bool) -> Any:
        if include_unpublished:
            return self.admin
        if self._public is None:
            with self._lock:
                if self._public is None:
                    key = self.settings.search_key or ensure_search_key(self.admin, self.settings)
                    scoped = self.admin.keys.generate_scoped_search_key(
                        key, {"filter_by": "published:=true"}
                    )
                    self._scoped = scoped.decode("ascii")
                    self._public = self.settings.client(self._scoped)
        return self._public

    def scoped_key(self) -> str:
        """The search key of requests without the admin token (``published:=true`` embedded)."""
        self.client(False)
        return self._scoped

    def _perform(self, body: dict[str, Any], include_unpublished: bool) -> Any:
        if self._reads is not None:
            return self._reads.perform(body, include_unpublished)
        unauthorized = errors().RequestUnauthorized
        deadline = time.monotonic() + KEY_PROPAGATION
        while True:
            try:
                return self.client(include_unpublished).multi_search.perform(body, {})
            except unauthorized:
                # a search key just created on the leader reaches the other nodes a moment later
                if include_unpublished or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def multi(
        self, searches: list[dict[str, Any]], include_unpublished: bool
    ) -> list[dict[str, Any]]:
        failures = errors()
        collection = self.settings.collection
        body = {"searches": [{"collection": collection, **s} for s in searches]}
        try:
            response = self._perform(body, include_unpublished)
        except failures.ObjectNotFound:
            raise IndexUnavailable(
                f"no Typesense collection {collection!r}: run 'newsfind reindex --engine typesense'"
            ) from None
        except unreachable() as exc:
            raise IndexUnavailable(f"Typesense cluster unavailable: {exc}") from exc
        results = response["results"]
        for result in results:
            if "error" in result:
                try:
                    version = schema_mark(self.admin, self.settings)
                except unreachable():
                    version = None
                if version is not None and version != SCHEMA_VERSION:
                    # indexed by another newsfind: its fields are not the ones asked for (404)
                    raise IndexUnavailable(
                        f"the Typesense collection {collection!r} has schema {version}, this "
                        f"newsfind needs {SCHEMA_VERSION}: run 'newsfind reindex --engine "
                        f"typesense' ({result['error']})"
                    )
                if result.get("code") == 404:
                    raise IndexUnavailable(
                        f"no Typesense collection {collection!r}: run 'newsfind reindex "
                        f"--engine typesense' ({result['error']})"
                    )
                raise IndexUnavailable(f"Typesense refused a search: {result['error']}")
        return results  # type: ignore[no-any-return]

    # -- search

    def search(self, request: SearchRequest) -> SearchResult:
        parsed = ql.parse(request.q)
        result = self._search(request, parsed)
        if parsed.root is None or not request.q.strip():
            return result
        found = self._did_you_mean(request, parsed)

        def rerun(corrected: str) -> SearchResult:
            again = replace(request, q=corrected, exact=True)
            return self._search(again, ql.parse(corrected))

        return spelling.settle(result, found, rerun)

    def _search(self, request: SearchRequest, parsed: ql.ParsedQuery) -> SearchResult:
        started = time.perf_counter()
        plan = plan_query(parsed.root) if request.q.strip() else TextPlan()
        if plan is None:
            return SearchResult(request, 0, (), plain_fallback=parsed.plain_fallback)
        newest = self.newest(request.include_unpublished)
        filters = request_filters(request, newest)
        story_count = None
        meaning = None
        if request.mode != "keyword" and request.q.strip():
            meaning = hybrid.plan(parsed.root, request.q)
        listing = None
        if meaning is not None and meaning.text:
            vector = self.vectors.embed(meaning.text)
            own: TextPlan | None | bool = True
            if _searches_related(parsed.root):  # related-title-only matches follow the others
                own = plan_query(ql.without_field(parsed.root, RELATED_FIELD))
            listing = dense.listing(self, request, plan, meaning, filters, vector, newest, own)
        if listing is not None and request.grouped:
            grouped = stories.grouped_hybrid(self, request, plan, filters, listing)
            result, story_count = grouped.answer, grouped.stories
        elif listing is not None:
            result = dense.answer(self, request, plan, listing)
        elif request.grouped:
            related_rule = bool(request.q.strip()) and _searches_related(parsed.root)
            grouped = stories.grouped_search(self, request, plan, filters, newest, related_rule)
            result, story_count = grouped.answer, grouped.stories
        else:
            result = SearchBatch(self, request, plan, filters, newest).run()
        hits = result.hits
        if (
            listing is None
            and not request.grouped
            and request.q.strip()
            and _searches_related(parsed.root)
            and result.total
        ):
            hits = self._own_first(request, parsed.root, plan, filters, result.total)
        took = (time.perf_counter() - started) * 1000
        return SearchResult(
            request=request,
            total=result.total,
            hits=hits,
            facets=result.facets,
            date_histogram=result.histogram,
            ranges=result.ranges,
            took_ms=round(took, 2),
            generation=self.generation(),
            plain_fallback=parsed.plain_fallback,
            stories=story_count,
            mode=request.mode if listing is not None else "keyword",
        )

    def _own_first(
        self,
        request: SearchRequest,
        root: ql.Node | None,
        plan: TextPlan,
        filters: Filters,
        total: int,
    ) -> tuple[Hit, ...]:
        """The page's hits with the matches in an article's own text first, then those matching
        only through related titles (as ``Evaluation.own`` orders them on Whoosh): the first
        from the query without the related titles, the others from the whole query's matches
        that have a related title matching, less the own matches (``Marks.own_match``)."""
        own_plan = plan_query(ql.without_field(root, RELATED_FIELD))
        bare = replace(request, facets=())
        own = SearchBatch(self, bare, own_plan, filters).run() if own_plan else None
        own_total = own.total if own is not None else 0
        hits = list(own.hits) if own is not None else []
        start = max(0, request.offset - own_total)
        stop = request.offset + request.per_page - own_total
        if stop <= 0 or own_total >= total:
            return tuple(hits)
        related: list[Hit] = []
        leaves = list(ql.positive_leaves(root))
        narrowed = replace(plan, filters=list(plan.filters))
        if all(isinstance(leaf, ql.Words) for leaf in leaves):
            stems = sorted(
                {stem for leaf in leaves if isinstance(leaf, ql.Words) for stem in leaf.stems}
            )
            narrowed.filters.append(f"{TEXT_FIELDS[RELATED_FIELD]}:[{','.join(stems)}]")
        for page in range(1, MAX_RESULT_WINDOW // MAX_PER_PAGE + 1):
            deeper = replace(bare, page=page, per_page=MAX_PER_PAGE)
            answer = SearchBatch(self, deeper, narrowed, filters).run()
            for raw in answer.raw:
                document = raw["document"]
                article = article_of(document)
                body = document.get("body", "")
                if plan.marks.own_match(article, body):
                    continue
                shown = body if plan.marks.body_matches(article, body) else ""
                score = float(raw.get("text_match", 0) or 0)
                related.append(plan.marks.hit(article, score, shown, related_only=True))
            if len(related) >= stop or len(answer.raw) < MAX_PER_PAGE:
                break
        return tuple(hits + related[start:stop])

    def newest(self, include_unpublished: bool) -> dt.datetime | None:
        """The newest visible (or any) article's time, once per generation: where relative
        windows end when the archive is older than them (``dates.window_end``)."""
        key = (self.generation(), include_unpublished)
        cached = self._newest
        if cached is not None and cached[0] == key:
            return cached[1]
        search = {
            "q": "*",
            "per_page": 1,
            "sort_by": "published_at:desc",
            "include_fields": "published_at",
            "filter_by": join([*base_filter(include_unpublished), "dated:=1"]),
        }
        (response,) = self.multi([search], include_unpublished)
        hits = response.get("hits", [])
        newest = (
            dt.datetime.fromtimestamp(int(hits[0]["document"]["published_at"]), dt.UTC)
            if hits
            else None
        )
        self._newest = (key, newest)
        return newest

    def _did_you_mean(
        self, request: SearchRequest, parsed: ql.ParsedQuery
    ) -> spelling.Found | None:
        """``search.spelling`` over the collection's terms: candidates from a typo-tolerant
        search of the word's fields, their counts from the cluster."""
        include = request.include_unpublished
        base = join(base_filter(include))

        def term_search(text: str, fields: tuple[str, ...], typos: int) -> dict[str, Any]:
            names = ",".join(TEXT_FIELDS[name] for name in fields if name in TEXT_FIELDS)
            return {
                "q": text,
                "query_by": names,
                "highlight_fields": names,  # the matched terms, though no field is returned
                "num_typos": typos,
                "min_len_1typo": 1,  # spelling.max_distance: 1 edit up to 4 letters, then 2
                "min_len_2typo": 5,
                "typo_tokens_threshold": 1 if typos else 0,
                "drop_tokens_threshold": 0,
                "prefix": "false",
                "per_page": 10 if typos else 0,
                "include_fields": "id",
                "filter_by": base,
            }

        # every query with words is tried: the words' counts come in one multi-search
        words = [
            leaf
            for leaf in ql.positive_leaves(parsed.root)
            if isinstance(leaf, ql.Words) and not leaf.quoted and len(leaf.stems) == 1
        ]
        if not words:
            return None
        counts = self.multi([term_search(w.stems[0], w.fields, 0) for w in words], include)
        known = {
            (word.stems, word.fields): int(count.get("found", 0))
            for word, count in zip(words, counts, strict=True)
        }

        def visible_df(word: ql.Words) -> int:
            return known[(word.stems, word.fields)]

        def closest(
            typed: str, stem: str, known: int, fields: tuple[str, ...]
        ) -> tuple[str, int] | None:
            searches = [term_search(typed, fields, 2), term_search(stem, fields, 2)]
            found = self.multi(searches, include)
            candidates = {
                token.lower()
                for response in found
                for hit in response.get("hits", [])
                for marked in hit.get("highlights", [])
                for token in marked.get("matched_tokens", [])
                if token[:1].lower() == typed[:1]
            } - {stem}
            if not candidates:
                return None
            # counted per field and summed, as Whoosh's term table counts them
            pairs = [(term, name) for term in sorted(candidates) for name in fields]
            counts = self.multi([term_search(t, (name,), 0) for t, name in pairs], include)
            frequencies: dict[str, int] = {}
            for (term, _), count in zip(pairs, counts, strict=True):
                frequencies[term] = frequencies.get(term, 0) + int(count.get("found", 0))
            return spelling.closest_term(typed, stem, known, frequencies)

        text = ql.clean(request.q)
        respelled = spelling.correct(text, parsed.root, visible_df, closest)
        if respelled is None or respelled.q == text:
            return None
        again = replace(request, q=respelled.q, page=1, per_page=1, facets=())
        try:  # counted in the request's mode, as on Whoosh
            count = self._search(again, ql.parse(respelled.q)).total
        except RequestError:
            return None
        return spelling.Found(respelled.q, count, respelled.gain)

    # -- the other calls

    def suggest(
        self, prefix: str, limit: int = 8, include_unpublished: bool = False
    ) -> list[Suggestion]:
        text = " ".join(prefix.split())
        if not text or limit < 1:
            return []
        filters = join(base_filter(include_unpublished))
        needle = text.replace("`", "")
        # the values are matched as Whoosh does; the facet query only narrows them down
        folded = " ".join(fold_accents(ql.clean(text).strip().lower()).split())
        searches = [
            {
                "q": text,
                "query_by": "title",
                "prefix": "true",
                "num_typos": 0,
                "per_page": limit,
                "include_fields": "title,id",
                "filter_by": filters,
                "drop_tokens_threshold": 0,
            },
            *(
                {
                    "q": "*",
                    "per_page": 0,
                    "facet_by": FACET_FIELDS[kind],
                    "facet_query": f"{FACET_FIELDS[kind]}:{needle}",
                    "max_facet_values": limit + FACET_SLACK,
                    "filter_by": filters,
                }
                for kind in ("topic", "provider")
            ),
        ]
        titles, topics, providers = self.multi(searches, include_unpublished)
        found: list[Suggestion] = []
        for kind, response in (("topic", topics), ("provider", providers)):
            for value, count in facet_counts(response, FACET_FIELDS[kind]):
                words = " ".join(fold_accents(value.lower()).split())
                if words.startswith(folded) or f" {folded}" in words:
                    found.append(Suggestion(value, kind, count))
        seen_titles: set[str] = set()
        for hit in titles.get("hits", []):
            title = hit["document"]["title"]
            if title not in seen_titles:
                seen_titles.add(title)
                found.append(Suggestion(title, "title", 1, hit["document"]["id"]))
        found.sort(
            key=lambda s: (
                not fold_accents(s.text.lower()).startswith(folded),
                s.kind == "title",
                -s.count,
            )
        )
        return found[:limit]

    def get(self, article_id: str, include_unpublished: bool = False) -> Article:
        document = self._document(article_id, include_unpublished)
        return article_of(document, body=document.get("body", ""))

    def _document(
        self, article_id: str, include_unpublished: bool, fields: str = ""
    ) -> dict[str, Any]:
        if not isinstance(article_id, str) or not article_id or "`" in article_id:
            raise NotFound(str(article_id))
        filters = [*base_filter(include_unpublished), f"id:=`{article_id}`"]
        search = {
            "q": "*",
            "filter_by": join(filters),
            "per_page": 1,
            **({"include_fields": fields} if fields else {"exclude_fields": STRIP_FIELDS}),
        }
        (response,) = self.multi([search], include_unpublished)
        hits = response.get("hits", [])
        if not hits:
            raise NotFound(article_id)
        return hits[0]["document"]  # type: ignore[no-any-return]

    def more_like_this(
        self, article_id: str, limit: int = 5, include_unpublished: bool = False
    ) -> list[Hit]:
        """The visible articles nearest this one in meaning (at least
        ``ranking.SIMILARITY_FLOOR``), itself excluded, as on Whoosh (``dense.similar``)."""
        document = self._document(article_id, include_unpublished, fields=f"id,{PACKED}")
        if limit < 1:
            return []
        return dense.similar(self, document, limit, include_unpublished)

    def story(self, story_id: str, include_unpublished: bool = False) -> Story:
        if not isinstance(story_id, str) or not story_id:
            raise NotFound(str(story_id))
        members = stories.story_members(self, story_id, include_unpublished)
        if not members:
            raise NotFound(story_id)
        return story_view.story(story_id, members, self.generation())

    def story_of(self, article_id: str, include_unpublished: bool = False) -> Story:
        document = self._document(article_id, include_unpublished)
        return self.story(stories.story_of_document(document), include_unpublished)

    def trending(
        self,
        window: str = "24h",
        *,
        include_unpublished: bool = False,
        now: dt.datetime | None = None,
        limit: int = 10,
    ) -> Trending:
        counter = stories.TrendingCounts(self, include_unpublished)
        return story_trending.trending(counter, window, now, limit, self.generation())

    def info(self) -> IndexInfo:
        search = {"q": "*", "per_page": 0, "filter_by": "published:=true"}
        (response,) = self.multi([search], False)
        meta = read_meta(self.admin, self.settings)
        last = meta.get("finished_at") if meta else None
        rejected = meta.get("rejected") if meta else None
        try:
            version = str(self.admin.debug.retrieve().get("version", ""))
        except Exception:  # noqa: BLE001 - the version is informative only
            version = ""
        return IndexInfo(
            generation=self.generation(),
            doc_count=int(response.get("found", 0)),
            last_reindex=dt.datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None,
            version=f"typesense {version}".strip(),
            rejected=len(rejected) if isinstance(rejected, list) else 0,
        )

    def generation(self) -> str:
        """The collection behind the alias and a stamp of the last reindex that changed it (so
        that an incremental reindex changes it too); looked up at most every ``GENERATION_TTL``
        seconds."""
        now = time.monotonic()
        cached = self._generation
        if cached is not None and now - cached[0] < GENERATION_TTL:
            return cached[1]
        try:
            name = current_collection(self.admin, self.settings) or self.settings.collection
            stamp = changes(self.admin, self.settings)
        except unreachable() as exc:
            raise IndexUnavailable(f"Typesense cluster unavailable: {exc}") from exc
        generation = f"{name}:{stamp}"
        self._generation = (now, generation)
        return generation

    def close(self) -> None:
        """Nothing to release: the client's HTTP connections close with it."""
