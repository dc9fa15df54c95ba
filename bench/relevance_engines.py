"""The engines the ranking-quality evaluation compares: newsfind and three BM25 peers.

Each engine indexes the same parsed documents (title, excerpt, body of the same files) and answers
a query with a ranked list of document ids. The peers use their own standard English analysis,
untuned:

- ``fts5``: SQLite FTS5, ``tokenize='porter unicode61'``, ranked by ``bm25()`` with its default
  (equal) column weights; the query's words are quoted and OR-ed (quoting keeps FTS5's query
  syntax from rejecting user text).
- ``tantivy``: tantivy-py, the three fields with the ``en_stem`` tokenizer; the query's words go
  through tantivy's query parser over the three fields, whose default combination is OR.
- ``bm25s``: bm25s (its default Lucene BM25, k1=1.5, b=0.75) over title + excerpt + body as one
  text, tokenised with its English stop words and PyStemmer's English (Snowball) stemmer.

``newsfind`` indexes the collection's folder with the product's own indexer and asks the product's
own engine, relevance sort, the query exactly as given, in the product's default mode (hybrid);
``newsfind-keyword`` and ``newsfind-semantic`` are its other modes on the same index. ``dense``
is the dense peer: the same model, brute-force cosine over every document, no BM25.
``newsfind-stories`` asks it grouped by story (the search page's default: one hit per story,
provider diversity on the first page), ``newsfind-stories-nodiv`` the same without diversity: the
three side by side give the price of grouping and of the re-rank (not in the default engines).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bench.peers import Doc

WORD = re.compile(r"\w+")
RELEVANCE_WORK = Path(__file__).resolve().parent / "work" / "relevance"


class Engine(Protocol):
    name: str

    def index(self, docs: Sequence[Doc], docs_dir: Path) -> None: ...

    def search(self, query: str, depth: int) -> list[str]: ...

    def close(self) -> None: ...


def query_words(query: str) -> list[str]:
    """The query's words, lower-cased: what the peers get once their syntax is out of the way."""
    return [word.lower() for word in WORD.findall(query)]


def work_for(docs_dir: Path) -> Path:
    """Where the product index of a collection is kept: ``bench/work/relevance/<name>-<hash of
    its path>``; a collection in the temporary folder (tests) gets a folder there too."""
    import hashlib

    resolved = docs_dir.resolve()
    tag = f"{resolved.parent.name}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
    temporary = Path(tempfile.gettempdir()).resolve()
    if resolved.is_relative_to(temporary):
        return temporary / "newsfind-relevance" / tag
    return RELEVANCE_WORK / tag


class NewsfindEngine:
    """newsfind as shipped: its indexer builds the index, its engine answers in ``mode`` (the
    product default unless a variant says otherwise).

    The index of a collection is kept in ``bench/work/relevance/<collection>`` and brought up to
    date incrementally, so the vectors of its documents are computed once (and reused by every
    mode and run); ``--fresh-index`` rebuilds it."""

    name = "newsfind"
    mode: str | None = None
    fresh = False
    group = "none"
    diversify = True

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._engine = None

    def index(self, docs: Sequence[Doc], docs_dir: Path) -> None:
        from search.whoosh.engine import WhooshEngine
        from search.whoosh.target import reindex

        self._dir = work_for(docs_dir)
        if self.fresh:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir.mkdir(parents=True, exist_ok=True)
        reindex(docs_dir, self._dir)
        self._engine = WhooshEngine(self._dir)

    def search(self, query: str, depth: int) -> list[str]:
        return [doc_id for doc_id, _ in self.scored(query, depth)]

    def scored(self, query: str, depth: int, mode: str | None = None) -> list[tuple[str, float]]:
        """The ranked ids and scores of the product's search, pages 1… of 100, without building
        the hits' highlights (the order and the scores are the engine's own: its ``_match`` and
        ``counts.page``; the displayed hits would cost 1 s per page of 100 on this machine)."""
        from search import query as query_language
        from search.contract import DEFAULT_MODE, MAX_PER_PAGE, SearchRequest
        from search.whoosh import counts

        engine = self._engine
        assert engine is not None, "index() first"
        request = SearchRequest(
            q=query, sort="relevance", per_page=MAX_PER_PAGE, facets=(),
            mode=mode or self.mode or DEFAULT_MODE,
        )  # fmt: skip
        snapshot = engine.snapshot()
        now = request.clock()
        matches = engine._match(snapshot, request, query_language.parse(query), now)
        ranked: list[tuple[str, float]] = []
        page = 1
        while len(ranked) < depth:
            if self.group != "none":  # grouped: the engine's own pages of stories
                changes = {"page": page, "group": self.group, "diversify": self.diversify}
                paged = SearchRequest(**{**request.__dict__, **changes})
                result = engine.search(paged)
                ranked += [(hit.article.id, hit.score) for hit in result.hits]
                entries = result.stories if result.stories is not None else result.total
                if len(result.hits) < MAX_PER_PAGE or page * MAX_PER_PAGE >= entries:
                    break
                page += 1
                continue
            paged = SearchRequest(**{**request.__dict__, "page": page})
            docs, scores, _ = counts.page(snapshot, paged, matches, now)
            ranked += [(snapshot.ids[doc], score) for doc, score in zip(docs, scores, strict=True)]
            if len(docs) < MAX_PER_PAGE:
                break
            page += 1
        return ranked[:depth]

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self._engine

    @property
    def index_dir(self) -> Path | None:
        return self._dir

    def close(self) -> None:
        engine, self._engine = self._engine, None
        closer = getattr(engine, "close", None)
        if callable(closer):
            closer()


