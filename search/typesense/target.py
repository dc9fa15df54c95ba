"""Where reindex writes for the Typesense engine: collections behind an alias.

The pipeline (lock, scan, full-or-incremental, duplicates, report) is ``search.reindex``; this is
how Typesense stores what it decides:

- Parsing runs in worker processes; each article's Typesense document is spooled to a temporary
  JSONL file until duplicate ids are settled, then imported in batches of ``BATCH_SIZE``.
- Incremental: documents are upserted into the live collection, stale ones deleted by id (never
  one a new file has just claimed).
- Full (asked, no collection yet, or a schema change): a new ``<alias>-<stamp>`` collection is
  filled, the alias switched to it in one call (readers see the old or the new collection, never
  a half-filled one), then the old collection and any left by a run that died are dropped.
- Derived data (``search.derived``): each document carries its ``story`` and ``near_duplicate``
  group and its ``embedding`` (the vector). The states that incremental runs start from are files
  beside the reindex lock (``<kind>-<collection>.npz``: ``search.stories.state``,
  ``search.vectors``): written after the documents of an incremental run, and before the alias
  switch of a full one. A run that died in between leaves a state out of step with the
  collection, which makes the next run full. Recomputing every story makes the run full too.
- The report goes to the ``<alias>-meta`` collection with the schema version.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

import search.reindex as pipeline

from .. import derived
from ..articles import ArticleError
from ..contract import ProgressFn, ReindexReport, Rejected
from ..seeds import SeedFile, parse_seed
from ..stories import state as story_files
from ..stories.state import StoryState
from ..vectors import VectorState
from .documents import (
    EMBEDDING,
    PACKED,
    SCHEMA_VERSION,
    article_document,
    article_of,
    collection_schema,
    exact_key,
    packed,
)
from .meta import current_collection, schema_mark, write_meta
from .settings import TypesenseSettings, errors, unreachable

BATCH_SIZE = 500


def reindex(
    seeds_dir: str | os.PathLike[str],
    settings: TypesenseSettings,
    *,
    full: bool = False,
    workers: int | None = None,
    lock_timeout: float = 30.0,
    lock_dir: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
) -> ReindexReport:
    """Bring the Typesense collection up to date with ``seeds_dir`` (same report as Whoosh's);
    ``lock_dir`` holds the lock file (default ``$NEWSFIND_INDEX_DIR`` or ``index``)."""
    lock_root = lock_dir or os.environ.get("NEWSFIND_INDEX_DIR", "index")
    indexer = pipeline.Reindexer(TypesenseTarget(settings, lock_root), lock_root)
    return indexer.reindex(
        seeds_dir, full=full, workers=workers, lock_timeout=lock_timeout, progress=progress
    )


class TypesenseTarget:
    kind = "Typesense cluster"
    stories_in_documents = True

    def __init__(self, settings: TypesenseSettings, state_dir: str | os.PathLike[str]) -> None:
        self.settings = settings
        self.admin = settings.client()
        self.location = f"typesense:{settings.collection}"
        self.unreachable = unreachable()
        self.state_dir = Path(state_dir)
        """Where the story states live (beside the reindex lock)."""

    def derived_file(self, collection: str, kind: str) -> Path:
        return self.state_dir / f"{kind}-{collection}.npz"

    def story_state(self, generation: str) -> StoryState | None:
        return story_files.load(self.derived_file(generation, "stories"))

    def live(self) -> str | None:
        return current_collection(self.admin, self.settings)

    def full_reason(self, live: str | None) -> str:
        if live is None:
            return "no collection yet"
        version = schema_mark(self.admin, self.settings)
        if version is None:
            return "no schema mark"
        if version != SCHEMA_VERSION:
            return f"schema changed ({version} → {SCHEMA_VERSION})"
        return ""

    def indexed(self, generation: str) -> dict[str, pipeline.Indexed]:
        text = self.admin.collections[generation].documents.export(
            {"include_fields": "id,path,content_hash,stamp"}
        )
        indexed: dict[str, pipeline.Indexed] = {}
        for line in text.splitlines():
            if line.strip():
                row = json.loads(line)
                rel = row.get("path", "")
                indexed[rel] = pipeline.Indexed(
                    row["id"], rel, row.get("content_hash", ""), row.get("stamp", "")
                )
        return indexed

    def begin(self, live: str | None, full: bool) -> _Session:
        if not full:
            assert live is not None
            return _Session(self, live, live, full=False)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{self.settings.collection}-{stamp}"
        self.admin.collections.create(collection_schema(name))
        return _Session(self, name, live, full=True)

    def save_report(self, report: ReindexReport) -> None:
        changed = report.full or bool(report.added or report.updated or report.deleted)
        write_meta(self.admin, self.settings, report.to_dict(), changed or bool(report.rejected))


class _Session:
    def __init__(
        self, target: TypesenseTarget, generation: str, previous: str | None, *, full: bool
    ) -> None:
        self.target = target
        self.admin = target.admin
        self.generation = generation
        self.full = full
        self.previous = previous
        self.spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.discarded: set[int] = set()
        self.lines = 0
        self.stale: dict[str, str] = {}
        self.saving: dict[str, tuple[Any, derived.Save]] = {}
        self.assigned: dict[str, tuple[str, str]] = {}
        self.vectors: VectorState | None = None
        self.story_state: StoryState | None = None
        self.vector_rows: dict[str, int] = {}

    def write(self, files: list[SeedFile], workers: int | None, counter: Any) -> pipeline.Written:
        written = pipeline.Written()
        for seed, parsed, reason in _parsed(files, workers):
            pipeline.bump(counter, 1)
            if parsed is None:
                written.rejected.append(Rejected(seed.rel, reason))
                continue
            record, document = parsed
            written.parsed.append(pipeline.Parsed(record, self._spool(document)))
        return written

    def carry(self, live: str, documents: list[pipeline.Indexed]) -> list[pipeline.Parsed]:
        """The live collection's versions, rebuilt into this run's documents and spooled."""
        wanted = {document.rel: document for document in documents}
        paths = ",".join(f"`{rel}`" for rel in wanted if "`" not in rel)
        if not paths:
            return []
        text = self.admin.collections[live].documents.export(
            {"filter_by": f"path:=[{paths}]", "include_fields": "id,path,doc,body"}
        )
        carried = []
        for line in text.splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            known = wanted.get(row.get("path", ""))
            if known is None:
                continue
            article = article_of(row, body=row.get("body", ""))
            document = article_document(article, known.rel, known.content_hash, known.stamp)
            record = pipeline.record_of(article, known, known.content_hash)
            carried.append(pipeline.Parsed(record, self._spool(document)))
        return carried

    def _spool(self, document: dict[str, Any]) -> int:
        """Keep a document for the commit; its line number is its handle."""
        self.spool.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
        self.spool.write("\n")
        self.lines += 1
        return self.lines - 1

    def discard(self, handles: list[Any]) -> None:
        self.discarded.update(handles)

    def delete(self, stale: dict[str, str]) -> None:
        self.stale = stale

    def derived(self, kind: str, state: Any, save: derived.Save) -> None:
        self.saving[kind] = (state, save)
        if isinstance(state, VectorState):
            self.vectors = state
            self.vector_rows = {article_id: row for row, article_id in enumerate(state.ids)}

    def stories(self, state: StoryState) -> None:
        self.derived("stories", state, story_files.save)
        self.story_state = state
        table = state.table
        pairs = zip(table.story, table.group, strict=True)
        self.assigned = dict(zip(table.ids, pairs, strict=True))

    def commit(self) -> pipeline.Committed:
        collection = self.admin.collections[self.generation]
        action = "create" if self.full else "upsert"
        refused: list[Rejected] = []
        written_ids: set[str] = set()
        batch: list[dict[str, Any]] = []
        for document in self._kept():
            written_ids.add(document["id"])
            batch.append(document)
            if len(batch) >= BATCH_SIZE:
                refused += _import(collection, batch, action)
                batch = []
        refused += _import(collection, batch, action)
        self.spool.close()
        for doc_id in self.stale.values():
            if doc_id in written_ids:  # a new file has just claimed it (same id, new path)
                continue
            with contextlib.suppress(errors().ObjectNotFound):
                collection.documents[doc_id].delete()
        moved = [
            {"id": doc_id, "story": exact_key(self.assigned[doc_id][0])}
            for doc_id in self.story_state.moved
            if doc_id not in written_ids
        ] if self.story_state is not None else []  # fmt: skip
        refused += _import(collection, moved, "update")
        self.target.state_dir.mkdir(parents=True, exist_ok=True)
        for kind, (state, save) in self.saving.items():
            save(state, self.target.derived_file(self.generation, kind))
        if self.full:  # the atomic switch
            self.admin.aliases.upsert(
                self.target.settings.collection, {"collection_name": self.generation}
            )
        documents = int(collection.retrieve()["num_documents"])
        return pipeline.Committed(documents, refused)

    def _kept(self) -> Iterator[dict[str, Any]]:
        self.spool.seek(0)
        for number, line in enumerate(self.spool):
            if number not in self.discarded:
                document: dict[str, Any] = json.loads(line)
                story, group = self.assigned[document["id"]]
                document["story"] = exact_key(story)  # exact, as every filtered value
                document["near_duplicate"] = group
                if self.vectors is not None:
                    row = self.vectors.vectors[self.vector_rows[document["id"]]]
                    document[EMBEDDING] = row.astype(np.float32).tolist()
                    document[PACKED] = packed(row)
                yield document

    def abort(self) -> None:
        self.spool.close()
        if self.full:
            with contextlib.suppress(Exception):
                self.admin.collections[self.generation].delete()

    def cleanup(self) -> None:
        if not self.full:
            return
        for kind in derived.KINDS:
            for path in self.target.state_dir.glob(f"{kind}-*.npz"):
                if path != self.target.derived_file(self.generation, kind):
                    path.unlink(missing_ok=True)
        if self.previous is not None and self.previous != self.generation:
            # a searcher holding the old name is answered by the alias from now on; drop it
            with contextlib.suppress(errors().ObjectNotFound):
                self.admin.collections[self.previous].delete()
        prefix = f"{self.target.settings.collection}-2"  # collections of runs that died
        for collection in self.admin.collections.retrieve():
            name = collection["name"]
            if name.startswith(prefix) and name != self.generation:
                with contextlib.suppress(Exception):
                    self.admin.collections[name].delete()


def _import(collection: Any, documents: list[dict[str, Any]], action: str) -> list[Rejected]:
    if not documents:
        return []
    body = "\n".join(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")) for doc in documents
    )
    answer = collection.documents.import_(body, {"action": action})
    rejected = []
    for document, line in zip(documents, answer.splitlines(), strict=False):
        result = json.loads(line)
        if not result.get("success"):
            rejected.append(
                Rejected(
                    document.get("path") or document["id"],
                    f"Typesense refused it: {result.get('error')}",
                )
            )
    return rejected


_Parsed = tuple[pipeline.ArticleRecord, dict[str, Any]]


def _parse_one(seed: SeedFile) -> tuple[SeedFile, _Parsed | None, str]:
    """(seed, (record, document) or None, rejection reason) — runs in worker processes."""
    try:
        article, content_hash = parse_seed(seed)
    except ArticleError as exc:
        return seed, None, exc.reason
    record = pipeline.record_of(article, seed, content_hash)
    return seed, (record, article_document(article, seed.rel, content_hash, seed.stamp)), ""


def _parsed(
    files: list[SeedFile], workers: int | None
) -> Iterator[tuple[SeedFile, _Parsed | None, str]]:
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(files) < pipeline.PARALLEL_THRESHOLD:
        yield from map(_parse_one, files)
        return
    with pipeline.mp_context().Pool(count, initializer=pipeline.worker_init) as pool:
        yield from pool.imap(_parse_one, files, chunksize=64)
