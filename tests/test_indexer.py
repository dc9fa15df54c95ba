"""The reindex: incremental add/change/delete, full switch, duplicates, locks, crashes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from factory import article_text, file_name, reindex_command, write_article, write_many
from test_reliability import MARKERS, Corpus, article_id, title
from whoosh import index as whoosh_index
from whoosh.query import Every

from search import errors, vectors
from search import reindex as pipeline
from search.contract import SearchRequest
from search.documents import stored_to_article
from search.embedding.encoder import shared
from search.embedding.text import article_text as embedded_text
from search.whoosh import layout
from search.whoosh import target as indexer
from search.whoosh.engine import WhooshEngine
from search.whoosh.snapshot import probe

REPO = Path(__file__).resolve().parents[1]


def indexed_ids(index_dir: Path) -> dict[str, str]:
    """id → title of every live document in the current generation."""
    _, ix = layout.open_current(index_dir)
    with ix.searcher() as searcher:
        return {hit["id"]: hit["title"] for hit in searcher.search(Every(), limit=None)}


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    write_many(folder, 12)
    return folder


def test_first_run_builds_a_full_generation(seeds: Path, tmp_path: Path) -> None:
    report = indexer.reindex(seeds, tmp_path / "index")
    assert report.full and report.note == "no index yet"
    assert (report.added, report.updated, report.deleted, report.rejected) == (12, 0, 0, [])
    assert report.documents == 12
    assert report.exit_code == errors.EXIT_OK
    assert layout.current_generation(tmp_path / "index") == report.generation
    assert len(indexed_ids(tmp_path / "index")) == 12
    saved = layout.read_report(tmp_path / "index")
    assert saved is not None and saved["added"] == 12 and saved["generation"] == report.generation


def test_incremental_adds_changes_and_deletes(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    indexer.reindex(seeds, index)
    files = sorted(seeds.iterdir())
    files[0].unlink()
    changed = files[1]
    changed.write_text(article_text("A brand new headline"), encoding="utf-8")
    write_article(seeds, file_name(500), "Freshly added story")
    report = indexer.reindex(seeds, index)
    assert not report.full
    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 10)
    titles = indexed_ids(index)
    assert len(titles) == 12
    assert titles[changed.stem.split("_")[1]] == "A brand new headline"
    assert files[0].stem.split("_")[1] not in titles
    assert "Freshly added story" in titles.values()


def test_unchanged_files_are_recognised_without_reading_them(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    indexer.reindex(seeds, index)
    target = sorted(seeds.iterdir())[3]
    stat = target.stat()
    # same size and modification time: the file is not even read, so this broken content is
    # never parsed (a later change of mtime would expose it)
    target.write_bytes(b"x" * stat.st_size)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = indexer.reindex(seeds, index)
    assert (report.unchanged, report.updated, report.rejected) == (12, 0, [])


def test_touched_but_identical_files_are_not_reparsed(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    indexer.reindex(seeds, index)
    for path in seeds.iterdir():
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000_000))
    report = indexer.reindex(seeds, index)
    assert (report.unchanged, report.added, report.updated) == (12, 0, 0)


def test_a_broken_change_keeps_the_indexed_version(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    indexer.reindex(seeds, index)
    target = sorted(seeds.iterdir())[2]
    doc_id = target.stem.split("_")[1]
    before = indexed_ids(index)[doc_id]
    target.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    report = indexer.reindex(seeds, index)
    assert [r.path for r in report.rejected] == [target.name]
    assert "invalid YAML" in report.rejected[0].reason
    assert report.exit_code == errors.EXIT_REJECTED
    assert indexed_ids(index)[doc_id] == before


def test_duplicate_ids_keep_the_first_path_and_report_the_other(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    write_article(seeds, "000_aaaaaaaaaaaaaaaa.txt", "First", doc_id="same")
    write_article(seeds, "001_bbbbbbbbbbbbbbbb.txt", "Second", doc_id="same")
    report = indexer.reindex(seeds, tmp_path / "index")
    assert indexed_ids(tmp_path / "index") == {"same": "First"}
    assert len(report.rejected) == 1
    rejected = report.rejected[0]
    assert rejected.path == "001_bbbbbbbbbbbbbbbb.txt"
    assert (
        "duplicate id 'same'" in rejected.reason and "000_aaaaaaaaaaaaaaaa.txt" in rejected.reason
    )


def test_a_new_duplicate_that_sorts_first_replaces_the_indexed_one(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    index = tmp_path / "index"
    write_article(seeds, "005_bbbbbbbbbbbbbbbb.txt", "Old holder", doc_id="same")
    indexer.reindex(seeds, index)
    write_article(seeds, "001_aaaaaaaaaaaaaaaa.txt", "New holder", doc_id="same")
    report = indexer.reindex(seeds, index)
    assert indexed_ids(index) == {"same": "New holder"}
    assert [r.path for r in report.rejected] == ["005_bbbbbbbbbbbbbbbb.txt"]


def test_duplicates_across_worker_processes(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    write_many(seeds, pipeline.PARALLEL_THRESHOLD + 20)
    write_article(seeds, "zzz_dup.txt", "Duplicate of the first", doc_id=file_name(0)[4:20])
    report = indexer.reindex(seeds, tmp_path / "index", workers=2)
    assert report.added == pipeline.PARALLEL_THRESHOLD + 20
    assert [r.path for r in report.rejected] == ["zzz_dup.txt"]
    ids = indexed_ids(tmp_path / "index")
    assert len(ids) == pipeline.PARALLEL_THRESHOLD + 20
    assert ids[file_name(0)[4:20]].startswith("Article number 0 ")


def test_full_reindex_switches_generation_and_old_searchers_keep_working(
    seeds: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    first = indexer.reindex(seeds, index).generation
    _, old_ix = layout.open_current(index)
    old_searcher = old_ix.searcher()
    second = indexer.reindex(seeds, index, full=True)
    assert second.full and second.generation != first
    assert layout.current_generation(index) == second.generation
    assert old_searcher.doc_count() == 12  # the replaced generation is still on disk
    assert len(list(old_searcher.documents())) == 12
    old_searcher.close()
    third = indexer.reindex(seeds, index, full=True).generation
    assert layout.generations(index) == sorted([second.generation, third])


def test_schema_change_forces_a_full_rebuild(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    generation = indexer.reindex(seeds, index).generation
    (index / generation / indexer.SCHEMA_MARK).write_text("0\n", encoding="utf-8")
    report = indexer.reindex(seeds, index)
    assert report.full and "schema changed" in report.note


def test_unreadable_and_outside_files_are_rejected(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    write_many(seeds, 2)
    outside = tmp_path / "outside.txt"
    outside.write_text(article_text("Secret outside"), encoding="utf-8")
    (seeds / "link_out.txt").symlink_to(outside)
    (seeds / "loop.txt").symlink_to(seeds / "loop.txt")
    (seeds / "notes.md").write_text("not an article", encoding="utf-8")
    report = indexer.reindex(seeds, tmp_path / "index")
    reasons = {r.path: r.reason for r in report.rejected}
    assert "outside the seeds folder" in reasons["link_out.txt"]
    assert "cannot read" in reasons["loop.txt"]
    assert report.added == 2
    assert "Secret outside" not in indexed_ids(tmp_path / "index").values()


def test_missing_seeds_folder_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(errors.ReindexError, match="seeds folder not found"):
        indexer.reindex(tmp_path / "nope", tmp_path / "index")
    assert not (tmp_path / "index" / layout.POINTER).exists()


def _hold_lock(index: Path) -> subprocess.Popen[bytes]:
    index.mkdir(parents=True, exist_ok=True)
    code = (
        "import fcntl, sys, time\n"
        f"h = open({str(index / pipeline.LOCK)!r}, 'a+')\n"
        "fcntl.flock(h.fileno(), fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == b"locked"
    return holder


def test_a_second_reindex_waits_then_gives_up_clearly(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    indexer.reindex(seeds, index)
    holder = _hold_lock(index)
    try:
        started = time.monotonic()
        with pytest.raises(errors.LockTimeout, match="another reindex is running"):
            indexer.reindex(seeds, index, lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    # the kernel released the dead holder's lock: no stale lock to clean up
    assert indexer.reindex(seeds, index, lock_timeout=5).unchanged == 12


def test_two_real_reindex_processes_serialise(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    command = reindex_command(seeds, index, "--json", "--lock-timeout", "60")
    runs = [
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outcomes = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outcomes
    assert len(indexed_ids(index)) == 12
    assert len(layout.generations(index)) == 1


# --- SIGKILL at on-disk moments of a run ----------------------------------------------------------

_SEGMENT_FILE = re.compile(r"^(MAIN_[0-9a-z]{16})\.")
"""A segment's file in a generation folder: ``MAIN_<segment id>.<kind>`` (trm, pst, col, seg...)."""


