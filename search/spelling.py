"""Did-you-mean: respell the query's rare words after the index's vocabulary.

For each plain (unquoted, one-term, letters only) word of the query whose term is in fewer than
``RARE_DF`` visible documents, the candidates are the indexed terms of the same fields that begin
with the same letter, within ``max_distance`` edits (optimal string alignment: insertions,
deletions, substitutions, swaps of neighbours) of the typed word or of its stem; the closest
wins, then the most frequent. Indexed terms are stems (``inflat``), so the replacement shown is
the spelling closest to what was typed among a few endings that analyse back to that stem
(``inflation``). Every query with a rare word is tried (``covid vacine`` finds ``covid``
articles, yet ``vacine`` is a typo).

What becomes of a respelling (``settle``, for both engines): it is **applied** — the results
are the corrected query's, with ``SearchResult.corrected`` ("Showing results for X — search
instead for Y") — when the query found nothing, or when every respelled word is in no visible
document while its respelling is in at least ``AUTO_GAIN`` (``covid vacine``: the typed query
finds clearly less than a close correction); unless the request is ``exact`` (searched as
typed). Otherwise it is **offered** (``did_you_mean``) when it finds at least as many visible
documents: a rare word that exists (``markup``) is never replaced unasked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import query
from .analysis import analyse, fold_accents
from .contract import Correction, SearchResult

RARE_DF = 3
"""A word in fewer visible documents than this may be a typo."""
AUTO_GAIN = 10
"""A respelling is applied when each typed word is in no document and its new word in this
many at least (or when the typed query finds nothing)."""
MIN_WORD_CHARS = 3
# most common endings first: the earlier one wins between equally close spellings
_ENDINGS = (
    "",
    "e",
    "s",
    "es",
    "ed",
    "ing",
    "ion",
    "ions",
    "ation",
    "al",
    "ic",
    "ical",
    "er",
    "ers",
    "ly",
    "ment",
    "ments",
    "ness",
    "ity",
    "ive",
    "ous",
    "ate",
    "ance",
    "ence",
    "ant",
    "ent",
    "ism",
    "ist",
    "ists",
    "age",
    "ize",
    "ise",
    "or",
    "ors",
)


def max_distance(word: str) -> int:
    return 1 if len(word) <= 4 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def surface_form(stem: str, typed: str) -> str:
    """A readable word that analyses to ``stem``, as close as possible to ``typed``."""
    options = [stem + ending for ending in _ENDINGS]
    if stem.endswith("i"):
        options += [stem[:-1] + "y", stem[:-1] + "ies"]
    if len(stem) > 2 and stem[-1] == stem[-2]:
        options.append(stem[:-1])
    valid = [option for option in options if analyse(option) == (stem,)]
    if not valid:
        return stem
    return min(valid, key=lambda option: (edit_distance(option, typed, 99), options.index(option)))


Closest = Callable[[str, str, int, tuple[str, ...]], "tuple[str, int] | None"]


@dataclass(frozen=True)
class Respelling:
    """The query with its rare words respelled, and ``gain``: the least, over the respelled
    words, of the documents of the new word; 0 when a typed word is in some document."""

    q: str
    gain: float


@dataclass(frozen=True)
class Found(Correction):
    """A respelling, the visible documents its query finds (with the filters), its gain."""

    gain: float = 0.0


def correct(
    text: str,
    root: query.Node | None,
    visible_df: Callable[[query.Words], int],
    closest: Closest,
) -> Respelling | None:
    """``text`` with its rare words respelled, or None when no word has a better spelling.

    ``visible_df(word)`` counts the visible documents of a word's term; ``closest(typed, stem,
    known_df, fields)`` is ``closest_term`` over the vocabulary of ``fields`` (the engine
    caches it).
    """
    replacements: list[tuple[tuple[int, int], str]] = []
    gains: list[float] = []
    for leaf in query.positive_leaves(root):
        if not isinstance(leaf, query.Words) or leaf.quoted or len(leaf.stems) != 1:
            continue
        typed = fold_accents(leaf.text.lower())
        if len(typed) < MIN_WORD_CHARS or not typed.isalpha():
            continue
        known = visible_df(leaf)
        if known >= RARE_DF:
            continue
        better = closest(typed, leaf.stems[0], known, leaf.fields)
        if better is not None:
            replacements.append((leaf.span, surface_form(better[0], typed)))
            gains.append(0.0 if known else float(better[1]))
    if not replacements:
        return None
    corrected = text
    for (start, end), word in sorted(replacements, reverse=True):
        corrected = corrected[:start] + word + corrected[end:]
    return Respelling(corrected, min(gains))


def should_apply(total: int, found: Found) -> bool:
    """Whether to show the respelled query's results rather than the typed query's."""
    return found.total > 0 and (total == 0 or found.gain >= AUTO_GAIN)


def settle(
    result: SearchResult, found: Found | None, rerun: Callable[[str], SearchResult]
) -> SearchResult:
    """``result`` with the respelling applied (``rerun(q)`` searches the respelled query as
    typed) or offered, as the module docstring says; never both."""
    if found is None or found.q == result.request.q:
        return result
    if not result.request.exact and should_apply(result.total, found):
        again = rerun(found.q)
        return replace(
            again,
            request=result.request,
            corrected=Correction(found.q, again.total),
            did_you_mean=None,
            took_ms=result.took_ms + again.took_ms,
        )
    if found.total > 0 and found.total >= result.total:
        return replace(result, did_you_mean=Correction(found.q, found.total))
    return result


def closest_term(
    typed: str,
    stem: str,
    known_df: int,
    terms: dict[str, int],
    visible_df: Callable[[str], int] | None = None,
) -> tuple[str, int] | None:
    """The term of ``terms`` (``{term: df}``) to respell ``typed`` with, if one is close, and
    its (visible) document count.

    ``terms`` counts every indexed document. ``visible_df(term)``, when given, counts those the
    caller may see: the close terms are ranked by it, so that a word of unpublished articles
    alone is never chosen, nor hides a visible one a little further away.
    """
    limit = max_distance(typed)
    floor = max(known_df, 1)
    close: list[tuple[int, int, str]] = []
    for term, df in terms.items():
        if df <= floor or term == stem:  # a visible count is never higher
            continue
        if abs(len(term) - len(stem)) > limit and abs(len(term) - len(typed)) > limit:
            continue
        distance = min(edit_distance(typed, term, limit), edit_distance(stem, term, limit))
        if distance <= limit:
            close.append((distance, df, term))
    if visible_df is not None:
        close = [(distance, visible_df(term), term) for distance, _, term in close]
    ranked = sorted(
        (*_closeness(typed, term, distance), -df, term)
        for distance, df, term in close
        if df > floor
    )
    return (ranked[0][-1], -ranked[0][-2]) if ranked else None


def _closeness(typed: str, term: str, distance: int) -> tuple[int, int]:
    """How close a term's readable spelling is to what was typed: its edits (a stem can be
    further or nearer than its word: ``pirc`` is one edit from ``piec``, ``pirces`` one from
    ``prices``), then whether one swap of neighbours makes it — the commonest slip — first."""
    shown = surface_form(term, typed)
    edits = min(distance, edit_distance(typed, shown, max_distance(typed)))
    return edits, 0 if _one_swap(typed, shown) else 1


def _one_swap(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (
        len(differ) == 2
        and differ[1] == differ[0] + 1
        and a[differ[0]] == b[differ[1]]
        and a[differ[1]] == b[differ[0]]
    )


def visible_count(docs: np.ndarray, visible: np.ndarray) -> int:
    return int(np.count_nonzero(visible[docs]))
