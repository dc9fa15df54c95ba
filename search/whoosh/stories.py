"""Stories on the Whoosh engine: each document's story as arrays of a snapshot, and what the
engine answers from them — grouped pages, a story's articles, trending counts.

``StoryIndex`` is built once per snapshot (on first use) from the story state file of the
snapshot's commit (``layout.stories_file``; only its assignments are read): every document's story
and near-duplicate group as integer codes, its provider as a code, and the documents of each story
in canonical order. A document missing from the file (an index built before stories) is a story
of its own. Counts per story (visible articles, distinct sources) are ``bincount``s, memoised per
visibility in the snapshot's cache.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..contract import SearchRequest, StoryBrief
from ..documents import stored_to_article
from ..stories import diversity, grouping
from ..stories import state as story_files
from ..stories.trending import Counts, Described
from . import counts, layout

if TYPE_CHECKING:
    from ..articles import Article
    from .snapshot import Snapshot

OTHER_SOURCES = 3


def story_index(snapshot: Snapshot) -> StoryIndex:
    """The snapshot's story index, built on its first use."""
    return snapshot.derived("stories", lambda: StoryIndex(snapshot))


class StoryIndex:
    def __init__(self, snapshot: Snapshot) -> None:
        path = layout.stories_file(snapshot.folder, snapshot.toc_generation)
        assignments = story_files.load_assignments(path) or story_files.Assignments.empty()
        n = snapshot.doc_count
        self.names = sorted(set(assignments.story) | set(assignments.group))
        self.code_of_name = {name: code for code, name in enumerate(self.names)}
        base = len(self.names)
        self.story = np.arange(n, dtype=np.int64) + base
        self.group = self.story.copy()
        doc_of_id = snapshot.doc_of_id
        code_of_name = self.code_of_name
        for article_id, story, group in zip(
            assignments.ids, assignments.story, assignments.group, strict=True
        ):
            doc = doc_of_id.get(article_id)
            if doc is not None:
                self.story[doc] = code_of_name[story]
                self.group[doc] = code_of_name[group]
        self.width = base + n
        self.ids = snapshot.ids
        latest = np.where(snapshot.dated, snapshot.dates, np.iinfo(np.int64).max)
        self.by_story = np.lexsort((snapshot.id_rank, latest, self.story))
        self.starts = np.searchsorted(self.story[self.by_story], np.arange(self.width + 1))
        self.provider, self.provider_names = _providers(snapshot)

    def name(self, code: int) -> str:
        return self.names[code] if code < len(self.names) else self.ids[code - len(self.names)]

    def code(self, name: str, snapshot: Snapshot) -> int | None:
        found = self.code_of_name.get(name)
        if found is not None:
            return found
        doc = snapshot.doc_of_id.get(name)  # a document without assignment: its own story
        if doc is not None and self.story[doc] >= len(self.names):
            return int(self.story[doc])
        return None

    def members(self, code: int, visible: np.ndarray) -> np.ndarray:
        """The story's visible documents in canonical order."""
        docs = self.by_story[self.starts[code] : self.starts[code + 1]]
        found: np.ndarray = docs[visible[docs]]
        return found

    def sizes(self, snapshot: Snapshot, include_unpublished: bool) -> np.ndarray:
        def compute() -> np.ndarray:
            visible = snapshot.live if include_unpublished else snapshot.visible
            return np.bincount(self.story[visible], minlength=self.width)

        return snapshot.memo(("story sizes", include_unpublished), compute, _nbytes)

    def source_counts(self, snapshot: Snapshot, include_unpublished: bool) -> np.ndarray:
        """Distinct providers per story among the visible documents."""

        def compute() -> np.ndarray:
            visible = snapshot.live if include_unpublished else snapshot.visible
            pairs = np.unique(self.story[visible] * (len(self.provider_names) + 1)
                              + self.provider[visible] + 1)  # fmt: skip
            return np.bincount(pairs // (len(self.provider_names) + 1), minlength=self.width)

        return snapshot.memo(("story sources", include_unpublished), compute, _nbytes)

    def brief(
        self, snapshot: Snapshot, code: int, doc: int, matches: int, include_unpublished: bool
    ) -> StoryBrief:
        articles, ranked = self.providers_of(snapshot, code, include_unpublished)
        own = int(self.provider[doc])
        others = [self.provider_names[p] for p in ranked if p != own][:OTHER_SOURCES]
        return StoryBrief(
            id=self.name(code),
            articles=articles,
            sources=len(ranked),
            other_sources=tuple(others),
            matches=matches,
        )

    def providers_of(
        self, snapshot: Snapshot, code: int, include_unpublished: bool
    ) -> tuple[int, tuple[int, ...]]:
        """A story's visible articles and its providers, most articles first (memoised)."""

        def compute() -> tuple[int, tuple[int, ...]]:
            visible = snapshot.live if include_unpublished else snapshot.visible
            members = self.members(code, visible)
            counted = Counter(p for p in self.provider[members].tolist() if p >= 0)
            ranked = sorted(counted, key=lambda p: (-counted[p], self.provider_names[p]))
            return len(members), tuple(ranked)

        return snapshot.memo(
            ("story providers", code, include_unpublished), compute, lambda v: 64 + 8 * len(v[1])
        )


def _providers(snapshot: Snapshot) -> tuple[np.ndarray, list[str]]:
    """Each document's provider as a code (its name, else its domain; −1 when it has neither)
    and the names of the codes."""
    found = np.full(snapshot.doc_count, -1, dtype=np.int64)
    names: list[str] = []
    for field in ("domain", "provider"):  # the name wins: written last
        facet = snapshot.facets[field]
        has = facet.doc_starts[1:] > facet.doc_starts[:-1]
        docs = np.flatnonzero(has)
        found[docs] = facet.values_by_doc[facet.doc_starts[docs]] + len(names)
        names += list(facet.values)
    return found, names


def _nbytes(array: np.ndarray) -> int:
    return int(array.nbytes)


# -- grouped pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupedPage:
    docs: list[int]
    scores: list[float]
    related_only: list[bool]
    briefs: list[StoryBrief]
    stories: int


def grouped_page(
    snapshot: Snapshot, request: SearchRequest, matches: counts.Matches, now: dt.datetime
) -> GroupedPage:
    """One entry per story: its first match in the request's order; stories ordered by it.

    As ungrouped (``counts.page``), matches in an article's own text come first: a story is
    represented by its first own match if it has one, and stories whose entry matches only
    through related titles follow all the others (diversity never lifts them: another tier)."""
    index = story_index(snapshot)
    candidates = np.flatnonzero(matches.final)
    codes = index.story[candidates]
    total = _distinct(codes, index.width)
    if request.offset >= total:
        return GroupedPage([], [], [], [], total)
    evaluation = matches.evaluation
    keys, scores = counts._sort_keys(snapshot, request, evaluation, candidates, now)
    diverse = request.diversify and request.sort == "relevance" and evaluation.scored
    wanted = grouping.needed(request.offset, request.per_page, diverse)
    own = evaluation.own[candidates] if evaluation.own is not None else None
    firsts = _firsts(keys, codes, own, wanted, index.width)
    related = ~own[firsts] if own is not None else np.zeros(len(firsts), dtype=bool)
    tiers = evaluation.tier[candidates[firsts]] if evaluation.tier is not None else None
    entries = [
        diversity.Entry(
            int(index.provider[candidates[position]]),
            float(scores[position]),
            _tier(float(tiers[number]) if tiers is not None else 0.0, bool(related[number])),
        )
        for number, position in enumerate(firsts.tolist())
    ]
    order = grouping.page_order(entries, request.per_page, diverse)
    cut = order[request.offset : request.offset + request.per_page]
    chosen = [int(firsts[i]) for i in cut]
    docs = [int(candidates[position]) for position in chosen]
    shown = codes[chosen]
    matching = _matches(codes, shown, index.width)
    briefs = [
        index.brief(snapshot, code, doc, matching[n], request.include_unpublished)
        for n, (code, doc) in enumerate(zip(shown.tolist(), docs, strict=True))
    ]
    return GroupedPage(
        docs, [float(scores[p]) for p in chosen], [bool(related[i]) for i in cut], briefs, total
    )


def _firsts(
    keys: list[np.ndarray], codes: np.ndarray, own: np.ndarray | None, wanted: int, width: int
) -> np.ndarray:
    """Positions of the first ``wanted`` stories' entries: their first own match, then, for
    stories without one, their first match through related titles."""
    if own is None or own.all():
        return grouping.first_of_groups(keys, codes, wanted)
    found: list[np.ndarray] = []
    taken = np.zeros(width, dtype=bool)
    for part in (np.flatnonzero(own), np.flatnonzero(~own)):
        part = part[~taken[codes[part]]]
        need = wanted - sum(len(firsts) for firsts in found)
        if need <= 0 or not len(part):
            continue
        firsts = part[grouping.first_of_groups([key[part] for key in keys], codes[part], need)]
        taken[codes[firsts]] = True
        found.append(firsts)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _tier(tier: float, related_only: bool) -> float:
    return -1.0 - tier if related_only else tier


def _distinct(codes: np.ndarray, width: int) -> int:
    """How many different codes (a byte per possible code: no sort, no count per code)."""
    seen = np.zeros(width, dtype=bool)
    seen[codes] = True
    return int(np.count_nonzero(seen))


def _matches(codes: np.ndarray, shown: np.ndarray, width: int) -> list[int]:
    """How many of ``codes`` are each of the (distinct) ``shown`` codes."""
    slot = np.full(width, -1, dtype=np.int16)
    slot[shown] = np.arange(len(shown), dtype=np.int16)
    found = slot[codes]
    counted: list[int] = np.bincount(found[found >= 0], minlength=len(shown)).tolist()
    return counted


# -- a story's articles --------------------------------------------------------------------------


def story_members(
    snapshot: Snapshot, story_id: str, include_unpublished: bool
) -> list[tuple[Article, str]]:
    """The visible articles of a story with their near-duplicate group; empty when none."""
    index = story_index(snapshot)
    code = index.code(story_id, snapshot)
    if code is None:
        return []
    visible = snapshot.live if include_unpublished else snapshot.visible
    members = []
    for doc in index.members(code, visible).tolist():
        stored = snapshot.stored(doc)
        article = stored_to_article(json.loads(stored["doc"]), source_path=stored.get("path", ""))
        members.append((article, index.name(int(index.group[doc]))))
    return members


def story_of_doc(snapshot: Snapshot, doc: int) -> str:
    index = story_index(snapshot)
    return index.name(int(index.story[doc]))


# -- trending ------------------------------------------------------------------------------------


class TrendingCounts:
    """``search.stories.trending.Counter`` over a snapshot."""

    def __init__(self, snapshot: Snapshot, include_unpublished: bool) -> None:
        self.snapshot = snapshot
        self.include_unpublished = include_unpublished
        visible = snapshot.live if include_unpublished else snapshot.visible
        self.visible = visible & snapshot.dated

    def newest(self) -> dt.datetime | None:
        return self.snapshot.newest(self.include_unpublished)

    def _mask(self, start: int, end: int) -> np.ndarray:
        dates = self.snapshot.dates
        mask: np.ndarray = self.visible & (dates >= start) & (dates <= end)
        return mask

    def counts(self, start: int, end: int) -> Counts:
        mask = self._mask(start, end)
        index = story_index(self.snapshot)
        per_story = np.bincount(index.story[mask], minlength=index.width)
        found = np.flatnonzero(per_story)
        stories = {index.name(int(c)): int(per_story[c]) for c in found.tolist()}
        facet = self.snapshot.facets["topic"]
        per_topic = facet.counts(mask)
        topics = {facet.values[i]: int(per_topic[i]) for i in np.flatnonzero(per_topic).tolist()}
        return Counts(stories, topics)

    def describe(self, story_ids: list[str], start: int, end: int) -> dict[str, Described]:
        snapshot = self.snapshot
        index = story_index(snapshot)
        mask = self._mask(start, end)
        found = {}
        for story_id in story_ids:
            code = index.code(story_id, snapshot)
            if code is None:
                continue
            docs = index.members(code, mask)
            if not len(docs):
                continue
            latest = int(docs[-1])  # canonical order: the latest dated one is last
            stored = snapshot.stored(latest)
            providers = len(set(index.provider[docs].tolist()))
            found[story_id] = Described(stored.get("title", ""), snapshot.ids[latest], providers)
        return found