def _uncommitted_files(generation: Path) -> set[str]:
    """Files of segments that the generation's table of contents does not list (none while a
    commit replaces the table under our feet: it is read again at the next poll)."""
    try:
        toc = whoosh_index.open_dir(str(generation))._read_toc()
        listed = {segment.segment_id() for segment in toc.segments}
        names = os.listdir(generation)
    except (OSError, whoosh_index.EmptyIndexError):
        return set()
    return {
        name
        for name in names
        if (match := _SEGMENT_FILE.match(name)) is not None and match.group(1) not in listed
    }


def _files(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


@dataclass(frozen=True)
class _Before:
    """What the index folder holds before a run: its commit and what killed runs left."""

    key: tuple[str, int] | None
    live: Path
    uncommitted: set[str]
    generations: set[str]

    @classmethod
    def of(cls, index: Path) -> _Before:
        live = index / str(layout.current_generation(index))
        generations = set(layout.generations(index))
        return cls(probe(index), live, _uncommitted_files(live), generations)

    @property
    def toc(self) -> int:
        assert self.key is not None
        return self.key[1]

    def new_files(self) -> set[str]:
        """Files of segments begun since, uncommitted, in the live generation."""
        return _uncommitted_files(self.live) - self.uncommitted

    def new_generations(self, index: Path) -> list[Path]:
        return [index / name for name in sorted(set(layout.generations(index)) - self.generations)]


MOMENTS: dict[str, Callable[[_Before, Path], bool]] = {
    # each holds while the run writes, before its commit: an incremental run commits a new table
    # of contents, a full run switches CURRENT to its new generation
    "incremental: a new segment started": lambda b, index: bool(b.new_files()),
    "incremental: a new segment's columns written": lambda b, index: any(
        name.endswith(".col") for name in b.new_files()
    ),
    "incremental: a new segment complete, not committed": lambda b, index: any(
        name.endswith(".seg") for name in b.new_files()
    ),
    "incremental: the commit's column file being written or written": lambda b, index: any(
        name.startswith((".columns-", f"columns-{b.toc + 1}.")) for name in _files(b.live)
    ),
    "full: a new generation started": lambda b, index: bool(b.new_generations(index)),
    "full: a segment of the new generation complete": lambda b, index: any(
        name.endswith(".seg") for folder in b.new_generations(index) for name in _files(folder)
    ),
    "full: the new generation's column file being written or written": lambda b, index: any(
        name.startswith((".columns-", "columns-"))
        for folder in b.new_generations(index)
        for name in _files(folder)
    ),
    # (a server process that never warms it holds the run here: see _kill_at)
    "full: the new generation announced, servers warming it": lambda b, index: (
        layout.announced(index) is not None
    ),
    "full: the new generation complete, not switched": lambda b, index: any(
        indexer.SCHEMA_MARK in _files(folder) for folder in b.new_generations(index)
    ),
    # the story state of the commit being made: written whole, before its table of contents
    "incremental: the next story state written, not committed": lambda b, index: (
        b.key is not None and layout.stories_file(b.live, b.key[1] + 1).name in _files(b.live)
    ),
    "full: the new generation's story state written, not switched": lambda b, index: any(
        name.startswith("stories-")
        for folder in b.new_generations(index)
        for name in _files(folder)
    ),
    # the vectors of the commit being made (search.vectors), written whole after the story state
    "incremental: the next vector state written, not committed": lambda b, index: (
        b.key is not None
        and layout.derived_file(b.live, "vectors", b.key[1] + 1).name in _files(b.live)
    ),
    "full: the new generation's vector state written, not switched": lambda b, index: any(
        name.startswith("vectors-")
        for folder in b.new_generations(index)
        for name in _files(folder)
    ),
}
TRIES = {moment: 8 if "state written" in moment else 4 for moment in MOMENTS}
"""Runs tried per moment (a derived state is committed a few milliseconds after it is written)."""


def _kill_at(seeds: Path, index: Path, moment: str, before: _Before) -> bool:
    """Run a real reindex and SIGKILL it at ``moment``; True if the kill interrupted the run.

    When the moment shows on disk, the run's process group is stopped (SIGSTOP) and killed only
    if it has not committed yet, so that every kill lands inside the run's work. A run that
    committed before it could be stopped (a moment shorter than a poll) is let finish: False.
    A run that ends without showing the moment fails the test."""
    full = moment.startswith("full")
    command = reindex_command(seeds, index, "-q", "--workers", "2", *(["--full"] * full))
    silent = layout.Reader(index) if "announced" in moment else None  # alive, never warms
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while process.poll() is None and not MOMENTS[moment](before, index):
            assert time.monotonic() < deadline, f"no {moment!r} within 120 s"
            time.sleep(0.002)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGSTOP)
            stopped_before_commit = probe(index) == before.key
            signal_to_send = signal.SIGKILL if stopped_before_commit else signal.SIGCONT
            os.killpg(process.pid, signal_to_send)
    finally:
        if process.poll() is None and time.monotonic() >= deadline:
            os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate(timeout=120)
        if silent is not None:
            silent.close()
    assert process.returncode in (0, -signal.SIGKILL), stderr.decode()[-3000:]
    if process.returncode == 0:
        assert probe(index) != before.key, f"the run ended without {moment!r} showing on disk"
        return False
    return True


