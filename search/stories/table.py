"""Articles as the story step holds them: columns of numpy arrays, one row per article.

``Ragged`` is a list of variable-length rows in two arrays (``ptr``, ``values``, optionally
parallel ``weights``): an article's terms, shingles, related URLs or smoothed vector. ``Table``
holds every column the method reads and what it computes (``y``, the stories); rows are kept in
*canonical order* — dated articles by (time, id), then undated ones by id — so that a window of
time is a slice and every tie is broken the same way whatever order the files came in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Ragged:
    ptr: np.ndarray
    """``int64``, ``len + 1``: row ``i`` is ``values[ptr[i]:ptr[i + 1]]``."""
    values: np.ndarray
    weights: np.ndarray | None = None
    """Parallel to ``values`` (a term's count or weight), when the rows are vectors."""

    @classmethod
    def of(
        cls, lengths: np.ndarray, values: np.ndarray, weights: np.ndarray | None = None
    ) -> Ragged:
        ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        return cls(ptr, values, weights)

    @classmethod
    def empty(cls, rows: int, dtype: type, weighted: bool = False) -> Ragged:
        weights = np.zeros(0, dtype=np.float32) if weighted else None
        return cls(np.zeros(rows + 1, dtype=np.int64), np.zeros(0, dtype=dtype), weights)

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.ptr)

    def row_ids(self) -> np.ndarray:
        """The row of each value."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths())

    def row(self, index: int) -> np.ndarray:
        return self.values[self.ptr[index] : self.ptr[index + 1]]

    def take(self, rows: np.ndarray) -> Ragged:
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.ptr[rows + 1] - self.ptr[rows]
        out = Ragged.of(lengths, self.values[:0])
        total = int(out.ptr[-1])
        where = np.repeat(self.ptr[rows] - out.ptr[:-1], lengths) + np.arange(total)
        weights = self.weights[where] if self.weights is not None else None
        return Ragged(out.ptr, self.values[where], weights)

    @staticmethod
    def concat(parts: Sequence[Ragged]) -> Ragged:
        lengths = np.concatenate([part.lengths() for part in parts])
        values = np.concatenate([part.values for part in parts])
        weighted = [part.weights for part in parts if part.weights is not None]
        weights = np.concatenate(weighted) if len(weighted) == len(parts) else None
        return Ragged.of(lengths, values, weights)


NO_STORY = ""


@dataclass(frozen=True)
class Table:
    ids: list[str]
    content_hashes: list[str]
    """Of the file each row was read from: a row whose file changed is recomputed."""
    t: np.ndarray
    """Published time, UTC epoch seconds (``features.MISSING_TIME`` when undated)."""
    provider: np.ndarray
    """``uint64`` key of the provider (equal keys: the same provider)."""
    published: np.ndarray
    url: np.ndarray
    """``uint64`` key of the article's URL (0: none)."""
    related: Ragged
    """Keys of the URLs its ``related`` entries link to."""
    terms: Ragged
    """Term hashes (sorted) with their counts as ``weights``."""
    shingles: Ragged
    x: Ragged | None = None
    """The tf-idf vector (term hashes, weights) with the df of the last full story run."""
    y: Ragged | None = None
    """The smoothed vector (term hashes, weights) once computed."""
    story: list[str] = field(default_factory=list)
    """Story id of each row (``NO_STORY`` before the step has run)."""
    group: list[str] = field(default_factory=list)
    """Near-duplicate group id of each row (its first article's id; itself when alone)."""

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dated(self) -> np.ndarray:
        dated: np.ndarray = self.t != np.iinfo(np.int64).min
        return dated

    def take(self, rows: np.ndarray | Sequence[int]) -> Table:
        rows = np.asarray(rows, dtype=np.int64)
        listed = rows.tolist()
        return Table(
            ids=[self.ids[i] for i in listed],
            content_hashes=[self.content_hashes[i] for i in listed],
            t=self.t[rows],
            provider=self.provider[rows],
            published=self.published[rows],
            url=self.url[rows],
            related=self.related.take(rows),
            terms=self.terms.take(rows),
            shingles=self.shingles.take(rows),
            x=self.x.take(rows) if self.x is not None else None,
            y=self.y.take(rows) if self.y is not None else None,
            story=[self.story[i] for i in listed] if self.story else [],
            group=[self.group[i] for i in listed] if self.group else [],
        )

    def with_(self, **changes: object) -> Table:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def canonical_order(self) -> np.ndarray:
        """Row numbers in canonical order: dated ones by (time, id), then undated by id."""
        by_id = np.array(sorted(range(len(self)), key=self.ids.__getitem__), dtype=np.int64)
        keys = self.t[by_id]
        undated = keys == np.iinfo(np.int64).min
        order = np.lexsort((np.arange(len(by_id)), keys, undated))
        return by_id[order]

    def sorted(self) -> Table:
        order = self.canonical_order()
        if np.array_equal(order, np.arange(len(self))):
            return self
        return self.take(order)


def concat(tables: Sequence[Table]) -> Table:
    parts = [table for table in tables if len(table)] or list(tables[:1])
    with_x = any(table.x is not None for table in parts)
    with_y = any(table.y is not None for table in parts)
    return Table(
        ids=[i for table in parts for i in table.ids],
        content_hashes=[h for table in parts for h in table.content_hashes],
        t=np.concatenate([table.t for table in parts]),
        provider=np.concatenate([table.provider for table in parts]),
        published=np.concatenate([table.published for table in parts]),
        url=np.concatenate([table.url for table in parts]),
        related=Ragged.concat([table.related for table in parts]),
        terms=Ragged.concat([table.terms for table in parts]),
        shingles=Ragged.concat([table.shingles for table in parts]),
        x=Ragged.concat([_vectors(table.x, len(table)) for table in parts]) if with_x else None,
        y=Ragged.concat([_vectors(table.y, len(table)) for table in parts]) if with_y else None,
        story=[s for table in parts for s in _filled(table.story, len(table))],
        group=[g for table in parts for g in _filled(table.group, len(table))],
    )


def _vectors(vectors: Ragged | None, rows: int) -> Ragged:
    """A part's vectors, or empty ones for a part that has none yet."""
    if vectors is not None:
        return vectors
    return Ragged.empty(rows, np.uint32, weighted=True)


def _filled(values: list[str], rows: int) -> list[str]:
    return values if len(values) == rows else [NO_STORY] * rows
