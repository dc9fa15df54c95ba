"""HTTP query parameters → ``SearchRequest``: the one parser behind the search page and the API.

Every problem raises ``RequestError(param, message)`` where ``param`` is the HTTP parameter's
name (``topic``, not the contract's ``topics``), so a 400 points at what the user typed.

Dates: ``since`` and ``until`` take an ISO date (``2024-03-05``) or date-time
(``2024-03-05T14:00:00Z``; without an offset it is UTC). A date-only ``until`` includes that whole
day (a reader's "until the 5th"); a date-time ``until`` is an exclusive end, as in the contract.
On the page, empty values (``since=`` from a form left blank) count as absent; the API
(``strict``) rejects them, as it rejects unknown parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from search.models import MAX_FILTER_VALUES, RequestError, SearchRequest

FILTERS = {"topic": "topics", "provider": "providers", "type": "types"}
"""Repeatable HTTP parameter → SearchRequest field."""
SINGLE = ("q", "since", "until", "range", "sort", "page", "per_page", "facet_size")
INTEGERS = ("page", "per_page", "facet_size")
SEARCH_PARAMS = (*SINGLE[:1], *FILTERS, *SINGLE[1:])
"""Every parameter of the search page and ``/api/search``, in the order URLs list them."""
_CONTRACT_TO_HTTP = {field: param for param, field in FILTERS.items()}


@dataclass(frozen=True)
class SearchParams:
    """The request as validated, plus the cleaned parameters that rebuild its URL."""

    request: SearchRequest
    args: dict[str, list[str]]
    """Only the parameters given (non-empty), in ``SEARCH_PARAMS`` order: a canonical URL."""


def parse_search(
    args: MultiDict[str, str],
    *,
    per_page: int = 10,
    include_unpublished: bool = False,
    strict: bool = True,
    now: dt.datetime | None = None,
) -> SearchParams:
    """Validate the parameters; ``strict`` rejects unknown ones (the API does, pages don't)."""
    if strict:
        reject_unknown(args, SEARCH_PARAMS)
    cleaned: dict[str, list[str]] = {}
    for name in SEARCH_PARAMS:
        given = args.getlist(name)
        values = [value.strip() for value in given if value.strip()]
        if strict and name != "q" and len(values) < len(given):
            raise RequestError(name, "is empty; leave the parameter out instead")
        if name not in FILTERS and len(values) > 1:
            raise RequestError(name, "given more than once")
        if len(values) > MAX_FILTER_VALUES:
            raise RequestError(name, f"at most {MAX_FILTER_VALUES} values")
        if values:
            cleaned[name] = list(dict.fromkeys(values))
    single = {name: cleaned[name][0] for name in SINGLE if name in cleaned}
    numbers = {name: parse_int(name, single[name]) for name in INTEGERS if name in single}
    try:
        request = SearchRequest(
            q=args.get("q", "").strip(),
            topics=tuple(cleaned.get("topic", ())),
            providers=tuple(cleaned.get("provider", ())),
            types=tuple(cleaned.get("type", ())),
            since=parse_date("since", single["since"]) if "since" in single else None,
            until=parse_date("until", single["until"], end=True) if "until" in single else None,
            range=single.get("range"),
            sort=single.get("sort", "relevance"),
            page=numbers.get("page", 1),
            per_page=numbers.get("per_page", per_page),
            facet_size=numbers.get("facet_size", 10),
            include_unpublished=include_unpublished,
            now=now,
        )
    except RequestError as error:
        error.param = _CONTRACT_TO_HTTP.get(error.param, error.param)
        raise
    return SearchParams(request, cleaned)


def reject_unknown(args: Mapping[str, object], known: tuple[str, ...]) -> None:
    for name in args:
        if name not in known:
            raise RequestError(name, f"unknown parameter; use {', '.join(known)}")


def single(args: MultiDict[str, str], name: str) -> str | None:
    """One strict value: None when absent; repeated or empty is a 400 (``q`` may be empty)."""
    values = args.getlist(name)
    if len(values) > 1:
        raise RequestError(name, "given more than once")
    if not values:
        return None
    value = values[0].strip()
    if not value and name != "q":
        raise RequestError(name, "is empty; leave the parameter out instead")
    return value


def parse_int(name: str, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise RequestError(name, f"must be an integer, got {text[:40]!r}") from None


def parse_date(name: str, text: str, *, end: bool = False) -> dt.datetime:
    """An ISO date or date-time as an aware UTC datetime (see the module docstring for ``end``)."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return start + dt.timedelta(days=1) if end else start
        value = dt.datetime.fromisoformat(text.upper())  # RFC 3339 allows a lower-case t and z
        # in the try: 0001-01-01T00:00+14:00 is valid ISO but before year 1 in UTC
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise RequestError(
            name,
            "must be an ISO date (2024-03-05) or date-time (2024-03-05T14:00:00Z), "
            f"got {text[:40]!r}",
        ) from None
