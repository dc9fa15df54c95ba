"""Where reindex writes for the Whoosh engine: index generations in a folder (``layout``).

The pipeline (lock, scan, full-or-incremental, duplicates, report) is ``search.reindex``; this is
how Whoosh stores what it decides, crash-safely:

- Incremental runs commit with Whoosh's atomic table-of-contents rename and never merge
  segments, so a reader of the previous commit never loses a file it needs. A run that changes
  nothing makes no commit, so servers keep their snapshot and their ETags hold.
- A full run writes into a new ``gen-*`` folder and flips ``CURRENT`` only when it is complete;
  a crash before that leaves an unused folder that the next full run removes. Past
  ``MAX_SEGMENTS`` segments, the next run is full (a compact generation).
- Before a full run switches ``CURRENT``, it announces the new generation (``layout.NEXT``)
  and waits, at most ``WARM_TIMEOUT`` seconds, until every live server process has opened and
  warmed it (``search.whoosh.warmup``): no request pays for the switch.
- The derived data of each commit (``search.derived``: the story state, the vectors, and the
  per-document arrays, ``columns``, computed here from the segments being committed so that
  servers map them instead of computing them in every process) is a file
  ``<kind>-<TOC number>.npz`` in the generation folder, written whole before the table of
  contents that it belongs to (a full run: before ``CURRENT`` switches); readers load the one of
  their commit. The previous commit's files stay (a reader may be opening them), older ones are
  removed, as Whoosh does with segments.
- Each segment comes with its positions table (``positions``), written by the worker that
  writes the segment and complete before the segment is handed over: a commit only ever lists
  segments whose tables are in place.
- Parsing and Whoosh's analysis run in ``workers`` processes, each writing its own segment into
  the index folder (as ``whoosh.multiproc`` does, without pickling documents between processes)
  and sending back one small record per article; the parent commits one table of contents
  holding the new segments and the deletions. Worker processes die with their parent.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import NO_MERGE

import search.reindex as pipeline

from .. import derived
from ..articles import Article, ArticleError
from ..contract import ProgressFn, ReindexReport, Rejected
from ..documents import stored_to_article
from ..seeds import SeedFile, parse_seed
from ..stories import state as story_files
from ..stories.state import StoryState
from . import columns, layout, positions, tuning
from .schema import SCHEMA_VERSION, article_fields, make_schema
from .segment_writer import NewsSegmentWriter

tuning.apply()

SCHEMA_MARK = "newsfind-schema"
MAX_SEGMENTS = 24
"""Incremental runs add a segment each; past this many the run rebuilds a compact generation."""
WARM_TIMEOUT = 30.0
"""How long a full run waits for the live readers to warm its new generation before switching."""


def reindex(
    seeds_dir: str | os.PathLike[str],
    index_dir: str | os.PathLike[str],
    *,
    full: bool = False,
    workers: int | None = None,
    lock_timeout: float = 30.0,
    progress: ProgressFn | None = None,
) -> ReindexReport:
    """Bring the index in ``index_dir`` up to date with ``seeds_dir`` and return a report."""
    indexer = pipeline.Reindexer(WhooshTarget(index_dir), index_dir)
    return indexer.reindex(
        seeds_dir, full=full, workers=workers, lock_timeout=lock_timeout, progress=progress
    )


class WhooshTarget:
    kind = "Whoosh index"
    unreachable: tuple[type[BaseException], ...] = ()
    stories_in_documents = False

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.root = Path(index_dir)
        self.location = str(self.root)

    def live(self) -> str | None:
        return layout.current_generation(self.root)

    def full_reason(self, live: str | None) -> str:
        if live is None:
            return "no index yet"
        try:
            version = (self.root / live / SCHEMA_MARK).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return "index has no schema mark"
        if version != SCHEMA_VERSION:
            return f"schema changed ({version} → {SCHEMA_VERSION})"
        try:
            with whoosh_index.open_dir(str(self.root / live)).reader() as reader:
                segment_count = len(reader.segments()) if hasattr(reader, "segments") else 1
        except (OSError, whoosh_index.EmptyIndexError) as exc:
            return f"current index unreadable ({exc})"
        if segment_count > MAX_SEGMENTS:
            return f"compacting {segment_count} segments"
        return ""

    def indexed(self, generation: str) -> dict[str, pipeline.Indexed]:
        with whoosh_index.open_dir(str(self.root / generation)).reader() as reader:
            return {doc.rel: doc for doc in _indexed(reader)}

    def derived_file(self, generation: str, kind: str) -> Path:
        folder = self.root / generation
        toc = whoosh_index.TOC._latest_generation(
            FileStorage(str(folder)), whoosh_index._DEF_INDEX_NAME
        )
        return layout.derived_file(folder, kind, toc)

    def story_state(self, generation: str) -> StoryState | None:
        return story_files.load(self.derived_file(generation, "stories"))

    def begin(self, live: str | None, full: bool) -> _Session:
        if not full:
            assert live is not None
            return _Session(self.root, live, whoosh_index.open_dir(str(self.root / live)), False)
        name = layout.new_generation_name()
        (self.root / name).mkdir()
        try:
            ix = whoosh_index.create_in(str(self.root / name), make_schema())
        except BaseException:
            shutil.rmtree(self.root / name, ignore_errors=True)
            raise
        return _Session(self.root, name, ix, True)

    def save_report(self, report: ReindexReport) -> None:
        text = json.dumps(report.to_dict(), indent=2)
        layout.write_atomically(self.root / layout.REPORT, text)


class _Session:
    def __init__(self, root: Path, generation: str, ix: Any, full: bool) -> None:
        self.root = root
        self.generation = generation
        self.ix = ix
        self.full = full
        self.writer = ix.writer() if full else ix.writer(timeout=5.0)
        self.segments: list[Any] = []
        self.deleting: list[str] = []
        self.saving: dict[str, tuple[Any, derived.Save]] = {}

    def write(self, files: list[SeedFile], workers: int | None, counter: Any) -> pipeline.Written:
        if not files:
            return pipeline.Written()
        folder = self.ix.storage.folder
        count = workers or os.cpu_count() or 1
        if count <= 1 or len(files) < pipeline.PARALLEL_THRESHOLD:
            shards = [_write_shard(folder, files, counter)]
        else:
            context = pipeline.mp_context()
            counter.shared = context.Value("q", 0, lock=True)
            with context.Pool(
                count, initializer=pipeline.worker_init, initargs=(counter.shared,)
            ) as pool:
                pending = [
                    pool.apply_async(_write_shard, (folder, files[i::count])) for i in range(count)
                ]
                shards = [task.get() for task in pending]
        written = pipeline.Written()
        for shard in shards:
            self.segments.append(shard.segment)
            written.rejected.extend(shard.rejected)
            written.parsed.extend(
                pipeline.Parsed(record, (shard.segment, docnum)) for record, docnum in shard.docs
            )
        return written

    def carry(self, live: str, documents: list[pipeline.Indexed]) -> list[pipeline.Parsed]:
        """The live generation's stored versions, analysed again into one more segment."""
        found: list[tuple[Article, pipeline.Indexed]] = []
        with whoosh_index.open_dir(str(self.root / live)).searcher() as searcher:
            for document in documents:
                docnum = searcher.document_number(path=document.rel)
                if docnum is None:
                    continue
                stored = searcher.stored_fields(docnum)
                article = stored_to_article(
                    json.loads(stored["doc"]), body=stored.get("body", ""), source_path=document.rel
                )
                found.append((article, document))
        if not found:
            return []
        shard = _write_articles(self.ix.storage.folder, found)
        self.segments.append(shard.segment)
        return [pipeline.Parsed(record, (shard.segment, docnum)) for record, docnum in shard.docs]

    def discard(self, handles: list[Any]) -> None:
        for segment, docnum in handles:
            segment.delete_document(docnum)

    def delete(self, stale: dict[str, str]) -> None:
        self.deleting = list(stale)

    def derived(self, kind: str, state: Any, save: derived.Save) -> None:
        self.saving[kind] = (state, save)

    def stories(self, state: StoryState) -> None:
        self.derived("stories", state, story_files.save)

    def _save_derived(self, segments: list[Any]) -> None:
        """The derived data of the commit about to be made, before its table of contents: what
        the run handed over, and the commit's per-document arrays (``columns``), computed once
        here from its segments rather than in every server process. The columns go first: a
        run killed while writing them leaves no other kind of the next commit behind."""
        kinds = {columns.KIND: (self._columns(segments), columns.save), **self.saving}
        folder = self.root / self.generation
        for kind, (state, save) in kinds.items():
            save(state, layout.derived_file(folder, kind, self.writer.generation))

    def commit(self) -> pipeline.Committed:
        writer = self.writer
        fresh = [segment for segment in self.segments if segment is not None]
        # every worker is done: a temporary positions table now is a killed run's leftover
        positions.remove_temporary(self.root / self.generation)
        for rel in self.deleting:
            writer.delete_by_term("path", rel)
        if self.full:
            self._save_derived(fresh)
            writer._close_segment()
            writer._commit_toc(fresh)
            writer._finish()
            gen_dir = self.root / self.generation
            (gen_dir / SCHEMA_MARK).write_text(SCHEMA_VERSION + "\n", encoding="utf-8")
            _fsync_tree(gen_dir)
            # the servers open and warm the new generation while the old one still answers
            layout.announce(self.root, self.generation)
            layout.wait_for_readers(self.root, self.generation, WARM_TIMEOUT)
            layout.switch_to(self.root, self.generation)
            layout.withdraw(self.root, self.generation)
        elif fresh or self.deleting:
            segments = writer._merge_segments(NO_MERGE, False, False) + fresh
            self._save_derived(segments)
            writer._close_segment()
            writer._commit_toc(segments)
            writer._finish()
            layout.remove_old_derived(self.root / self.generation, writer.generation)
        else:  # nothing changed: no new commit, so servers keep their snapshot and ETags hold
            writer.cancel()
            toc = self.ix._read_toc()  # the cancelled writer leaves its empty segment's files
            whoosh_index.clean_files(
                self.ix.storage, self.ix.indexname, toc.generation, toc.segments
            )
        # from the table of contents: no segment file needs opening to count
        committed = whoosh_index.open_dir(str(self.root / self.generation))
        return pipeline.Committed(sum(segment.doc_count() for segment in committed._segments()))

    def _columns(self, segments: list[Any]) -> columns.Columns:
        ix = self.ix
        reader = ix._reader(ix.storage, ix.schema, list(segments), self.writer.generation)
        try:
            return columns.compute(reader)
        finally:
            reader.close()

    def abort(self) -> None:
        try:
            if not self.writer.is_closed:
                self.writer.cancel()
        except Exception:  # noqa: BLE001 - already failing; the original error matters
            pass
        if self.full:
            layout.withdraw(self.root, self.generation)
            shutil.rmtree(self.root / self.generation, ignore_errors=True)

    def cleanup(self) -> None:
        _remove_old_generations(self.root)


