"""The one reindex pipeline, for every engine: seeds folder → parsed articles → a committed index.

``Reindexer(target, lock_dir).reindex(seeds_dir)`` (the contract's ``Indexer``) runs::

    lock ─▶ scan the seeds ─▶ full or incremental? ─▶ parse and write the files to (re)index
         ─▶ one id per file (duplicates) ─▶ stories, vectors ─▶ commit ─▶ report

- **Lock**: an exclusive ``fcntl`` lock on ``reindex.lock`` in ``lock_dir``, waited for up to
  ``lock_timeout`` seconds (then ``LockTimeout``); the kernel releases it when the holder dies,
  so a SIGKILLed run never leaves a stale lock.
- **Full or incremental**: full when asked, when there is no index yet, or when the target says
  so (``Target.full_reason``: a schema change, too many segments…). A full run writes a new
  generation beside the live one and the target switches to it atomically at commit; an
  incremental run matches files to indexed documents by path: an unchanged stamp (size, mtime) is
  skipped unread, an unchanged content hash unparsed; new and changed files are written, vanished
  ones deleted. A file that fails to parse keeps its previously indexed version — in a full run
  too: the new generation gets the live one's copy of it (``Session.carry``), rebuilt from what
  the index stores, so a nightly ``--full`` never drops what the incremental runs kept.
- **Duplicate ids**: the file whose relative path sorts first wins (``Claims``); the other is
  rejected, naming both, on every run until it is fixed.
- **Stories** (``search.stories.step``): from the previous commit's story state, the deleted ids
  and the records of this run, the next state; the target stores it with its commit. An
  incremental run becomes full when the story state is missing or out of step with the index,
  or when the target keeps story ids in its documents and every story is to be recomputed.
- **Vectors** (``search.vectors``): from the previous commit's vectors, the deleted ids and the
  records of this run, the next vectors: a record whose text (``embedding.text``) has a vector
  already — in the live commit, also when a full run builds a new generation — reuses it; only
  new and changed texts are embedded. Stored with the commit like the stories
  (``search.derived``); a missing or out-of-step vector state makes an incremental run full.
- **Progress**: ``progress(Progress)`` about twice a second from a thread, and once at the end.
- **Report**: counts, rejected files sorted by path, timing; saved by the target.

A target (``search.whoosh.target``, ``search.typesense.target``) only knows how its engine stores
things: it parses files in its own way (Whoosh writes segments in worker processes; Typesense
spools JSON documents) but hands back one ``ArticleRecord`` per parsed article, made by
``record_of``. That is the seam for data derived from articles at reindex (issues 14, 15: a story
id, an embedding): extend ``ArticleRecord`` in ``record_of``, compute between "duplicates" and
"commit" in ``_write`` from the records, and let ``Session.commit`` store it with the generation
(docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import derived, vectors
from .articles import Article
from .contract import Progress, ProgressFn, ReindexReport, Rejected
from .embedding import encoder
from .embedding.text import article_text, text_hash
from .errors import LockTimeout, ReindexError
from .seeds import SeedFile, hash_file, scan_seeds, unreadable_folders
from .stories import features as story_features
from .stories import step as story_step
from .stories.state import StoryState

LOCK = "reindex.lock"
PARALLEL_THRESHOLD = 400
"""Below this many files to parse, one process is faster than starting workers."""


@dataclass(frozen=True)
class Indexed:
    """One document of the live index, as reindex matches it to a file."""

    id: str
    rel: str
    content_hash: str
    stamp: str


@dataclass(frozen=True)
class ArticleRecord:
    """What the reindexing process learns of each article parsed (in whichever process): light,
    engine-neutral. Data derived from articles at reindex starts from these."""

    id: str
    rel: str
    content_hash: str
    story: bytes = b""
    """What the story step reads of the article (``stories.features.encode``: a few hundred
    bytes, so a million records stay affordable in the parent)."""
    text: str = ""
    """What is embedded (``embedding.text.article_text``: the title and an 80-word lead)."""
    text_hash: str = ""
    """Its vector's key: an unchanged text reuses its vector."""


def record_of(article: Article, seed: SeedFile | Indexed, content_hash: str) -> ArticleRecord:
    """The one place a parsed (or carried: ``Session.carry``) article becomes its record (runs
    in the parsing workers)."""
    text = article_text(article.title, article.excerpt, article.body)
    return ArticleRecord(
        article.id,
        seed.rel,
        content_hash,
        story_features.encode(article),
        text,
        text_hash(text),
    )


