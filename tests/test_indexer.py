"""The reindex: incremental add/change/delete, full switch, duplicates, locks, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factory import article_text, file_name, reindex_command, write_article, write_many
from whoosh import index as whoosh_index
from whoosh.query import Every

from search import errors
from search import reindex as pipeline
from search.whoosh import layout
from search.whoosh import target as indexer

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


def _run_and_kill(seeds: Path, index: Path, delay: float, full: bool) -> None:
    command = reindex_command(seeds, index, "-q", "--workers", "2", *(["--full"] if full else []))
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_a_searchable_index(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    index = tmp_path / "index"
    write_many(seeds, 900)
    indexer.reindex(seeds, index)
    expected = indexed_ids(index)
    write_many(seeds, 300, start=900)
    for delay in (0.05, 0.3, 0.6, 1.0, 1.5, 2.2, 3.0):
        _run_and_kill(seeds, index, delay, full=delay > 1)
        ids = indexed_ids(index)  # opens and answers after every kill
        assert len(ids) in (900, 1200)
        assert set(expected) <= set(ids)
    report = indexer.reindex(seeds, index)
    assert report.documents == 1200
    assert len(indexed_ids(index)) == 1200
    assert len(layout.generations(index)) <= 2


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
