"""newsfind on a Typesense cluster: the same ``SearchRequest → SearchResult`` contract, and reindex.

Selected with ``NEWSFIND_ENGINE=typesense`` (see ``search.engines`` and docs/typesense.md);
``NEWSFIND_TYPESENSE_NODES`` lists the nodes, ``NEWSFIND_TYPESENSE_API_KEY`` is the admin key,
which stays in this process.

**Analysis is newsfind's own.** Every searchable text is stored twice: as written (for display and
highlighting) and as the space-separated stems ``schema.news_analyzer`` makes of it (fields
``s_title`` … ``s_related``), and queries go through the same parser (``search.query``) and
analyser. Typesense 0.24 has no stemming and no stop words, so this is what makes the two engines
match the same documents for the same words: ``rates`` finds ``rate``, ``bank of england`` is
the phrase ``bank england``, accents and possessives fold alike.

**The query language, mapped** (anything else is a ``RequestError('q', …)``, never a silent
different answer):

- one word, a ``"phrase"`` or a ``prefix*``, with or without ``-exclusions``;
- plain words (any of them matches): two words (one may be a prefix) are one Typesense search that
  drops either word (``drop_tokens_threshold``); three or more single words are matched exactly
  by a filter (``s_title:word || s_body:word …``) that gives the total and the facets, and
  ranked by merging searches that each drop all but two of the words;
- ``a AND b AND "c d"`` (every clause required, one prefix at most), where clauses on another
  field (``title:x``, ``topic:x``) of one word become filters;
- ``OR`` between words is the same as plain words.

Not expressible, so an error: ``NOT``/``-`` before a group or a field other than the query's own,
``OR`` or plain words mixed with ``AND``, a phrase or a prefix among three or more plain words, or
among words of different fields, and parenthesised groups mixing these.

**Ranking** is Typesense's ``_text_match`` (field weights from ``schema.FIELD_WEIGHTS``), then
newer first, then quality — not newsfind's BM25F with freshness boosts: totals and facets match
the Whoosh engine, the order of hits may not.

**Exact values** (topic, provider name and domain, type, URL) are kept as written and compared
exactly, as with Whoosh: Typesense 0.24 folds case, accents and punctuation in ``string`` facets
and ``:=`` filters and cuts tokens at 100 characters, so each is also indexed as a hex key
(``exact_key``) that filters compare, and faceted as its text followed by that key
(``facet_value``, read back by ``facet_text``).

**Visibility**: requests without ``include_unpublished`` use a scoped search key whose embedded
filter is ``published:=true``, so the cluster itself refuses to return unpublished articles;
the request's own filter repeats it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import query as ql
from .articles import Article, ArticleError, parse_article
from .indexer import (
    LockTimeout,
    Progress,
    ReindexError,
    ReindexReport,
    Rejected,
    SeedFile,
    _digest,
    _hash_file,
    _mp_context,
    _now_iso,
    _read_limited,
    _reindex_lock,
    scan_seeds,
)
from .models import (
    RELATIVE_RANGES,
    Correction,
    DateBucket,
    DateHistogram,
    Facet,
    FacetValue,
    Hit,
    IndexInfo,
    IndexUnavailable,
    NotFound,
    RangeCount,
    RequestError,
    SearchRequest,
    SearchResult,
    Segment,
    Suggestion,
)
from .schema import (
    _WORD,
    FIELD_WEIGHTS,
    STOP_WORDS,
    article_to_stored,
    fold_accents,
    news_analyzer,
    stored_to_article,
)

__all__ = [
    "TypesenseSettings",
    "TypesenseEngine",
    "reindex",
    "article_document",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = "ts-2"
"""Bump when the collection fields or the analysis change: the next reindex is then full."""

TEXT_FIELDS: dict[str, str] = {
    "title": "s_title",
    "excerpt": "s_excerpt",
    "topics_text": "s_topics",
    "provider_text": "s_provider",
    "body": "s_body",
    "related_text": "s_related",
}
UNDATED = 0
"""``published_at`` of an undated article; ``dated`` is 0 then, and every date filter asks 1."""
PAGE_LIMIT = 250
"""Typesense's largest ``per_page``."""
MANY = 1_000_000_000
"""A ``drop_tokens_threshold`` that is never reached: every droppable word is dropped."""
FACET_SLACK = 20
"""Facet values fetched beyond ``facet_size`` so that ties are cut by value, as Whoosh does."""
DID_YOU_MEAN_BELOW = 3
"""As the Whoosh engine: look for a better spelling below this many results."""
# the date histogram as search.facets draws it (the same spans and bucket limit)
DAY_SPAN = 62 * 86_400
MONTH_SPAN = 3 * 366 * 86_400
MAX_BUCKETS = 400
META_ID = "state"
KEY_PROPAGATION = 5.0
"""Seconds a new search key may take to reach every node of a cluster."""
BATCH_SIZE = 500
STRIP_FIELDS = ",".join([*TEXT_FIELDS.values(), "words"])

COLLECTION_FIELDS: list[dict[str, Any]] = [
    *({"name": name, "type": "string"} for name in TEXT_FIELDS.values()),
    {"name": "title", "type": "string"},
    {"name": "words", "type": "string"},
    {"name": "path", "type": "string"},
    # exact values (see exact_key): faceted as "<value> <marked key>", filtered by key
    {"name": "topic_facet", "type": "string[]", "facet": True, "optional": True},
    {"name": "provider_facet", "type": "string", "facet": True, "optional": True},
    {"name": "type_facet", "type": "string", "facet": True, "optional": True},
    {"name": "topic_key", "type": "string[]", "optional": True},
    {"name": "provider_key", "type": "string", "optional": True},
    {"name": "domain_key", "type": "string", "optional": True},
    {"name": "type_key", "type": "string", "optional": True},
    {"name": "url_key", "type": "string", "optional": True},
    {"name": "published", "type": "bool"},
    {"name": "published_at", "type": "int64"},
    {"name": "dated", "type": "int32"},
    {"name": "year", "type": "int32", "facet": True},
    {"name": "month", "type": "int32", "facet": True},
    {"name": "day", "type": "int32", "facet": True},
    {"name": "quality", "type": "float"},
    {"name": "heat", "type": "float"},
]
"""Indexed fields. ``excerpt``, ``body``, ``url``, ``doc`` (the stored JSON), ``content_hash`` and
``stamp`` are stored in each document without an index (Typesense keeps undeclared fields)."""
FACET_FIELDS: dict[str, str] = {
    "topic": "topic_facet",
    "provider": "provider_facet",
    "type": "type_facet",
}
"""The facet field of each facet of ``SearchRequest.facets`` (values decoded by ``facet_text``)."""
KEY_CHUNK = 64
"""Hex digits per token of an exact key: Typesense 0.24 cuts every token at 100 characters."""
KEY_MARK = "ǂ"
"""Leads each key token in a facet field, so that a typed prefix never matches the hex digits
(a letter Typesense keeps as it is and nobody types; ``ⓧ`` would be folded to ``x``)."""
NOTHING = "dated:<0"
"""A filter that matches no document (a filter on empty values only, as Whoosh)."""


# --- settings and clients ------------------------------------------------------------------------


