"""The nearest vectors to a query vector among allowed rows: the dense side's candidates.

``NearestIndex(matrix)`` over unit vectors (float16 rows, widened as needed) answers
``search(query, allowed, k)``: the ``k`` rows of highest cosine among those ``allowed`` (a
boolean mask: visibility and the query's exact clauses, so a row that may not be shown never
takes a place), best first, with their exact cosines.

Two kernels, by size (``EXACT_LIMIT``), both faiss scans on one thread restricted to the allowed
rows by a bitmap (``IDSelectorBitmap``), measured in bench/README.md ("Hybrid search"):

- up to ``EXACT_LIMIT`` rows, exact: a float32 inner-product scan (``IndexFlatIP``);
- beyond, a scan of 8-bit codes (``IndexScalarQuantizer`` QT_8bit: a quarter of the memory read
  per query) asking for ``k + RESCORE_MARGIN`` rows, whose exact cosines then pick the ``k``.
  A float32 scan reads 1.5 KB per article per query (154 MB at 100,000 articles); on the shared
  2-core machine it took 55–100 ms at 100,000, the 8-bit scan 6–27 ms, with recall@50 ≥ 0.98
  against the exact top 50. Graph (HNSW) and inverted-list (IVF) indexes were measured too:
  faster per query, but with filters their recall fell to 0.4–0.65 at the settings that made
  them fast, and an HNSW graph of 100,000 vectors took 80–170 s to build, once per reindex.

No kernel goes through numpy's BLAS: its threads, on a busy machine, turned a 2,622-row
matrix–vector product from 0.06 ms into 130 ms (p50); faiss and ``np.einsum`` run on the calling
thread.

``similarity(query, rows)`` is the exact cosine of given rows (the fusion's candidates);
``cosines`` and ``best`` are the same arithmetic for vectors an engine holds elsewhere (the
Typesense engine reads them from its documents).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

EXACT_LIMIT = 20_000
RESCORE_MARGIN = 50


CHUNK = 65_536
"""Rows widened to float32 at a time while the codes are built (float16 rows stay float16)."""


class NearestIndex:
    def __init__(self, matrix: np.ndarray) -> None:
        wide = matrix.dtype not in (np.float16, np.float32)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32 if wide else matrix.dtype)
        """As given, float16 (the index's vectors: half the memory) or float32."""
        self.rows = len(self.matrix)
        self._codes: Any = None
        self._lock = threading.Lock()

    def similarity(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return cosines(self.matrix[rows], query)

    def search(
        self, query: np.ndarray, allowed: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cosines)`` of the ``k`` nearest allowed rows, best first (ties: lower row)."""
        count = int(np.count_nonzero(allowed))
        if k <= 0 or count == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if count <= 4 * (k + RESCORE_MARGIN):  # few allowed rows: their exact cosines are cheap
            candidates = np.flatnonzero(allowed)
            return best(candidates, self.similarity(query, candidates), k)
        if self.rows <= EXACT_LIMIT:
            rows = self._scan(self._index(exact=True), query, allowed, k)
        else:
            rows = self._scan(self._index(exact=False), query, allowed, k + RESCORE_MARGIN)
        return best(rows, self.similarity(query, rows), k)

    def _scan(self, index: Any, query: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
        import faiss

        bitmap = np.packbits(allowed, bitorder="little")
        selector = faiss.IDSelectorBitmap(self.rows, faiss.swig_ptr(bitmap))
        params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        _, found = index.search(query.astype(np.float32)[None, :], k, params=params)
        rows: np.ndarray = found[0]
        return rows[rows >= 0].astype(np.int64)

    def _index(self, exact: bool) -> Any:
        if self._codes is None:
            with self._lock:
                if self._codes is None:
                    import faiss

                    faiss.omp_set_num_threads(1)  # one request, one core: workers run beside it
                    dimensions = self.matrix.shape[1]
                    index: Any
                    if exact:
                        index = faiss.IndexFlatIP(dimensions)
                    else:
                        index = faiss.IndexScalarQuantizer(
                            dimensions, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
                        )
                        # its ranges are each dimension's min and max (RS_minmax): trained on
                        # those two rows, the codes are those of training on every row
                        ends = [self.matrix.min(axis=0), self.matrix.max(axis=0)]
                        index.train(np.array(ends, dtype=np.float32))
                    for start in range(0, self.rows, CHUNK):
                        index.add(np.asarray(self.matrix[start : start + CHUNK], np.float32))
                    self._codes = index
        return self._codes

    @property
    def nbytes(self) -> int:
        """The matrix and, once built, the codes (bench/README.md: the 1M projection)."""
        codes = self.rows * self.matrix.shape[1] * (4 if self.rows <= EXACT_LIMIT else 1)
        return int(self.matrix.nbytes) + (codes if self._codes is not None else 0)


def cosines(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The exact cosine of each unit row of ``vectors`` with the unit ``query`` (float32, on the
    calling thread: the one definition both engines rank the dense side by)."""
    sims: np.ndarray = np.einsum(
        "ij,j->i", np.asarray(vectors, dtype=np.float32), query.astype(np.float32)
    )
    return sims


def best(rows: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(rows) > k:
        keep = np.argpartition(-sims, k - 1)[:k]
        rows, sims = rows[keep], sims[keep]
    order = np.lexsort((rows, -sims))
    return rows[order], sims[order].astype(np.float32)
