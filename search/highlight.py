"""Highlighting as data: text cut into ``Segment``s, the query's terms marked, never HTML.

A word is marked when the analyser turns it into one of the query's (positive) terms, so
``Rates`` is marked for the query ``rate`` and ``café`` for ``cafe``. The body snippet is the
``SNIPPET_CHARS`` window holding the most distinct matched terms (then the most matches, then the
earliest), widened to whole words, with runs of white space shown as one space and ``…`` where
the text was cut.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from .models import Segment
from .schema import _WORD as WORD
from .schema import NewsAnalyzer, news_analyzer

SNIPPET_CHARS = 200
SNIPPET_LEAD = 40
"""Context kept before the first match of the window."""
MAX_ANCHORS = 64
ELLIPSIS = "…"
_SPACES = re.compile(r"\s+")
_SPACE = re.compile(r"\s")


def _matches(text: str, terms: Collection[str]) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` of every word of ``text`` the analyser turns into one of ``terms``."""
    if not terms:
        return []
    if isinstance(news_analyzer, NewsAnalyzer):
        term = news_analyzer.term
        found = []
        for match in _candidate_words(frozenset(t[:1] for t in terms)).finditer(text):
            stem = term(match.group().lower())
            if stem is not None and stem in terms:
                found.append((match.start(), match.end(), stem))
        return found
    return [
        (token.startchar, token.endchar, token.text)
        for token in news_analyzer(text, chars=True)
        if token.text in terms
    ]


@functools.lru_cache(maxsize=512)
def _candidate_words(first_letters: frozenset[str]) -> re.Pattern[str]:
    """The analyser's words that can stem to a term starting with one of ``first_letters``.

    A word's term starts with the word's first letter, lower-cased and without accents
    (stemming keeps the first letter; possessives and inner dots come later in the word), so
    only words starting with those ASCII letters, in either case, or with a non-ASCII letter
    are candidates. The look-behinds keep the analyser's word boundaries: a word never starts
    right after a letter, nor after a letter and an inner ``.`` or ``'`` (as ``s`` in ``u.s``).
    """
    letters = sorted({c for f in first_letters if f.isascii() for c in (f.lower(), f.upper())})
    starts = f"[{re.escape(''.join(letters))}]|" if letters else ""
    return re.compile(rf"(?<!\w)(?<!\w[.'])(?={starts}[^\x00-\x7f])" + WORD.pattern)


def segments(text: str, terms: Collection[str]) -> tuple[Segment, ...]:
    """The whole ``text`` with every occurrence of ``terms`` marked."""
    if not text:
        return ()
    return _cut(text, _matches(text, terms), 0, len(text))


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


def snippet(text: str, terms: Collection[str], width: int = SNIPPET_CHARS) -> tuple[Segment, ...]:
    """About ``width`` characters of ``text`` around its best match; () when nothing matches."""
    matches = _matches(text, terms)
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