@dataclass(frozen=True)
class TypesenseSettings:
    nodes: tuple[str, ...]
    """``http://host:port`` of every node (the client spreads reads and fails over)."""
    api_key: str
    """The admin key: writes, reindex, and requests that include unpublished articles."""
    collection: str = "newsfind"
    """The alias searched; each full reindex creates ``<collection>-<stamp>`` behind it."""
    search_key: str = ""
    """A ``documents:search`` key; derived from the admin key and created when empty."""
    timeout: float = 5.0
    retries: int = 3

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None = None) -> TypesenseSettings:
        """From Flask-style config keys (``TYPESENSE_NODES``…), else ``NEWSFIND_TYPESENSE_*``."""
        config = config or {}

        def get(name: str, default: str = "") -> str:
            value = config.get(f"TYPESENSE_{name}")
            if value is None:
                value = os.environ.get(f"NEWSFIND_TYPESENSE_{name}", default)
            return str(value)

        nodes = tuple(
            _node_url(part) for part in get("NODES").replace(";", ",").split(",") if part.strip()
        )
        if not nodes:
            raise IndexUnavailable(
                "NEWSFIND_TYPESENSE_NODES is not set (e.g. http://127.0.0.1:8108, comma-separated)"
            )
        api_key = get("API_KEY")
        if not api_key:
            raise IndexUnavailable("NEWSFIND_TYPESENSE_API_KEY is not set")
        return cls(
            nodes=nodes,
            api_key=api_key,
            collection=get("COLLECTION", "newsfind"),
            search_key=get("SEARCH_KEY"),
            timeout=float(get("TIMEOUT", "5")),
        )

    def client(self, api_key: str | None = None) -> Any:
        import typesense  # type: ignore[import-untyped]

        nodes = []
        for url in self.nodes:
            scheme, _, rest = url.partition("://")
            host, _, port = rest.rstrip("/").rpartition(":")
            nodes.append({"host": host, "port": int(port), "protocol": scheme})
        # the 2.x client warns about its own deprecated analytics API on every construction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self._client(typesense, nodes, api_key)

    def _client(self, typesense: Any, nodes: list[dict[str, Any]], api_key: str | None) -> Any:
        return typesense.Client(
            {
                "nodes": nodes,
                "api_key": api_key or self.api_key,
                "connection_timeout_seconds": self.timeout,
                "num_retries": max(self.retries, len(nodes)),
                "retry_interval_seconds": 0.1,
                "healthcheck_interval_seconds": 2,
            }
        )


def _node_url(text: str) -> str:
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    scheme, _, rest = text.partition("://")
    if ":" not in rest.rstrip("/"):
        rest = rest.rstrip("/") + (":443" if scheme == "https" else ":8108")
    return f"{scheme}://{rest.rstrip('/')}"


def _errors() -> Any:
    import typesense.exceptions as errors  # type: ignore[import-untyped]

    return errors


def _unreachable() -> tuple[type[BaseException], ...]:
    """What a request to an unreachable or failing cluster raises."""
    errors: tuple[type[BaseException], ...] = (_errors().TypesenseClientError, OSError)
    try:  # the 2.x client speaks httpx; 0.x (for 0.2x servers) requests, whose errors are OSErrors
        import httpx

        errors += (httpx.HTTPError,)
    except ImportError:
        pass
    return errors


# --- documents ----------------------------------------------------------------------------------


def stems(text: str) -> str:
    """Space-separated indexed terms of ``text`` (what Whoosh indexes for it)."""
    return " ".join(token.text for token in news_analyzer(text))


