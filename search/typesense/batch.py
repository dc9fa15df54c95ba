"""One newsfind request on Typesense = one ``multi_search`` of sub-searches, and its reading.

Typesense matches again for every count, so a request is: the main search (hits, total, the
facets without a selected value), one search per filtered facet (disjunctive counts) and per
selected value, the date histogram's year / month / day facets with the first and last date, one
count per relative range (Typesense 0.24 has no range facets), and, for three or more plain
words, the searches merged to rank them (``plan``). What the counts become is engine-neutral
(``search.facets``, ``search.dates``), and hits are marked by ``search.highlight`` as on Whoosh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .. import dates, facets, highlight
from ..contract import (
    FILTERS,
    RELATIVE_RANGES,
    DateHistogram,
    Facet,
    Hit,
    RangeCount,
    SearchRequest,
)
from ..ranking import field_weight
from . import union as union_counts
from .documents import (
    FACET_FIELDS,
    STRIP_FIELDS,
    TEXT_FIELDS,
    article_of,
    exact_key,
    facet_text,
)
from .plan import TextPlan

PAGE_LIMIT = 250
"""Typesense's largest ``per_page``."""
MANY = 1_000_000_000
"""A ``drop_tokens_threshold`` that is never reached: every droppable word is dropped."""
FACET_SLACK = 20
"""Facet values fetched beyond ``facet_size`` so that ties are cut by value, as Whoosh does."""
NOTHING = "dated:<0"
"""A filter that matches no document (a filter on empty values only, as Whoosh)."""


class _Multi(Protocol):
    def multi(
        self, searches: list[dict[str, Any]], include_unpublished: bool
    ) -> list[dict[str, Any]]: ...


@dataclass
class Answer:
    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, Facet]
    histogram: DateHistogram | None
    ranges: tuple[RangeCount, ...]
    raw: tuple[dict[str, Any], ...] = ()
    """The hits as Typesense returned them (documents with their bodies)."""


class Filters:
    """The request's filters by name, so that each facet can be counted without its own."""

    def __init__(self, parts: dict[str, str]) -> None:
        self.parts = parts

    def without(self, *names: str) -> list[str]:
        return [value for key, value in self.parts.items() if key not in names and value]

    def all(self) -> list[str]:
        return [value for value in self.parts.values() if value]


def request_filters(request: SearchRequest, newest: dt.datetime | None = None) -> Filters:
    """The request's filters; ``newest``: the newest visible article's time (relative ranges
    end there when the archive is older than them: ``dates.window_end``)."""
    parts: dict[str, str] = {"published": join(base_filter(request.include_unpublished))}
    for name in (filter_field.name for filter_field in FILTERS):
        values = request.selected(name)
        if values:
            parts[name] = value_filter(name, values)
    conditions = dates.conditions(request, request.clock(), newest)
    if conditions:  # one filter, as Whoosh's: the range counts are made without it
        parts["date"] = date_filter(conditions)
    return Filters(parts)


def date_filter(conditions: list[tuple[str, int]]) -> str:
    return " && ".join(["dated:=1", *(f"published_at:{op}{value}" for op, value in conditions)])


def base_filter(include_unpublished: bool) -> list[str]:
    return [] if include_unpublished else ["published:=true"]


def join(parts: Iterable[str]) -> str:
    parts = [part for part in parts if part]
    return " && ".join(f"({part})" if "||" in part else part for part in parts)


def keys(values: Iterable[str]) -> str:
    """``[`key`,…]``: any of the (non-empty) values, exactly; empty when there is none."""
    keys = dict.fromkeys(exact_key(value) for value in values if value)
    return "[" + ",".join(f"`{key}`" for key in keys) + "]" if keys else ""


def value_filter(name: str, values: Sequence[str]) -> str:
    """Articles with any of ``values`` as their ``name`` (a provider by name or by domain)."""
    wanted = keys(values)
    if not wanted:
        return NOTHING
    if name == "provider":
        return f"(provider_key:={wanted} || domain_key:={wanted})"
    return f"{name}_key:={wanted}"


def weights(fields: tuple[str, ...]) -> str:
    return ",".join(str(max(1, round(field_weight(name) * 10))) for name in fields)


SORTS: dict[str, str] = {
    "relevance": "_text_match:desc,published_at:desc,quality:desc",
    "newest": "dated:desc,published_at:desc,quality:desc",
    "oldest": "dated:desc,published_at:asc,quality:desc",
    "quality": "quality:desc,published_at:desc",
    "heat": "heat:desc,published_at:desc",
}