class _Shard:
    def __init__(self, segment: Any, docs: list[tuple[pipeline.ArticleRecord, int]]) -> None:
        self.segment = segment
        self.docs = docs
        """Each article's record and document number within the segment."""
        self.rejected: list[Rejected] = []


def _write_shard(index_path: str, files: list[SeedFile], counter: Any = None) -> _Shard:
    """Parse ``files`` and write them into one new segment (in a worker process, or not)."""
    counter = counter if counter is not None else pipeline.worker_counter

    def fill(writer: Any, shard: _Shard) -> None:
        for position, seed in enumerate(files, 1):
            try:
                article, content_hash = parse_seed(seed)
            except ArticleError as exc:
                shard.rejected.append(Rejected(seed.rel, exc.reason))
            else:
                _add(writer, shard, article, seed, content_hash)
            if position % 50 == 0:
                pipeline.bump(counter, 50)
        pipeline.bump(counter, len(files) % 50)

    return _segment(index_path, fill)


def _write_articles(index_path: str, articles: list[tuple[Article, pipeline.Indexed]]) -> _Shard:
    """Write already known articles (``carry``) into one new segment."""

    def fill(writer: Any, shard: _Shard) -> None:
        for article, document in articles:
            _add(writer, shard, article, document, document.content_hash)

    return _segment(index_path, fill)


