"""One index generation in memory: what the engine's hot path needs, as numpy arrays.

A ``Snapshot`` is built once per generation (the ``CURRENT`` folder and Whoosh's table of
contents generation) and never changes afterwards; the engine swaps in a new one when the
index changes. It holds:

- per document (``N`` = Whoosh's document count, deleted ones included; ``columns``: mapped
  from the file the reindex wrote with the commit, so every process shares them): ``live`` and
  ``published`` masks, ``dates`` (UTC epoch seconds, ``schema.MISSING_DATE`` when undated),
  ``quality``, ``heat`` and their percentile ranks, per-field token counts, the id and its rank
  in id order (the last tie-breaker of every sort);
- the exact-value facets (``topic``, ``provider``, ``domain``, ``type``) as ``FacetIndex``:
  (document, value ordinal) entries grouped by value and by document, so a filter is a slice
  and the counts are one gather and a sum per value;
- what other modules derive from the whole generation (``derived``: the stories, the vectors),
  built once;
- a cache of per-clause score vectors (sorted document numbers, BM25F scores, field bits),
  filled lazily from the posting lists (``postings``), and of prefix expansions. It is
  bounded in bytes and keeps what is dear to recompute per byte (``cache``): a phrase
  of common words outlasts the vectors of single words that are read again quickly.

The Whoosh reader stays open for stored fields (the hits' display data) and for the term table
and posting files that ``postings`` reads in bulk. Whoosh readers are not thread-safe, so
every access goes through one lock; the cached arrays need none. The reader keeps its files
open (memory-mapped), so a snapshot stays usable when a later reindex replaces or removes them,
until the last request using it finishes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from .. import ranking
from ..analysis import fold_accents
from ..articles import Article
from ..dates import slot_numbers
from ..documents import stored_to_article
from ..errors import IndexUnavailable
from ..query import EXPANSION_POSTINGS, MAX_EXPANSIONS
from ..ranking import TEXT_FIELDS
from . import columns, layout, positions, postings
from .cache import CostAwareCache

T = TypeVar("T")
FACET_FIELDS = columns.FACET_FIELDS
DEFAULT_CACHE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class ClauseVector:
    """The documents one clause matches (sorted), their BM25F scores and field bits."""

    docs: np.ndarray
    scores: np.ndarray
    bits: np.ndarray
    """The fields holding one of the clause's terms."""
    phrase_bits: np.ndarray | None = None
    """A phrase's: the fields holding the whole phrase (``bits`` holds any of its terms)."""

    @property
    def nbytes(self) -> int:
        extra = self.phrase_bits.nbytes if self.phrase_bits is not None else 0
        return int(self.docs.nbytes + self.scores.nbytes + self.bits.nbytes + extra) + 200

    @property
    def matched_bits(self) -> np.ndarray:
        return self.bits if self.phrase_bits is None else self.phrase_bits


EMPTY_CLAUSE = ClauseVector(
    np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.uint8)
)


@dataclass(frozen=True)
class FacetIndex:
    """One exact-value field: ``values`` (sorted) and (document, ordinal) entries by value."""

    values: tuple[str, ...]
    ordinals: dict[str, int]
    entry_docs: np.ndarray
    entry_values: np.ndarray
    starts: np.ndarray
    """Entries of value ``i`` are ``starts[i]:starts[i + 1]``."""
    doc_starts: np.ndarray
    """The same entries by document: document ``d``'s values are
    ``values_by_doc[doc_starts[d]:doc_starts[d + 1]]``."""
    values_by_doc: np.ndarray

    @classmethod
    def of(cls, data: columns.Columns, field: str) -> FacetIndex:
        values = data.facet_values[field]
        prefix = f"facet.{field}."
        return cls(
            values=values,
            ordinals={value: index for index, value in enumerate(values)},
            entry_docs=data[prefix + "entry_docs"],
            entry_values=data[prefix + "entry_values"],
            starts=data[prefix + "starts"],
            doc_starts=data[prefix + "doc_starts"],
            values_by_doc=data[prefix + "values_by_doc"],
        )

    def docs_of(self, value: str) -> np.ndarray:
        ordinal = self.ordinals.get(value)
        if ordinal is None:
            return postings.EMPTY_DOCS
        return self.entry_docs[self.starts[ordinal] : self.starts[ordinal + 1]]

    def mask(self, values: Iterable[str], doc_count: int) -> np.ndarray:
        mask = np.zeros(doc_count, dtype=bool)
        for value in values:
            mask[self.docs_of(value)] = True
        return mask

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """Documents of ``mask`` per value (a document counts once for each of its values)."""
        if not len(self.values):
            return np.zeros(0, dtype=np.int64)
        if np.count_nonzero(mask) * 8 > len(mask):
            # entries are grouped by value: one gather, one sum per group
            return np.add.reduceat(mask[self.entry_docs], self.starts[:-1], dtype=np.int64)
        # few documents: gather their own entries rather than test every entry
        docs = np.flatnonzero(mask)
        starts = self.doc_starts[docs]
        lengths = self.doc_starts[docs + 1] - starts
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if len(ends) else 0
        values = self.values_by_doc[np.repeat(starts - ends + lengths, lengths) + np.arange(total)]
        return np.bincount(values, minlength=len(self.values))


