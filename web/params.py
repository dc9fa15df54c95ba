"""HTTP query parameters → ``SearchRequest``: the one parser behind the search page and the API.

Every problem raises ``RequestError(param, message)`` where ``param`` is the HTTP parameter's
name (``topic``, not the contract's ``topics``), so a 400 points at what the user typed. What a
value may be is checked once, by ``SearchRequest`` (filter values, limits) and ``search.dates``
(``since`` / ``until``: an ISO date or date-time; a date-only ``until`` includes that day); this
module only deals with HTTP: repeated and empty parameters, integers, unknown names. On the page,
empty values (``since=`` from a form left blank) count as absent; the API (``strict``) rejects
them, as it rejects unknown parameters — except those browsers and link sharing add
(``IGNORED``: ``_`` cache busters, ``utm_*``, ``fbclid``, ``gclid``), ignored everywhere.

``q`` may have at most ``MAX_QUERY_CHARS`` characters as sent (white space included: the limit
is the schema's ``maxLength``), then it is trimmed.

On the page a date that cannot be applied (not a date, a year before 1000 — one being typed —,
or a range that ends before it starts) is left out of the search and explained beside the date
fields (``SearchParams.notes``), so the reader sees results and what to fix; the API answers 400
(or, for an early year, searches it: the schema allows it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from search.contract import DEFAULT_MODE, FILTER_FIELDS, MAX_QUERY_CHARS, SearchRequest
from search.dates import parse_date
from search.errors import QueryTooLong, RequestError
from search.serialize import HIT_KEYS

SINGLE = (
    "q",
    "since",
    "until",
    "range",
    "sort",
    "mode",
    "group",
    "page",
    "per_page",
    "facet_size",
    "exact",
)
INTEGERS = ("page", "per_page", "facet_size")
IGNORED = ("_", "fbclid", "gclid")
IGNORED_PREFIXES = ("utm_",)
"""Parameters added by browsers and link sharing: ignored, never a 400."""
BOOLEANS = {"1": True, "true": True, "0": False, "false": False}
SEARCH_PARAMS = (*SINGLE[:1], *FILTER_FIELDS, *SINGLE[1:])
"""Every parameter of the search page and ``/api/search``, in the order URLs list them."""
_CONTRACT_TO_HTTP = {field: param for param, field in FILTER_FIELDS.items()}


@dataclass(frozen=True)
class SearchParams:
    """The request as validated, plus the cleaned parameters that rebuild its URL."""

    request: SearchRequest
    args: dict[str, list[str]]
    """Only the parameters given (non-empty), in ``SEARCH_PARAMS`` order: a canonical URL."""
    notes: dict[str, str] = field(default_factory=dict)
    """Page only: parameters given but not applied (``since``/``until``), and why."""


def parse_search(
    args: MultiDict[str, str],
    *,
    per_page: int = 10,
    include_unpublished: bool = False,
    strict: bool = True,
    now: dt.datetime | None = None,
    also: tuple[str, ...] = (),
    default_group: str = "none",
) -> SearchParams:
    """Validate the parameters; ``strict`` rejects unknown ones (the API does, pages don't)
    but for ``also`` (parameters of the response's shape, read by the caller).
    ``default_group``: the grouping when ``group`` is absent (the page groups by story, the API
    does not unless asked)."""
    if strict:
        reject_unknown(args, (*SEARCH_PARAMS, *also))
    raw_q = args.get("q", "")
    if len(raw_q) > MAX_QUERY_CHARS:
        raise QueryTooLong("q", f"is longer than {MAX_QUERY_CHARS} characters")
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
    notes: dict[str, str] = {}
    since, until = _dates(single, strict, notes)
    try:
        request = SearchRequest(
            q=raw_q.strip(),
            **{field: tuple(cleaned.get(name, ())) for name, field in FILTER_FIELDS.items()},
            since=since,
            until=until,
            range=single.get("range"),
            sort=single.get("sort", "relevance"),
            mode=single.get("mode", DEFAULT_MODE),
            group=single.get("group", default_group),
            page=numbers.get("page", 1),
            per_page=numbers.get("per_page", per_page),
            facet_size=numbers.get("facet_size", 10),
            include_unpublished=include_unpublished,
            now=now,
            exact=parse_bool("exact", single["exact"]) if "exact" in single else False,
        )
    except RequestError as error:
        error.param = _CONTRACT_TO_HTTP.get(error.param, error.param)
        raise
    for name in FILTER_FIELDS:  # as the request holds them: stripped, without repeats
        if name in cleaned:
            cleaned[name] = list(request.selected(name))
    return SearchParams(request, cleaned, notes)


def _dates(
    single: dict[str, str], strict: bool, notes: dict[str, str]
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``since`` and ``until``; on the page (not ``strict``) one that cannot be applied is
    left out, with the reason in ``notes``."""
    found: dict[str, dt.datetime | None] = {"since": None, "until": None}
    for name in found:
        if name in single:
            try:
                found[name] = parse_date(name, single[name], end=name == "until")
            except RequestError as error:
                if strict:
                    raise
                notes[name] = error.message
                continue
            if not strict and single[name][:1] == "0":  # a year being typed: 0002-01-02
                found[name] = None
                notes[name] = f"is not a complete date (year {single[name][:4]})"
    since, until = found["since"], found["until"]
    if since is not None and until is not None and since >= until:
        if strict:
            raise RequestError("until", "must be after 'since'")
        notes["until"] = "ends before the start date: the dates were not applied"
        notes.setdefault("since", "")  # not applied either (the message is the end's)
        return None, None
    return since, until


def reject_unknown(args: Mapping[str, object], known: tuple[str, ...]) -> None:
    for name in args:
        if name not in known and not is_ignored(name):
            raise RequestError(name, f"unknown parameter; use {', '.join(known)}")


def is_ignored(name: str) -> bool:
    """A parameter browsers or link sharing add (``IGNORED``): never an error."""
    return name in IGNORED or name.startswith(IGNORED_PREFIXES)


def parse_bool(name: str, text: str) -> bool:
    value = BOOLEANS.get(text.lower())
    if value is None:
        raise RequestError(name, f"must be 1, true, 0 or false, got {text[:40]!r}")
    return value


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


# -- the shape of /api/search's answer -----------------------------------------------------------

HIT_FIELDS = HIT_KEYS
"""What ``fields=`` may name: the keys of a hit (``search.serialize.hit_to_dict``)."""
HIGHLIGHTED = ("title", "excerpt", "body")
SHAPE_PARAMS = ("fields", "highlights")


@dataclass(frozen=True)
class Shape:
    """Which keys each hit of ``/api/search`` carries (None: all) and which highlights."""

    fields: frozenset[str] | None = None
    highlights: tuple[str, ...] = HIGHLIGHTED

    @property
    def whole(self) -> bool:
        return self.fields is None and self.highlights == HIGHLIGHTED


def parse_shape(args: MultiDict[str, str]) -> Shape:
    """``fields=id,title,url`` (or repeated): only these keys in each hit (``id`` always);
    ``highlights=none`` or some of ``title``, ``excerpt``, ``body``: only these highlights
    (``all``, the default: every one; ``none`` adds none to the others). Highlights asked for
    (``highlights=`` other than ``none``) are kept whatever ``fields=`` says."""
    fields = _names(args, "fields", HIT_FIELDS)
    highlights = _names(args, "highlights", (*HIGHLIGHTED, "all", "none"))
    if highlights is None or "all" in highlights:
        shown: tuple[str, ...] = HIGHLIGHTED
    else:  # "none" adds nothing: none,title is title
        shown = tuple(name for name in HIGHLIGHTED if name in highlights)
    if fields is not None and highlights is not None and shown:
        fields.add("highlights")
    return Shape(None if fields is None else frozenset({"id", *fields}), shown)


def _names(args: MultiDict[str, str], param: str, allowed: tuple[str, ...]) -> set[str] | None:
    given = args.getlist(param)
    if not given:
        return None
    names = {name.strip() for value in given for name in value.split(",")}
    if "" in names:
        raise RequestError(param, "has an empty name; list names separated by commas")
    unknown = sorted(names - set(allowed))
    if unknown:
        named = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise RequestError(param, f"has unknown {named}; use {', '.join(allowed)}")
    return names