def _assert_stories_in_step(index: Path, moment: str) -> None:
    """The live commit's story state: present, holding exactly the indexed articles (at their
    content hashes), and what the engine serves."""
    live = str(layout.current_generation(index))
    state = indexer.WhooshTarget(index).story_state(live)
    assert state is not None, moment
    _, ix = layout.open_current(index)
    with ix.searcher() as searcher:
        hashes = {f["id"]: f["content_hash"] for f in searcher.all_stored_fields()}
    assert state.hashes() == hashes, moment
    engine = WhooshEngine(index)
    try:
        grouped = engine.search(SearchRequest(group="story", per_page=1))
        shown = np.asarray(state.table.published).tolist()
        visible = {s for s, p in zip(state.table.story, shown, strict=True) if p}
        assert grouped.stories == len(visible), moment
    finally:
        engine.close()


def _assert_vectors_in_step(index: Path, moment: str) -> None:
    """The live commit's vectors: present, one per indexed article (at its content hash), each
    the vector of that article's text, and searched by the engine."""
    target = indexer.WhooshTarget(index)
    live = str(layout.current_generation(index))
    state = vectors.load(target.derived_file(live, vectors.KIND))
    assert state is not None, moment
    _, ix = layout.open_current(index)
    with ix.searcher() as searcher:
        stored = {f["id"]: f for f in searcher.all_stored_fields()}
    assert state.in_step({i: f["content_hash"] for i, f in stored.items()}), moment
    encoder = shared()
    for row in (0, len(state.ids) - 1):
        fields = stored[state.ids[row]]
        article = stored_to_article(json.loads(fields["doc"]), body=fields.get("body", ""))
        text = embedded_text(article.title, article.excerpt, article.body)
        assert np.allclose(state.vectors[row], encoder.embed(text), atol=1e-3), moment
    engine = WhooshEngine(index)
    try:
        first = stored_to_article(json.loads(stored[state.ids[0]]["doc"]))
        nearest = engine.search(SearchRequest(q=first.title, mode="semantic"))
        assert state.ids[0] in [hit.article.id for hit in nearest.hits[:3]], moment
    finally:
        engine.close()


