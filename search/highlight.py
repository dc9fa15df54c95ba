"""Highlighting as data: text cut into ``Segment``s, the query's terms marked, never HTML.

Both engines call these functions, so a hit looks the same on either (``Marks.hit``). A word is
marked when the analyser turns it into one of the query's (positive) terms, or into a term
starting with one of its prefixes (``econom*``), so ``Rates`` is marked for the query ``rate`` and
``café`` for ``cafe``. The body snippet is the ``SNIPPET_CHARS`` window holding the most distinct
matched terms (then the most matches, then the earliest), widened to whole words, with runs of
white space shown as one space and ``…`` where the text was cut.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from . import query
from .analysis import all_word_positions, positions, term
from .articles import Article
from .contract import Hit, Segment
from .documents import field_texts
from .ranking import OWN_FIELDS, WORDS_FIELD

SNIPPET_CHARS = 200
SNIPPET_LEAD = 40
"""Context kept before the first match of the window."""
MAX_ANCHORS = 64
ELLIPSIS = "…"
_SPACES = re.compile(r"\s+")
_SPACE = re.compile(r"\s")


def _matches(
    text: str, terms: Collection[str], prefixes: Collection[str] = ()
) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` of every word of ``text`` the analyser turns into one of ``terms``
    or into a term starting with one of ``prefixes``."""
    if not terms and not prefixes:
        return []
    starts = tuple(prefixes)
    found = []
    letters = frozenset(t[:1] for t in (*terms, *starts))
    for match in _candidate_words(letters).finditer(text):
        stem = term(match.group().lower())
        if stem is not None and (stem in terms or (starts and stem.startswith(starts))):
            found.append((match.start(), match.end(), stem))
    return found


@functools.lru_cache(maxsize=512)
def _candidate_words(first_letters: frozenset[str]) -> re.Pattern[str]:
    """The analyser's words that can stem to a term starting with one of ``first_letters``.

    A word's term starts with the word's first letter, lower-cased and without accents
    (stemming keeps the first letter; possessives and inner dots come later in the word), so
    only words starting with those ASCII letters, in either case, or with a non-ASCII letter
    are candidates. The look-behinds keep the analyser's word boundaries: a word never starts
    right after a letter, nor after a letter and an inner ``.`` or ``'`` (as ``s`` in ``u.s``).

    The pattern opens with one character class, so the regex engine skips to the next possible
    first letter without trying the look-behinds at every position (3.4 times faster on news
    bodies than look-behinds first); the look-behinds then look back past that letter.
    """
    letters = sorted({c for f in first_letters if f.isascii() for c in (f.lower(), f.upper())})
    first = f"[{re.escape(''.join(letters))}\u0080-\U0010ffff]"
    # (?<=\w): a non-ASCII first character must be a word character too
    return re.compile(first + r"(?<!\w.)(?<!\w[.'].)(?<=\w)\w*(?:[.']\w+)*")


def segments(
    text: str, terms: Collection[str], prefixes: Collection[str] = ()
) -> tuple[Segment, ...]:
    """The whole ``text`` with every occurrence of ``terms`` (and ``prefixes``) marked."""
    if not text:
        return ()
    return _cut(text, _matches(text, terms, prefixes), 0, len(text))


def _cut(
    text: str, matches: list[tuple[int, int, str]], start: int, end: int
) -> tuple[Segment, ...]:
    parts: list[Segment] = []
    last = start
    for match_start, match_end, _ in matches:
        if match_start < start or match_end > end:
            continue
        if match_start > last:
            parts.append(Segment(text[last:match_start]))
        parts.append(Segment(text[match_start:match_end], True))
        last = match_end
    if last < end:
        parts.append(Segment(text[last:end]))
    return tuple(parts)