class SearchBatch:
    """The sub-searches of one request, sent as one ``multi_search``, and their reading."""

    def __init__(
        self,
        engine: _Multi,
        request: SearchRequest,
        plan: TextPlan,
        filters: Filters,
        newest: dt.datetime | None = None,
        hits: tuple[int, int] | None = None,
        *,
        union: str = "",
        fields: str = "",
    ) -> None:
        self.engine = engine
        self.request = request
        self.plan = plan
        self.filters = filters
        self.newest = newest
        self.page, self.per_page = hits or (request.page, request.per_page)
        """The page of hits fetched: the request's, or deeper (a grouped search groups them)."""
        self.union = union
        """A filter of articles added to the matches, disjoint from them (hybrid mode's articles
        found by meaning alone): every count is of the union (``union``); hits are the matches'."""
        self.fields = fields
        """The fields of the hits fetched (``include_fields``): all but the analysed texts and
        the vector when empty."""
        self.searches: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []

    def add(self, search: dict[str, Any]) -> int:
        self.searches.append(search)
        return len(self.searches) - 1

    def text_params(self) -> dict[str, Any]:
        plan = self.plan
        params: dict[str, Any] = {
            "q": plan.q,
            "query_by": ",".join(TEXT_FIELDS[name] for name in plan.query_by),
            "query_by_weights": weights(plan.query_by),
            "num_typos": 0,
            "typo_tokens_threshold": 0,
            "drop_tokens_threshold": MANY if plan.any_word else 0,
            "prefix": "true" if plan.prefix else "false",
            "max_candidates": 200,
            "split_join_tokens": "off",
            "prioritize_exact_match": "false",
        }
        return params

    def filter_for(self, parts: list[str]) -> str:
        return join([*parts, *self.plan.filters])

    def count_params(self, parts: list[str]) -> dict[str, Any]:
        """A search matching exactly the request's set (for totals and facet counts)."""
        plan = self.plan
        if plan.orders:  # many plain words: the set is the filter; exclusions stay in q
            params = self.text_params()
            params["q"] = " ".join(plan.exclusions) or "*"
            params["drop_tokens_threshold"] = 0
        elif plan.is_text or plan.exclusions:
            params = self.text_params()
        else:
            params = {"q": "*"}
        params["filter_by"] = self.filter_for(parts)
        if self.union:
            params[union_counts.PARTS] = list(parts)
        return params

    def hit_fields(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.fields:
            params["include_fields"] = self.fields
        else:
            params["exclude_fields"] = STRIP_FIELDS
        return params

    def send(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One ``multi_search``; with ``union``, each count is of the union (module ``union``)."""
        include = self.request.include_unpublished
        if not self.union:
            for search in searches:
                search.pop(union_counts.PARTS, None)
            return self.engine.multi(searches, include)
        parts = [search.get(union_counts.PARTS) for search in searches]
        twins = [union_counts.mirror(search, self.union) for search in searches]
        extra = [twin for twin in twins if twin is not None]
        responses = self.engine.multi([*searches, *extra], include)
        added = iter(responses[len(searches) :])
        merged = [
            union_counts.add(response, next(added), search) if twin is not None else response
            for search, response, twin in zip(
                searches, responses[: len(searches)], twins, strict=True
            )
        ]
        asks = [
            (index, field, value)
            for index, response in enumerate(merged)
            for field, value in union_counts.unseen(response)
        ]
        if asks:  # values the union brings beyond the matches' truncated facet lists
            names = {field: name for name, field in FACET_FIELDS.items()}
            counts = []
            for index, field, value in asks:
                condition = value_filter(names[field], [str(facet_text(value))])
                params = self.count_params([*(parts[index] or []), condition])
                params.pop(union_counts.PARTS, None)
                counts.append({**params, "per_page": 0})
            answers = self.engine.multi(counts, include)
            for (index, field, value), answer in zip(asks, answers, strict=True):
                union_counts.settle(merged[index], field, value, int(answer.get("found", 0)))
        return merged

    def run(self) -> Answer:
        request = self.request
        plan = self.plan
        facet_size = request.facet_size
        # each facet is counted without its own filter (a filter and its facet share a name)
        wanted = [f.name for f in FILTERS if f.name in request.facets]
        max_values = facet_size + FACET_SLACK
        main = self.count_params(self.filters.all())
        main["max_facet_values"] = max_values
        self.hit_fields(main)
        needs_merge = bool(plan.orders) and request.sort == "relevance"
        if needs_merge:
            main["per_page"] = 0
        else:
            main["per_page"] = self.per_page
            main["page"] = self.page
            sort = request.sort if plan.is_text or request.sort != "relevance" else "newest"
            main["sort_by"] = SORTS[sort]
        plain_facets = [name for name in wanted if name not in self.filters.parts]
        if plain_facets:
            main["facet_by"] = ",".join(FACET_FIELDS[name] for name in plain_facets)
        main_index = self.add(main)
        facet_index: dict[str, int] = {}
        for name in wanted:
            if name in plain_facets:
                continue
            params = self.count_params(self.filters.without(name))
            params.update(per_page=0, facet_by=FACET_FIELDS[name], max_facet_values=max_values)
            facet_index[name] = self.add(params)
        # a selected value is always listed with its count, even outside the top values
        selected_index: dict[tuple[str, str], int] = {}
        for facet_name in wanted:
            for value in request.selected(facet_name):
                condition = value_filter(facet_name, [value])
                params = self.count_params([*self.filters.without(facet_name), condition])
                params["per_page"] = 0
                selected_index[(facet_name, value)] = self.add(params)
        histogram_indexes: list[int] = []
        if "date" in request.facets:
            params = self.count_params(self.filters.all())
            params.update(per_page=0, facet_by="year,month,day", max_facet_values=dates.MAX_BUCKETS)
            histogram_indexes.append(self.add(params))
            for order in ("asc", "desc"):  # the first and the last date give the span
                params = self.count_params([*self.filters.all(), "dated:=1"])
                params.update(
                    per_page=1, sort_by=f"published_at:{order}", include_fields="published_at"
                )
                histogram_indexes.append(self.add(params))
        range_index: dict[str, int] = {}
        if "range" in request.facets:
            now = request.clock()
            base = self.filters.without("date")
            for key in RELATIVE_RANGES:
                low, high = dates.range_bounds(key, now, self.newest)
                condition = date_filter([(">=", low), ("<=", high)])
                params = self.count_params([*base, condition])
                params["per_page"] = 0
                range_index[key] = self.add(params)
        merge_indexes: list[int] = []
        offset = (self.page - 1) * self.per_page
        if needs_merge:
            depth = offset + self.per_page
            for words in plan.orders:
                for page in range(1, (depth - 1) // PAGE_LIMIT + 2):
                    params = self.text_params()
                    params.update(
                        q=" ".join([*words, *plan.exclusions]),
                        drop_tokens_threshold=MANY,
                        filter_by=self.filter_for(self.filters.all()),
                        per_page=min(PAGE_LIMIT, depth),
                        page=page,
                        sort_by=SORTS["relevance"],
                    )
                    merge_indexes.append(self.add(self.hit_fields(params)))
        responses = self.responses = self.send(self.searches)
        main_response = responses[main_index]
        total = int(main_response.get("found", 0))
        if needs_merge:
            raw_hits = merge([responses[i].get("hits", []) for i in merge_indexes])
            raw_hits = raw_hits[offset : offset + self.per_page]
        else:
            raw_hits = main_response.get("hits", [])
        # some fields only (``fields``): the raw hits are what the caller reads
        hits = () if self.fields else tuple(hit(raw, plan.marks) for raw in raw_hits)
        raw_hits = list(raw_hits)
        facet_responses = {
            name: responses[facet_index[name]] if name in facet_index else main_response
            for name in wanted
        }
        self._complete_ties(facet_responses, facet_size)
        found: dict[str, Facet] = {}
        for name in wanted:
            response = facet_responses[name]
            selected = {
                value: int(responses[index].get("found", 0))
                for (facet, value), index in selected_index.items()
                if facet == name
            }
            found[name] = _facet(name, response, facet_size, selected)
        histogram = None
        if histogram_indexes:
            histogram = _histogram(*(responses[index] for index in histogram_indexes))
        ranges: tuple[RangeCount, ...] = ()
        if range_index:
            counts = {key: int(responses[i].get("found", 0)) for key, i in range_index.items()}
            now = request.clock()
            ends = {key: dates.range_end(key, now, self.newest) for key in RELATIVE_RANGES}
            ranges = facets.ranges(counts, request.range, ends)
        return Answer(total, hits, found, histogram, ranges, tuple(raw_hits))

    def _complete_ties(self, responses: dict[str, dict[str, Any]], size: int) -> None:
        """Ask again, for every value, the facets whose returned values may stop inside a tie at
        the cut: Typesense orders tied counts as it likes, Whoosh (and ``facets.facet``) by value.
        Rare (a tie straddling ``size + FACET_SLACK`` values), and one more multi-search."""
        again: dict[str, dict[str, Any]] = {}
        for name, response in responses.items():
            field = FACET_FIELDS[name]
            counts = [count for _, count in facet_counts(response, field)]
            distinct = _distinct(response, field)
            if len(counts) <= size or distinct <= len(counts) or counts[size - 1] > counts[-1]:
                continue
            params = self.count_params(
                self.filters.without(name) if name in self.filters.parts else self.filters.all()
            )
            params.update(per_page=0, facet_by=field, max_facet_values=distinct)
            again[name] = params
        if again:
            answers = self.send(list(again.values()))
            responses.update(zip(again, answers, strict=True))


def _distinct(response: dict[str, Any], field_name: str) -> int:
    """How many values of ``field_name`` have a count (Typesense's ``stats.total_values``)."""
    for facet in response.get("facet_counts", []):
        if facet.get("field_name") == field_name:
            return int(facet.get("stats", {}).get("total_values", len(facet.get("counts", []))))
    return 0


def merge(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for hits in lists:
        for hit in hits:
            document_id = hit["document"]["id"]
            known = best.get(document_id)
            if known is None or hit.get("text_match", 0) > known.get("text_match", 0):
                best[document_id] = hit
    return sorted(
        best.values(),
        key=lambda hit: (
            -int(hit.get("text_match", 0)),
            -int(hit["document"].get("published_at", 0)),
            -float(hit["document"].get("quality", 0.0)),
            hit["document"]["id"],
        ),
    )


def _facet(name: str, response: dict[str, Any], size: int, selected: dict[str, int]) -> Facet:
    counts = facet_counts(response, FACET_FIELDS[name])
    distinct = _distinct(response, FACET_FIELDS[name])
    counts.sort(key=lambda item: (-item[1], item[0]))
    return facets.facet(name, counts, max(distinct, len(counts)), size, selected)


def facet_counts(response: dict[str, Any], field_name: str) -> list[tuple[str, int]]:
    """(value as written, count) of a facet field's counts in ``response``."""
    counts: list[tuple[str, int]] = []
    for facet in response.get("facet_counts", []):
        if facet.get("field_name") != field_name:
            continue
        for entry in facet.get("counts", []):
            value = facet_text(str(entry["value"]))
            if value is not None and int(entry["count"]) > 0:
                counts.append((value, int(entry["count"])))
    return counts


def _histogram(
    counts: dict[str, Any], first: dict[str, Any], last: dict[str, Any]
) -> DateHistogram:
    by_field: dict[str, dict[int, int]] = {}
    for facet in counts.get("facet_counts", []):
        by_field[facet["field_name"]] = {
            int(c["value"]): int(c["count"]) for c in facet.get("counts", []) if int(c["count"]) > 0
        }
    undated = by_field.get("year", {}).get(0, 0)
    ends = [
        int(response["hits"][0]["document"]["published_at"])
        for response in (first, last)
        if response.get("hits")
    ]
    if len(ends) < 2:
        return dates.no_dates(undated)
    interval = dates.interval_for(ends[1] - ends[0])
    low, high = (dt.datetime.fromtimestamp(end, dt.UTC) for end in ends)
    by_slot = {
        dates.slot_of(interval, _key_start(interval, key)): count
        for key, count in by_field.get(interval, {}).items()
        if key > 0
    }
    return dates.histogram(
        interval, dates.slot_of(interval, low), dates.slot_of(interval, high), by_slot, undated
    )


def _key_start(interval: str, key: int) -> dt.datetime:
    """The start of the slot a document's ``year`` (2024), ``month`` (202405) or ``day``
    (20240501) field names."""
    if interval == "year":
        return dt.datetime(key, 1, 1, tzinfo=dt.UTC)
    if interval == "month":
        return dt.datetime(key // 100, key % 100, 1, tzinfo=dt.UTC)
    year, rest = divmod(key, 10_000)
    return dt.datetime(year, rest // 100, rest % 100, tzinfo=dt.UTC)


def hit(raw: dict[str, Any], marks: highlight.Marks, related_only: bool = False) -> Hit:
    """A hit, marked and cut as the Whoosh engine does (the body's snippet only when the body
    matched; ``related_only``: it matched only through related titles, which it then gives)."""
    document = raw["document"]
    article = article_of(document)
    body = document.get("body", "")
    shown = body if marks.body_matches(article, body) else ""
    return marks.hit(article, float(raw.get("text_match", 0) or 0), shown, related_only)
