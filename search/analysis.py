"""Text analysis, the one place that turns text into indexed terms; pure Python, no engine.

Both engines, the query parser, highlighting and spelling call it, so a word is the same term
everywhere::

    text ─▶ words (WORD_PATTERN: inner dots and apostrophes kept: ``U.S.``, ``don't``)
         ─▶ lower case ─▶ possessive ``'s`` and inner dots and apostrophes dropped
         ─▶ accents folded (café → cafe) ─▶ stop words dropped ─▶ Porter2 (Snowball English) stem

``term(word)`` is that chain for one lower-cased word (None for a stop word); ``analyse(text)``
the terms of a text in order; ``positions(text)`` each term's positions. Stop words take no
position: kept words are numbered 0, 1, 2… for documents and queries alike, so ``bank of
england`` is the phrase ``bank england``.

The stemmer is PyStemmer 2.2's ``english`` (Snowball's C code, pinned), seven times faster than
the Whoosh ``EnglishStemmer`` it replaces. Over the 644,011 distinct words of the shared news
corpus and relevance collections the two agree on all but 18 rare words, where Whoosh's port stops
one step early (``realization`` → ``realize``, not ``realiz``; ``strated`` → ``strat``); those
18 keep Whoosh's stems (``WHOOSH_STEMS``), so every measured word — and so the relevance figures
— is stemmed as before. PyStemmer 3.x follows a later Snowball revision that differs on 120.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer

# Whoosh's English stop list (kept as it was when Whoosh analysed), plus the function words of
# the common English lists (NLTK's, without its contraction fragments: "don", "won" and "ma" are
# names or a verb in news, and single letters keep "AT&T" searchable). Contractions are listed as
# the analyser sees them, apostrophe dropped ("don't" → "dont"). Not "us": "U.S." analyses to
# "us". Measured on the relevance collections (bench/README.md, "Ranking quality"): the longer
# list lifts nDCG@10 on verbose queries (CISI) and MAP on NPL.
STOP_WORDS = frozenset(
    "a an and are as at be by can for from have if in is it may not of on or tbd that the this "
    "to we when will with yet you your "
    "about above after again against all also am any because been before being below "
    "between both but cant could couldnt did didnt do does doesnt doing dont down during "
    "each few further had hadnt has hasnt havent having he her here hers herself him "
    "himself his how i isnt its itself just me mightnt more most mustnt my myself neednt "
    "no nor now once only other our ours ourselves out over own same shant she should "
    "shouldnt shouldve so some such than thatll their theirs them themselves then there "
    "these they those through too under until up very was wasnt we were werent what where "
    "which while who whom why wont would wouldnt youd youll your youre yours yourself "
    "yourselves youve".split()
)

WORD_PATTERN = re.compile(r"\w+(?:[.']\w+)*")
"""A word as the analyser sees it (inner dots and apostrophes kept: ``U.S.``, ``don't``)."""

WHOOSH_STEMS = {
    "deionization": "deionize",
    "fertlizer": "fertlize",
    "ionization": "ionize",
    "ionizations": "ionize",
    "lionization": "lionize",
    "notationally": "notate",
    "preionization": "preionize",
    "quantization": "quantize",
    "quantizer": "quantize",
    "realization": "realize",
    "reionization": "reionize",
    "relationally": "relate",
    "relization": "relize",
    "rotationally": "rotate",
    "sensationally": "sensate",
    "sinization": "sinize",
    "strated": "strat",
    "vibrationally": "vibrate",
}
"""The measured words on which PyStemmer 2.2 and Whoosh's stemmer disagree: Whoosh's stems."""

CACHE_SIZE = 200_000
"""Words whose term is remembered (analysis is most of the indexing time)."""


def fold_accents(text: str) -> str:
    """``café`` → ``cafe``: compatibility decomposition without the combining marks."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_word(text: str) -> str:
    """Lower case, accents folded, dots and apostrophes dropped, not stemmed: how a typed
    ``prefix*`` and a suggestion's text compare with indexed terms."""
    return fold_accents(text.lower()).replace("'", "").replace(".", "")


_local = threading.local()


def stem(word: str) -> str:
    """The Porter2 stem of a folded, lower-cased word (a stemmer per thread: they are not
    thread-safe)."""
    known = WHOOSH_STEMS.get(word)
    if known is not None:
        return known
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return str(stemmer.stemWord(word))


_terms: dict[str, str] = {}


def term(word: str) -> str | None:
    """The indexed term of one lower-cased word, or None for a stop word (or no letters)."""
    known = _terms.get(word)
    if known is not None:
        return known or None
    text = word
    if "'" in text:
        if text.endswith("'s"):
            text = text[:-2]
        text = text.replace("'", "")
    if "." in text:
        text = text.replace(".", "")
    if not text.isascii():
        text = fold_accents(text)
    found = "" if (not text or text in STOP_WORDS) else stem(text)
    if len(_terms) >= CACHE_SIZE:
        _terms.clear()
    _terms[word] = found
    return found or None


def analyse(text: str) -> tuple[str, ...]:
    """The terms of ``text``, in order (stop words left out)."""
    found = []
    for word in WORD_PATTERN.findall(text):
        kept = term(word.lower())
        if kept is not None:
            found.append(kept)
    return tuple(found)


def all_words(text: str) -> tuple[str, ...]:
    """Every word of ``text`` folded (``fold_word``), stop words kept, nothing stemmed: the
    terms of the title field that lets a query of stop words alone (``the``, ``"of the"``)
    find something."""
    return tuple(folded for w in WORD_PATTERN.findall(text) if (folded := fold_word(w)))


def all_word_positions(text: str) -> dict[str, list[int]]:
    """Each stop word of ``all_words(text)`` → its positions among all the words: what a query
    of stop words alone can look for (every other word has its terms in the usual fields)."""
    found: dict[str, list[int]] = {}
    position = 0
    for match in WORD_PATTERN.findall(text):
        if term(match.lower()) is None:  # a stop word (or no letters): then fold it
            word = fold_word(match)
            if not word:
                continue
            found.setdefault(word, []).append(position)
        position += 1
    return found


def positions(text: str) -> dict[str, list[int]]:
    """Each term of ``text`` → its positions (stop words take none)."""
    found: dict[str, list[int]] = {}
    position = 0
    for word in WORD_PATTERN.findall(text):
        kept = term(word.lower())
        if kept is None:
            continue
        known = found.get(kept)
        if known is None:
            found[kept] = [position]
        else:
            known.append(position)
        position += 1
    return found
