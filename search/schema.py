"""The Whoosh schema, the text analysis, and ``Article → fields``: every field's role in one place.

Searchable text fields (BM25F, weights in ``FIELD_WEIGHTS``) share one analyzer, ``news_analyzer``:
words and numbers → lower case → accents folded (café → cafe) → English stop words dropped →
Porter2 (Snowball English) stems. Queries go through the same analyzer. An excerpt that the body
starts with (whitespace aside) is indexed in ``lead``, not ``excerpt``: the body already holds
those words, and plain words do not search ``lead`` (``excerpt:`` does).

Facet fields keep the original text (case, accents) as single terms, so filtering is exact:
``topic``, ``provider`` (name), ``domain``, ``type``. ``published`` is ``"1"`` or ``"0"``.

``published_at`` (UTC epoch seconds, ``MISSING_DATE`` when undated), ``quality`` and ``heat``
are value columns without postings: read them with ``reader.column_reader(name)``.

``path`` and ``content_hash`` let the indexer recognise unchanged files without parsing them.
``doc`` stores the JSON needed to render a hit without re-reading the file (never ``secured``,
which the parser drops on read).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from whoosh import analysis, columns, fields
from whoosh.lang.snowball.english import EnglishStemmer

from .articles import Article, Image, Provider, RelatedArticle

# Whoosh's own English stop list plus the function words of the common English lists (NLTK's,
# without its contraction fragments: "don", "won" and "ma" are names or a verb in news, and
# single letters keep "AT&T" searchable). Contractions are listed as the analyzer sees them,
# apostrophe dropped ("don't" → "dont"). Not "us": "U.S." analyses to "us". Measured on the
# relevance collections (bench/README.md, "Ranking quality"): the longer list lifts nDCG@10 on
# verbose queries (CISI) and MAP on NPL.
STOP_WORDS = (
    frozenset(analysis.STOP_WORDS)
    | frozenset(
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
) - {"us"}

SCHEMA_VERSION = "5"

MISSING_DATE = -(2**63)
"""``published_at`` column value of an undated article (the column holds UTC epoch seconds)."""
"""Bump when fields or analysis change: the next reindex then rebuilds a full generation."""

# Separator for multi-valued exact facet fields: a control character never found in a value.
FACET_SEPARATOR = "\x1f"

# BM25F weight of each searchable field (title above excerpt above topics/provider above body
# above related titles). The engine scores with these; Whoosh's field_boost mirrors them. An
# excerpt that repeats the body's lead is indexed in LEAD_FIELD, so it is not counted twice:
# with the double count gone, these rank best on the relevance collections (bench/README.md,
# "Ranking quality").
FIELD_WEIGHTS: dict[str, float] = {
    "title": 1.5,
    "excerpt": 1.4,
    "topics_text": 1.3,
    "provider_text": 1.2,
    "body": 1.0,
    "related_text": 0.3,
}
SEARCH_FIELDS = tuple(FIELD_WEIGHTS)
"""The fields plain words search."""
LEAD_FIELD = "lead"
"""Where the excerpt is indexed when the body starts with it (in news the excerpt is usually the
body's first sentences): plain words find those words in the body, so they are not counted
twice, while ``excerpt:`` searches this field beside ``excerpt`` and scores it as the excerpt."""
TEXT_FIELDS = (*SEARCH_FIELDS, LEAD_FIELD)
"""Every BM25F-scored text field."""


class AccentFoldFilter(analysis.Filter):  # type: ignore[misc]
    """Fold accents (café → cafe); ASCII tokens, the vast majority, pass untouched."""

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        for token in tokens:
            text = token.text
            if not text.isascii():
                token.text = fold_accents(text)
            yield token


def fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_stemmer = EnglishStemmer()


def _stem(word: str) -> str:
    return str(_stemmer.stem(word))


WORD_PATTERN = re.compile(r"\w+(?:[.']\w+)*")
"""A word as the analyzer sees it (inner dots and apostrophes kept: ``U.S.``, ``don't``)."""
_WORD = WORD_PATTERN


class NewsAnalyzer(analysis.Tokenizer):  # type: ignore[misc]
    """Words → lower case → possessives and inner dots dropped → accents folded → stop words
    dropped → Porter2 stems, in one pass.

    The same steps as the composed chain ``RegexTokenizer | LowercaseFilter | PossessiveFilter |
    AccentFoldFilter | StopFilter | StemFilter`` (a test checks they agree), fused because
    analysis is most of the indexing time and every generator layer costs per token.
    Stop words take no position: kept words are numbered 0, 1, 2… for documents and queries
    alike, so "bank of england" matches the phrase "bank england".
    """

    is_morph = True

    def __init__(self, cache_size: int = 200_000) -> None:
        self.cache_size = cache_size
        self._stems: dict[str, str] = {}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __getstate__(self) -> dict[str, Any]:
        return {"cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state.get("cache_size", 200_000))  # type: ignore[misc]

    def term(self, word: str) -> str | None:
        """The indexed term for one lower-cased word, or None for a stop word."""
        stem = self._stems.get(word)
        if stem is not None:
            return stem or None
        text = word
        if "'" in text:
            if text.endswith("'s"):
                text = text[:-2]
            text = text.replace("'", "")
        if "." in text:
            text = text.replace(".", "")
        if not text.isascii():
            text = fold_accents(text)
        stem = "" if (not text or text in STOP_WORDS) else _stem(text)
        if len(self._stems) >= self.cache_size:
            self._stems.clear()
        self._stems[word] = stem
        return stem or None

    def positions(self, value: str) -> dict[str, list[int]]:
        """Each term of ``value`` → its positions, as ``self(value, positions=True)`` gives them.

        The indexing fast path (``search.segment_writer``): no Token objects. A test checks it
        agrees with ``__call__`` on the corpus and on hostile strings.
        """
        found: dict[str, list[int]] = {}
        term = self.term
        position = 0
        for word in _WORD.findall(value):
            stem = term(word.lower())
            if stem is None:
                continue
            known = found.get(stem)
            if known is None:
                found[stem] = [position]
            else:
                known.append(position)
            position += 1
        return found

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
            matches = _WORD.finditer(value)
        position = start_pos
        for match in matches:
            word = match.group().lower()
            stem = self.term(word)
            if stem is None:
                if removestops:
                    continue
                token.stopped = True
                token.text = word
            else:
                token.stopped = False
                token.text = stem
            if keeporiginal:
                token.original = match.group()
            token.boost = 1.0
            if positions:
                token.pos = position
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            if not token.stopped:
                position += 1
            yield token


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


def make_news_analyzer() -> analysis.Analyzer:
    return NewsAnalyzer()


class PossessiveFilter(analysis.Filter):  # type: ignore[misc]
    """``company's`` → ``company``; ``u.s.`` → ``us`` (dots inside a word are dropped)."""

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        for token in tokens:
            text = token.text
            if "'" in text:
                if text.endswith("'s"):
                    text = text[:-2]
                text = text.replace("'", "")
            if "." in text:
                text = text.replace(".", "")
            token.text = text
            if text:
                yield token


def make_reference_analyzer() -> analysis.Analyzer:
    """The composed chain NewsAnalyzer fuses; kept so tests can prove they agree."""
    tokenizer = analysis.RegexTokenizer(_WORD.pattern)
    return (
        tokenizer
        | analysis.LowercaseFilter()
        | PossessiveFilter()
        | AccentFoldFilter()
        | analysis.StopFilter(stoplist=STOP_WORDS, minsize=1)
        | analysis.StemFilter(stemfn=_stem, cachesize=200_000)
    )


def _facet_analyzer() -> analysis.Analyzer:
    return analysis.RegexTokenizer(r"[^\x1f]+")


news_analyzer = make_news_analyzer()


def _text(weight_field: str, stored: bool) -> fields.TEXT:
    return fields.TEXT(
        analyzer=news_analyzer,
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
    repeats_lead = without_lead(article.body, article.excerpt) is not None
    excerpt_field = LEAD_FIELD if repeats_lead else "excerpt"
    document: dict[str, Any] = {
        "id": article.id,
        "path": path,
        "content_hash": content_hash,
        "title": article.title,
        excerpt_field: article.excerpt,
        "body": article.body,
        "topics_text": "\n".join(article.topics),
        "provider_text": f"{provider.name}\n{provider.domain}",
        "related_text": "\n".join(entry.title for entry in article.related),
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


def without_lead(text: str, lead: str) -> str | None:
    """The rest of ``text`` when it starts with ``lead`` (whitespace aside), else None.

    A lead cut inside a word leaves that whole word in the rest.
    """
    words = lead.split()
    if not words:
        return None
    cut = 0  # walked word by word: a regex built per article cost a fifth of indexing time
    for number, word in enumerate(words):
        start = cut
        while cut < len(text) and text[cut].isspace():
            cut += 1
        if (number and cut == start) or not text.startswith(word, cut):
            return None
        cut += len(word)
    while 0 < cut < len(text) and text[cut].isalnum() and text[cut - 1].isalnum():
        cut -= 1
    return text[cut:]


def article_to_stored(article: Article) -> dict[str, Any]:
    """The JSON-safe stored form of an article (``secured`` is never part of an Article)."""
    return {
        "id": article.id,
        "title": article.title,
        "excerpt": article.excerpt,
        "url": article.url,
        "type": article.type,
        "category": article.category,
        "quality": article.quality,
        "heat": article.heat,
        "published": article.published,
        "published_at": _iso(article.published_at),
        "provider": {"name": article.provider.name, "domain": article.provider.domain},
        "topics": list(article.topics),
        "images": [_image(image) for image in article.images],
        "related": [_related(entry) for entry in article.related],
        "has_body": bool(article.body),
    }


def stored_to_article(stored: dict[str, Any], body: str = "", source_path: str = "") -> Article:
    """Rebuild an ``Article`` from ``article_to_stored`` output (the inverse, used to render)."""
    from .articles import to_utc

    def image(raw: dict[str, Any]) -> Image:
        return Image(raw["url"], raw.get("width"), raw.get("height"), raw.get("title", ""))

    def provider(raw: dict[str, Any] | None) -> Provider | None:
        return Provider(raw["name"], raw["domain"]) if raw else None

    related = tuple(
        RelatedArticle(
            title=raw["title"],
            url=raw.get("url", ""),
            excerpt=raw.get("excerpt", ""),
            published_at=to_utc(raw["published_at"]) if raw.get("published_at") else None,
            type=raw.get("type", ""),
            provider=provider(raw.get("provider")),
            quality=raw.get("quality"),
            images=tuple(image(i) for i in raw.get("images", ())),
        )
        for raw in stored.get("related", ())
    )
    published_at = stored.get("published_at")
    return Article(
        id=stored["id"],
        title=stored["title"],
        excerpt=stored.get("excerpt", ""),
        body=body,
        published_at=to_utc(published_at) if published_at else None,
        url=stored.get("url", ""),
        type=stored.get("type", ""),
        category=stored.get("category", ""),
        quality=float(stored.get("quality", 0.0)),
        heat=float(stored.get("heat", 0.0)),
        published=bool(stored.get("published", True)),
        provider=provider(stored.get("provider")) or Provider("", ""),
        topics=tuple(stored.get("topics", ())),
        images=tuple(image(i) for i in stored.get("images", ())),
        related=related,
        source_path=source_path,
    )


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _image(image: Image) -> dict[str, Any]:
    return {"url": image.url, "width": image.width, "height": image.height, "title": image.title}


def _related(entry: RelatedArticle) -> dict[str, Any]:
    provider = entry.provider
    return {
        "title": entry.title,
        "url": entry.url,
        "excerpt": entry.excerpt,
        "published_at": _iso(entry.published_at),
        "type": entry.type,
        "provider": {"name": provider.name, "domain": provider.domain} if provider else None,
        "quality": entry.quality,
        "images": [_image(image) for image in entry.images],
    }
