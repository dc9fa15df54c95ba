"""The embedded engine: ``WhooshEngine(index_dir)`` answers the contract of ``search.contract``.

How a request runs::

    SearchRequest ─▶ snapshot of the live generation (swapped when the index changes)
                  ─▶ query.parse (never raises; plain words on a syntax error)
                  ─▶ matching.evaluate: dense masks and BM25F scores from cached posting arrays
                  ─▶ visibility, filters ─▶ total, top-k (argpartition), facets (bincount)
                  ─▶ hits: stored fields + highlighting; did-you-mean when few results

Whoosh stays the source of truth (its files, analyser, stored fields, positions); everything
per-request runs on numpy arrays held by a ``snapshot.Snapshot`` (see there for what they are).

**Ranking** (``search.ranking`` has the details and the knobs)::

    bm25f  = Σ over query terms  idf(t) · tf~ · (k1 + 1) / (k1 + tf~),
             tf~ = Σ over fields  w_f · tf_f / (1 − b_f + b_f · len_f / avglen_f)
    final  = bm25f × (1 + 0.08 · 2^(−age / 30 days) + 0.04 · quality pct + 0.02 · heat pct)

with k1 = 1.1, w_f = ``ranking.FIELD_WEIGHTS``, b_f per field; up to 3 plain words, documents
with more of the words rank first (then by ``final``); longer queries rank by ``final`` alone.
The boosts add at most 14 %, so they only reorder near-equal matches. Sort orders: ``relevance``
(query tier, then boosted score, then newer, then id); with an empty query, ``relevance`` means
``newest``. ``newest`` / ``oldest`` (undated articles last, then id),
``quality`` / ``heat`` (highest first, then newer, then id).

**Filters** — topics (any of, exact), providers (name or domain, any of, exact), types,
``since`` (inclusive) / ``until`` (exclusive), a relative ``range`` counted back from the
request's clock (``now − span ≤ date ≤ now``); date filters drop undated articles. Unpublished
articles are invisible everywhere unless ``include_unpublished``.

**Facets** — see ``search.facets``: disjunctive topic / provider / type counts (each ignores its
own filter), a date histogram of the matches, relative-range counts ignoring the date filters.

**Index changes** — every request (or, with ``check_interval``, at most every so many seconds)
``stat``s ``CURRENT`` and the live generation folder (a few microseconds); only when they changed
does it read ``CURRENT`` and Whoosh's table-of-contents generation, and when those changed, that
request builds a new snapshot while the others carry on with the old one, then swaps it in. So
a search issued after ``reindex`` returns sees the new index. A request always finishes on the
snapshot it started with. ``SearchResult.generation`` is ``<generation folder>:<TOC number>``
so it changes with incremental reindexes too.

Threads: one engine per process serves all threads; snapshots are immutable apart from their
internally locked caches and Whoosh reader.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import json
import os
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import highlight, hybrid, query, ranking, spelling
from ..analysis import analyse, fold_accents, fold_word
from ..articles import Article
from ..contract import (
    Hit,
    IndexInfo,
    SearchRequest,
    SearchResult,
    Segment,
    Story,
    Suggestion,
    Trending,
)
from ..documents import stored_to_article
from ..embedding.encoder import QueryVectors
from ..errors import IndexUnavailable, NotFound
from ..ranking import SEARCH_FIELDS
from ..stories import trending as story_trending
from ..stories import view as story_view
from . import counts, dense, layout, matching, stories, warmup
from .snapshot import DEFAULT_CACHE_BYTES, ClauseVector, Snapshot, probe

MORE_LIKE_THIS_TERMS = 12
_BODY_BIT = ranking.FIELD_BITS["body"]
highlight.HIGHLIGHT_FIELDS = ("title", "excerpt", "body")


class WhooshEngine:
    """The ``Engine`` of ``search.contract`` over the index generations in ``index_dir``."""

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        *,
        check_interval: float = 0.0,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        watch: bool = False,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.check_interval = check_interval
        self.cache_bytes = cache_bytes
        self._swap_lock = threading.Lock()
        self._checked_at = float("-inf")
        self.vectors = QueryVectors()
        self._snapshot = Snapshot.open(self.index_dir, cache_bytes)
        self._signature = _signature(self.index_dir, self._snapshot.name)
        # a server process warms announced generations before they go live (warmup)
        self._watcher = warmup.Watcher(self) if watch else None

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The snapshot a new request should use (rebuilt here when the index changed)."""
        current = self._snapshot
        now = time.monotonic()
        if now - self._checked_at < self.check_interval:
            return current
        self._checked_at = now
        signature = _signature(self.index_dir, current.name)
        if signature == self._signature:
            return current
        try:
            key = probe(self.index_dir)
        except IndexUnavailable:
            return current
        if key is None or key == current.key:
            self._signature = signature
            return current
        if not self._swap_lock.acquire(blocking=False):
            return current  # another thread is building it; keep serving the old one
        try:
            if self._snapshot is not current:
                return self._snapshot
            fresh = self._watcher.take(key) if self._watcher is not None else None
            if fresh is None:
                try:
                    fresh = Snapshot.open(self.index_dir, self.cache_bytes)
                except IndexUnavailable:
                    return current
                if self._watcher is not None:  # a server: warm it from the last one meanwhile
                    warmup.warm_in_background(fresh, current)
            self._snapshot = fresh
            self._signature = signature
            return fresh
        finally:
            self._swap_lock.release()

    def current(self) -> Snapshot:
        """The snapshot requests use now, without looking for a new generation."""
        return self._snapshot

    def refresh(self) -> Snapshot:
        """Look for a new index generation now (tests, admin tools)."""
        self._checked_at = float("-inf")
        return self.snapshot()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        self._snapshot.close()

    def generation(self) -> str:
        """``<generation folder>:<TOC number>``: it changes with incremental reindexes too."""
        return _generation(self.snapshot())

    # -- search --------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        snapshot = self.snapshot()
        parsed = query.parse(request.q)
        result = self._search(snapshot, request, parsed)
        if parsed.root is None:
            return result
        found = self._did_you_mean(snapshot, request, parsed)

        def rerun(corrected: str) -> SearchResult:
            again = replace(request, q=corrected, exact=True)
            return self._search(snapshot, again, query.parse(corrected))

        return spelling.settle(result, found, rerun)

    def _search(
        self, snapshot: Snapshot, request: SearchRequest, parsed: query.ParsedQuery
    ) -> SearchResult:
        started = time.perf_counter()
        now = request.clock()
        matches = self._match(snapshot, request, parsed, now)
        total = int(np.count_nonzero(matches.final))
        story_count = None
        if request.grouped:
            grouped = stories.grouped_page(snapshot, request, matches, now)
            hits = _hits(snapshot, parsed.root, grouped.docs, grouped.scores, grouped.related_only)
            hits = tuple(replace(h, story=b) for h, b in zip(hits, grouped.briefs, strict=True))
            story_count = grouped.stories
        else:
            docs, scores, related_only = counts.page(snapshot, request, matches, now)
            hits = _hits(snapshot, parsed.root, docs, scores, related_only)
        facets, histogram, ranges = counts.facet_counts(snapshot, request, matches, now)
        return SearchResult(
            request=request,
            total=total,
            hits=hits,
            facets=facets,
            date_histogram=histogram,
            ranges=ranges,
            took_ms=(time.perf_counter() - started) * 1000.0,
            generation=_generation(snapshot),
            plain_fallback=parsed.plain_fallback,
            stories=story_count,
            mode=matches.mode,
        )

    def _match(
        self,
        snapshot: Snapshot,
        request: SearchRequest,
        parsed: query.ParsedQuery,
        now: dt.datetime,
    ) -> counts.Matches:
        visible = snapshot.live if request.include_unpublished else snapshot.visible
        if request.q.strip():
            evaluation = matching.evaluate(parsed.root, snapshot)
            base = evaluation.mask & visible
        else:  # browsing: every visible article
            n = snapshot.doc_count
            evaluation = matching.Evaluation(visible, np.zeros(n, np.float32), None, False)
            base = visible
        filters = counts.filter_masks(snapshot, request, now)
        plan = hybrid.plan(parsed.root, request.q) if request.mode != "keyword" else None
        if plan is not None and plan.text and request.q.strip():
            vector = self.vectors.embed(plan.text)
            return dense.combine(snapshot, request, evaluation, plan, vector, visible, filters, now)
        final = base
        for mask in filters.values():
            final = final & mask
        return counts.Matches(evaluation, base, filters, final)

    def _did_you_mean(
        self, snapshot: Snapshot, request: SearchRequest, parsed: query.ParsedQuery
    ) -> spelling.Found | None:
        visible = snapshot.live if request.include_unpublished else snapshot.visible

        def visible_df(word: query.Words) -> int:
            vector = snapshot.words(word.stems, word.fields)
            return spelling.visible_count(vector.docs, visible)

        def closest(
            typed: str, stem: str, known: int, fields: tuple[str, ...]
        ) -> tuple[str, int] | None:
            def visible_term_df(term: str) -> int:  # summed over fields, as the vocabulary's
                return sum(
                    spelling.visible_count(snapshot.term(term, (field,)).docs, visible)
                    for field in fields
                )

            found = snapshot.memo(
                ("dym", typed, stem, known, fields, request.include_unpublished),
                lambda: (
                    spelling.closest_term(
                        typed, stem, known, snapshot.vocabulary(typed[0], fields), visible_term_df
                    )
                    or ("", 0)
                ),
                lambda pair: len(pair[0]) + 64,
            )
            return found if found[0] else None

        text = query.clean(request.q)
        respelled = spelling.correct(text, parsed.root, visible_df, closest)
        if respelled is None or respelled.q == text:
            return None
        respelled_request = replace(request, q=respelled.q)  # its text is what is embedded
        again = self._match(snapshot, respelled_request, query.parse(respelled.q), request.clock())
        return spelling.Found(respelled.q, int(np.count_nonzero(again.final)), respelled.gain)

    # -- the other calls of the contract -------------------------------------------------------

    def suggest(
        self, prefix: str, limit: int = 8, include_unpublished: bool = False
    ) -> list[Suggestion]:
        """Completions for the search box: topics and providers first, then titles."""
        text = query.clean(prefix).strip()
        if not text or limit < 1:
            return []
        snapshot = self.snapshot()
        visible = snapshot.live if include_unpublished else snapshot.visible
        folded = " ".join(fold_accents(text.lower()).split())
        values = _value_suggestions(snapshot, folded, include_unpublished)
        titles = _title_suggestions(snapshot, text, visible, limit)
        kept = values[: max(limit - len(titles), (limit + 1) // 2)]
        return (kept + titles)[:limit]

    def get(self, article_id: str, include_unpublished: bool = False) -> Article:
        snapshot = self.snapshot()
        doc = _visible_doc(snapshot, article_id, include_unpublished)
        stored = snapshot.stored(doc)
        return stored_to_article(
            json.loads(stored["doc"]),
            body=stored.get("body", ""),
            source_path=stored.get("path", ""),
        )

    def more_like_this(
        self, article_id: str, limit: int = 5, include_unpublished: bool = False
    ) -> list[Hit]:
        """The visible articles nearest this one in meaning (its vector's nearest, at least
        ``ranking.SIMILARITY_FLOOR``), itself excluded; by its most distinctive terms when it has
        no vector. Vectors held more of an article's story among its 5 similar ones on labelled
        news (0.926 against 0.892 by terms: ``python -m bench mlt``, bench/README.md)."""
        snapshot = self.snapshot()
        doc = _visible_doc(snapshot, article_id, include_unpublished)
        if limit < 1:
            return []
        visible = snapshot.live if include_unpublished else snapshot.visible
        vectors = dense.dense_index(snapshot)
        if not vectors.has[doc]:
            return key_terms_similar(snapshot, doc, limit, visible)
        allowed = visible & vectors.has
        allowed[doc] = False
        rows, sims = vectors.index.search(vectors.index.matrix[doc], allowed, limit)
        near = sims >= ranking.SIMILARITY_FLOOR  # "similar" means near, as in the modes
        pairs = zip(rows[near].tolist(), sims[near].tolist(), strict=True)
        return [_plain_hit(snapshot, row, sim) for row, sim in pairs]

    def story(self, story_id: str, include_unpublished: bool = False) -> Story:
        snapshot = self.snapshot()
        members = stories.story_members(snapshot, str(story_id), include_unpublished)
        if not members:
            raise NotFound(str(story_id))
        return story_view.story(str(story_id), members, _generation(snapshot))

    def story_of(self, article_id: str, include_unpublished: bool = False) -> Story:
        snapshot = self.snapshot()
        doc = _visible_doc(snapshot, article_id, include_unpublished)
        story_id = stories.story_of_doc(snapshot, doc)
        members = stories.story_members(snapshot, story_id, include_unpublished)
        return story_view.story(story_id, members, _generation(snapshot))

    def trending(
        self,
        window: str = "24h",
        *,
        include_unpublished: bool = False,
        now: dt.datetime | None = None,
        limit: int = 10,
    ) -> Trending:
        snapshot = self.snapshot()
        counter = stories.TrendingCounts(snapshot, include_unpublished)
        return story_trending.trending(counter, window, now, limit, _generation(snapshot))

    def info(self) -> IndexInfo:
        snapshot = self.snapshot()
        report = layout.read_report(self.index_dir) or {}
        rejected = report.get("rejected")
        return IndexInfo(
            generation=_generation(snapshot),
            doc_count=int(np.count_nonzero(snapshot.visible)),
            last_reindex=_parse_time(report.get("finished_at")),
            version=_version(),
            rejected=len(rejected) if isinstance(rejected, list) else 0,
        )


# -- hits ----------------------------------------------------------------------------------------


def _hits(
    snapshot: Snapshot,
    root: query.Node | None,
    docs: list[int],
    scores: list[float],
    related_only: list[bool],
) -> tuple[Hit, ...]:
    if not docs:
        return ()
    marks = highlight.marks(root)
    key = marks.key
    # whether the body matched: from the clauses' field bits, not by analysing the body again
    body_vectors = [
        snapshot.words(leaf.stems, leaf.fields)
        if isinstance(leaf, query.Words)
        else snapshot.prefix(leaf.prefix, leaf.fields)
        for leaf in marks.body_clauses
    ]
    hits = []
    for doc, score, related in zip(docs, scores, related_only, strict=True):
        article, body = snapshot.article(doc)
        shown = body if _in_body(body_vectors, doc) else ""
        # a hit's marks depend only on the document and the query's terms: asked again, the
        # same query (or another with the same terms) reuses them
        parts = snapshot.memo(
            ("marks", doc, key, bool(shown)),
            functools.partial(marks.parts, article, shown),
            _parts_bytes,
        )
        title, excerpt, body_snippet = parts
        related_marks = marks.related_titles(article) if related else ()
        hits.append(
            Hit(article, score, title, excerpt, body_snippet, related_matches=related_marks)
        )
    return tuple(hits)


def _parts_bytes(parts: highlight.Parts) -> int:
    return 200 + sum(120 + 2 * len(segment.text) for part in parts for segment in part)


def _in_body(vectors: list[ClauseVector], doc: int) -> bool:
    for vector in vectors:
        where = int(np.searchsorted(vector.docs, doc))
        if (
            where < len(vector.docs)
            and vector.docs[where] == doc
            and vector.bits[where] & _BODY_BIT
        ):
            return True
    return False


def _plain_hit(snapshot: Snapshot, doc: int, score: float) -> Hit:
    article, _ = snapshot.article(doc)
    title = (Segment(article.title),) if article.title else ()
    excerpt = (Segment(article.excerpt),) if article.excerpt else ()
    return Hit(article=article, score=score, title=title, excerpt=excerpt)


def _visible_doc(snapshot: Snapshot, article_id: str, include_unpublished: bool) -> int:
    doc = snapshot.doc_of_id.get(article_id) if isinstance(article_id, str) else None
    if doc is None or not (snapshot.live[doc] and (include_unpublished or snapshot.published[doc])):
        raise NotFound(str(article_id))
    return doc


def key_terms_similar(
    snapshot: Snapshot, doc: int, limit: int, visible: np.ndarray | None = None
) -> list[Hit]:
    """The visible documents sharing ``doc``'s most distinctive terms, best first."""
    stems = _key_terms(snapshot, snapshot.stored(doc))
    if not stems:
        return []
    words = [query.Words((stem,), SEARCH_FIELDS, stem, (0, 0)) for stem in stems]
    root = query.Soft(tuple(words)) if len(words) > 1 else words[0]
    evaluation = matching.evaluate(root, snapshot)
    mask = evaluation.mask & (snapshot.visible if visible is None else visible)
    mask[doc] = False
    candidates = np.flatnonzero(mask)
    if not len(candidates):
        return []
    scores = evaluation.score[candidates].astype(np.float64)
    order = np.lexsort((snapshot.id_rank[candidates], -scores))[:limit]
    return [_plain_hit(snapshot, int(candidates[i]), float(scores[i])) for i in order.tolist()]


def _key_terms(snapshot: Snapshot, stored: dict[str, str]) -> list[str]:
    """The article's most distinctive terms: tf × idf, title words counting double."""
    frequencies: Counter[str] = Counter()
    for field, weight in (("title", 2), ("excerpt", 1), ("body", 1)):
        for stem in analyse(stored.get(field, "") or ""):
            frequencies[stem] += weight
    n = max(snapshot.doc_count, 1)
    weighted = []
    for stem, tf in frequencies.items():
        df = snapshot.doc_frequency(stem, highlight.HIGHLIGHT_FIELDS)
        if df < 2:
            continue
        weighted.append((tf * np.log(1 + n / df), stem))
    weighted.sort(key=lambda item: (-item[0], item[1]))
    return [stem for _, stem in weighted[:MORE_LIKE_THIS_TERMS]]


# -- suggestions ---------------------------------------------------------------------------------


def _value_suggestions(
    snapshot: Snapshot, folded: str, include_unpublished: bool
) -> list[Suggestion]:
    found = []
    for kind in ("topic", "provider"):
        counts = snapshot.visible_counts(kind, include_unpublished)
        for ordinal, value in enumerate(snapshot.folded_values(kind)):
            if counts[ordinal] and (value.startswith(folded) or f" {folded}" in value):
                found.append(
                    Suggestion(snapshot.facets[kind].values[ordinal], kind, int(counts[ordinal]))
                )
    found.sort(key=lambda s: (-s.count, s.text.lower(), s.kind))
    return found


def _title_suggestions(
    snapshot: Snapshot, text: str, visible: np.ndarray, limit: int
) -> list[Suggestion]:
    """Titles containing the typed words, the last one possibly unfinished."""
    words = text.split()
    complete, partial = (words, "") if text[-1].isspace() else (words[:-1], words[-1])
    clauses: list[query.Node] = []
    for word in complete:
        stems = analyse(word)
        if stems:
            clauses.append(query.Words(stems, ("title",), word, (0, 0)))
    prefix = fold_word(partial)
    if prefix and any(ch.isalnum() for ch in prefix):
        clauses.append(query.Prefix(prefix, ("title",), partial))
    if not clauses:
        return []
    root = query.All(tuple(clauses)) if len(clauses) > 1 else clauses[0]
    evaluation = matching.evaluate(root, snapshot)
    candidates = np.flatnonzero(evaluation.mask & visible)
    if not len(candidates):
        return []
    scores = evaluation.score[candidates] * (1.0 + 0.1 * snapshot.quality_rank[candidates])
    order = np.lexsort((snapshot.id_rank[candidates], -scores))
    seen: dict[str, tuple[str, int, str]] = {}
    for index in order[: limit * 4].tolist():
        stored = snapshot.stored(int(candidates[index]))
        title = stored.get("title", "")
        key = fold_accents(title.lower())
        if title:  # the same title twice: the first (best) article is the one opened
            shown, count, article_id = seen.get(key, (title, 0, stored.get("id", "")))
            seen[key] = (shown, count + 1, article_id)
    return [
        Suggestion(title, "title", count, article_id)
        for title, count, article_id in list(seen.values())[:limit]
    ]


# -- small helpers -------------------------------------------------------------------------------


def _signature(index_dir: Path, generation: str) -> tuple[object, ...]:
    """What two ``stat`` calls say of ``CURRENT`` and the live folder (a TOC commit touches it)."""
    parts: list[object] = []
    for path in (index_dir / layout.POINTER, index_dir / generation):
        try:
            info = os.stat(path)
        except OSError:
            parts.append(None)
        else:
            parts.append((info.st_ino, info.st_mtime_ns, info.st_size))
    return tuple(parts)


def _generation(snapshot: Snapshot) -> str:
    return f"{snapshot.name}:{snapshot.toc_generation}"


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _version() -> str:
    try:
        return importlib.metadata.version("newsfind")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"
