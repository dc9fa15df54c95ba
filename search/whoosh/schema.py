"""The Whoosh schema and ``Article → fields``: every field's role in one place.

Searchable text fields (BM25F, weights in ``ranking.FIELD_WEIGHTS``) share one tokenizer,
``news_analyzer``, a Whoosh wrapper around ``search.analysis`` (words → terms, stop words
without a position). An excerpt that the body starts with (whitespace aside) is indexed in
``lead``, not ``excerpt``: the body already holds those words, and plain words do not search
``lead`` (``excerpt:`` does).

Facet fields keep the original text (case, accents) as single terms, so filtering is exact:
``topic``, ``provider`` (name), ``domain``, ``type``. ``published`` is ``"1"`` or ``"0"``.

``published_at`` (UTC epoch seconds, ``MISSING_DATE`` when undated), ``quality`` and ``heat``
are value columns without postings: read them with ``reader.column_reader(name)``.

``path``, ``content_hash`` and ``stamp`` let reindex recognise unchanged files without parsing
them. ``doc`` stores the public JSON of the article (``search.documents``) to render a hit
without re-reading the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from whoosh import analysis, columns, fields

from .. import analysis as text_analysis
from ..articles import Article
from ..documents import article_to_stored, field_texts
from ..ranking import FIELD_WEIGHTS

SCHEMA_VERSION = "8"
"""Bump when fields or analysis change: the next reindex then rebuilds a full generation.
7: the title's stop words (``title_words``); 8: and each commit has a story state file
(``layout.stories_file``)."""

MISSING_DATE = -(2**63)
"""``published_at`` column value of an undated article (the column holds UTC epoch seconds)."""

# Separator for multi-valued exact facet fields: a control character never found in a value.
FACET_SEPARATOR = "\x1f"


class NewsAnalyzer(analysis.Tokenizer):  # type: ignore[misc]
    """``search.analysis`` as a Whoosh tokenizer: each word's term, stop words skipped (or
    marked ``stopped`` with ``removestops=False``), positions counting kept words only."""

    is_morph = True

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    @staticmethod
    def term(word: str) -> str | None:
        return text_analysis.term(word)

    @staticmethod
    def positions(value: str) -> dict[str, list[int]]:
        """The indexing fast path (``segment_writer``): no Token objects."""
        return text_analysis.positions(value)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[analysis.Token]:
        token = analysis.Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            matches: Iterator[Any] = iter([_Whole(value)])
        else:
            matches = text_analysis.WORD_PATTERN.finditer(value)
        position = start_pos
        for match, text, stopped, advance in self.words(matches):
            if stopped and removestops:
                position += advance
                continue
            token.stopped = stopped
            token.text = text
            if keeporiginal:
                token.original = match.group()
            token.boost = 1.0
            if positions:
                token.pos = position
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            position += 1 if not stopped else advance
            yield token

    def words(self, matches: Iterator[Any]) -> Iterator[tuple[Any, str, bool, int]]:
        """``(match, text, stopped, positions it takes when stopped)`` of each word: a stop
        word takes no position here."""
        for match in matches:
            word = match.group().lower()
            stem = self.term(word)
            yield (match, word, True, 0) if stem is None else (match, stem, False, 1)


class AllWordsAnalyzer(NewsAnalyzer):
    """The stop words of a text, folded, at their positions among all its words
    (``analysis.all_word_positions``): the ``title_words`` field, searched only by a query of
    stop words alone. The other words take a position and no term (they are in ``title``)."""

    @staticmethod
    def positions(value: str) -> dict[str, list[int]]:
        return text_analysis.all_word_positions(value)

    def words(self, matches: Iterator[Any]) -> Iterator[tuple[Any, str, bool, int]]:
        """Only stop words are terms here; every other word is stopped but takes a position."""
        for match in matches:
            text = match.group()
            if text_analysis.term(text.lower()) is not None:
                yield match, text, True, 1
            elif word := text_analysis.fold_word(text):
                yield match, word, False, 1


class _Whole:
    """A match-like wrapper for ``tokenize=False`` (the whole value is one token)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def group(self) -> str:
        return self.value

    def start(self) -> int:
        return 0

    def end(self) -> int:
        return len(self.value)


def _facet_analyzer() -> analysis.Analyzer:
    return analysis.RegexTokenizer(r"[^\x1f]+")


news_analyzer = NewsAnalyzer()
all_words_analyzer = AllWordsAnalyzer()


def _text(weight_field: str, stored: bool, analyzer: NewsAnalyzer = news_analyzer) -> fields.TEXT:
    return fields.TEXT(
        analyzer=analyzer,
        stored=stored,
        phrase=True,
        field_boost=FIELD_WEIGHTS[weight_field],
    )


def _facet(stored: bool = False) -> fields.KEYWORD:
    return fields.KEYWORD(
        analyzer=_facet_analyzer(), stored=stored, lowercase=False, commas=False, scorable=False
    )


class NewsSchema(fields.SchemaClass):  # type: ignore[misc]
    id = fields.ID(unique=True, stored=True, sortable=True)
    path = fields.ID(stored=True, sortable=True)
    content_hash = fields.ID(stored=True, sortable=True)
    stamp = fields.ID(stored=False, sortable=True)

    title = _text("title", stored=True)
    excerpt = _text("excerpt", stored=True)
    lead = _text("excerpt", stored=False)
    body = _text("body", stored=True)
    topics_text = _text("topics_text", stored=False)
    provider_text = _text("provider_text", stored=False)
    related_text = _text("related_text", stored=False)
    title_words = _text("title", stored=False, analyzer=all_words_analyzer)

    topic = _facet()
    provider = _facet()
    domain = _facet()
    type = _facet()
    published = fields.ID(stored=False)

    # value columns only (no postings): the engine filters, sorts and counts them as arrays
    published_at = fields.COLUMN(columns.NumericColumn("q", default=MISSING_DATE))
    quality = fields.COLUMN(columns.NumericColumn("d", default=0.0))
    heat = fields.COLUMN(columns.NumericColumn("d", default=0.0))

    doc = fields.STORED()


def make_schema() -> fields.Schema:
    return NewsSchema()


def article_fields(article: Article, path: str, content_hash: str) -> dict[str, Any]:
    """The Whoosh document for one article (``path`` relative to the seeds folder)."""
    provider = article.provider
    document: dict[str, Any] = {
        "id": article.id,
        "path": path,
        "content_hash": content_hash,
        **field_texts(article),
        "topic": FACET_SEPARATOR.join(article.topics),
        "provider": provider.name,
        "domain": provider.domain,
        "type": article.type,
        "published": "1" if article.published else "0",
        "quality": article.quality,
        "heat": article.heat,
        "doc": json.dumps(article_to_stored(article), separators=(",", ":")),
    }
    if article.published_at is not None:
        document["published_at"] = int(article.published_at.timestamp())
    return {key: value for key, value in document.items() if value != ""}
