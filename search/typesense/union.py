"""Counts over a union: the query's matches plus a few articles found by meaning alone.

In hybrid mode an article near the query in meaning joins the keyword matches even when it
matches no word (``search.hybrid``). Typesense 0.24 cannot search "these words or these ids", so
every count of the request (total, facets, selected values, histogram, ranges) is asked twice in
the same ``multi_search``: once for the keyword matches, once for the added articles (``q=*``
and an ``id`` filter, ``mirror``), and the two answers are added (``add``). The sets are
disjoint (an added article matches no keyword clause), so sums are exact:

- totals and range counts add;
- facet values add by value; the added side's counts are complete (at most a few hundred
  articles), the keyword side's are its top values. A value the added side brings that the
  keyword side's truncated list does not show has an unknown keyword count: ``unseen`` names it
  and ``settle`` adds the count asked for it (``SearchBatch`` asks them in one more
  ``multi_search``, rarely);
- the date histogram's first and last dates are the earlier and later of the two sides'.
"""

from __future__ import annotations

import copy
from typing import Any

from .documents import FACET_FIELDS

PARTS = "_union_parts"
"""Kept in a count search while it is built: its filter parts (never sent to Typesense)."""
MIRRORED = ("facet_by", "max_facet_values", "include_fields")


def mirror(search: dict[str, Any], added: str) -> dict[str, Any] | None:
    """The same count over the added articles (None for a search that only fetches hits)."""
    parts = search.pop(PARTS, None)
    if parts is None:
        return None
    twin: dict[str, Any] = {key: search[key] for key in MIRRORED if key in search}
    twin["q"] = "*"
    twin["filter_by"] = _join([*parts, added])
    if _is_end(search):  # the histogram's first / last date
        twin.update(per_page=1, sort_by=search["sort_by"])
    else:
        twin["per_page"] = 0
    if "facet_by" in twin:  # every value of a few articles
        twin["max_facet_values"] = max(int(twin.get("max_facet_values", 10)), 1_000)
    return twin


def _join(parts: list[str]) -> str:
    from .batch import join

    return join(parts)


def add(matches: dict[str, Any], added: dict[str, Any], search: dict[str, Any]) -> dict[str, Any]:
    """One answer to ``search`` for the union of two disjoint sets: ``matches``' hits are kept,
    except for the histogram's first / last date, the union's."""
    total = copy.copy(matches)
    total["found"] = int(matches.get("found", 0)) + int(added.get("found", 0))
    total["facet_counts"] = _facets(matches.get("facet_counts", []), added.get("facet_counts", []))
    if _is_end(search):
        hits = [*matches.get("hits", []), *added.get("hits", [])]
        if hits:
            stamps = [int(hit["document"]["published_at"]) for hit in hits]
            ascending = str(search["sort_by"]).endswith(":asc")
            total["hits"] = [hits[stamps.index(min(stamps) if ascending else max(stamps))]]
    return total


def _is_end(search: dict[str, Any]) -> bool:
    return int(search.get("per_page", 10)) == 1 and str(search.get("sort_by", "")).startswith(
        "published_at:"
    )


def _facets(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    added = {facet["field_name"]: facet for facet in theirs}
    merged = []
    for facet in ours:
        name = facet["field_name"]
        counts = {str(entry["value"]): int(entry["count"]) for entry in facet.get("counts", [])}
        shown = set(counts)
        distinct = int(facet.get("stats", {}).get("total_values", len(counts)))
        complete = distinct <= len(counts)
        unseen = []
        for entry in added.get(name, {}).get("counts", []):
            value, count = str(entry["value"]), int(entry["count"])
            if count <= 0:
                continue
            if value not in shown:
                distinct += 1  # settled below when the keyword side's count is unknown
                if not complete:
                    unseen.append(value)
            counts[value] = counts.get(value, 0) + count
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        merged.append(
            {
                "field_name": name,
                "counts": [{"value": value, "count": count} for value, count in ranked],
                "stats": {**facet.get("stats", {}), "total_values": distinct},
                "unseen": unseen,
            }
        )
    return merged


def unseen(response: dict[str, Any]) -> list[tuple[str, str]]:
    """``(facet field, value)`` whose keyword count the union's counts still lack."""
    return [
        (facet["field_name"], value)
        for facet in response.get("facet_counts", [])
        if facet["field_name"] in FACET_FIELDS.values()
        for value in facet.get("unseen", [])
    ]


def settle(response: dict[str, Any], field: str, value: str, keyword_count: int) -> None:
    """Add the keyword side's count of an unseen value (a value it had is not a new one)."""
    for facet in response.get("facet_counts", []):
        if facet["field_name"] != field:
            continue
        for entry in facet["counts"]:
            if entry["value"] == value:
                entry["count"] += keyword_count
        if keyword_count > 0:
            facet["stats"]["total_values"] -= 1
        facet["counts"].sort(key=lambda entry: (-entry["count"], entry["value"]))
        facet["unseen"] = [v for v in facet.get("unseen", []) if v != value]
