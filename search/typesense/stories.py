"""Stories on the Typesense engine: grouped searches, a story's articles, trending counts.

Each document holds its story as ``exact_key(story id)`` in ``story`` (a facet) and its
near-duplicate group in ``near_duplicate``. Grouping is done here, over the hits in the request's
order, not with Typesense's ``group_by``: in 0.24.1 ``group_by`` groups only the hits of the page
fetched (``per_page=3`` over three articles of one story gives one group and ``found: 1``), so it
can give neither exact story counts nor story pages. So a grouped search is:

1. the request's batch (``batch.SearchBatch``: total, facets, histogram, ranges) fetching
   ``PAGE_LIMIT`` hits instead of a page, plus one search counting the matching stories (the
   ``story`` facet's ``total_values``, exact: facets count every match);
2. deeper pages of hits only while they hold fewer stories than the page needs
   (``grouping.needed``), never past ``MAX_RESULT_WINDOW`` hits;
3. one ``multi_search`` for the page's stories: their matching articles (one ``story`` facet) and,
   per story, its visible articles (``found``) and providers (``total_values``, top values).

Provider diversity and the page cut are ``search.stories.grouping``'s, as on Whoosh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..contract import MAX_RESULT_WINDOW, Hit, SearchRequest, StoryBrief
from ..stories import diversity, grouping
from ..stories.trending import Counts, Described
from .batch import PAGE_LIMIT, Answer, Filters, SearchBatch, base_filter, facet_counts, join
from .dense import HybridList, SemanticList, documents
from .dense import hits as fetch_hits
from .documents import FACET_FIELDS, article_of, exact_key, facet_text
from .plan import TextPlan

OTHER_SOURCES = 3
GROUPING_FIELDS = "id,story,provider_key,domain_key"
TRENDING_VALUES = 5_000
"""Stories and topics counted per trending period (the most frequent; a story beyond them in a
period counts 0 there)."""


class _Engine(Protocol):
    def multi(
        self, searches: list[dict[str, Any]], include_unpublished: bool
    ) -> list[dict[str, Any]]: ...

    def newest(self, include_unpublished: bool) -> dt.datetime | None: ...


def story_key(story_id: str) -> str:
    return exact_key(story_id)


def story_id(key: str) -> str:
    return bytes.fromhex(key.replace(" ", "")).decode("utf-8")


def story_filter(story_ids: Sequence[str]) -> str:
    return "story:=[" + ",".join(f"`{story_key(i)}`" for i in story_ids) + "]"


@dataclass(frozen=True)
class Grouped:
    answer: Answer
    stories: int


def grouped_search(
    engine: _Engine,
    request: SearchRequest,
    plan: TextPlan,
    filters: Filters,
    newest: dt.datetime | None = None,
    related_rule: bool = False,
) -> Grouped:
    """With ``related_rule`` (the query searches related titles), as ungrouped: a story's entry
    is its first match in its own text if it has one, and stories matching only through related
    titles follow all the others — so hits are fetched until the page has its stories of own
    matches, or there are no more."""
    batch = SearchBatch(engine, request, plan, filters, newest, hits=(1, PAGE_LIMIT))
    counting = batch.count_params(filters.all())
    counting.update(per_page=0, facet_by="story", max_facet_values=1)
    count_index = batch.add(counting)
    answer = batch.run()
    stories = _total_values(batch.responses[count_index], "story")
    diverse = request.diversify and request.sort == "relevance" and plan.is_text
    wanted = grouping.needed(request.offset, request.per_page, diverse)
    raw = list(answer.raw)
    own = _Own(plan, related_rule)
    page = 2
    while True:
        complete = len(raw) < (page - 1) * PAGE_LIMIT or page * PAGE_LIMIT > MAX_RESULT_WINDOW
        firsts, related = _firsts(raw, wanted, own, complete)
        if len(firsts) >= wanted or complete:
            break
        bare = replace(request, facets=())
        raw += SearchBatch(engine, bare, plan, filters, newest, hits=(page, PAGE_LIMIT)).run().raw
        page += 1
    entries = [
        diversity.Entry(
            _provider(raw[i]), float(raw[i].get("text_match", 0) or 0), -1.0 if i in related else 0
        )
        for i in firsts
    ]
    order = grouping.page_order(entries, request.per_page, diverse)
    chosen = [firsts[i] for i in order[request.offset : request.offset + request.per_page]]
    fetched = len(answer.hits)
    hits = [
        answer.hits[i] if i < fetched and i not in related else _hit(raw[i], plan, i in related)
        for i in chosen
    ]
    briefs = _briefs(engine, request, filters, plan, [raw[i] for i in chosen], batch)
    grouped = tuple(replace(h, story=b) for h, b in zip(hits, briefs, strict=True))
    return Grouped(replace(answer, hits=grouped, raw=tuple(raw[i] for i in chosen)), stories)


def grouped_hybrid(
    engine: _Engine,
    request: SearchRequest,
    plan: TextPlan,
    filters: Filters,
    listing: HybridList | SemanticList,
) -> Grouped:
    """A grouped page in hybrid or semantic mode: the stories of ``listing``'s order, counted
    over its matches (hybrid: keyword matches plus the nearest that match no keyword clause)."""
    include = request.include_unpublished
    diverse = request.diversify and request.sort == "relevance"
    wanted = grouping.needed(request.offset, request.per_page, diverse)
    stop = PAGE_LIMIT
    while True:
        ids = listing.first(stop)
        raw = [{"document": d} for d in documents(engine, ids, include, GROUPING_FIELDS)]
        firsts, _ = _firsts(raw, wanted, _Own(plan, False), True)
        if len(firsts) >= wanted or len(ids) < stop or stop + PAGE_LIMIT > MAX_RESULT_WINDOW:
            break
        stop += PAGE_LIMIT
    # ``listing`` puts matches only through related titles after every other (and says which)
    related = listing.related
    entries = [
        diversity.Entry(
            _provider(raw[i]),
            listing.scores.get(raw[i]["document"]["id"], 0.0),
            -1.0 if raw[i]["document"]["id"] in related else 0.0,
        )
        for i in firsts
    ]
    order = grouping.page_order(entries, request.per_page, diverse)
    page = [firsts[i] for i in order[request.offset : request.offset + request.per_page]]
    chosen = [raw[i]["document"]["id"] for i in page]
    full = [{"document": d} for d in documents(engine, chosen, include)]
    hits = fetch_hits(full, plan, listing.scores, related)
    briefs = _briefs(engine, request, filters, plan, full, listing.counts)
    grouped = tuple(replace(h, story=b) for h, b in zip(hits, briefs, strict=True))
    answer = replace(listing.answer, hits=grouped, raw=tuple(full))
    return Grouped(answer, _union_stories(engine, request, filters, listing))


def _union_stories(
    engine: _Engine, request: SearchRequest, filters: Filters, listing: HybridList | SemanticList
) -> int:
    """Stories with a match: those of ``listing.plan``'s matches, plus those of the added
    articles (passing the filters) that have none."""
    keyword = SearchBatch(engine, request, listing.plan, filters)
    counting = keyword.count_params(filters.all())
    counting.update(per_page=0, facet_by="story", max_facet_values=1)
    include = request.include_unpublished
    added = documents(engine, listing.shown, include, "id,story")
    theirs = sorted({story_id(d["story"]) for d in added})
    searches = [counting]
    if theirs:
        check = keyword.count_params([*filters.all(), story_filter(theirs)])
        check.update(per_page=0, facet_by="story", max_facet_values=len(theirs))
        searches.append(check)
    responses = engine.multi(searches, include)
    with_words = {
        story_id(str(entry["value"]))
        for response in responses[1:]
        for facet in response.get("facet_counts", [])
        for entry in facet.get("counts", [])
        if int(entry["count"]) > 0
    }
    return _total_values(responses[0], "story") + len(set(theirs) - with_words)


class _Own:
    """Whether a raw hit matches in its own text (``Marks.own_match``), asked once per hit."""

    def __init__(self, plan: TextPlan, active: bool) -> None:
        self.plan = plan
        self.active = active
        self.known: dict[int, bool] = {}

    def __call__(self, position: int, raw: dict[str, Any]) -> bool:
        if not self.active:
            return True
        if position not in self.known:
            document = raw["document"]
            body = document.get("body", "")
            self.known[position] = self.plan.marks.own_match(article_of(document), body)
        return self.known[position]


def _hit(raw: dict[str, Any], plan: TextPlan, related_only: bool) -> Hit:
    from .batch import hit

    found = hit(raw, plan.marks)
    if not related_only:
        return found
    return replace(found, related_matches=plan.marks.related_titles(article_of(raw["document"])))


def _firsts(
    raw: list[dict[str, Any]], wanted: int, own: _Own, complete: bool
) -> tuple[list[int], set[int]]:
    """Positions of each story's first hit in its own text, for the first ``wanted`` stories;
    when ``raw`` holds every match (``complete``) and that is not enough, then each remaining
    story's first hit (matching only through related titles: the second set)."""
    seen: set[str] = set()
    found: list[int] = []
    for position, item in enumerate(raw):
        key = item["document"].get("story", "")
        if key not in seen and own(position, item):
            seen.add(key)
            found.append(position)
            if len(found) >= wanted:
                return found, set()
    related: set[int] = set()
    if complete and own.active:
        for position, item in enumerate(raw):
            key = item["document"].get("story", "")
            if key not in seen:
                seen.add(key)
                found.append(position)
                related.add(position)
                if len(found) >= wanted:
                    break
    return found, related


