"""The query language on Typesense: a parsed query (``search.query``) → how it runs there.

- one word, a ``"phrase"`` or a ``prefix*``, with or without ``-exclusions``;
- plain words (any of them matches): two words (one may be a prefix) are one Typesense search that
  drops either word (``drop_tokens_threshold``); three or more single words are matched exactly
  by a filter (``s_title:word || s_body:word …``) that gives the total and the facets, and
  ranked by merging searches that each drop all but two of the words;
- ``a AND b AND "c d"`` (every clause required, one prefix at most), where clauses on another
  field (``title:x``, ``topic:x``) of one word become filters;
- ``OR`` between words is the same as plain words.

Not expressible, so a ``RequestError('q', …)`` (never a silent different answer): ``NOT``/``-``
before a group or a field other than the query's own, ``OR`` or plain words mixed with ``AND``,
a phrase or a prefix among three or more plain words, or among words of different fields, and
parenthesised groups mixing these.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .. import highlight
from .. import query as ql
from ..errors import RequestError
from ..ranking import SEARCH_FIELDS
from .documents import TEXT_FIELDS


@dataclass
class TextPlan:
    """How one parsed query runs on Typesense."""

    q: str = "*"
    query_by: tuple[str, ...] = SEARCH_FIELDS
    any_word: bool = False
    """Plain words of two: drop either word (``drop_tokens_threshold``)."""
    prefix: bool = False
    filters: list[str] = field(default_factory=list)
    """Extra set filters (AND): fielded one-word clauses, the exact union of many words."""
    orders: list[list[str]] = field(default_factory=list)
    """Three or more plain words: one text search per order (each matches its end words)."""
    exclusions: list[str] = field(default_factory=list)
    marks: highlight.Marks = field(default_factory=lambda: highlight.marks(None))
    """What the hits mark (as on Whoosh)."""

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
    plan.marks = highlight.marks(root)
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
        fields = _negation_fields(negatives, SEARCH_FIELDS)
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
    default = SEARCH_FIELDS
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