def snippet(
    text: str, terms: Collection[str], prefixes: Collection[str] = (), width: int = SNIPPET_CHARS
) -> tuple[Segment, ...]:
    """About ``width`` characters of ``text`` around its best match; () when nothing matches."""
    matches = _matches(text, terms, prefixes)
    if not matches:
        return ()
    start, end = _best_window(matches, width)
    start, end = _whole_words(text, start, end, matches)
    parts = [
        Segment(_SPACES.sub(" ", part.text), part.match) for part in _cut(text, matches, start, end)
    ]
    if parts and not parts[0].match:
        parts[0] = Segment(parts[0].text.lstrip(), False)
    if parts and not parts[-1].match:
        parts[-1] = Segment(parts[-1].text.rstrip(), False)
    parts = [part for part in parts if part.text]
    if start > 0:
        parts.insert(0, Segment(ELLIPSIS))
    if end < len(text):
        parts.append(Segment(ELLIPSIS))
    return tuple(parts)


def _best_window(matches: list[tuple[int, int, str]], width: int) -> tuple[int, int]:
    best: tuple[int, int, int] | None = None
    best_window = (0, width)
    for anchor in range(min(len(matches), MAX_ANCHORS)):
        start = max(0, matches[anchor][0] - SNIPPET_LEAD)
        end = start + width
        inside = [term for s, e, term in matches[anchor:] if e <= end]
        key = (len(set(inside)), len(inside), -start)
        if best is None or key > best:
            best, best_window = key, (start, end)
    return best_window


def _whole_words(
    text: str, start: int, end: int, matches: list[tuple[int, int, str]]
) -> tuple[int, int]:
    """Move the window's edges off the middle of words (never past its first match)."""
    end = min(end, len(text))
    first_start, first_end, _ = next(m for m in matches if m[0] >= start)
    if start > 0 and not text[start - 1].isspace():
        space = _SPACE.search(text, start, first_start)
        start = space.end() if space else first_start
    if end < len(text) and not text[end].isspace():
        cut = max(text.rfind(" ", first_end, end), text.rfind("\n", first_end, end))
        if cut > 0:
            end = cut
    return start, end


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")
SENTENCE_KEEP = 0.5
"""``trim_text`` cuts back to the last sentence end when that keeps this share of the text."""


def trim_text(parts: tuple[Segment, ...]) -> tuple[Segment, ...]:
    """Marked text that may stop mid-sentence (an excerpt made of a body's first N characters),
    cut at its last sentence end if that keeps most of it, else after its last whole word,
    with ``…``. Text that ends a sentence is kept whole."""
    text = "".join(part.text for part in parts).rstrip()
    if not text or _SENTENCE_END.search(text[-4:] + " ") and text[-1] in ".!?\"'”’)]":
        return parts
    ends = [match.end() for match in _SENTENCE_END.finditer(text)]
    if ends and ends[-1] >= len(text) * SENTENCE_KEEP:
        return _take(parts, ends[-1], "")
    space = text.rfind(" ")
    if space <= 0:
        return (*parts, Segment(ELLIPSIS))
    return _take(parts, len(text[:space].rstrip(" ,;:-–—")), ELLIPSIS)


def _take(parts: tuple[Segment, ...], length: int, tail: str) -> tuple[Segment, ...]:
    kept: list[Segment] = []
    left = length
    for part in parts:
        if left <= 0:
            break
        kept.append(Segment(part.text[:left], part.match))
        left -= len(part.text)
    if tail:
        kept.append(Segment(tail))
    return tuple(kept)


# -- one hit, for both engines -------------------------------------------------------------------

HIGHLIGHT_FIELDS = ("title", "excerpt", "body")
Parts = tuple[tuple[Segment, ...], tuple[Segment, ...], tuple[Segment, ...]]
"""A hit's marked title, marked excerpt and body snippet."""
RELATED_FIELD = "related_text"