def probe(index_dir: str | os.PathLike[str]) -> tuple[str, int] | None:
    """``(generation, Whoosh TOC generation)`` of the live index, cheaply; None if there is none."""
    name = layout.current_generation(index_dir)
    if name is None:
        return None
    storage = FileStorage(str(Path(index_dir) / name))
    try:
        toc = whoosh_index.TOC._latest_generation(storage, whoosh_index._DEF_INDEX_NAME)
    except OSError:
        return None
    return name, toc


class Snapshot:
    def __init__(self, name: str, ix: Any, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        postings.lazy_compound_buffers()
        toc = ix._read_toc()
        self.name = name
        self.folder = Path(ix.storage.folder)
        self.toc_generation: int = toc.generation
        self.schema = toc.schema
        self.reader = ix._reader(ix.storage, toc.schema, toc.segments, toc.generation)
        self._lock = threading.RLock()
        self._cache = CostAwareCache(cache_bytes)
        self.leaves: list[tuple[Any, int]] = list(self.reader.leaf_readers())
        for leaf, _ in self.leaves:
            postings.release_term_table_copy(leaf)
            postings.read_postings_unmapped(leaf, str(self.folder))
        # each segment's positions as arrays, when its writer left them (phrase checks)
        self.position_tables = [
            positions.Table.open(self.folder, leaf.segment(), leaf.doc_count_all())
            for leaf, _ in self.leaves
        ]
        self.doc_count = int(self.reader.doc_count_all())
        self._load_columns()
        self._derived: dict[str, Any] = {}
        self._derived_lock = threading.Lock()

    @property
    def key(self) -> tuple[str, int]:
        return self.name, self.toc_generation

    @classmethod
    def open(
        cls, index_dir: str | os.PathLike[str], cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> Snapshot:
        name = layout.current_generation(index_dir)
        if name is None:
            raise IndexUnavailable(f"no index in {index_dir}: run 'newsfind reindex' first")
        return cls.open_generation(index_dir, name, cache_bytes)

    @classmethod
    def open_generation(
        cls, index_dir: str | os.PathLike[str], name: str, cache_bytes: int = DEFAULT_CACHE_BYTES
    ) -> Snapshot:
        """A snapshot of generation ``name`` (the live one, or one announced to replace it)."""
        try:
            name, ix = layout.open_generation(index_dir, name)
            return cls(name, ix, cache_bytes)
        except IndexUnavailable:
            raise
        except Exception as exc:  # a damaged or vanishing generation
            raise IndexUnavailable(f"cannot read index generation {name}: {exc!r}") from exc

    def close(self) -> None:
        with self._lock:
            self.reader.close()
            for table in self.position_tables:
                if table is not None:
                    table.close()

    # -- building ------------------------------------------------------------------------------

    def _load_columns(self) -> None:
        """The commit's arrays: mapped from the file the reindex wrote, else computed here."""
        stored = layout.derived_file(self.folder, columns.KIND, self.toc_generation)
        loaded = columns.load(stored, self.doc_count)
        self.columns = loaded if loaded is not None else columns.compute(self.reader)
        data = self.columns
        self.live = data["live"]
        self.published = data["published"]
        self.visible = data["visible"]
        self.dates = data["dates"]
        self.dated = data["dated"]
        self.quality = data["quality"]
        self.heat = data["heat"]
        self.quality_rank = data["quality_rank"]
        self.heat_rank = data["heat_rank"]
        self.lengths = {field: data[f"length.{field}"] for field in TEXT_FIELDS}
        self.averages = dict(data.averages)
        self.id_rank = data["id_rank"]
        self.facets = {field: FacetIndex.of(data, field) for field in FACET_FIELDS}

    @property
    def doc_of_id(self) -> columns.LiveDocs:
        """The live document holding an id (``.get(id)``, ``[id]``, ``.many(ids)``)."""
        return columns.LiveDocs(self.columns)

    @property
    def ids(self) -> columns.Ids:
        """Every document's id, by document number."""
        return columns.Ids(self.columns)

    def id_of(self, doc: int) -> str:
        return columns.id_of(self.columns, doc)

    # -- caching -------------------------------------------------------------------------------

    def memo(self, key: Hashable, compute: Callable[[], T], size: Callable[[T], int]) -> T:
        """``compute()`` once per key while it stays in the cache (``size`` gives its bytes;
        the time ``compute`` took is its cost)."""
        cached = self._cache.get(key)
        if cached is None:
            started = time.perf_counter()
            cached = compute()
            self._cache.put(key, cached, size(cached), time.perf_counter() - started)
        return cached  # type: ignore[no-any-return]

    # -- clauses -------------------------------------------------------------------------------

    def term(self, stem: str, fields: tuple[str, ...]) -> ClauseVector:
        """BM25F of one analysed term over ``fields``."""
        return self.memo(("t", stem, fields), lambda: self._term(stem, fields), _nbytes)

    def _term(self, stem: str, fields: tuple[str, ...]) -> ClauseVector:
        per_field = []
        encoded = stem.encode("utf-8")
        with self._lock:
            for field in fields:
                boost = float(self.schema[field].format.field_boost) or 1.0
                docs_parts, tf_parts = [], []
                for leaf, offset in self.leaves:
                    docs, weights = postings.postings(leaf, field, encoded)
                    if len(docs):
                        docs_parts.append(docs.astype(np.int64) + offset)
                        tf_parts.append(np.maximum(np.rint(weights / boost), 1.0))
                if docs_parts:
                    per_field.append((field, np.concatenate(docs_parts), np.concatenate(tf_parts)))
        if not per_field:
            return EMPTY_CLAUSE
        return ClauseVector(*ranking.bm25f(per_field, self.lengths, self.averages, self.doc_count))

    def words(self, stems: tuple[str, ...], fields: tuple[str, ...]) -> ClauseVector:
        """One term, or several that must be adjacent (a phrase) in one of ``fields``."""
        if len(stems) == 1:
            return self.term(stems[0], fields)
        return self.memo(("p", stems, fields), lambda: self._phrase(stems, fields), _nbytes)

    def _phrase(self, stems: tuple[str, ...], fields: tuple[str, ...]) -> ClauseVector:
        vectors = [self.term(stem, fields) for stem in stems]
        docs, phrase_bits = self._phrase_docs(stems, fields, vectors)
        scores = np.zeros(len(docs), dtype=np.float32)
        bits = np.zeros(len(docs), dtype=np.uint8)
        for vector in vectors:
            where = np.searchsorted(vector.docs, docs)
            scores += vector.scores[where]
            bits |= vector.bits[where]
        return ClauseVector(docs, scores, bits, phrase_bits)

    def _phrase_docs(
        self, stems: tuple[str, ...], fields: tuple[str, ...], vectors: list[ClauseVector]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding the phrase, and the bits of the fields that hold it."""
        found: list[tuple[np.ndarray, int]] = []
        for field in fields:
            bit = ranking.FIELD_BITS[field]
            candidates = None
            for vector in vectors:
                docs = vector.docs[(vector.bits & bit) != 0]
                candidates = docs if candidates is None else sorted_intersection(candidates, docs)
                if not len(candidates):
                    break
            if candidates is not None and len(candidates):
                found.append((self._verify_phrase(field, stems, candidates), bit))
        if not found:
            return postings.EMPTY_DOCS, EMPTY_CLAUSE.bits
        docs = np.unique(np.concatenate([matched for matched, _ in found])).astype(np.int32)
        bits = np.zeros(len(docs), dtype=np.uint8)
        for matched, bit in found:
            bits[np.searchsorted(docs, matched)] |= bit
        return docs, bits

    def _verify_phrase(
        self, field: str, stems: tuple[str, ...], candidates: np.ndarray
    ) -> np.ndarray:
        matched: list[np.ndarray] = []
        with self._lock:
            for (leaf, offset), table in zip(self.leaves, self.position_tables, strict=True):
                local = candidates[
                    (candidates >= offset) & (candidates < offset + leaf.doc_count_all())
                ]
                if not len(local):
                    continue
                local = local.astype(np.int64) - offset
                hits = _phrase_in_segment(leaf, table, field, stems, local)
                matched.append(hits + offset)
        return np.concatenate(matched).astype(np.int32) if matched else postings.EMPTY_DOCS

    def expand(self, prefix: str, fields: tuple[str, ...]) -> tuple[str, ...]:
        """The indexed terms starting with ``prefix``, most frequent first: at most
        ``MAX_EXPANSIONS``, and no more than ``EXPANSION_POSTINGS`` postings per document of
        the index in all (the first term is always kept)."""

        def most_frequent() -> tuple[str, ...]:
            frequencies = self.terms_with_prefix(prefix, fields)
            ranked = sorted(frequencies.items(), key=lambda item: (-item[1], item[0]))
            budget = EXPANSION_POSTINGS * self.doc_count
            kept: list[str] = []
            for term, df in ranked[:MAX_EXPANSIONS]:
                budget -= df
                if kept and budget < 0:
                    break
                kept.append(term)
            return tuple(kept)

        return self.memo(("x", prefix, fields), most_frequent, _text_bytes)

    def prefix(self, prefix: str, fields: tuple[str, ...]) -> ClauseVector:
        """Documents having any expansion of ``prefix``, scored as one term.

        A document's term-frequency part is that of its best expansion; the idf is the prefix's
        (from the documents having any expansion), so a rare expansion does not outweigh the
        common ones.
        """
        return self.memo(("xv", prefix, fields), lambda: self._prefix(prefix, fields), _nbytes)

    def _prefix(self, prefix: str, fields: tuple[str, ...]) -> ClauseVector:
        best = np.zeros(self.doc_count, dtype=np.float32)
        bits = np.zeros(self.doc_count, dtype=np.uint8)
        for term in self.expand(prefix, fields):
            vector = self.term(term, fields)
            if not len(vector.docs):
                continue
            saturation = vector.scores / ranking.idf(len(vector.docs), self.doc_count)
            best[vector.docs] = np.maximum(best[vector.docs], saturation)
            bits[vector.docs] |= vector.bits
        docs = np.flatnonzero(bits).astype(np.int32)
        scores = best[docs] * ranking.idf(len(docs), self.doc_count)
        return ClauseVector(docs, scores.astype(np.float32), bits[docs])

    def terms_with_prefix(self, prefix: str, fields: Iterable[str]) -> dict[str, int]:
        """``{term: document frequency}`` (summed over fields and segments) for a prefix."""
        encoded = prefix.encode("utf-8")
        frequencies: dict[str, int] = {}
        with self._lock:
            for field in fields:
                for leaf, _ in self.leaves:
                    for term, df in postings.term_range(leaf, field, encoded):
                        text = term.decode("utf-8", "replace")
                        frequencies[text] = frequencies.get(text, 0) + df
        return frequencies

    def vocabulary(self, letter: str, fields: tuple[str, ...]) -> dict[str, int]:
        """``terms_with_prefix`` of one letter, cached (the did-you-mean candidates)."""
        return self.memo(
            ("v", letter, fields), lambda: self.terms_with_prefix(letter, fields), _text_bytes
        )

    def doc_frequency(self, stem: str, fields: Iterable[str]) -> int:
        encoded = stem.encode("utf-8")
        with self._lock:
            return sum(
                postings.doc_frequency(leaf, field, encoded)
                for field in fields
                for leaf, _ in self.leaves
            )

    def date_slots(self, unit: str) -> np.ndarray:
        """Every document's day / month / year number (``dates.slot_numbers``), computed once."""
        return self.memo(
            ("slots", unit),
            lambda: slot_numbers(np.where(self.dated, self.dates, 0), unit),
            lambda slots: int(slots.nbytes),
        )

    def newest(self, include_unpublished: bool) -> dt.datetime | None:
        """The newest visible (or live) article's time: where relative windows end when the
        archive is older than them (``dates.window_end``)."""

        def compute() -> tuple[int, ...]:
            mask = (self.live if include_unpublished else self.visible) & self.dated
            return (int(self.dates[mask].max()),) if mask.any() else ()

        found = self.memo(("newest", include_unpublished), compute, lambda _: 64)
        return dt.datetime.fromtimestamp(found[0], dt.UTC) if found else None

    def derived_names(self) -> list[str]:
        """The names of what ``derived`` has built for this snapshot so far."""
        return list(self._derived)

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` once for this snapshot, kept as long as it lives (never evicted, unlike
        ``memo``): data other modules derive from a whole generation (``stories.StoryIndex``,
        ``dense.DenseIndex``)."""
        found: T | None = self._derived.get(name)
        if found is None:
            with self._derived_lock:
                found = self._derived.get(name)
                if found is None:
                    found = self._derived[name] = build()
        return found

    # -- facet values for suggestions ----------------------------------------------------------

    def visible_counts(self, field: str, include_unpublished: bool) -> np.ndarray:
        """Documents per value of a facet field among the visible (or live) ones."""
        mask = self.live if include_unpublished else self.visible
        return self.memo(
            ("c", field, include_unpublished),
            lambda: self.facets[field].counts(mask),
            lambda counts: int(counts.nbytes),
        )

    def folded_values(self, field: str) -> tuple[str, ...]:
        """The facet's values in lower case without accents (for prefix matching)."""
        values = self.facets[field].values
        return self.memo(
            ("f", field),
            lambda: tuple(" ".join(fold_accents(v.lower()).split()) for v in values),
            _text_bytes,
        )

    # -- documents -----------------------------------------------------------------------------

    def stored(self, doc: int) -> dict[str, Any]:
        with self._lock:
            return dict(self.reader.stored_fields(int(doc)))

    def article(self, doc: int) -> tuple[Article, str]:
        """A document's ``Article`` (without its body) and its body, as a hit shows them: read
        and parsed once while they stay in the cache (a hit is read again and again)."""
        return self.memo(("article", int(doc)), lambda: self._article(doc), _article_bytes)

    def _article(self, doc: int) -> tuple[Article, str]:
        stored = self.stored(doc)
        article = stored_to_article(json.loads(stored["doc"]), source_path=stored.get("path", ""))
        return article, stored.get("body", "") or ""

    def cached_keys(self) -> list[Hashable]:
        """The cache's keys, the most valuable first (what a warm-up replays)."""
        return self._cache.keys()

    def cache_size(self) -> tuple[int, int]:
        """(entries, bytes) of the clause cache."""
        return len(self._cache), self._cache.bytes


def _nbytes(vector: ClauseVector) -> int:
    return vector.nbytes


def _article_bytes(item: tuple[Article, str]) -> int:
    article, body = item
    return 1000 + 2 * (len(article.title) + len(article.excerpt) + len(body))


def _text_bytes(items: Sized) -> int:
    return 100 + 80 * len(items)


def _phrase_in_segment(
    leaf: Any, table: positions.Table | None, field: str, stems: tuple[str, ...], docs: np.ndarray
) -> np.ndarray:
    """Which of ``docs`` (segment-local, sorted) hold ``stems`` at consecutive positions.

    Each occurrence of the i-th word is keyed ``(document << 32) | (position - i)``; a phrase
    starts where every word has the same key.
    """
    starts: np.ndarray | None = None
    for index, stem in enumerate(stems):
        stem_docs, stem_positions = postings.positions(
            leaf, field, stem.encode("utf-8"), docs, table
        )
        keep = stem_positions >= index
        keys = (stem_docs[keep] << 32) | (stem_positions[keep] - index)
        starts = keys if starts is None else sorted_intersection(starts, keys)
        if not len(starts):
            return postings.EMPTY_DOCS
        docs = sorted_unique(starts >> 32)  # the next word is only needed where the phrase goes on
    return docs


def sorted_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both of two sorted arrays without repeats, sorted."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    where = np.minimum(np.searchsorted(b, a), len(b) - 1)
    common: np.ndarray = a[b[where] == a]
    return common


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """A sorted array without its repeats."""
    if not len(a):
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]
