"""Grouping ranked matches by story, for an engine that ranks with numpy arrays (Whoosh): each
story's first match in the order, and the order of the stories by it.

``first_of_groups`` sorts only a top slice of the matches: it takes the best ``k`` by the first
key (ties kept), and if they hold enough distinct stories, the stories' first matches among them
are exactly their first matches overall (any story missing from the slice ranks after all of
them); else it widens ``k``. So a grouped page costs about what an ungrouped one does.

``page_order`` is the order of the grouped entries a page is cut from: with diversity, the first
page re-ranked by provider (``diversity``), then the rest in their order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import diversity


def first_of_groups(keys: Sequence[np.ndarray], codes: np.ndarray, count: int) -> np.ndarray:
    """Positions of the first element of each code in the order ``keys`` give (the first key
    decides, the next ones break ties; lower first), for the first ``count`` codes."""
    size = len(codes)
    wanted = max(count * 4, 64)
    while True:
        if wanted >= size:
            chosen = np.arange(size)
        else:
            first = keys[0]
            threshold = first[np.argpartition(first, wanted - 1)[:wanted]].max()
            chosen = np.flatnonzero(first <= threshold)
        ordered = chosen[np.lexsort([key[chosen] for key in reversed(keys)])]
        _, firsts = np.unique(codes[ordered], return_index=True)
        found: np.ndarray = ordered[np.sort(firsts)]
        if len(found) >= count or len(chosen) == size:
            return found[:count]
        wanted *= 4


def needed(offset: int, per_page: int, diversify: bool) -> int:
    """How many entries in their order a page needs (diversity may pull entries onto page 1
    from up to ``diversity.WINDOW`` pages down, which shifts the later pages)."""
    if not diversify:
        return offset + per_page
    return max(offset + 2 * per_page, diversity.WINDOW * per_page)


def page_order(entries: Sequence[diversity.Entry], per_page: int, diversify: bool) -> list[int]:
    """Indices of ``entries`` (in their ranked order) in the order pages are cut from."""
    if not diversify:
        return list(range(len(entries)))
    return diversity.order(entries, per_page)