def _titles_of(state: dict[int, str]) -> dict[str, str]:
    return {article_id(number): title(number, version) for number, version in state.items()}


@pytest.mark.slow
def test_sigkill_while_writing_leaves_the_last_commit_searchable(tmp_path: Path) -> None:
    """Kills land at on-disk moments of real runs (a segment or a generation being written), and
    each one interrupted its run: what it wrote is on disk, uncommitted; the live index is the last
    committed one, whole and searchable; the next run needs no clean-up."""
    index = tmp_path / "index"
    seeds = Corpus(tmp_path / "seeds")  # numbered stories at a version, a marker word each
    a_state = {number: "a" for number in range(900)}
    # from one to the other: 450 changed, 300 added or deleted (over 400 files: 2 workers)
    b_state = {number: "b" if number < 450 else "a" for number in range(1200)}
    seeds.apply(a_state)
    indexer.reindex(seeds.folder, index)
    committed = a_state
    interrupted: dict[str, int] = {}
    missed: dict[str, int] = {}
    for moment in MOMENTS:
        for _ in range(TRIES[moment]):  # a moment of a few milliseconds can pass between polls
            # the seeds hold the state the index does not: every run has work to do
            target = b_state if committed is a_state else a_state
            seeds.apply(target)
            before = _Before.of(index)
            if not _kill_at(seeds.folder, index, moment, before):
                missed[moment] = missed.get(moment, 0) + 1
                committed = target
                continue
            interrupted[moment] = interrupted.get(moment, 0) + 1
            # what the kill interrupted is on disk, uncommitted
            assert probe(index) == before.key, moment
            if moment.startswith("full"):
                assert before.new_generations(index), moment
            else:
                assert before.new_files(), moment
            # the live index is the last committed one, whole and searchable, with its stories
            assert indexed_ids(index) == _titles_of(committed), moment
            _assert_stories_in_step(index, moment)
            _assert_vectors_in_step(index, moment)
            engine = WhooshEngine(index)
            try:
                assert engine.snapshot().columns.mapped, moment  # the commit's own file
                assert engine.search(SearchRequest(per_page=1)).total == len(committed), moment
                for version in ("a", "b"):
                    marked = sum(v == version for v in committed.values())
                    found = engine.search(SearchRequest(q=MARKERS[version], mode="keyword")).total
                    assert found == marked, (moment, version)
            finally:
                engine.close()
            break
    print(f"\nkills that interrupted a run: {interrupted}; missed (the run finished): {missed}")
    assert interrupted == dict.fromkeys(MOMENTS, 1), (interrupted, missed)
    # the next run needs no clean-up: it completes, and leaves nothing of the killed ones behind
    seeds.apply(b_state if committed is a_state else a_state)
    report = indexer.reindex(seeds.folder, index, lock_timeout=0)
    assert (report.full, report.rejected, report.documents) == (False, [], len(seeds.versions))
    assert indexed_ids(index) == _titles_of(seeds.versions)
    live = index / str(layout.current_generation(index))
    assert _uncommitted_files(live) == set()
    assert not (live / "MAIN.tmp").exists()
    assert not list(live.glob(".columns-*"))
    assert layout.announced(index) is None
    older = [name for name in layout.generations(index) if name != live.name]
    assert len(older) <= 1 and all(name < live.name for name in older), older