def vocabulary(*texts: str) -> str:
    """Distinct lower-cased, accent-folded non-stop words: the did-you-mean vocabulary."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            word = fold_accents(match.group().lower()).replace("'", "").replace(".", "")
            if word and word not in STOP_WORDS and not word.isdigit():
                seen.setdefault(word, None)
    return " ".join(seen)


def article_document(
    article: Article, rel: str, content_hash: str, stamp: str = ""
) -> dict[str, Any]:
    """The Typesense document of one article (``rel`` is its path within the seeds folder)."""
    provider = article.provider
    moment = article.published_at
    texts = {
        "title": article.title,
        "excerpt": article.excerpt,
        "topics_text": "\n".join(article.topics),
        "provider_text": f"{provider.name}\n{provider.domain}",
        "body": article.body,
        "related_text": "\n".join(entry.title for entry in article.related),
    }
    document: dict[str, Any] = {
        "id": article.id,
        **{TEXT_FIELDS[name]: stems(text) for name, text in texts.items()},
        "words": vocabulary(article.title, article.excerpt, texts["topics_text"], article.body),
        "title": article.title,
        "excerpt": article.excerpt,
        "body": article.body,
        "path": rel,
        "url": article.url,
        "published": article.published,
        "published_at": int(moment.timestamp()) if moment else UNDATED,
        "dated": 1 if moment else 0,
        "year": moment.year if moment else 0,
        "month": moment.year * 100 + moment.month if moment else 0,
        "day": (moment.year * 100 + moment.month) * 100 + moment.day if moment else 0,
        "quality": float(article.quality),
        "heat": float(article.heat),
        "doc": json.dumps(article_to_stored(article), separators=(",", ":")),
        "content_hash": content_hash,
        "stamp": stamp,
    }
    topics = [topic for topic in article.topics if topic]
    if topics:
        document["topic_facet"] = [facet_value(topic) for topic in topics]
        document["topic_key"] = [exact_key(topic) for topic in topics]
    for name, value in (
        ("provider", provider.name),
        ("domain", provider.domain),
        ("type", article.type),
        ("url", article.url),
    ):
        if value:  # Whoosh indexes no empty value either
            document[f"{name}_key"] = exact_key(value)
            if name in FACET_FIELDS:
                document[FACET_FIELDS[name]] = facet_value(value)
    return document


def exact_key(value: str) -> str:
    """The case- and accent-exact form of a facet or filter value: the lower-case hex of its UTF-8
    bytes, in tokens of ``KEY_CHUNK`` digits. Typesense 0.24 folds case, accents, punctuation and
    Unicode compatibility forms in ``string`` facets and ``:=`` filters (``MarketWatch`` and
    ``Marketwatch``, ``Café`` and ``Cafe``, ``A, B`` and ``A B`` would be one value) and cuts
    tokens at 100 characters; hex digits it cannot fold, and a filter on them needs no escaping."""
    digits = value.encode("utf-8").hex()
    return " ".join(digits[start : start + KEY_CHUNK] for start in range(0, len(digits), KEY_CHUNK))


def facet_value(value: str) -> str:
    """A facet field's text: the value as written (for facet-query prefixes: suggestions), then
    its key, each token marked with ``KEY_MARK`` (which keeps the facet values apart)."""
    return " ".join([value, *(KEY_MARK + part for part in exact_key(value).split(" "))])


def facet_text(stored: str) -> str | None:
    """The value of a facet field's text (``facet_value``'s inverse); None if it is not one."""
    end = len(stored)
    while (end := stored.rfind(" " + KEY_MARK, 0, end)) >= 0:
        candidate = stored[:end]
        if facet_value(candidate) == stored:
            return candidate
    return None


def collection_schema(name: str) -> dict[str, Any]:
    return {"name": name, "fields": COLLECTION_FIELDS, "token_separators": []}


# --- the query language, mapped ------------------------------------------------------------------


@dataclass
class TextPlan:
    """How one parsed query runs on Typesense."""

    q: str = "*"
    query_by: tuple[str, ...] = tuple(TEXT_FIELDS)
    any_word: bool = False
    """Plain words of two: drop either word (``drop_tokens_threshold``)."""
    prefix: bool = False
    filters: list[str] = field(default_factory=list)
    """Extra set filters (AND): fielded one-word clauses, the exact union of many words."""
    orders: list[list[str]] = field(default_factory=list)
    """Three or more plain words: one text search per order (each matches its end words)."""
    exclusions: list[str] = field(default_factory=list)
    stems: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @property
    def is_text(self) -> bool:
        return self.q.strip() not in ("*", "") or bool(self.orders)


def _unsupported(what: str) -> RequestError:
    return RequestError(
        "q",
        f'the Typesense engine cannot search {what}; use plain words, "phrases", -word, '
        "prefix*, or words joined by AND (see docs/typesense.md)",
    )


def plan_query(root: ql.Node | None) -> TextPlan | None:
    """The Typesense form of a parsed query; None when nothing can match (empty query)."""
    if root is None:
        return None
    plan = TextPlan()
    leaves = list(ql.positive_leaves(root))
    plan.stems = frozenset(s for leaf in leaves if isinstance(leaf, ql.Words) for s in leaf.stems)
    plan.prefixes = tuple(leaf.prefix for leaf in leaves if isinstance(leaf, ql.Prefix))
    children = list(root.children) if isinstance(root, ql.Soft) else [root]
    negatives = [child.child for child in children if isinstance(child, ql.Not)]
    positives = [child for child in children if not isinstance(child, ql.Not)]
    # `a OR b` and nested plain words are the same "any of them" as juxtaposition
    flat: list[ql.Node] = []
    for child in positives:
        if isinstance(child, ql.Any | ql.Soft):
            flat.extend(_flatten_any(child))
        else:
            flat.append(child)
    if not flat:
        fields = _negation_fields(negatives, tuple(TEXT_FIELDS))
        plan.query_by = fields
        plan.exclusions = [_exclusion(n, fields) for n in negatives]
        plan.q = " ".join(plan.exclusions)
        return plan
    if len(flat) == 1 and isinstance(flat[0], ql.All):
        _plan_all(plan, list(flat[0].children))
    elif any(isinstance(item, ql.All) for item in flat):
        raise _unsupported("AND mixed with plain words or OR")
    else:
        _plan_any(plan, flat)  # type: ignore[arg-type]
    plan.exclusions = [_exclusion(n, plan.query_by) for n in negatives]
    if plan.exclusions:
        plan.q = (
            " ".join([plan.q, *plan.exclusions]) if plan.q != "*" else " ".join(plan.exclusions)
        )
    return plan


def _flatten_any(node: ql.Node) -> Iterator[ql.Node]:
    if isinstance(node, ql.Any | ql.Soft):
        for child in node.children:
            if isinstance(child, ql.Not):
                raise _unsupported("NOT inside OR or a group")
            yield from _flatten_any(child)
    elif isinstance(node, ql.Words | ql.Prefix):
        yield node
    else:
        raise _unsupported("AND inside OR or a group")


def _leaf_fields(leaf: ql.Words | ql.Prefix) -> tuple[str, ...]:
    return tuple(leaf.fields)


def _plan_any(plan: TextPlan, leaves: list[ql.Words | ql.Prefix]) -> None:
    fields = {_leaf_fields(leaf) for leaf in leaves}
    if len(fields) > 1:
        raise _unsupported("plain words or OR across different fields (title:, topic:…)")
    plan.query_by = fields.pop()
    phrases = [leaf for leaf in leaves if isinstance(leaf, ql.Words) and len(leaf.stems) > 1]
    prefixes = [leaf for leaf in leaves if isinstance(leaf, ql.Prefix)]
    if len(leaves) == 1:
        leaf = leaves[0]
        plan.q = _text(leaf)
        plan.prefix = isinstance(leaf, ql.Prefix)
        return
    if phrases:
        raise _unsupported("a phrase among plain words or OR (join them with AND instead)")
    if len(prefixes) > 1:
        raise _unsupported("more than one prefix* among plain words")
    words = [_text(leaf) for leaf in leaves if isinstance(leaf, ql.Words)]
    words = list(dict.fromkeys(words))
    if prefixes:
        if len(words) > 1:
            raise _unsupported("a prefix* among three or more plain words")
        plan.q = f"{words[0]} {prefixes[0].prefix}" if words else prefixes[0].prefix
        plan.any_word = bool(words)
        plan.prefix = True
        return
    if len(words) == 1:
        plan.q = words[0]
        return
    plan.any_word = True
    if len(words) == 2:
        plan.q = " ".join(words)
        return
    ts_fields = [TEXT_FIELDS[name] for name in plan.query_by]
    clauses = [f"{name}:[{','.join(words)}]" for name in ts_fields]
    plan.filters.append("(" + " || ".join(clauses) + ")")
    plan.q = " ".join(words)
    # each order drops words from its right, then its left: it matches its first or last word;
    # together the orders cover every word
    orders = []
    for index in range(0, len(words), 2):
        ends = words[index : index + 2]
        if len(ends) == 1:
            ends = [ends[0], words[0]]
        middle = [word for word in words if word not in ends]
        orders.append([ends[0], *middle, ends[-1]])
    plan.orders = orders


def _plan_all(plan: TextPlan, children: list[ql.Node]) -> None:
    main: list[ql.Words | ql.Prefix] = []
    for child in children:
        if not isinstance(child, ql.Words | ql.Prefix):
            raise _unsupported("a group, OR or NOT inside AND")
        main.append(child)
    fields_count: dict[tuple[str, ...], int] = {}
    for leaf in main:
        fields_count[_leaf_fields(leaf)] = fields_count.get(_leaf_fields(leaf), 0) + 1
    default = tuple(TEXT_FIELDS)
    chosen = default if default in fields_count else max(fields_count, key=fields_count.__getitem__)
    plan.query_by = chosen
    words: list[str] = []
    prefix: ql.Prefix | None = None
    for leaf in main:
        if _leaf_fields(leaf) != chosen:
            if isinstance(leaf, ql.Words) and len(leaf.stems) == 1:
                names = [TEXT_FIELDS[name] for name in leaf.fields]
                plan.filters.append("(" + " || ".join(f"{n}:{leaf.stems[0]}" for n in names) + ")")
                continue
            raise _unsupported("a phrase or prefix* on another field than the other AND words")
        if isinstance(leaf, ql.Prefix):
            if prefix is not None:
                raise _unsupported("more than one prefix* joined by AND")
            prefix = leaf
        else:
            words.append(_text(leaf))
    if prefix is not None:
        words.append(prefix.prefix)
        plan.prefix = True
    plan.q = " ".join(words) if words else "*"


def _text(leaf: ql.Words | ql.Prefix) -> str:
    if isinstance(leaf, ql.Prefix):
        return leaf.prefix
    if len(leaf.stems) == 1:
        return leaf.stems[0]
    return '"' + " ".join(leaf.stems) + '"'


def _negation_fields(negatives: list[ql.Node], default: tuple[str, ...]) -> tuple[str, ...]:
    fields = {tuple(leaf.fields) for n in negatives for leaf in _neg_leaves(n)}
    if len(fields) > 1:
        raise _unsupported("exclusions on different fields")
    return fields.pop() if fields else default


def _neg_leaves(node: ql.Node) -> list[ql.Words]:
    if isinstance(node, ql.Words):
        return [node]
    raise _unsupported("NOT or - before a group, an OR or a prefix*")


def _exclusion(node: ql.Node, query_by: tuple[str, ...]) -> str:
    (leaf,) = _neg_leaves(node)
    if tuple(leaf.fields) != tuple(query_by):
        raise _unsupported("an exclusion on another field than the words searched")
    return "-" + _text(leaf)


# --- the engine ---------------------------------------------------------------------------------


class TypesenseEngine:
    """``Engine`` on a Typesense cluster; thread-safe (the client pools HTTP connections)."""

    def __init__(self, settings: TypesenseSettings | Mapping[str, Any] | None = None) -> None:
        if not isinstance(settings, TypesenseSettings):
            settings = TypesenseSettings.from_mapping(settings)
        self.settings = settings
        self.admin = settings.client()
        self._public: Any = None
        self._scoped = ""
        self._lock = threading.Lock()
        self._reads = _ClusterReads(self) if len(settings.nodes) > 1 else None

    # -- clients

    def client(self, include_unpublished: bool) -> Any:
        if include_unpublished:
            return self.admin
        if self._public is None:
            with self._lock:
                if self._public is None:
                    key = self.settings.search_key or ensure_search_key(self.admin, self.settings)
                    scoped = self.admin.keys.generate_scoped_search_key(
                        key, {"filter_by": "published:=true"}
                    )
                    self._scoped = scoped.decode("ascii")
                    self._public = self.settings.client(self._scoped)
        return self._public

    def scoped_key(self) -> str:
        """The search key of requests without the admin token (``published:=true`` embedded)."""
        self.client(False)
        return self._scoped

    def _perform(self, body: dict[str, Any], include_unpublished: bool) -> Any:
        if self._reads is not None:
            return self._reads.perform(body, include_unpublished)
        unauthorized = _errors().RequestUnauthorized
        deadline = time.monotonic() + KEY_PROPAGATION
        while True:
            try:
                return self.client(include_unpublished).multi_search.perform(body, {})
            except unauthorized:
                # a search key just created on the leader reaches the other nodes a moment later
                if include_unpublished or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _multi(
        self, searches: list[dict[str, Any]], include_unpublished: bool
    ) -> list[dict[str, Any]]:
        errors = _errors()
        collection = self.settings.collection
        body = {"searches": [{"collection": collection, **s} for s in searches]}
        try:
            response = self._perform(body, include_unpublished)
        except errors.ObjectNotFound:
            raise IndexUnavailable(
                f"no Typesense collection {collection!r}: run 'newsfind reindex --engine typesense'"
            ) from None
        except _unreachable() as exc:
            raise IndexUnavailable(f"Typesense cluster unavailable: {exc}") from exc
        results = response["results"]
        for result in results:
            if "error" in result:
                try:
                    version = schema_mark(self.admin, self.settings)
                except _unreachable():
                    version = None
                if version is not None and version != SCHEMA_VERSION:
                    # indexed by another newsfind: its fields are not the ones asked for (404)
                    raise IndexUnavailable(
                        f"the Typesense collection {collection!r} has schema {version}, this "
                        f"newsfind needs {SCHEMA_VERSION}: run 'newsfind reindex --engine "
                        f"typesense' ({result['error']})"
                    )
                if result.get("code") == 404:
                    raise IndexUnavailable(
                        f"no Typesense collection {collection!r}: run 'newsfind reindex "
                        f"--engine typesense' ({result['error']})"
                    )
                raise IndexUnavailable(f"Typesense refused a search: {result['error']}")
        return results  # type: ignore[no-any-return]

    # -- search

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        parsed = ql.parse(request.q)
        plan = plan_query(parsed.root) if request.q.strip() else TextPlan()
        if plan is None:
            return SearchResult(request, 0, (), plain_fallback=parsed.plain_fallback)
        filters = _request_filters(request)
        batch = _SearchBatch(self, request, plan, filters)
        result = batch.run()
        did_you_mean = None
        if plan.is_text and result.total < DID_YOU_MEAN_BELOW:
            did_you_mean = self._did_you_mean(request, parsed, result.total)
        took = (time.perf_counter() - started) * 1000
        return SearchResult(
            request=request,
            total=result.total,
            hits=result.hits,
            facets=result.facets,
            date_histogram=result.histogram,
            ranges=result.ranges,
            did_you_mean=did_you_mean,
            took_ms=round(took, 2),
            generation=self.generation(),
            plain_fallback=parsed.plain_fallback,
        )

    def _did_you_mean(
        self, request: SearchRequest, parsed: ql.ParsedQuery, total: int
    ) -> Correction | None:
        words = [leaf for leaf in ql.positive_leaves(parsed.root) if isinstance(leaf, ql.Words)]
        if not words:
            return None
        raw = [
            fold_accents(match.group().lower())
            for leaf in words
            for match in _WORD.finditer(leaf.text)
        ]
        raw = [word for word in raw if word not in STOP_WORDS]
        if not raw:
            return None
        search = {
            "q": " ".join(raw),
            "query_by": "words",
            "num_typos": 2,
            "min_len_1typo": 3,
            "min_len_2typo": 6,
            "typo_tokens_threshold": 1,
            "drop_tokens_threshold": 0,
            "prefix": "false",
            "per_page": 3,
            "include_fields": "id",
            "filter_by": _join(_base_filter(request.include_unpublished)),
        }
        (response,) = self._multi([search], request.include_unpublished)
        matched: set[str] = set()
        for hit in response.get("hits", []):
            for highlight in hit.get("highlights", []):
                matched.update(token.lower() for token in highlight.get("matched_tokens", []))
        if not matched:
            return None
        text = request.q
        changed = False
        for word in dict.fromkeys(raw):
            if word in matched:
                continue
            best = min(matched, key=lambda token: (_edit_distance(word, token), token))
            if _edit_distance(word, best) <= 2:
                text = _replace_word(text, word, best)
                changed = True
        if not changed:
            return None
        corrected = SearchRequest(
            q=text,
            topics=request.topics,
            providers=request.providers,
            types=request.types,
            since=request.since,
            until=request.until,
            range=request.range,
            per_page=1,
            facets=(),
            include_unpublished=request.include_unpublished,
            now=request.now,
        )
        try:
            count = (
                _SearchBatch(
                    self,
                    corrected,
                    plan_query(ql.parse(text).root) or TextPlan(),
                    _request_filters(corrected),
                )
                .run()
                .total
            )
        except RequestError:
            return None
        return Correction(text, count) if count > total else None

    # -- the other calls

    def suggest(
        self, prefix: str, limit: int = 8, include_unpublished: bool = False
    ) -> list[Suggestion]:
        text = " ".join(prefix.split())
        if not text or limit < 1:
            return []
        filters = _join(_base_filter(include_unpublished))
        needle = text.replace("`", "")
        # the values are matched as Whoosh does; the facet query only narrows them down
        folded = " ".join(fold_accents(ql.clean(text).strip().lower()).split())
        searches = [
            {
                "q": text,
                "query_by": "title",
                "prefix": "true",
                "num_typos": 0,
                "per_page": limit,
                "include_fields": "title",
                "filter_by": filters,
                "drop_tokens_threshold": 0,
            },
            *(
                {
                    "q": "*",
                    "per_page": 0,
                    "facet_by": FACET_FIELDS[kind],
                    "facet_query": f"{FACET_FIELDS[kind]}:{needle}",
                    "max_facet_values": limit + FACET_SLACK,
                    "filter_by": filters,
                }
                for kind in ("topic", "provider")
            ),
        ]
        titles, topics, providers = self._multi(searches, include_unpublished)
        found: list[Suggestion] = []
        for kind, response in (("topic", topics), ("provider", providers)):
            for value, count in _facet_counts(response, FACET_FIELDS[kind]):
                words = " ".join(fold_accents(value.lower()).split())
                if words.startswith(folded) or f" {folded}" in words:
                    found.append(Suggestion(value, kind, count))
        seen_titles: set[str] = set()
        for hit in titles.get("hits", []):
            title = hit["document"]["title"]
            if title not in seen_titles:
                seen_titles.add(title)
                found.append(Suggestion(title, "title", 1))
        found.sort(
            key=lambda s: (
                not fold_accents(s.text.lower()).startswith(folded),
                s.kind == "title",
                -s.count,
            )
        )
        return found[:limit]

    def get(self, article_id: str, include_unpublished: bool = False) -> Article:
        document = self._document(article_id, include_unpublished)
        return _article(document, body=document.get("body", ""))

    def _document(self, article_id: str, include_unpublished: bool) -> dict[str, Any]:
        if not isinstance(article_id, str) or not article_id or "`" in article_id:
            raise NotFound(str(article_id))
        filters = [*_base_filter(include_unpublished), f"id:=`{article_id}`"]
        search = {
            "q": "*",
            "filter_by": _join(filters),
            "per_page": 1,
            "exclude_fields": STRIP_FIELDS,
        }
        (response,) = self._multi([search], include_unpublished)
        hits = response.get("hits", [])
        if not hits:
            raise NotFound(article_id)
        return hits[0]["document"]  # type: ignore[no-any-return]

    def more_like_this(
        self, article_id: str, limit: int = 5, include_unpublished: bool = False
    ) -> list[Hit]:
        document = self._document(article_id, include_unpublished)
        article = _article(document)
        if limit < 1:
            return []
        base = _base_filter(include_unpublished)
        hits: list[Hit] = []
        seen = {article.id}
        urls = list(dict.fromkeys(entry.url for entry in article.related if entry.url))[:100]
        searches = []
        if urls:
            searches.append(
                {
                    "q": "*",
                    "per_page": min(PAGE_LIMIT, len(urls) + 1),
                    "exclude_fields": STRIP_FIELDS,
                    "filter_by": _join([*base, f"url_key:={_keys(urls)}"]),
                }
            )
        terms = list(dict.fromkeys(stems(f"{article.title} {article.excerpt}").split()))[:12]
        if terms:
            searches.append(
                {
                    "q": " ".join(terms),
                    "query_by": ",".join(TEXT_FIELDS.values()),
                    "query_by_weights": _weights(tuple(TEXT_FIELDS)),
                    "drop_tokens_threshold": MANY,
                    "num_typos": 0,
                    "prefix": "false",
                    "per_page": min(PAGE_LIMIT, limit + len(urls) + 1),
                    "exclude_fields": STRIP_FIELDS,
                    "filter_by": _join(base),
                    "sort_by": "_text_match:desc,published_at:desc",
                }
            )
        if not searches:
            return []
        responses = self._multi(searches, include_unpublished)
        by_url: dict[str, dict[str, Any]] = {}
        if urls:
            for hit in responses[0].get("hits", []):
                by_url.setdefault(hit["document"].get("url", ""), hit)
        ordered = [by_url[url] for url in urls if url in by_url]
        if terms:
            ordered += responses[-1].get("hits", [])
        for hit in ordered:
            document_id = hit["document"]["id"]
            if document_id in seen:
                continue
            seen.add(document_id)
            hits.append(_hit(hit, _Marker(frozenset(terms), ())))
            if len(hits) >= limit:
                break
        return hits

    def info(self) -> IndexInfo:
        search = {"q": "*", "per_page": 0, "filter_by": "published:=true"}
        (response,) = self._multi([search], False)
        meta = read_meta(self.admin, self.settings)
        last = meta.get("finished_at") if meta else None
        try:
            version = str(self.admin.debug.retrieve().get("version", ""))
        except Exception:  # noqa: BLE001 - the version is informative only
            version = ""
        return IndexInfo(
            generation=self.generation(),
            doc_count=int(response.get("found", 0)),
            last_reindex=dt.datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None,
            version=f"typesense {version}".strip(),
        )

    def generation(self) -> str:
        """The collection behind the alias (cached for a second: it changes only on reindex)."""
        now = time.monotonic()
        cached = getattr(self, "_generation", None)
        if cached is not None and now - cached[0] < 1.0:
            return cached[1]  # type: ignore[no-any-return]
        try:
            name = str(self.admin.aliases[self.settings.collection].retrieve()["collection_name"])
        except Exception:  # noqa: BLE001 - a collection without an alias still answers
            name = self.settings.collection
        self._generation = (now, name)
        return name


VIEW_TTL = 1.0
"""Seconds a view of a cluster (its document counts, the nodes in step) is used without a check."""
READ_PASSES = 3
"""Rounds over the nodes before a cluster read is given up (more while a new key propagates)."""


class _ClusterReads:
    """Reads on a cluster of several nodes: one node at a time, only nodes holding current data.

    Typesense's own readiness is not enough for that. A restarted node rebuilds its state from its
    Raft log (or a snapshot) and indexes the replayed writes asynchronously; ``/health`` says ok
    and searches are answered meanwhile — by a collection still empty or half imported, an alias
    not yet there (a 404), or without the writes the node missed while it was down. The client
    library takes any 2xx as an answer, so a search could silently come back with 0 hits.

    So every multi-search carries a sentinel (``q=*`` with no filter but the key's own) whose count
    must equal the cluster's document count; that count is the one most nodes agree on, polled with
    the admin key on every node at most every ``VIEW_TTL`` seconds, and again at once when a node
    answers with another count (a reindex since the last poll, or a node out of step). Only the
    nodes holding that count are asked; a node that answers with another count, a 404 for the
    alias, a 401 for a key it has not replicated yet, a 5xx or nothing is passed over for the next
    one. When no node can answer, the request fails (``IndexUnavailable``): never a wrong answer.
    """

    def __init__(self, engine: TypesenseEngine) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.nodes = tuple(self.settings.nodes)
        self._clients: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._turn = 0
        self._checked = -1.0e18
        """Monotonic time of the last poll."""
        self._expected: tuple[int, int] | None = None
        """The cluster's (documents, published documents) behind the alias."""
        self._admitted: tuple[str, ...] = ()

    def _client(self, url: str, include_unpublished: bool) -> Any:
        key = (url, include_unpublished)
        client = self._clients.get(key)
        if client is None:
            one = replace(self.settings, nodes=(url,), retries=0)
            client = one.client(None if include_unpublished else self.engine.scoped_key())
            with self._lock:
                client = self._clients.setdefault(key, client)
        return client

    def _counts(self, url: str) -> tuple[int, int] | None:
        alias = self.settings.collection
        body = {
            "searches": [
                {"collection": alias, "q": "*", "per_page": 0},
                {"collection": alias, "q": "*", "per_page": 0, "filter_by": "published:=true"},
            ]
        }
        try:
            results = self._client(url, True).multi_search.perform(body, {})["results"]
        except _unreachable():
            return None
        if any("error" in result for result in results):
            return None
        return int(results[0].get("found", -1)), int(results[1].get("found", -1))

    def refresh(self, seen: float) -> None:
        """Poll every node, unless another thread has done so since ``seen``."""
        with self._refreshing:
            if self._checked > seen:
                return
            counts = {url: self._counts(url) for url in self.nodes}
            votes: dict[tuple[int, int], int] = {}
            for value in counts.values():
                if value is not None:
                    votes[value] = votes.get(value, 0) + 1
            with self._lock:
                if votes:
                    # most nodes; on a tie the larger count (a node that missed writes has fewer)
                    best = max(votes, key=lambda value: (votes[value], value))
                    self._expected = best
                    self._admitted = tuple(url for url, value in counts.items() if value == best)
                else:
                    self._expected, self._admitted = None, ()
                self._checked = time.monotonic()

    def view(self) -> tuple[float, tuple[int, int] | None, list[str]]:
        """(time of the poll, the cluster's counts, the nodes in step, rotated for this read)."""
        if time.monotonic() - self._checked > VIEW_TTL:
            self.refresh(self._checked)
        with self._lock:
            admitted = list(self._admitted)
            self._turn += 1
            turn = self._turn
        if admitted:
            turn %= len(admitted)
            admitted = admitted[turn:] + admitted[:turn]
        return self._checked, self._expected, admitted

    def perform(self, body: dict[str, Any], include_unpublished: bool) -> Any:
        errors = _errors()
        sentinel = {"collection": self.settings.collection, "q": "*", "per_page": 0}
        full = {**body, "searches": [*body["searches"], sentinel]}
        request_errors = (
            errors.RequestMalformed,
            errors.RequestForbidden,
            errors.ObjectUnprocessable,
        )
        last: BaseException | None = None
        key_deadline = time.monotonic() + KEY_PROPAGATION
        passes = 0
        while True:
            checked, expected, nodes = self.view()
            waiting_for_key = False
            for url in nodes if expected is not None else ():
                try:
                    response = self._client(url, include_unpublished).multi_search.perform(full, {})
                except request_errors:
                    raise
                except errors.RequestUnauthorized as exc:
                    # a search key created on the leader reaches the other nodes a moment later
                    if include_unpublished:
                        raise
                    last, waiting_for_key = exc, True
                    continue
                except _unreachable() as exc:  # down, not ready (503), failing
                    last = exc
                    continue
                results = response["results"]
                check = results.pop()
                if any(result.get("code") == 404 for result in results) or "error" in check:
                    last = IndexUnavailable(f"{url} has no collection {sentinel['collection']!r}")
                    continue  # an alias or collection this node has not loaded (yet)
                found = int(check.get("found", -1))
                if found != expected[0 if include_unpublished else 1]:  # type: ignore[index]
                    last = IndexUnavailable(f"{url} is out of step with the cluster")
                    continue  # loading, lagging, or the view is older than a reindex
                return response
            passes += 1
            if passes >= READ_PASSES and not (waiting_for_key and time.monotonic() < key_deadline):
                break
            self.refresh(checked)
            time.sleep(0.1)
        if expected is None and last is None:
            last = IndexUnavailable("no node of the cluster answers for the collection")
        if isinstance(last, errors.RequestUnauthorized):
            raise last
        raise IndexUnavailable(f"Typesense cluster unavailable: {last}") from last


def ensure_search_key(admin: Any, settings: TypesenseSettings) -> str:
    """A search-only key derived from the admin key: the same value on every process and host."""
    value = hmac.new(settings.api_key.encode(), b"newsfind-search-key", hashlib.sha256).hexdigest()[
        :32
    ]
    errors = _errors()
    with contextlib.suppress(errors.ObjectAlreadyExists):
        admin.keys.create(
            {
                "value": value,
                "description": "newsfind: search only (derived from the admin key)",
                "actions": ["documents:search"],
                "collections": ["*"],
            }
        )
    return value


# --- one search = one multi_search ----------------------------------------------------------------


@dataclass
class _Answer:
    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, Facet]
    histogram: DateHistogram | None
    ranges: tuple[RangeCount, ...]


