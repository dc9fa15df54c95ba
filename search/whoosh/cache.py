"""A thread-safe cache bounded by the bytes of its values, that keeps what is dear to recompute.

The snapshot caches per-clause score vectors. Their sizes and costs differ by orders of
magnitude: at a million articles a common word's vector is megabytes and is read again in tens
of milliseconds, while a phrase of two common words is a few hundred kilobytes and costs a few
hundred milliseconds (its positions must be read and compared). A plain LRU evicts both alike,
so once the working set outgrows the budget the dear entries are recomputed as often as the
cheap ones.

Eviction follows GreedyDual-Size (Cao and Irani, 1997): each entry holds a credit of
``inflation + cost / size``, set when it is stored and renewed on every hit; the entry with the
least credit goes first, and the inflation rises to its credit. Among entries of equal cost per
byte this is LRU; a dear entry that is no longer used loses its head start as the inflation
catches up with it.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

_MIN_COST = 1e-6  # seconds: a cost too small to time still counts for something


@dataclass
class _Entry:
    value: Any
    size: int
    cost: float
    credit: float
    stamp: int


class CostAwareCache:
    """``get`` / ``put`` of values whose ``size`` (bytes) and ``cost`` (seconds) are given."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be 0 or more, not {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: dict[Hashable, _Entry] = {}
        # (credit, stamp, key); an item's older heap rows are skipped by their stamp
        self._heap: list[tuple[float, int, Hashable]] = []
        self._inflation = 0.0
        self._stamps = itertools.count()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key``, or None; a hit renews the entry's credit."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._renew(key, entry)
            return entry.value

    def put(self, key: Hashable, value: Any, size: int, cost: float) -> None:
        """Store ``value``, then evict the least credited entries down to ``max_bytes``.

        A key already stored keeps its first value. The last entry standing is never evicted,
        whatever its size.
        """
        with self._lock:
            if key in self._items:
                return
            entry = _Entry(value, max(size, 1), max(cost, _MIN_COST), 0.0, 0)
            self._items[key] = entry
            self.bytes += entry.size
            self._renew(key, entry)
            while self.bytes > self.max_bytes and len(self._items) > 1:
                self._evict_one()
            if len(self._heap) > 2 * len(self._items) + 64:
                self._compact()

    def keys(self) -> list[Hashable]:
        """The keys held, the most credited (dearest to recompute, most recently used) first."""
        with self._lock:
            entries = sorted(self._items.items(), key=lambda item: -item[1].credit)
        return [key for key, _ in entries]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def _renew(self, key: Hashable, entry: _Entry) -> None:
        entry.credit = self._inflation + entry.cost / entry.size
        entry.stamp = next(self._stamps)
        heapq.heappush(self._heap, (entry.credit, entry.stamp, key))

    def _evict_one(self) -> None:
        while self._heap:
            credit, stamp, key = heapq.heappop(self._heap)
            entry = self._items.get(key)
            if entry is None or entry.stamp != stamp:
                continue  # a row left behind by a renewal or an eviction
            del self._items[key]
            self.bytes -= entry.size
            self._inflation = max(self._inflation, credit)
            return

    def _compact(self) -> None:
        self._heap = [(entry.credit, entry.stamp, key) for key, entry in self._items.items()]
        heapq.heapify(self._heap)