@dataclass(frozen=True)
class Parsed:
    """One parsed article: its record and the target's handle on what it wrote."""

    record: ArticleRecord
    handle: Any


@dataclass
class Written:
    parsed: list[Parsed] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass
class Committed:
    documents: int
    """Documents in the index after the commit."""
    refused: list[Rejected] = field(default_factory=list)
    """Articles the index refused at commit (they are not counted as written)."""


class Session(Protocol):
    """One run's writes into a target; nothing is visible to readers before ``commit``."""

    generation: str

    def write(self, files: list[SeedFile], workers: int | None, counter: Any) -> Written:
        """Parse ``files`` and write their articles (``counter.value`` counts files done)."""
        ...

    def carry(self, live: str, documents: list[Indexed]) -> list[Parsed]:
        """Write into this (full) run's generation the ``live`` generation's versions of these
        documents (files that no longer parse), as articles parsed from them would be."""
        ...

    def discard(self, handles: list[Any]) -> None:
        """Take back written articles that lost their id to another file."""
        ...

    def delete(self, stale: dict[str, str]) -> None:
        """Delete these indexed documents (rel → id) at commit."""
        ...

    def stories(self, state: StoryState) -> None:
        """Store the story state (and each written document's story) with the commit."""
        ...

    def derived(self, kind: str, state: Any, save: derived.Save) -> None:
        """Store ``state`` (derived data of ``kind``) with the commit, as ``search.derived``
        says; a target that keeps some of it in its documents takes it from ``state`` too."""
        ...

    def commit(self) -> Committed: ...

    def abort(self) -> None:
        """Undo what was written (the run failed); the live index is untouched."""
        ...

    def cleanup(self) -> None:
        """After the report is made: remove what the live index no longer needs."""
        ...


class Target(Protocol):
    """Where an engine keeps its index, as the pipeline needs it."""

    location: str
    """``ReindexReport.index_dir``: a folder, or ``typesense:<collection>``."""
    kind: str
    """What it is, for messages (``Typesense cluster``)."""
    unreachable: tuple[type[BaseException], ...]
    """Errors meaning the index cannot be reached: the run fails with a ``ReindexError``."""

    def live(self) -> str | None:
        """The live generation, None when there is no index yet."""
        ...

    def full_reason(self, live: str | None) -> str:
        """Why the run must be full ("" when an incremental run will do)."""
        ...

    stories_in_documents: bool
    """Story ids are fields of every document: recomputing all stories needs a full run."""

    def indexed(self, generation: str) -> dict[str, Indexed]:
        """rel → what is indexed from that file in ``generation``."""
        ...

    def story_state(self, generation: str) -> StoryState | None:
        """The story state saved with the live commit of ``generation``; None if there is none."""
        ...

    def derived_file(self, generation: str, kind: str) -> Path:
        """Where the live commit of ``generation`` keeps its derived data of ``kind``."""
        ...

    def begin(self, live: str | None, full: bool) -> Session: ...

    def save_report(self, report: ReindexReport) -> None: ...


class Reindexer:
    """The contract's ``Indexer`` over one target; ``lock_dir`` holds ``reindex.lock``."""

    def __init__(self, target: Target, lock_dir: str | os.PathLike[str]) -> None:
        self.target = target
        self.lock_dir = Path(lock_dir)

    def reindex(
        self,
        seeds_dir: str | os.PathLike[str],
        *,
        full: bool = False,
        workers: int | None = None,
        lock_timeout: float = 30.0,
        progress: ProgressFn | None = None,
    ) -> ReindexReport:
        started = time.perf_counter()
        seeds = Path(seeds_dir)
        if not seeds.is_dir():
            raise ReindexError(f"seeds folder not found: {seeds}")
        try:
            self.lock_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReindexError(
                f"cannot create index folder {self.lock_dir}: {exc.strerror}"
            ) from None
        target = self.target
        report = ReindexReport(str(seeds), target.location, started_at=now_iso())
        with lock(self.lock_dir, lock_timeout):
            try:
                _run(target, report, seeds, full, workers, progress)
                report.seconds = time.perf_counter() - started
                report.finished_at = now_iso()
                report.rejected.sort(key=lambda item: item.path)
                target.save_report(report)
            except target.unreachable as exc:
                raise ReindexError(f"{target.kind} unavailable: {exc}") from exc
        return report