class NewsfindKeyword(NewsfindEngine):
    name = "newsfind-keyword"
    mode = "keyword"


class NewsfindSemantic(NewsfindEngine):
    name = "newsfind-semantic"
    mode = "semantic"


class DenseEngine:
    """The dense peer: the same model, brute-force cosine over every document, no BM25 and no
    query language (the query text as typed is embedded). Its document vectors are the ones
    newsfind's reindex computed for the collection (the same text, model and bits)."""

    name = "dense"

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._matrix = None

    def index(self, docs: Sequence[Doc], docs_dir: Path) -> None:
        import numpy as np

        from search import vectors
        from search.whoosh.target import WhooshTarget, reindex

        folder = work_for(docs_dir)
        folder.mkdir(parents=True, exist_ok=True)
        reindex(docs_dir, folder)
        target = WhooshTarget(folder)
        live = target.live()
        assert live is not None
        state = vectors.load(target.derived_file(live, vectors.KIND))
        assert state is not None, "the collection's index has no vectors"
        self._ids = state.ids
        self._matrix = np.asarray(state.vectors, dtype=np.float32)

    def search(self, query: str, depth: int) -> list[str]:
        import numpy as np

        from search.embedding.encoder import shared

        assert self._matrix is not None, "index() first"
        sims = self._matrix @ shared().embed(query)
        top = np.lexsort((np.arange(len(sims)), -sims))[:depth]
        return [self._ids[i] for i in top.tolist()]

    def close(self) -> None:
        self._matrix = None


class Fts5Engine:
    name = "fts5"

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:")

    def index(self, docs: Sequence[Doc], docs_dir: Path) -> None:
        self._db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "doc_id UNINDEXED, title, excerpt, body, tokenize='porter unicode61')"
        )
        self._db.executemany(
            "INSERT INTO docs(doc_id, title, excerpt, body) VALUES (?, ?, ?, ?)",
            [(d.id, d.title, d.excerpt, d.body) for d in docs],
        )
        self._db.commit()

    def search(self, query: str, depth: int) -> list[str]:
        words = query_words(query)
        if not words:
            return []
        match = " OR ".join(f'"{word}"' for word in dict.fromkeys(words))
        rows = self._db.execute(
            "SELECT doc_id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
            (match, depth),
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        self._db.close()


class TantivyEngine:
    name = "tantivy"
    FIELDS = ("title", "excerpt", "body")

    def __init__(self) -> None:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
        for field in self.FIELDS:
            builder.add_text_field(field, stored=False, tokenizer_name="en_stem")
        self._index = tantivy.Index(builder.build())
        self._searcher = None

    def index(self, docs: Sequence[Doc], docs_dir: Path) -> None:
        import tantivy

        writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        for doc in docs:
            writer.add_document(
                tantivy.Document(doc_id=doc.id, title=doc.title, excerpt=doc.excerpt, body=doc.body)
            )
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()
        self._searcher = self._index.searcher()

    def search(self, query: str, depth: int) -> list[str]:
        assert self._searcher is not None, "index() first"
        words = query_words(query)
        if not words:
            return []
        parsed = self._index.parse_query(" ".join(words), list(self.FIELDS))
        hits = self._searcher.search(parsed, depth).hits
        return [self._searcher.doc(address)["doc_id"][0] for _score, address in hits]

    def close(self) -> None:
        self._searcher = None


class Bm25sEngine:
    name = "bm25s"

    def __init__(self) -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        self._retriever = None
        self._ids: list[str] = []

    def _tokenize(self, texts: list[str], return_ids: bool = True):  # type: ignore[no-untyped-def]
        import bm25s

        return bm25s.tokenize(
            texts,
            stopwords="en",
            stemmer=self._stemmer,
            return_ids=return_ids,
            show_progress=False,
        )

    def index(self, docs: Sequence[Doc], docs_dir: Path) -> None:
        import bm25s

        self._ids = [doc.id for doc in docs]
        texts = [f"{doc.title}\n{doc.excerpt}\n{doc.body}" for doc in docs]
        self._retriever = bm25s.BM25()
        self._retriever.index(self._tokenize(texts), show_progress=False)

    def search(self, query: str, depth: int) -> list[str]:
        assert self._retriever is not None, "index() first"
        tokens = self._tokenize([query], return_ids=False)[0]
        if not tokens:
            return []
        k = min(depth, len(self._ids))
        documents, scores = self._retriever.retrieve([tokens], k=k, show_progress=False)
        # bm25s fills k slots; documents scoring 0 share no term with the query
        return [self._ids[d] for d, s in zip(documents[0], scores[0], strict=True) if s > 0]

    def close(self) -> None:
        self._retriever = None


class NewsfindStories(NewsfindEngine):
    name = "newsfind-stories"
    group = "story"


class NewsfindStoriesNoDiversity(NewsfindEngine):
    name = "newsfind-stories-nodiv"
    group = "story"
    diversify = False


ENGINES: dict[str, type] = {
    "newsfind": NewsfindEngine,
    "newsfind-keyword": NewsfindKeyword,
    "newsfind-semantic": NewsfindSemantic,
    "dense": DenseEngine,
    "fts5": Fts5Engine,
    "tantivy": TantivyEngine,
    "bm25s": Bm25sEngine,
}
VARIANTS: dict[str, type] = {
    "newsfind-stories": NewsfindStories,
    "newsfind-stories-nodiv": NewsfindStoriesNoDiversity,
}
"""Asked for by name only (``--engines newsfind,newsfind-stories,newsfind-stories-nodiv``)."""