class _Filters:
    """The request's filters by name, so that each facet can be counted without its own."""

    def __init__(self, parts: dict[str, str]) -> None:
        self.parts = parts

    def without(self, *names: str) -> list[str]:
        return [value for key, value in self.parts.items() if key not in names and value]

    def all(self) -> list[str]:
        return [value for value in self.parts.values() if value]


def _request_filters(request: SearchRequest) -> _Filters:
    parts: dict[str, str] = {"published": _join(_base_filter(request.include_unpublished))}
    for name, values in (
        ("topic", request.topics),
        ("provider", request.providers),
        ("type", request.types),
    ):
        if values:
            parts[name] = _value_filter(name, values)
    dates = []
    if request.since is not None:
        dates.append(f"published_at:>={_epoch_ceil(request.since)}")
    if request.until is not None:
        dates.append(f"published_at:<{_epoch_ceil(request.until)}")
    if request.range is not None:
        dates.append(_range_filter(request.range, request.clock()))
    if dates:  # one filter, as Whoosh's: the range counts are made without it
        parts["date"] = " && ".join(["dated:=1", *dates])
    return _Filters(parts)


def _range_filter(key: str, now: dt.datetime) -> str:
    start = now - RELATIVE_RANGES[key][1]
    high = int(now.timestamp() // 1)
    return f"published_at:>={_epoch_ceil(start)} && published_at:<={high}"


def _epoch_ceil(moment: dt.datetime) -> int:
    """Epoch seconds, rounded up: stored dates are whole seconds."""
    seconds = moment.timestamp()
    return int(seconds) if seconds == int(seconds) else int(seconds) + 1


def _base_filter(include_unpublished: bool) -> list[str]:
    return [] if include_unpublished else ["published:=true"]


def _join(parts: Iterable[str]) -> str:
    parts = [part for part in parts if part]
    return " && ".join(f"({part})" if "||" in part else part for part in parts)


def _keys(values: Iterable[str]) -> str:
    """``[`key`,…]``: any of the (non-empty) values, exactly; empty when there is none."""
    keys = dict.fromkeys(exact_key(value) for value in values if value)
    return "[" + ",".join(f"`{key}`" for key in keys) + "]" if keys else ""


def _value_filter(name: str, values: Sequence[str]) -> str:
    """Articles with any of ``values`` as their ``name`` (a provider by name or by domain)."""
    keys = _keys(values)
    if not keys:
        return NOTHING
    if name == "provider":
        return f"(provider_key:={keys} || domain_key:={keys})"
    return f"{name}_key:={keys}"


def _weights(fields: tuple[str, ...]) -> str:
    return ",".join(str(max(1, round(FIELD_WEIGHTS[name] * 10))) for name in fields)


SORTS: dict[str, str] = {
    "relevance": "_text_match:desc,published_at:desc,quality:desc",
    "newest": "dated:desc,published_at:desc,quality:desc",
    "oldest": "dated:desc,published_at:asc,quality:desc",
    "quality": "quality:desc,published_at:desc",
    "heat": "heat:desc,published_at:desc",
}


class _SearchBatch:
    """The sub-searches of one request, sent as one ``multi_search``, and their reading."""

    def __init__(
        self, engine: TypesenseEngine, request: SearchRequest, plan: TextPlan, filters: _Filters
    ) -> None:
        self.engine = engine
        self.request = request
        self.plan = plan
        self.filters = filters
        self.searches: list[dict[str, Any]] = []

    def add(self, search: dict[str, Any]) -> int:
        self.searches.append(search)
        return len(self.searches) - 1

    def text_params(self) -> dict[str, Any]:
        plan = self.plan
        params: dict[str, Any] = {
            "q": plan.q,
            "query_by": ",".join(TEXT_FIELDS[name] for name in plan.query_by),
            "query_by_weights": _weights(plan.query_by),
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
        return _join([*parts, *self.plan.filters])

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
        return params

    def selected(self) -> dict[str, tuple[str, ...]]:
        request = self.request
        return {"topic": request.topics, "provider": request.providers, "type": request.types}

    def run(self) -> _Answer:
        request = self.request
        plan = self.plan
        facet_size = request.facet_size
        wanted = [name for name in ("topic", "provider", "type") if name in request.facets]
        max_values = facet_size + FACET_SLACK
        main = self.count_params(self.filters.all())
        main["max_facet_values"] = max_values
        main["exclude_fields"] = STRIP_FIELDS
        needs_merge = bool(plan.orders) and request.sort == "relevance"
        if needs_merge:
            main["per_page"] = 0
        else:
            main["per_page"] = request.per_page
            main["page"] = request.page
            sort = request.sort if plan.is_text or request.sort != "relevance" else "newest"
            main["sort_by"] = SORTS[sort]
        own = {"topic": "topic", "provider": "provider", "type": "type"}
        plain_facets = [name for name in wanted if own[name] not in self.filters.parts]
        if plain_facets:
            main["facet_by"] = ",".join(FACET_FIELDS[name] for name in plain_facets)
        main_index = self.add(main)
        facet_index: dict[str, int] = {}
        for name in wanted:
            if name in plain_facets:
                continue
            params = self.count_params(self.filters.without(own[name]))
            params.update(per_page=0, facet_by=FACET_FIELDS[name], max_facet_values=max_values)
            facet_index[name] = self.add(params)
        # a selected value is always listed with its count, even outside the top values
        selected_index: dict[tuple[str, str], int] = {}
        for facet_name, values in self.selected().items():
            if facet_name not in wanted:
                continue
            for value in values:
                condition = _value_filter(facet_name, [value])
                params = self.count_params([*self.filters.without(own[facet_name]), condition])
                params["per_page"] = 0
                selected_index[(facet_name, value)] = self.add(params)
        histogram_indexes: list[int] = []
        if "date" in request.facets:
            params = self.count_params(self.filters.all())
            params.update(per_page=0, facet_by="year,month,day", max_facet_values=MAX_BUCKETS)
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
                params = self.count_params([*base, "dated:=1", _range_filter(key, now)])
                params["per_page"] = 0
                range_index[key] = self.add(params)
        merge_indexes: list[int] = []
        if needs_merge:
            depth = request.offset + request.per_page
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
                        exclude_fields=STRIP_FIELDS,
                    )
                    merge_indexes.append(self.add(params))
        responses = self.engine._multi(self.searches, request.include_unpublished)
        main_response = responses[main_index]
        total = int(main_response.get("found", 0))
        marker = _Marker(plan.stems, plan.prefixes)
        if needs_merge:
            raw_hits = _merge([responses[i].get("hits", []) for i in merge_indexes])
            raw_hits = raw_hits[request.offset : request.offset + request.per_page]
        else:
            raw_hits = main_response.get("hits", [])
        hits = tuple(_hit(hit, marker) for hit in raw_hits)
        facets: dict[str, Facet] = {}
        for name in wanted:
            response = responses[facet_index[name]] if name in facet_index else main_response
            selected = {
                value: int(responses[index].get("found", 0))
                for (facet, value), index in selected_index.items()
                if facet == name
            }
            facets[name] = _facet(name, response, facet_size, selected)
        histogram = None
        if histogram_indexes:
            histogram = _histogram(*(responses[index] for index in histogram_indexes))
        ranges = tuple(
            RangeCount(
                key,
                RELATIVE_RANGES[key][0],
                int(responses[index].get("found", 0)),
                key == request.range,
            )
            for key, index in range_index.items()
        )
        return _Answer(total, hits, facets, histogram, ranges)


def _merge(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
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
    """The ``size`` values with the highest counts (ties by value) plus every selected value
    (as ``search.facets``); ``truncated`` when another value has a count."""
    counts = _facet_counts(response, FACET_FIELDS[name])
    distinct = 0
    for facet in response.get("facet_counts", []):
        if facet.get("field_name") == FACET_FIELDS[name]:
            distinct = int(facet.get("stats", {}).get("total_values", len(counts)))
    counts.sort(key=lambda item: (-item[1], item[0]))
    listed = dict(counts[:size])
    nonzero_listed = len(listed)
    for value, count in selected.items():
        if value not in listed and count > 0:
            nonzero_listed += 1
        listed[value] = count
    ranked = sorted(listed.items(), key=lambda item: (-item[1], item[0]))
    values = tuple(FacetValue(value, count, value in selected) for value, count in ranked)
    truncated = max(distinct, len(counts)) > nonzero_listed
    return Facet(name, values, truncated=truncated)


def _facet_counts(response: dict[str, Any], field_name: str) -> list[tuple[str, int]]:
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
        response["hits"][0]["document"]["published_at"]
        for response in (first, last)
        if response.get("hits")
    ]
    if len(ends) < 2:
        return DateHistogram("year", (), undated)
    span = int(ends[1]) - int(ends[0])
    interval = "day" if span <= DAY_SPAN else "month" if span <= MONTH_SPAN else "year"
    low = dt.datetime.fromtimestamp(int(ends[0]), dt.UTC)
    high = dt.datetime.fromtimestamp(int(ends[1]), dt.UTC)
    keyed = {key: count for key, count in by_field.get(interval, {}).items() if key > 0}
    return DateHistogram(interval, date_buckets(interval, low, high, keyed), undated)


def date_buckets(
    interval: str, low: dt.datetime, high: dt.datetime, counts: dict[int, int]
) -> tuple[DateBucket, ...]:
    """Calendar buckets (UTC) from ``low`` to ``high``, empty ones included, unless there would
    be more than ``MAX_BUCKETS``: then only the non-empty ones. ``counts`` is keyed as the
    ``year`` (2024), ``month`` (202405) or ``day`` (20240501) fields."""
    slots: list[tuple[dt.datetime, dt.datetime]] = []
    start = _slot(interval, low)
    while start <= high and len(slots) <= MAX_BUCKETS:
        end = _next(interval, start)
        slots.append((start, end))
        start = end
    if len(slots) > MAX_BUCKETS:
        slots = []
        for key in sorted(counts):
            start = _from_key(interval, key)
            slots.append((start, _next(interval, start)))
    return tuple(
        _bucket(start, end, _label(interval, start), counts.get(_key(interval, start), 0))
        for start, end in slots
    )


def _slot(interval: str, moment: dt.datetime) -> dt.datetime:
    if interval == "year":
        return dt.datetime(moment.year, 1, 1, tzinfo=dt.UTC)
    if interval == "month":
        return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)
    return dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)