def _run(
    target: Target,
    report: ReindexReport,
    seeds: Path,
    full: bool,
    workers: int | None,
    progress: ProgressFn | None,
) -> None:
    files, scan_rejected = scan_seeds(seeds)
    report.rejected.extend(scan_rejected)
    live = target.live()
    reason = "requested" if full else target.full_reason(live)
    if not reason:
        assert live is not None
        indexed = target.indexed(live)
        unreadable = unreadable_folders(scan_rejected)
        on_disk = {f.rel for f in files} | {rel for rel in indexed if rel.startswith(unreadable)}
        to_parse = [seed for seed in files if _changed(seed, indexed.get(seed.rel))]
        removed = [rel for rel in indexed if rel not in on_disk]
        previous = target.story_state(live)
        hashes = {doc.id: doc.content_hash for doc in indexed.values()}
        reason = story_step.refresh_reason(
            previous,
            hashes,
            len(to_parse) + len(removed),
            in_documents=target.stories_in_documents,
        )
        lent = vectors.load(target.derived_file(live, vectors.KIND))
        reason = reason or vectors.refresh_reason(lent, hashes)
    if reason:
        report.full = True
        report.note = reason
        held = _previous(target, live)
        session = target.begin(live, full=True)
        # a new generation embeds only what the live one has no vector for
        cache = vectors.load(target.derived_file(live, vectors.KIND)) if live else None
        before = Before(None, None, cache)
        carry = (live, held) if live is not None and held else None
        written = _write(
            session, report, files, {}, set(), workers, progress, before=before, carry=carry
        )
        if live is not None and live != session.generation:
            report.deleted = len(set(held or target.indexed(live)) - set(written))
    else:
        session = target.begin(live, full=False)
        report.unchanged = len(files) - len(to_parse)
        before = Before(previous, lent, None)
        _write(session, report, to_parse, indexed, on_disk, workers, progress, removed, before)
        report.deleted = len(removed)
    report.generation = session.generation
    session.cleanup()


def _write(
    session: Session,
    report: ReindexReport,
    files: list[SeedFile],
    indexed: dict[str, Indexed],
    on_disk: set[str],
    workers: int | None,
    progress: ProgressFn | None,
    removed: Iterable[str] = (),
    before: Before | None = None,
    carry: tuple[str, dict[str, Indexed]] | None = None,
) -> list[str]:
    """Parse and write ``files``, settle duplicate ids, delete what is stale, derive the stories
    and the vectors, commit; the rels of the files written. ``indexed`` is empty in a full run.
    ``carry``: a full run's live generation and what it holds, whose versions of the files that
    fail to parse are written again."""
    before = before or Before(None, None, None)
    try:
        counter = Counter()
        with Reporter(counter, len(files), progress):
            written = session.write(files, workers, counter)
        report.rejected.extend(written.rejected)
        if carry is not None:
            live, held = carry
            broken = sorted({item.path for item in written.rejected} & set(held))
            if broken:
                written.parsed.extend(session.carry(live, [held[rel] for rel in broken]))
        parsed_rels = {item.record.rel for item in written.parsed}
        # the old version of a file that failed to parse stays indexed, and keeps its id
        keep = {
            doc.id: rel for rel, doc in indexed.items() if rel in on_disk and rel not in parsed_rels
        }
        survivors, losers = Claims(keep, report).settle(written.parsed)
        winners = {id(item) for item in survivors}
        session.discard([item.handle for item in written.parsed if id(item) not in winners])
        replaced = [rel for rel in parsed_rels if rel in indexed]
        stale = [*removed, *replaced, *losers]
        session.delete({rel: indexed[rel].id for rel in stale})
        started = time.perf_counter()
        state = story_step.derive(
            before.stories,
            {indexed[rel].id for rel in stale},
            [(item.record.id, item.record.content_hash, item.record.story) for item in survivors],
            full=not indexed,
        )
        session.stories(state)
        report.story_seconds = time.perf_counter() - started
        report.stories = len(set(state.table.story))
        started = time.perf_counter()
        made = vectors.derive(
            before.vector_state,
            {indexed[rel].id for rel in stale},
            [_vector_record(item.record) for item in survivors],
            lambda texts: encoder.shared().embed_many(texts, workers or os.cpu_count() or 1),
            full=not indexed,
            cache=before.cache,
        )
        session.derived(vectors.KIND, made.state, vectors.save)
        report.vector_seconds = time.perf_counter() - started
        report.embedded, report.vectors_reused = made.embedded, made.reused
        committed = session.commit()
    except BaseException:
        session.abort()
        raise
    report.rejected.extend(committed.refused)
    refused = {item.path for item in committed.refused}
    rels = [item.record.rel for item in survivors if item.record.rel not in refused]
    report.added = sum(1 for rel in rels if rel not in indexed)
    report.updated = sum(1 for rel in rels if rel in indexed)
    report.unchanged -= len(losers)
    report.documents = committed.documents
    return rels


