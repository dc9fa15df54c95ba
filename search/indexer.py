"""Build or update the index from a folder of seed files, crash-safely, on every core.

``reindex(seeds_dir, index_dir)`` is incremental: files are matched to indexed documents by their
path relative to the seeds folder; a file whose size and modification time are unchanged is
skipped unread, one whose content hash is unchanged is skipped unparsed; new and changed files
are parsed and written; documents whose file vanished are deleted. ``full=True`` builds a fresh
generation next to the live one and switches ``CURRENT`` atomically (see ``layout``).

Why it cannot lose or half-write data:

- Incremental runs commit with Whoosh's atomic table-of-contents rename and never merge
  segments, so a reader of the previous commit never loses a file it needs.
- A full run writes into a new ``gen-*`` folder and flips the pointer only when it is complete;
  a crash before that leaves an unused folder that the next full run removes.
- Writers hold an ``fcntl`` lock on ``reindex.lock``; the kernel releases it when the holder dies,
  so a SIGKILLed run never leaves a stale lock. Worker processes die with their parent.
- A file that fails to parse never deletes the version already indexed: it is reported and the
  previous version stays searchable.

Duplicate ids: when two files carry the same article id, the file whose relative path sorts
first wins; the other is rejected, naming both paths (every run, until it is fixed).

Parsing and Whoosh's analysis run in ``workers`` processes, each writing its own segment into
the index folder (as ``whoosh.multiproc`` does, without pickling documents between processes);
the parent then commits one table of contents holding the new segments and the deletions.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import multiprocessing
import os
import shutil
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import NO_MERGE

from . import layout, whoosh_tuning
from .articles import MAX_FILE_BYTES, ArticleError, parse_article
from .models import NewsfindError
from .schema import SCHEMA_VERSION, article_fields, make_schema
from .segment_writer import NewsSegmentWriter

whoosh_tuning.apply()

SEED_SUFFIX = ".txt"
SCHEMA_MARK = "newsfind-schema"
PARALLEL_THRESHOLD = 400
"""Below this many files to parse, one process is faster than starting workers."""
MAX_SEGMENTS = 24
"""Incremental runs add a segment each; past this many the run rebuilds a compact generation."""
EXIT_OK = 0
EXIT_FATAL = 1
EXIT_REJECTED = 3
EXIT_LOCKED = 75


class ReindexError(NewsfindError):
    """A fatal problem: nothing was changed (missing seeds folder, unwritable index...)."""

    exit_code = EXIT_FATAL


class LockTimeout(ReindexError):
    exit_code = EXIT_LOCKED


@dataclass(frozen=True)
class Rejected:
    path: str
    reason: str


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


@dataclass
class ReindexReport:
    seeds_dir: str
    index_dir: str
    generation: str = ""
    full: bool = False
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    documents: int = 0
    seconds: float = 0.0
    started_at: str = ""
    finished_at: str = ""
    note: str = ""

    @property
    def parsed(self) -> int:
        return self.added + self.updated

    @property
    def docs_per_second(self) -> float:
        return self.parsed / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_REJECTED if self.rejected else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["docs_per_second"] = round(self.docs_per_second, 1)
        data["seconds"] = round(self.seconds, 3)
        data["exit_code"] = self.exit_code
        return data


@dataclass(frozen=True)
class SeedFile:
    rel: str
    path: str
    stamp: str
    """``size-mtime_ns``: equal stamps mean an unchanged file without reading it."""


@dataclass(frozen=True)
class Indexed:
    id: str
    rel: str
    content_hash: str
    stamp: str


@dataclass
class _ShardResult:
    segment: Any
    docs: list[tuple[str, str, int]]  # (article id, rel path, docnum within the segment)
    rejected: list[Rejected]


ProgressFn = Callable[[Progress], None]


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
    started = time.perf_counter()
    seeds = Path(seeds_dir)
    index_root = Path(index_dir)
    if not seeds.is_dir():
        raise ReindexError(f"seeds folder not found: {seeds}")
    try:
        index_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReindexError(f"cannot create index folder {index_root}: {exc.strerror}") from None
    report = ReindexReport(str(seeds), str(index_root), started_at=_now_iso())
    with _reindex_lock(index_root, lock_timeout):
        files, scan_rejected = scan_seeds(seeds)
        report.rejected.extend(scan_rejected)
        current = layout.current_generation(index_root)
        reason = _needs_full(index_root, current) if not full else "requested"
        if reason:
            report.full = True
            report.note = reason
            _full(report, files, index_root, workers, progress)
        else:
            assert current is not None
            report.generation = current
            kept = _unreadable_folders(scan_rejected)
            _incremental(report, files, index_root / current, workers, progress, kept)
            _remove_old_generations(index_root)
        report.seconds = time.perf_counter() - started
        report.finished_at = _now_iso()
        report.rejected.sort(key=lambda item: item.path)
        layout.write_atomically(index_root / layout.REPORT, json.dumps(report.to_dict(), indent=2))
    return report


def _needs_full(index_root: Path, current: str | None) -> str:
    if current is None:
        return "no index yet"
    mark = index_root / current / SCHEMA_MARK
    try:
        version = mark.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "index has no schema mark"
    if version != SCHEMA_VERSION:
        return f"schema changed ({version} → {SCHEMA_VERSION})"
    try:
        with whoosh_index.open_dir(str(index_root / current)).reader() as reader:
            segment_count = len(reader.segments()) if hasattr(reader, "segments") else 1
    except (OSError, whoosh_index.EmptyIndexError) as exc:
        return f"current index unreadable ({exc})"
    if segment_count > MAX_SEGMENTS:
        return f"compacting {segment_count} segments"
    return ""


def _full(
    report: ReindexReport,
    files: list[SeedFile],
    index_root: Path,
    workers: int | None,
    progress: ProgressFn | None,
) -> None:
    previous = layout.current_generation(index_root)
    name = layout.new_generation_name()
    gen_dir = index_root / name
    gen_dir.mkdir()
    ix = whoosh_index.create_in(str(gen_dir), make_schema())
    writer = ix.writer()
    try:
        results = _parse_and_write(ix, files, workers, progress)
        new_docs, _ = _resolve_duplicates(results, existing={}, report=report)
        report.added = len(new_docs)
        segments = [r.segment for r in results if r.segment is not None]
        writer._close_segment()
        writer._commit_toc(segments)
        writer._finish()
    except BaseException:
        _cancel(writer)
        shutil.rmtree(gen_dir, ignore_errors=True)
        raise
    (gen_dir / SCHEMA_MARK).write_text(SCHEMA_VERSION + "\n", encoding="utf-8")
    _fsync_tree(gen_dir)
    layout.switch_to(index_root, name)
    report.generation = name
    report.documents = len(new_docs)
    if previous is not None:
        indexed = _indexed_docs(whoosh_index.open_dir(str(index_root / previous)))
        report.deleted = len({doc.rel for doc in indexed} - {rel for _, rel, _ in new_docs})
    _remove_old_generations(index_root)


def _incremental(
    report: ReindexReport,
    files: list[SeedFile],
    gen_dir: Path,
    workers: int | None,
    progress: ProgressFn | None,
    unreadable: tuple[str, ...] = (),
) -> None:
    """``unreadable``: folders (``rel/``) that could not be listed; what was indexed from them
    stays, as for a file that cannot be parsed."""
    ix = whoosh_index.open_dir(str(gen_dir))
    writer = ix.writer(timeout=5.0)
    try:
        with writer.reader() as reader:
            indexed = {doc.rel: doc for doc in _indexed_docs_from_reader(reader)}
        on_disk = {f.rel for f in files} | {rel for rel in indexed if rel.startswith(unreadable)}
        to_parse: list[SeedFile] = []
        for seed in files:
            known = indexed.get(seed.rel)
            if known is None or (
                known.stamp != seed.stamp and _hash_file(seed) != known.content_hash
            ):
                to_parse.append(seed)
        report.unchanged = len(files) - len(to_parse)
        removed = [rel for rel in indexed if rel not in on_disk]
        results = _parse_and_write(ix, to_parse, workers, progress)
        parsed_rels = {rel for r in results for _, rel, _ in r.docs}
        # the old version of a file that failed to parse stays indexed (and counts as kept)
        replaced = [rel for rel in parsed_rels if rel in indexed]
        keep = {
            doc.id: doc.rel
            for rel, doc in indexed.items()
            if rel in on_disk and rel not in parsed_rels
        }
        new_docs, losers = _resolve_duplicates(results, existing=keep, report=report)
        for rel in [*removed, *replaced, *losers]:
            writer.delete_by_term("path", rel)
        report.added = sum(1 for _, rel, _ in new_docs if rel not in indexed)
        report.updated = sum(1 for _, rel, _ in new_docs if rel in indexed)
        report.deleted = len(removed)
        report.unchanged -= len(losers)
        fresh = [r.segment for r in results if r.segment is not None]
        if fresh or removed or replaced or losers:
            segments = writer._merge_segments(NO_MERGE, False, False) + fresh
            writer._close_segment()
            writer._commit_toc(segments)
            writer._finish()
        else:  # nothing changed: no new commit, so servers keep their snapshot and ETags hold
            writer.cancel()
            toc = ix._read_toc()  # the cancelled writer leaves its empty segment's files
            whoosh_index.clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)
    except BaseException:
        _cancel(writer)
        raise
    # from the table of contents: no segment file needs opening to count
    committed = whoosh_index.open_dir(str(gen_dir))
    report.documents = sum(segment.doc_count() for segment in committed._segments())


def _resolve_duplicates(
    results: list[_ShardResult], existing: dict[str, str], report: ReindexReport
) -> tuple[list[tuple[str, str, int]], set[str]]:
    """Apply "the smallest relative path wins" to documents sharing an id.

    ``existing`` maps the ids of already indexed, unchanged files to their paths. Returns the
    surviving new documents and the paths of existing documents that lost (for the caller to
    delete); losing new documents are deleted from their fresh segment. Every loser is reported.
    """
    claims: dict[str, list[tuple[str, int, int]]] = {}
    for shard_index, result in enumerate(results):
        report.rejected.extend(result.rejected)
        for doc_id, rel, docnum in result.docs:
            claims.setdefault(doc_id, []).append((rel, shard_index, docnum))
    survivors: list[tuple[str, str, int]] = []
    existing_losers: set[str] = set()
    for doc_id, entries in claims.items():
        kept = existing.get(doc_id)
        candidates = sorted(entries + ([(kept, -1, -1)] if kept else []))
        winner_rel, winner_shard, winner_docnum = candidates[0]
        for rel, shard_index, docnum in candidates[1:]:
            report.rejected.append(
                Rejected(rel, f"duplicate id {doc_id!r}: also in {winner_rel}, which is kept")
            )
            if shard_index >= 0:
                results[shard_index].segment.delete_document(docnum)
            else:
                existing_losers.add(rel)
        if winner_shard >= 0:
            survivors.append((doc_id, winner_rel, winner_docnum))
    return survivors, existing_losers


# --- parsing and writing, in worker processes ---------------------------------------------------


def _parse_and_write(
    ix: Any, files: list[SeedFile], workers: int | None, progress: ProgressFn | None
) -> list[_ShardResult]:
    if not files:
        return []
    count = workers or os.cpu_count() or 1
    if count <= 1 or len(files) < PARALLEL_THRESHOLD:
        counter = _LocalCounter()
        with _Reporter(counter, len(files), progress):
            return [_write_shard(ix.storage.folder, files, counter)]
    shards = [files[i::count] for i in range(count)]
    context = _mp_context()
    counter = context.Value("q", 0, lock=True)
    with _Reporter(counter, len(files), progress):
        with context.Pool(count, initializer=_worker_init, initargs=(counter,)) as pool:
            pending = [
                pool.apply_async(_write_shard, (ix.storage.folder, shard)) for shard in shards
            ]
            return [task.get() for task in pending]


_worker_counter: Any = None


def _write_shard(index_path: str, files: list[SeedFile], counter: Any = None) -> _ShardResult:
    counter = counter if counter is not None else _worker_counter
    ix = FileStorage(index_path).open_index()
    writer = NewsSegmentWriter(ix, _lk=False)
    docs: list[tuple[str, str, int]] = []
    rejected: list[Rejected] = []
    try:
        for position, seed in enumerate(files, 1):
            try:
                data = _read_limited(seed.path)
                article = parse_article(data, seed.rel)
            except ArticleError as exc:
                rejected.append(Rejected(seed.rel, exc.reason))
            else:
                docnum = writer.docnum - writer.docbase
                document = article_fields(article, seed.rel, _digest(data))
                document["stamp"] = seed.stamp
                writer.add_document(**document)
                docs.append((article.id, seed.rel, docnum))
            if position % 50 == 0:
                _bump(counter, 50)
        _bump(counter, len(files) % 50)
        if docs:
            return _ShardResult(writer._finalize_segment(), docs, rejected)
        writer._close_segment()
        return _ShardResult(None, docs, rejected)
    except BaseException:
        # never writer.cancel() here: it deletes the temp folder the parent writer shares
        writer._close_segment()
        raise


def _read_limited(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ArticleError(path, f"cannot read file: {exc.strerror or exc}") from None


def _worker_init(counter: Any) -> None:
    """Workers die with the parent (Linux), so a killed reindex leaves no writer behind."""
    global _worker_counter
    _worker_counter = counter
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() == 1:
        os._exit(1)


def _mp_context() -> Any:
    # fork starts workers in milliseconds; it is only safe while this process has one thread
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _bump(counter: Any, amount: int) -> None:
    if amount:
        with counter.get_lock():
            counter.value += amount


class _LocalCounter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


class _Reporter:
    """Calls ``progress`` about twice a second from a thread while the work runs."""

    def __init__(self, counter: Any, total: int, progress: ProgressFn | None) -> None:
        self.counter = counter
        self.total = total
        self.progress = progress
        self.stop = threading.Event()
        self.started = time.perf_counter()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Reporter:
        if self.progress is not None:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self._emit()

    def _emit(self) -> None:
        assert self.progress is not None
        done = min(int(self.counter.value), self.total)
        self.progress(Progress(done, self.total, time.perf_counter() - self.started))

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
            self._emit()


# --- the seeds folder and the indexed manifest ---------------------------------------------------


def scan_seeds(seeds: Path) -> tuple[list[SeedFile], list[Rejected]]:
    """Every ``*.txt`` file under ``seeds`` (hidden files skipped), sorted by relative path.

    Symbolic links are followed only when they resolve inside the seeds folder; loops and links
    leading outside are rejected. A folder that cannot be listed is rejected as ``rel/``; the
    seeds folder itself unreadable is fatal.
    """
    root = seeds.resolve()
    found: list[SeedFile] = []
    rejected: list[Rejected] = []

    def unlistable(error: OSError) -> None:
        reason = error.strerror or str(error)
        if error.filename is None or Path(error.filename) == root:
            raise ReindexError(f"cannot read seeds folder {seeds}: {reason}")
        rel = os.path.relpath(error.filename, root) + os.sep
        rejected.append(Rejected(rel, f"cannot read folder: {reason}"))

    for directory, subdirs, names in os.walk(root, onerror=unlistable, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        folder = os.path.relpath(directory, root)  # once per folder: relpath is slow
        prefix = "" if folder == os.curdir else folder + os.sep
        for name in names:
            if name.startswith(".") or not name.endswith(SEED_SUFFIX):
                continue
            path = directory + os.sep + name  # os.path.join costs more than the lstat
            rel = prefix + name
            try:
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    target = Path(path).resolve(strict=True)
                    if not target.is_relative_to(root):
                        rejected.append(
                            Rejected(rel, "symbolic link points outside the seeds folder")
                        )
                        continue
                    info = os.stat(path)
            except (OSError, RuntimeError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                rejected.append(Rejected(rel, f"cannot read file: {reason}"))
                continue
            if not _is_regular(info.st_mode):
                rejected.append(Rejected(rel, "not a regular file"))
                continue
            found.append(SeedFile(rel, path, f"{info.st_size}-{info.st_mtime_ns}"))
    found.sort(key=lambda seed: seed.rel)
    return found, rejected


def _unreadable_folders(rejected: list[Rejected]) -> tuple[str, ...]:
    return tuple(item.path for item in rejected if item.path.endswith(os.sep))


def _is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def _indexed_docs(ix: Any) -> list[Indexed]:
    with ix.reader() as reader:
        return list(_indexed_docs_from_reader(reader))


def _indexed_docs_from_reader(reader: Any) -> Iterator[Indexed]:
    """What is indexed, from the value columns, read a whole segment at a time."""
    for leaf, _ in reader.leaf_readers():
        columns = [
            list(leaf.column_reader(name)) for name in ("id", "path", "content_hash", "stamp")
        ]
        deleted = leaf.deleted_docs_set if leaf.has_deletions() else frozenset()
        for docnum, (doc_id, rel, content_hash, stamp) in enumerate(zip(*columns, strict=True)):
            if docnum not in deleted:
                yield Indexed(doc_id, rel, content_hash, stamp)


def _hash_file(seed: SeedFile) -> str:
    try:
        return _digest(_read_limited(seed.path))
    except ArticleError:
        return ""


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# --- locking and housekeeping --------------------------------------------------------------------


class _reindex_lock:
    """An exclusive ``fcntl`` lock on ``reindex.lock``: waits up to ``timeout`` seconds."""

    def __init__(self, index_root: Path, timeout: float) -> None:
        self.path = index_root / layout.LOCK
        self.timeout = timeout
        self.handle: Any = None

    def __enter__(self) -> None:
        self.handle = open(self.path, "a+")  # noqa: SIM115 - held for the whole run
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.handle.close()
                    raise LockTimeout(
                        f"another reindex is running on {self.path.parent} "
                        f"(waited {self.timeout:g} s for {self.path.name}); try again later"
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        self.handle.close()


def _remove_old_generations(index_root: Path) -> None:
    """Keep the live generation and the newest one before it; remove the rest.

    The replaced generation stays until the next full run, so a server still answering from it
    never finds a file missing. Generations newer than the live one are leftovers of a full run
    that died before its switch.
    """
    current = layout.current_generation(index_root)
    names = layout.generations(index_root)
    older = [name for name in names if current is not None and name < current]
    keep = {current, older[-1] if older else None}
    for name in names:
        if name not in keep:
            shutil.rmtree(index_root / name, ignore_errors=True)


def _cancel(writer: Any) -> None:
    try:
        if not writer.is_closed:
            writer.cancel()
    except Exception:  # noqa: BLE001 - already failing; the original error matters
        pass


def _fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