def _provider(raw: dict[str, Any]) -> str:
    document = raw["document"]
    return str(document.get("provider_key") or document.get("domain_key") or "")


def _total_values(response: dict[str, Any], field: str) -> int:
    for facet in response.get("facet_counts", []):
        if facet.get("field_name") == field:
            return int(facet.get("stats", {}).get("total_values", 0))
    return 0


def _briefs(
    engine: _Engine,
    request: SearchRequest,
    filters: Filters,
    plan: TextPlan,
    raws: list[dict[str, Any]],
    batch: SearchBatch,
) -> list[StoryBrief]:
    if not raws:
        return []
    ids = [story_id(raw["document"]["story"]) for raw in raws]
    matching = batch.count_params([*filters.all(), story_filter(ids)])
    matching.update(per_page=0, facet_by="story", max_facet_values=len(ids))
    base = base_filter(request.include_unpublished)
    searches = [matching] + [
        {
            "q": "*",
            "per_page": 0,
            "filter_by": join([*base, story_filter([story])]),
            "facet_by": FACET_FIELDS["provider"],
            "max_facet_values": OTHER_SOURCES + 1,
        }
        for story in ids
    ]
    responses = batch.send(searches)  # with a union, the matches count it too
    matches = {
        story_id(str(entry["value"])): int(entry["count"])
        for facet in responses[0].get("facet_counts", [])
        for entry in facet.get("counts", [])
    }
    briefs = []
    for story, raw, response in zip(ids, raws, responses[1:], strict=True):
        own = article_of(raw["document"]).provider.name
        providers = facet_counts(response, FACET_FIELDS["provider"])
        providers.sort(key=lambda item: (-item[1], item[0]))
        others = tuple(name for name, _ in providers if name != own)[:OTHER_SOURCES]
        briefs.append(
            StoryBrief(
                id=story,
                articles=int(response.get("found", 0)),
                sources=_total_values(response, FACET_FIELDS["provider"]),
                other_sources=others,
                matches=matches.get(story, 1),
            )
        )
    return briefs