@dataclass(frozen=True)
class Before:
    """The live commit's derived data an incremental run starts from (None in a full run), and
    the vectors a full run may reuse by text hash."""

    stories: StoryState | None
    vector_state: vectors.VectorState | None
    cache: vectors.VectorState | None


def _vector_record(record: ArticleRecord) -> vectors.VectorRecord:
    return vectors.VectorRecord(record.id, record.content_hash, record.text_hash, record.text)


def _previous(target: Target, live: str | None) -> dict[str, Indexed]:
    """What the live generation holds (a full run keeps its copies of files gone bad); empty
    when there is none or it cannot be read (a full run is how an unreadable index is fixed)."""
    if live is None:
        return {}
    try:
        return target.indexed(live)
    except Exception:  # noqa: BLE001 - unreadable: rebuild from the files alone
        return {}


def _changed(seed: SeedFile, known: Indexed | None) -> bool:
    return known is None or (known.stamp != seed.stamp and hash_file(seed) != known.content_hash)


class Claims:
    """One file per article id: the file whose relative path sorts first wins."""

    def __init__(self, keep: dict[str, str], report: ReindexReport) -> None:
        self.holders = dict(keep)
        """id → rel of the file holding it (unchanged indexed files first)."""
        self.kept = set(keep.values())
        self.report = report

    def settle(self, parsed: list[Parsed]) -> tuple[list[Parsed], set[str]]:
        """The parsed articles that keep their id, and the indexed files that lose theirs."""
        winners: dict[str, Parsed] = {}
        losers: set[str] = set()
        for item in sorted(parsed, key=lambda item: item.record.rel):
            doc_id, rel = item.record.id, item.record.rel
            holder = self.holders.get(doc_id)
            if holder is not None and holder < rel:
                self._reject(rel, doc_id, holder)
                continue
            if holder is not None:
                self._reject(holder, doc_id, rel)
                if holder in self.kept:
                    losers.add(holder)
            self.holders[doc_id] = rel
            winners[doc_id] = item
        return list(winners.values()), losers

    def _reject(self, rel: str, doc_id: str, winner: str) -> None:
        self.report.rejected.append(
            Rejected(rel, f"duplicate id {doc_id!r}: also in {winner}, which is kept")
        )


# -- workers and progress ------------------------------------------------------------------------


def mp_context() -> Any:
    # fork starts workers in milliseconds; it is only safe while this process has one thread
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def worker_init(counter: Any = None) -> None:
    """Workers die with the parent (Linux), so a killed reindex leaves no writer behind."""
    global worker_counter
    worker_counter = counter
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


worker_counter: Any = None
"""The shared counter of files done, in a worker process."""


def bump(counter: Any, amount: int) -> None:
    if amount:
        with counter.get_lock():
            counter.value += amount


class Counter:
    """Files done (``multiprocessing.Value``'s interface); a target whose worker processes count
    sets ``shared`` to the ``Value`` they bump."""

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()
        self.shared: Any = None

    @property
    def value(self) -> int:
        return int(self.shared.value) if self.shared is not None else self._value

    @value.setter
    def value(self, value: int) -> None:
        self._value = value

    def get_lock(self) -> threading.Lock:
        return self._lock


class Reporter:
    """Calls ``progress`` about twice a second from a thread while the work runs, and at the end
    (from ``counter.value``)."""

    def __init__(self, counter: Any, total: int, progress: ProgressFn | None) -> None:
        self.counter = counter
        self.total = total
        self.progress = progress
        self.stop = threading.Event()
        self.started = time.perf_counter()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Reporter:
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


# -- the lock ------------------------------------------------------------------------------------


class lock:
    """An exclusive ``fcntl`` lock on ``reindex.lock``: waits up to ``timeout`` seconds."""

    def __init__(self, lock_dir: Path, timeout: float) -> None:
        self.path = lock_dir / LOCK
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


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
