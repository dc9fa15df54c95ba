"""HTTP query parameters → ``SearchRequest``: the one parser behind the search page and the API.

Every problem raises ``RequestError(param, message)`` where ``param`` is the HTTP parameter's
name (``topic``, not the contract's ``topics``), so a 400 points at what the user typed. What a
value may be is checked once, by ``SearchRequest`` (filter values, limits) and ``search.dates``
(``since`` / ``until``: an ISO date or date-time; a date-only ``until`` includes that day); this
module only deals with HTTP: repeated and empty parameters, integers, unknown names. On the page,
empty values (``since=`` from a form left blank) count as absent; the API (``strict``) rejects
them, as it rejects unknown parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from search.contract import DEFAULT_MODE, FILTER_FIELDS, SearchRequest
from search.dates import parse_date
from search.errors import RequestError

SINGLE = ("q", "since", "until", "range", "sort", "mode", "group", "page", "per_page", "facet_size")
INTEGERS = ("page", "per_page", "facet_size")
SEARCH_PARAMS = (*SINGLE[:1], *FILTER_FIELDS, *SINGLE[1:])
"""Every parameter of the search page and ``/api/search``, in the order URLs list them."""
_CONTRACT_TO_HTTP = {field: param for param, field in FILTER_FIELDS.items()}


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
    default_group: str = "none",
) -> SearchParams:
    """Validate the parameters; ``strict`` rejects unknown ones (the API does, pages don't).
    ``default_group``: the grouping when ``group`` is absent (the page groups by story, the API
    does not unless asked)."""
    if strict:
        reject_unknown(args, SEARCH_PARAMS)
    cleaned: dict[str, list[str]] = {}
    for name in SEARCH_PARAMS:
        given = args.getlist(name)
        values = [value.strip() for value in given if value.strip()]
        if strict and name != "q" and len(values) < len(given):
            raise RequestError(name, "is empty; leave the parameter out instead")
        if name not in FILTER_FIELDS and len(values) > 1:
            raise RequestError(name, "given more than once")
        if values:
            cleaned[name] = values
    single = {name: cleaned[name][0] for name in SINGLE if name in cleaned}
    numbers = {name: parse_int(name, single[name]) for name in INTEGERS if name in single}
    try:
        request = SearchRequest(
            q=args.get("q", "").strip(),
            **{field: tuple(cleaned.get(name, ())) for name, field in FILTER_FIELDS.items()},
            since=parse_date("since", single["since"]) if "since" in single else None,
            until=parse_date("until", single["until"], end=True) if "until" in single else None,
            range=single.get("range"),
            sort=single.get("sort", "relevance"),
            mode=single.get("mode", DEFAULT_MODE),
            group=single.get("group", default_group),
            page=numbers.get("page", 1),
            per_page=numbers.get("per_page", per_page),
            facet_size=numbers.get("facet_size", 10),
            include_unpublished=include_unpublished,
            now=now,
        )
    except RequestError as error:
        error.param = _CONTRACT_TO_HTTP.get(error.param, error.param)
        raise
    for name in FILTER_FIELDS:  # as the request holds them: stripped, without repeats
        if name in cleaned:
            cleaned[name] = list(request.selected(name))
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