def _next(interval: str, start: dt.datetime) -> dt.datetime:
    try:
        if interval == "year":
            return start.replace(year=start.year + 1)
        if interval == "month":
            if start.month == 12:
                return start.replace(year=start.year + 1, month=1)
            return start.replace(month=start.month + 1)
        return start + dt.timedelta(days=1)
    except (ValueError, OverflowError):  # the bucket after year 9999
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def _key(interval: str, start: dt.datetime) -> int:
    if interval == "year":
        return start.year
    if interval == "month":
        return start.year * 100 + start.month
    return (start.year * 100 + start.month) * 100 + start.day


def _from_key(interval: str, key: int) -> dt.datetime:
    if interval == "year":
        return dt.datetime(key, 1, 1, tzinfo=dt.UTC)
    if interval == "month":
        return dt.datetime(key // 100, key % 100, 1, tzinfo=dt.UTC)
    return _day(key)


def _label(interval: str, start: dt.datetime) -> str:
    if interval == "year":
        return f"{start.year:04d}"
    if interval == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return f"{start.year:04d}-{start.month:02d}-{start.day:02d}"


def _day(key: int) -> dt.datetime:
    year, rest = divmod(key, 10_000)
    month, day = divmod(rest, 100)
    return dt.datetime(year, month, day, tzinfo=dt.UTC)


def _bucket(start: dt.datetime, end: dt.datetime, label: str, count: int) -> DateBucket:
    return DateBucket(start, end, label, count)


# --- hits and highlighting ------------------------------------------------------------------------


class _Marker:
    """Marks the words of a text whose indexed term the query asked for (as Whoosh highlights)."""

    def __init__(self, terms: frozenset[str], prefixes: tuple[str, ...]) -> None:
        self.terms = terms
        self.prefixes = prefixes

    def matches(self, word: str) -> bool:
        term = news_analyzer.term(word.lower())
        if term is None:
            return False
        if term in self.terms:
            return True
        folded = fold_accents(word.lower()).replace("'", "").replace(".", "")
        return any(folded.startswith(prefix) or term.startswith(prefix) for prefix in self.prefixes)

    def segments(self, text: str) -> tuple[Segment, ...]:
        if not text:
            return ()
        if not self.terms and not self.prefixes:
            return (Segment(text),)
        pieces: list[Segment] = []
        position = 0
        for match in _WORD.finditer(text):
            if self.matches(match.group()):
                if match.start() > position:
                    pieces.append(Segment(text[position : match.start()]))
                pieces.append(Segment(match.group(), True))
                position = match.end()
        if position < len(text):
            pieces.append(Segment(text[position:]))
        return tuple(pieces)

    def snippet(self, text: str, width: int = 240) -> tuple[Segment, ...]:
        """A window of the body around its first matched words; empty when none matched."""
        if not text or (not self.terms and not self.prefixes):
            return ()
        first = next((m for m in _WORD.finditer(text) if self.matches(m.group())), None)
        if first is None:
            return ()
        start = max(0, first.start() - width // 3)
        if start > 0:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 else start
        end = min(len(text), start + width)
        if end < len(text):
            space = text.find(" ", end)
            end = space if space >= 0 else len(text)
        window = " ".join(text[start:end].split())
        segments = list(self.segments(window))
        if start > 0:
            segments.insert(0, Segment("… "))
        if end < len(text):
            segments.append(Segment(" …"))
        return tuple(segments)


def _article(document: dict[str, Any], body: str = "") -> Article:
    return stored_to_article(
        json.loads(document["doc"]), body=body, source_path=document.get("path", "")
    )


def _hit(raw: dict[str, Any], marker: _Marker) -> Hit:
    document = raw["document"]
    article = _article(document)
    return Hit(
        article=article,
        score=float(raw.get("text_match", 0) or 0),
        title=marker.segments(article.title),
        excerpt=marker.segments(article.excerpt),
        body_snippet=marker.snippet(document.get("body", "")),
    )


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _replace_word(text: str, word: str, replacement: str) -> str:
    def swap(match: Any) -> str:
        found = match.group()
        return replacement if fold_accents(found.lower()) == word else found

    return _WORD.sub(swap, text)


# --- reindex --------------------------------------------------------------------------------------


def meta_collection(settings: TypesenseSettings) -> str:
    return f"{settings.collection}-meta"


def read_meta(admin: Any, settings: TypesenseSettings) -> dict[str, Any] | None:
    errors = _errors()
    try:
        document = admin.collections[meta_collection(settings)].documents[META_ID].retrieve()
    except (errors.ObjectNotFound, errors.TypesenseClientError):
        return None
    try:
        return json.loads(document.get("report", "{}"))  # type: ignore[no-any-return]
    except ValueError:
        return None


def _write_meta(admin: Any, settings: TypesenseSettings, report: dict[str, Any]) -> None:
    errors = _errors()
    name = meta_collection(settings)
    with contextlib.suppress(errors.ObjectAlreadyExists):
        admin.collections.create({"name": name, "fields": [{"name": "kind", "type": "string"}]})
    admin.collections[name].documents.upsert(
        {
            "id": META_ID,
            "kind": "state",
            "schema_version": SCHEMA_VERSION,
            "report": json.dumps(report),
        }
    )


def _current_collection(admin: Any, settings: TypesenseSettings) -> str | None:
    errors = _errors()
    try:
        return str(admin.aliases[settings.collection].retrieve()["collection_name"])
    except errors.ObjectNotFound:
        return None


def _indexed(admin: Any, collection: str) -> dict[str, tuple[str, str, str]]:
    """rel path → (id, content hash, stamp) of every document in ``collection``."""
    text = admin.collections[collection].documents.export(
        {"include_fields": "id,path,content_hash,stamp"}
    )
    indexed: dict[str, tuple[str, str, str]] = {}
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            indexed[row.get("path", "")] = (
                row["id"],
                row.get("content_hash", ""),
                row.get("stamp", ""),
            )
    return indexed


def _parse_one(seed: SeedFile) -> tuple[str, dict[str, Any] | None, str]:
    """(rel, document or None, rejection reason) — runs in worker processes."""
    try:
        data = _read_limited(seed.path)
        article = parse_article(data, seed.rel)
    except ArticleError as exc:
        return seed.rel, None, exc.reason
    return seed.rel, article_document(article, seed.rel, _digest(data), seed.stamp), ""


def _parsed(
    files: list[SeedFile], workers: int | None
) -> Iterator[tuple[str, dict[str, Any] | None, str]]:
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(files) < 400:
        yield from map(_parse_one, files)
        return
    with _mp_context().Pool(count) as pool:
        yield from pool.imap(_parse_one, files, chunksize=64)


def reindex(
    seeds_dir: str | os.PathLike[str],
    settings: TypesenseSettings,
    *,
    full: bool = False,
    workers: int | None = None,
    lock_timeout: float = 30.0,
    lock_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> ReindexReport:
    """Bring the Typesense collection up to date with ``seeds_dir`` (same report as Whoosh's).

    Incremental: documents are matched to files by relative path; unchanged stamps or content
    hashes are skipped, changed and new files upserted in JSONL batches, vanished ones deleted.
    Full (``full=True``, no collection yet, or a schema change): a new collection is filled and
    the alias switched to it in one call, then the old collection is dropped.
    """
    started = time.perf_counter()
    seeds = Path(seeds_dir)
    if not seeds.is_dir():
        raise ReindexError(f"seeds folder not found: {seeds}")
    admin = settings.client()
    target = f"typesense:{settings.collection}"
    report = ReindexReport(str(seeds), target, started_at=_now_iso())
    lock_root = Path(lock_dir or os.environ.get("NEWSFIND_INDEX_DIR", "index"))
    try:
        lock_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReindexError(f"cannot create lock folder {lock_root}: {exc.strerror}") from None
    try:
        with _reindex_lock(lock_root, lock_timeout):
            files, scan_rejected = scan_seeds(seeds)
            report.rejected.extend(scan_rejected)
            current = _current_collection(admin, settings)
            reason = "requested" if full else _needs_full(admin, settings, current)
            if reason:
                report.full = True
                report.note = reason
                _full(admin, settings, report, files, workers, progress, current)
            else:
                assert current is not None
                report.generation = current
                _incremental(admin, current, report, files, workers, progress)
            report.seconds = time.perf_counter() - started
            report.finished_at = _now_iso()
            report.rejected.sort(key=lambda item: item.path)
            _write_meta(admin, settings, report.to_dict())
    except LockTimeout:
        raise
    except _unreachable() as exc:
        raise ReindexError(f"Typesense cluster unavailable: {exc}") from exc
    return report


def schema_mark(admin: Any, settings: TypesenseSettings) -> str | None:
    """The ``SCHEMA_VERSION`` of the last reindex into ``settings.collection``; None if unknown."""
    errors = _errors()
    try:
        document = admin.collections[meta_collection(settings)].documents[META_ID].retrieve()
    except errors.ObjectNotFound:
        return None
    version = document.get("schema_version")
    return str(version) if version is not None else None


def _needs_full(admin: Any, settings: TypesenseSettings, current: str | None) -> str:
    if current is None:
        return "no collection yet"
    version = schema_mark(admin, settings)
    if version is None:
        return "no schema mark"
    if version != SCHEMA_VERSION:
        return f"schema changed ({version} → {SCHEMA_VERSION})"
    return ""


class _Progress:
    def __init__(self, total: int, callback: Callable[[Progress], None] | None) -> None:
        self.total = total
        self.callback = callback
        self.done = 0
        self.started = time.perf_counter()
        self.last = 0.0

    def bump(self, amount: int = 1, final: bool = False) -> None:
        self.done += amount
        now = time.perf_counter()
        if self.callback is not None and (final or now - self.last >= 0.5):
            self.last = now
            self.callback(Progress(min(self.done, self.total), self.total, now - self.started))


def _import(
    admin: Any, collection: str, documents: list[dict[str, Any]], action: str
) -> list[Rejected]:
    if not documents:
        return []
    body = "\n".join(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")) for doc in documents
    )
    answer = admin.collections[collection].documents.import_(body, {"action": action})
    rejected = []
    for document, line in zip(documents, answer.splitlines(), strict=False):
        result = json.loads(line)
        if not result.get("success"):
            rejected.append(
                Rejected(document["path"], f"Typesense refused it: {result.get('error')}")
            )
    return rejected


def _write_all(
    admin: Any,
    collection: str,
    report: ReindexReport,
    files: list[SeedFile],
    workers: int | None,
    progress: Callable[[Progress], None] | None,
    keep: dict[str, str],
    action: str,
) -> tuple[list[tuple[str, str]], set[str]]:
    """Parse ``files`` and import them; returns the written (id, rel) and the existing rels that
    lost a duplicate id to a new file (``keep`` maps unchanged indexed ids to their rels)."""
    meter = _Progress(len(files), progress)
    claims: dict[str, str] = dict(keep)
    written: list[tuple[str, str]] = []
    existing_losers: set[str] = set()
    pending: list[dict[str, Any]] = []
    # duplicate ids: the smallest relative path wins (files arrive sorted by path)
    for rel, document, reason in _parsed(files, workers):
        meter.bump()
        if document is None:
            report.rejected.append(Rejected(rel, reason))
            continue
        doc_id = document["id"]
        holder = claims.get(doc_id)
        if holder is not None and holder != rel:
            winner, loser = sorted((holder, rel))
            report.rejected.append(
                Rejected(loser, f"duplicate id {doc_id!r}: also in {winner}, which is kept")
            )
            if loser == rel:
                continue
            existing_losers.add(holder)
        claims[doc_id] = rel
        pending.append(document)
        written.append((doc_id, rel))
        if len(pending) >= BATCH_SIZE:
            report.rejected.extend(_import(admin, collection, pending, action))
            pending = []
    report.rejected.extend(_import(admin, collection, pending, action))
    meter.bump(0, final=True)
    refused = {item.path for item in report.rejected if item.reason.startswith("Typesense refused")}
    return [(i, r) for i, r in written if r not in refused], existing_losers


def _full(
    admin: Any,
    settings: TypesenseSettings,
    report: ReindexReport,
    files: list[SeedFile],
    workers: int | None,
    progress: Callable[[Progress], None] | None,
    previous: str | None,
) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    name = f"{settings.collection}-{stamp}"
    admin.collections.create(collection_schema(name))
    try:
        written, _ = _write_all(admin, name, report, files, workers, progress, {}, "create")
    except BaseException:
        with contextlib.suppress(Exception):
            admin.collections[name].delete()
        raise
    admin.aliases.upsert(settings.collection, {"collection_name": name})  # the atomic switch
    report.generation = name
    report.added = len(written)
    report.documents = len(written)
    if previous is not None and previous != name:
        old_rels = set(_indexed(admin, previous))
        report.deleted = len(old_rels - {rel for _, rel in written})
        # a searcher holding the old name is answered by the alias from now on; drop it
        with contextlib.suppress(_errors().ObjectNotFound):
            admin.collections[previous].delete()
    _drop_strays(admin, settings, keep=name)


def _drop_strays(admin: Any, settings: TypesenseSettings, keep: str) -> None:
    """Collections of a full run that died before its switch."""
    prefix = f"{settings.collection}-2"
    for collection in admin.collections.retrieve():
        name = collection["name"]
        if name.startswith(prefix) and name != keep:
            with contextlib.suppress(Exception):
                admin.collections[name].delete()


def _incremental(
    admin: Any,
    collection: str,
    report: ReindexReport,
    files: list[SeedFile],
    workers: int | None,
    progress: Callable[[Progress], None] | None,
) -> None:
    indexed = _indexed(admin, collection)
    on_disk = {seed.rel for seed in files}
    to_parse: list[SeedFile] = []
    for seed in files:
        known = indexed.get(seed.rel)
        if known is None or (known[2] != seed.stamp and _hash_file(seed) != known[1]):
            to_parse.append(seed)
    parsing = {seed.rel for seed in to_parse}
    keep = {
        doc_id: rel
        for rel, (doc_id, _, _) in indexed.items()
        if rel in on_disk and rel not in parsing
    }
    written, losers = _write_all(
        admin, collection, report, to_parse, workers, progress, keep, "upsert"
    )
    written_rels = {rel for _, rel in written}
    written_ids = {doc_id for doc_id, _ in written}
    removed = [rel for rel in indexed if rel not in on_disk]
    # a changed file whose id changed leaves its old document behind: delete it by path
    stale = [
        rel
        for rel, (doc_id, _, _) in indexed.items()
        if rel in written_rels and doc_id not in written_ids
    ]
    to_delete = {rel: indexed[rel][0] for rel in [*removed, *losers, *stale]}
    # never delete a document a new file has just claimed (same id, new path)
    for doc_id in to_delete.values():
        if doc_id in written_ids:
            continue
        with contextlib.suppress(_errors().ObjectNotFound):
            admin.collections[collection].documents[doc_id].delete()
    report.added = sum(1 for rel in written_rels if rel not in indexed)
    report.updated = sum(1 for rel in written_rels if rel in indexed)
    report.deleted = len(removed)
    report.unchanged = len(files) - len(to_parse) - len(losers)
    report.documents = int(admin.collections[collection].retrieve()["num_documents"])