def _add(
    writer: Any,
    shard: _Shard,
    article: Article,
    source: SeedFile | pipeline.Indexed,
    content_hash: str,
) -> None:
    docnum = writer.docnum - writer.docbase
    document = article_fields(article, source.rel, content_hash)
    document["stamp"] = source.stamp
    writer.add_document(**document)
    shard.docs.append((pipeline.record_of(article, source, content_hash), docnum))


def _segment(index_path: str, fill: Any) -> _Shard:
    ix = FileStorage(index_path).open_index()
    writer = NewsSegmentWriter(ix, _lk=False)
    shard = _Shard(None, [])
    try:
        fill(writer, shard)
        if shard.docs:
            shard.segment = writer._finalize_segment()
        else:
            writer._close_segment()
        return shard
    except BaseException:
        # never writer.cancel() here: it deletes the temp folder the parent writer shares
        writer._close_segment()
        raise


def _indexed(reader: Any) -> Iterator[pipeline.Indexed]:
    """What is indexed, from the value columns, read a whole segment at a time."""
    for leaf, _ in reader.leaf_readers():
        columns = [
            list(leaf.column_reader(name)) for name in ("id", "path", "content_hash", "stamp")
        ]
        deleted = leaf.deleted_docs_set if leaf.has_deletions() else frozenset()
        for docnum, (doc_id, rel, content_hash, stamp) in enumerate(zip(*columns, strict=True)):
            if docnum not in deleted:
                yield pipeline.Indexed(doc_id, rel, content_hash, stamp)


def _remove_old_generations(index_root: Path) -> None:
    """Keep the live generation and the newest one before it; remove the rest.

    The replaced generation stays until the next full run, so a server still answering from it
    never finds a file missing. Generations newer than the live one are leftovers of a full run
    that died before its switch.
    """
    current = layout.current_generation(index_root)
    announced = layout.announced(index_root)
    if announced is not None and announced != current:  # left by a run killed while it waited
        layout.withdraw(index_root, announced)
    names = layout.generations(index_root)
    older = [name for name in names if current is not None and name < current]
    keep = {current, older[-1] if older else None}
    for name in names:
        if name not in keep:
            shutil.rmtree(index_root / name, ignore_errors=True)


def _fsync_tree(directory: Path) -> None:
    for path in [*directory.iterdir(), directory]:
        if path.is_file() or path == directory:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
