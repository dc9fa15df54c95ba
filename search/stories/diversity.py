"""Provider diversity of the first page: in relevance order, one provider does not take several
slots while other providers have comparable matches (an MMR-style greedy re-rank).

Slot by slot, the next entry in relevance order is taken, unless its provider already holds a
slot: then the first later entry (within the same tier, scoring at least ``COMPARABLE`` of it)
whose provider holds fewer slots takes its place. Only the first ``WINDOW`` × page entries are
considered and only the first page is re-ranked, so the cost is bounded whatever the result size;
what is not chosen for it follows in relevance order. With one provider nothing ever moves (the
relevance collections: their results do not change).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

WINDOW = 3
"""Entries considered for the first page: this many pages' worth."""
COMPARABLE = 0.8
"""A later entry may move up if its score is at least this share of the one it passes."""


@dataclass(frozen=True)
class Entry:
    provider: Hashable
    score: float
    tier: float = 0.0
    """Entries of a better tier (more of the query's words) always rank first."""


def order(entries: Sequence[Entry], slots: int) -> list[int]:
    """A permutation of ``range(len(entries))``: the re-ranked first page, then the rest."""
    considered = list(range(min(len(entries), WINDOW * slots)))
    chosen: list[int] = []
    used: Counter[Hashable] = Counter()
    while considered and len(chosen) < slots:
        pick = 0
        best = entries[considered[0]]
        if used[best.provider]:
            for place in range(1, len(considered)):
                other = entries[considered[place]]
                if other.tier != best.tier or other.score < COMPARABLE * best.score:
                    break
                if used[other.provider] < used[best.provider]:
                    pick = place
                    break
        index = considered.pop(pick)
        chosen.append(index)
        used[entries[index].provider] += 1
    taken = set(chosen)
    return chosen + [i for i in range(len(entries)) if i not in taken]
