"""What the story step needs of one article, computed where the article is parsed (in the reindex
workers) and packed into a few hundred bytes: ``ArticleRecord.story`` (``encode``); the parent
unpacks a run's records into columns at once (``decode``).

- **Text**: the title (trailing spaces, ``.`` and ``…`` stripped), then the excerpt, or else the
  first ``LEAD_WORDS`` words of the body (the lead).
- **Fold**: curly and grave apostrophes → ``'``; accents dropped (NFKD) when the text is not
  ASCII; lower case.
- **Terms** (tf-idf): ``TOKEN`` matches; a trailing ``'s`` and apostrophes dropped; a token that
  starts with a digit keeps its dots and loses its commas (``1.8b``, ``3000``); any other loses
  both (``u.s.`` → ``us``), is dropped when shorter than 2 characters or a stop word
  (``stopwords``), and is stemmed (Porter2). A term is kept as a 32-bit hash (``crc32``): the
  parent never needs its text, and a hash needs no vocabulary shared between processes.
- **Shingles** (near-duplicates): the sets of three consecutive folded words (``WORD``, no
  stemming, no stop words), hashed; a text of fewer than three words is one shingle.
- **Keys**: the provider (its domain, else its name), the article's URL and its ``related`` URLs,
  as 64-bit hashes (only compared for equality).

The rules are the research's (docs/research/stories.md §3.1, §3.5), measured on uci2014.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..analysis import stem
from ..articles import Article
from .stopwords import STOP_WORDS
from .table import Ragged, Table

LEAD_WORDS = 60
MISSING_TIME = -(2**63)
"""``Table.t`` of an undated article."""
TOKEN = re.compile(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*")
WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_HEADER = struct.Struct("<qQ?HHH")
"""time, provider key, published, number of terms, of shingles, of URLs."""


def story_text(title: str, excerpt: str, body: str, lead_words: int = LEAD_WORDS) -> str:
    head = title.rstrip().rstrip(".\u2026").rstrip()
    if excerpt:
        return f"{head} \n {excerpt}"
    if body:
        return f"{head} \n " + " ".join(body.split()[:lead_words])
    return head


def fold(text: str) -> str:
    text = text.translate(_APOSTROPHES)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower()


def terms(folded: str) -> list[str]:
    """The terms of a folded text, in order, repeats kept."""
    found = []
    for token in TOKEN.findall(folded):
        if token.endswith("'s"):
            token = token[:-2]
        token = token.replace("'", "")
        if token[:1].isdigit():
            found.append(token.replace(",", ""))
            continue
        token = token.replace(",", "").replace(".", "")
        if len(token) >= 2 and token not in STOP_WORDS:
            found.append(stem(token))
    return found


def shingles(folded: str, size: int = 3) -> set[str]:
    words = WORD.findall(folded)
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def hash32(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def hash64(text: str) -> int:
    """0 for the empty text (no key); a stable 64-bit hash otherwise."""
    if not text:
        return 0
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def provider_key(article: Article) -> str:
    return article.provider.domain or article.provider.name


def encode(article: Article) -> bytes:
    """The story features of an article, packed (``decode`` reads many at once)."""
    folded = fold(story_text(article.title, article.excerpt, article.body))
    counted = Counter(hash32(term) for term in terms(folded))
    term_hashes = sorted(counted)
    shingle_hashes = sorted({hash32(text) for text in shingles(folded)})
    urls = [hash64(article.url), *(hash64(entry.url) for entry in article.related if entry.url)]
    moment = article.published_at
    header = _HEADER.pack(
        int(moment.timestamp()) if moment is not None else MISSING_TIME,
        hash64(provider_key(article)),
        article.published,
        len(term_hashes),
        len(shingle_hashes),
        len(urls),
    )
    return b"".join(
        (
            header,
            np.asarray(term_hashes, dtype="<u4").tobytes(),
            np.asarray([min(counted[h], 65535) for h in term_hashes], dtype="<u2").tobytes(),
            np.asarray(shingle_hashes, dtype="<u4").tobytes(),
            np.asarray(urls, dtype="<u8").tobytes(),
        )
    )


def decode(ids: Sequence[str], blobs: Sequence[bytes], content_hashes: Sequence[str]) -> Table:
    """The rows of ``encode``'d articles (in the order given; no vectors, no stories yet)."""
    n = len(blobs)
    t = np.empty(n, dtype=np.int64)
    provider = np.empty(n, dtype=np.uint64)
    published = np.empty(n, dtype=bool)
    counts = np.empty((n, 3), dtype=np.int64)
    for row, blob in enumerate(blobs):
        t[row], provider[row], published[row], *header_sizes = _HEADER.unpack_from(blob)
        counts[row] = header_sizes
    parts: list[list[np.ndarray]] = [[], [], [], []]
    for start in range(0, n, DECODE_ROWS):  # bounded temporary arrays
        stop = min(n, start + DECODE_ROWS)
        joined = np.frombuffer(b"".join(blobs[start:stop]), dtype=np.uint8)
        offset = np.zeros(stop - start, dtype=np.int64)
        np.cumsum([len(blob) for blob in blobs[start : stop - 1]], out=offset[1:])
        offset += _HEADER.size
        sizes = counts[start:stop]
        for part, (column, dtype) in zip(parts, _SECTIONS, strict=True):
            part.append(_section(joined, offset, sizes[:, column], dtype))
            offset = offset + sizes[:, column] * np.dtype(dtype).itemsize
    term_values, term_counts, shingle_values, url_values = (
        np.concatenate(part) if part else np.zeros(0, dtype=dtype)
        for part, (_, dtype) in zip(parts, _SECTIONS, strict=True)
    )
    url_ptr = _ptr(counts[:, 2])
    return Table(
        ids=list(ids),
        content_hashes=list(content_hashes),
        t=t,
        provider=provider,
        published=published,
        url=url_values[url_ptr[:-1]],
        related=Ragged.of(counts[:, 2] - 1, np.delete(url_values, url_ptr[:-1])),
        terms=Ragged(_ptr(counts[:, 0]), term_values, term_counts.astype(np.float32)),
        shingles=Ragged(_ptr(counts[:, 1]), shingle_values),
    )


DECODE_ROWS = 20_000
_SECTIONS = ((0, "<u4"), (0, "<u2"), (1, "<u4"), (2, "<u8"))
"""After the header: term hashes, their counts, shingle hashes, URL keys (own URL first)."""


def _ptr(lengths: np.ndarray) -> np.ndarray:
    ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    return ptr


def _section(joined: np.ndarray, starts: np.ndarray, counts: np.ndarray, dtype: str) -> np.ndarray:
    """The ``counts[i]`` items of ``dtype`` at byte ``starts[i]`` of ``joined``, concatenated."""
    width = np.dtype(dtype).itemsize
    edges = np.zeros(len(joined) + 1, dtype=np.int8)
    np.add.at(edges, starts, 1)
    np.add.at(edges, starts + counts * width, -1)
    inside = np.cumsum(edges[:-1], dtype=np.int8).astype(bool)
    found: np.ndarray = joined[inside].view(dtype).astype(np.dtype(dtype).newbyteorder("="))
    return found