@dataclass(frozen=True)
class Marks:
    """What to mark in each shown field: the terms and prefixes of the query's positive clauses
    that search it, and those clauses (to tell whether the body matched one)."""

    terms: dict[str, frozenset[str]]
    prefixes: dict[str, tuple[str, ...]]
    body_clauses: tuple[query.Words | query.Prefix, ...]
    clauses: tuple[query.Words | query.Prefix, ...] = ()
    """Every positive clause (``own_match`` tries them on an article's own fields)."""

    def hit(self, article: Article, score: float, body: str, related_only: bool = False) -> Hit:
        """A hit with its title and excerpt marked and, when ``body`` is given, its snippet;
        ``related_only``: it matched only through its related coverage's titles, which are
        then given, marked (``Hit.related_matches``)."""
        title, excerpt, body_snippet = self.parts(article, body)
        related = self.related_titles(article) if related_only else ()
        return Hit(article, score, title, excerpt, body_snippet, related_matches=related)

    def parts(self, article: Article, body: str) -> Parts:
        """The marked title and excerpt, and the body's snippet (``()`` without ``body``)."""
        return (
            segments(article.title, self.terms["title"], self.prefixes["title"]),
            segments(article.excerpt, self.terms["excerpt"], self.prefixes["excerpt"]),
            snippet(body, self.terms["body"], self.prefixes["body"]) if body else (),
        )

    @property
    def key(self) -> tuple[object, ...]:
        """What the marks of a hit depend on, as a hashable value (a cache key)."""
        return tuple((field, self.terms[field], self.prefixes[field]) for field in self.terms)

    def related_titles(self, article: Article) -> tuple[tuple[Segment, ...], ...]:
        """The titles of the article's related coverage that hold a marked term, marked."""
        terms, prefixes = self.terms[RELATED_FIELD], self.prefixes[RELATED_FIELD]
        found = []
        for entry in article.related:
            marked = segments(entry.title, terms, prefixes)
            if any(part.match for part in marked):
                found.append(marked)
        return tuple(found)

    def own_match(self, article: Article, body: str) -> bool:
        """Whether a positive clause matches the article's own text (``ranking.OWN_FIELDS``:
        not only its related coverage's titles), decided from the text as the index holds it
        (the Typesense engine asks; Whoosh knows it from its field bits)."""
        if not self.clauses:
            return True
        texts = field_texts(replace(article, body=body))
        found: dict[str, dict[str, list[int]]] = {}

        def terms_of(field: str) -> dict[str, list[int]]:
            if field not in found:
                text = texts.get(field, "")
                found[field] = all_word_positions(text) if field == WORDS_FIELD else positions(text)
            return found[field]

        for clause in self.clauses:
            for field in clause.fields:
                if field not in OWN_FIELDS:
                    continue
                in_field = terms_of(field)
                if isinstance(clause, query.Prefix):
                    if any(stem.startswith(clause.prefix) for stem in in_field):
                        return True
                elif _phrase_in(clause.stems, in_field):
                    return True
        return False

    def body_matches(self, article: Article, body: str) -> bool:
        """Whether a hit shows a snippet of ``body``, decided as the Whoosh engine does from its
        index: a clause searching the body matches the article (a phrase: in any of its fields)
        and one of the clause's terms is in the body."""
        if not body or not self.body_clauses:
            return False
        in_body = positions(body)
        texts: dict[str, str] | None = None
        for clause in self.body_clauses:
            if isinstance(clause, query.Prefix):
                if any(stem.startswith(clause.prefix) for stem in in_body):
                    return True
            elif len(clause.stems) == 1:
                if clause.stems[0] in in_body:
                    return True
            elif any(stem in in_body for stem in clause.stems):
                texts = texts or field_texts(replace(article, body=body))
                for field in clause.fields:
                    if _phrase_in(clause.stems, positions(texts.get(field, ""))):
                        return True
        return False


def marks(root: query.Node | None) -> Marks:
    shown = (*HIGHLIGHT_FIELDS, RELATED_FIELD)
    terms: dict[str, set[str]] = {field: set() for field in shown}
    prefixes: dict[str, list[str]] = {field: [] for field in shown}
    body: list[query.Words | query.Prefix] = []
    leaves = tuple(query.positive_leaves(root))
    for leaf in leaves:
        for field in shown:
            if field in leaf.fields:
                if isinstance(leaf, query.Words):
                    terms[field].update(leaf.stems)
                else:
                    prefixes[field].append(leaf.prefix)
        if "body" in leaf.fields:
            body.append(leaf)
    return Marks(
        {field: frozenset(found) for field, found in terms.items()},
        {field: tuple(dict.fromkeys(found)) for field, found in prefixes.items()},
        tuple(body),
        leaves,
    )


def _phrase_in(stems: tuple[str, ...], found: dict[str, list[int]]) -> bool:
    starts = set(found.get(stems[0], ()))
    for offset, stem in enumerate(stems[1:], 1):
        starts &= {position - offset for position in found.get(stem, ())}
    return bool(starts)