# -- a story's articles --------------------------------------------------------------------------


def story_members(engine: _Engine, story: str, include_unpublished: bool) -> list[tuple[Any, str]]:
    """The visible articles of a story (without bodies) with their near-duplicate group."""
    members = []
    filters = join([*base_filter(include_unpublished), story_filter([story])])
    for page in range(1, MAX_RESULT_WINDOW // PAGE_LIMIT + 1):
        search = {
            "q": "*",
            "filter_by": filters,
            "per_page": PAGE_LIMIT,
            "page": page,
            "sort_by": "published_at:asc",
            "include_fields": "id,doc,path,near_duplicate",
        }
        (response,) = engine.multi([search], include_unpublished)
        hits = response.get("hits", [])
        for item in hits:
            document = item["document"]
            members.append((article_of(document), document.get("near_duplicate", document["id"])))
        if len(hits) < PAGE_LIMIT:
            break
    return members


def story_of_document(document: dict[str, Any]) -> str:
    return story_id(document["story"])


# -- trending ------------------------------------------------------------------------------------


class TrendingCounts:
    """``search.stories.trending.Counter`` over the cluster."""

    def __init__(self, engine: _Engine, include_unpublished: bool) -> None:
        self.engine = engine
        self.include_unpublished = include_unpublished
        self.base = [*base_filter(include_unpublished), "dated:=1"]

    def _period(self, start: int, end: int) -> list[str]:
        return [*self.base, f"published_at:>={start}", f"published_at:<={end}"]

    def newest(self) -> dt.datetime | None:
        return self.engine.newest(self.include_unpublished)

    def counts(self, start: int, end: int) -> Counts:
        search = {
            "q": "*",
            "per_page": 0,
            "filter_by": join(self._period(start, end)),
            "facet_by": f"story,{FACET_FIELDS['topic']}",
            "max_facet_values": TRENDING_VALUES,
        }
        (response,) = self.engine.multi([search], self.include_unpublished)
        stories: dict[str, int] = {}
        topics: dict[str, int] = {}
        for facet in response.get("facet_counts", []):
            for entry in facet.get("counts", []):
                value, count = str(entry["value"]), int(entry["count"])
                if facet.get("field_name") == "story":
                    stories[story_id(value)] = count
                elif (topic := facet_text(value)) is not None:
                    topics[topic] = count
        return Counts(stories, topics)

    def describe(self, story_ids: list[str], start: int, end: int) -> dict[str, Described]:
        if not story_ids:
            return {}
        searches = [
            {
                "q": "*",
                "per_page": 1,
                "sort_by": "published_at:desc",
                "filter_by": join([*self._period(start, end), story_filter([story])]),
                "include_fields": "id,title",
                "facet_by": FACET_FIELDS["provider"],
                "max_facet_values": 1,
            }
            for story in story_ids
        ]
        responses = self.engine.multi(searches, self.include_unpublished)
        found = {}
        for story, response in zip(story_ids, responses, strict=True):
            hits = response.get("hits", [])
            if hits:
                document = hits[0]["document"]
                sources = _total_values(response, FACET_FIELDS["provider"])
                found[story] = Described(document["title"], document["id"], sources)
        return found
