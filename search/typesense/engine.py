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
    Correction,
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

GENERATION_TTL = 1.0
"""Seconds ``generation()`` is answered from memory (it changes only with a reindex)."""


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
        started = time.perf_counter()
        parsed = ql.parse(request.q)
        plan = plan_query(parsed.root) if request.q.strip() else TextPlan()
        if plan is None:
            return SearchResult(request, 0, (), plain_fallback=parsed.plain_fallback)
        filters = request_filters(request)
        story_count = None
        meaning = None
        if request.mode != "keyword" and request.q.strip():
            meaning = hybrid.plan(parsed.root, request.q)
        listing = None
        if meaning is not None and meaning.text:
            vector = self.vectors.embed(meaning.text)
            listing = dense.listing(self, request, plan, meaning, filters, vector)
        if listing is not None and request.grouped:
            grouped = stories.grouped_hybrid(self, request, plan, filters, listing)
            result, story_count = grouped.answer, grouped.stories
            keyword_total = listing.keyword_total
        elif listing is not None:
            answered = dense.answer(self, request, plan, listing)
            result, keyword_total = answered.answer, answered.keyword_total
        elif request.grouped:
            grouped = stories.grouped_search(self, request, plan, filters)
            result, story_count = grouped.answer, grouped.stories
            keyword_total = result.total
        else:
            result = SearchBatch(self, request, plan, filters).run()
            keyword_total = result.total
        did_you_mean = None
        # respelling is about words: judged on the keyword matches, whatever the mode
        if plan.is_text and keyword_total < spelling.DID_YOU_MEAN_BELOW:
            did_you_mean = self._did_you_mean(request, parsed, keyword_total)
        took = (time.perf_counter() - started) * 1000
        return SearchResult(
            request=request,
            total=result.total,
            hits=result.hits,
            facets=result.facets,
            date_histogram=result.histogram,
            ranges=result.ranges,
            did_you_mean=did_you_mean,
            took_ms=round(took, 2),
            generation=self.generation(),
            plain_fallback=parsed.plain_fallback,
            stories=story_count,
            mode=request.mode if listing is not None else "keyword",
        )

    def _did_you_mean(
        self, request: SearchRequest, parsed: ql.ParsedQuery, total: int
    ) -> Correction | None:
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

        def visible_df(word: ql.Words) -> int:
            (response,) = self.multi([term_search(word.stems[0], word.fields, 0)], include)
            return int(response.get("found", 0))

        def closest(typed: str, stem: str, known: int, fields: tuple[str, ...]) -> str | None:
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
        corrected = spelling.correct(text, parsed.root, visible_df, closest)
        if corrected is None or corrected == text:
            return None
        again = replace(request, q=corrected, page=1, per_page=1, facets=())
        try:
            plan = plan_query(ql.parse(corrected).root) or TextPlan()
            count = SearchBatch(self, again, plan, request_filters(again)).run().total
        except RequestError:
            return None
        if count == 0 or count < total:
            return None
        return Correction(corrected, count)

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
                "include_fields": "title",
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
                found.append(Suggestion(title, "title", 1))
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
        try:
            version = str(self.admin.debug.retrieve().get("version", ""))
        except Exception:  # noqa: BLE001 - the version is informative only
            version = ""
        return IndexInfo(
            generation=self.generation(),
            doc_count=int(response.get("found", 0)),
            last_reindex=dt.datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None,
            version=f"typesense {version}".strip(),
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