def test_generation_folder_of_a_crashed_full_run_is_cleaned(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    indexer.reindex(seeds, index)
    stray = index / "gen-20000101T000000-dead00"
    stray.mkdir()
    (stray / "MAIN_x.seg").write_bytes(b"half written")
    indexer.reindex(seeds, index, full=True)
    assert not stray.exists()


def test_whoosh_sees_one_consistent_commit(seeds: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    report = indexer.reindex(seeds, index)
    ix = whoosh_index.open_dir(str(index / report.generation))
    assert ix.doc_count() == 12


@pytest.mark.shared
@pytest.mark.slow
def test_end_to_end_over_a_shared_corpus_folder(shared_dir: Path, tmp_path: Path) -> None:
    folder = shared_dir / "corpus" / "agnews"
    files = sorted(folder.glob("*.txt"))
    report = indexer.reindex(folder, tmp_path / "index", workers=2)
    assert (report.added, report.rejected) == (len(files), [])
    _, ix = layout.open_current(tmp_path / "index")
    with ix.searcher() as searcher:
        assert searcher.doc_count() == len(files)
        stored = searcher.document(id=files[0].stem.split("_", 1)[1])
        assert stored is not None and "secured" not in stored["doc"]
    again = indexer.reindex(folder, tmp_path / "index")
    assert (again.unchanged, again.added, again.updated) == (len(files), 0, 0)
