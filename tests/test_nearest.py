"""search.nearest: the nearest allowed rows, exact below EXACT_LIMIT, an 8-bit scan beyond."""

from __future__ import annotations

import numpy as np
import pytest

from search import nearest
from search.nearest import NearestIndex


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, 64)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def brute_force(matrix: np.ndarray, query: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    sims = np.where(allowed, matrix @ query, -np.inf)
    return [int(row) for row in np.lexsort((np.arange(len(sims)), -sims))[:k]]


@pytest.mark.parametrize("count", [3_000, nearest.EXACT_LIMIT + 5_000])
def test_only_allowed_rows_best_first_with_exact_cosines(count: int) -> None:
    matrix = unit_rows(count, 1)
    index = NearestIndex(matrix)
    allowed = np.random.default_rng(2).random(count) > 0.3
    for query in unit_rows(5, 3):
        rows, sims = index.search(query, allowed, 50)
        assert len(rows) == 50 and allowed[rows].all()
        assert np.allclose(sims, matrix[rows] @ query, atol=1e-5)
        assert list(sims) == sorted(sims, reverse=True)
        expected = brute_force(matrix, query, allowed, 50)
        if count <= nearest.EXACT_LIMIT:
            assert rows.tolist() == expected
        else:  # the 8-bit scan, rescored: nearly all of the exact top 50
            assert len(set(rows.tolist()) & set(expected)) >= 45


def test_few_allowed_rows_and_none() -> None:
    matrix = unit_rows(nearest.EXACT_LIMIT + 100, 4)
    index = NearestIndex(matrix)
    allowed = np.zeros(len(matrix), dtype=bool)
    assert index.search(matrix[0], allowed, 10)[0].tolist() == []
    allowed[[7, 70, 700]] = True
    rows, _ = index.search(matrix[70], allowed, 10)
    assert rows.tolist()[0] == 70 and sorted(rows.tolist()) == [7, 70, 700]
