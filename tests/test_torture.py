"""A torture corpus: good articles mixed with every bad kind, 100,000 empty files, hostile YAML,
symbolic links out of the folder and a FIFO. The real ``newsfind reindex`` must finish in bounded
time and memory, index every good article, report every bad one, and execute or read nothing
outside the seeds folder.

Unreadable files and folders: root reads a mode-000 file all the same, so when the tests run as
root the reindex runs without the two capabilities that let it (``CAP_DAC_OVERRIDE``,
``CAP_DAC_READ_SEARCH``, dropped from the bounding set before ``exec``): it is then refused as
any user would be. Where even that is impossible the test says so and skips."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from factory import article_text, file_name, reindex_command, write_many

from search.whoosh import layout

REPO = Path(__file__).resolve().parents[1]
EMPTY_FILES = 100_000
MEMORY_LIMIT = 3 * 1024**3


def billion_laughs() -> str:
    lines = [
        "---",
        "title: Laughs",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    previous = "a"
    for letter in "bcdefghij":
        lines.append(f"{letter}: &{letter} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = letter
    lines += [f"topics: *{previous}", "---", ""]
    return "\n".join(lines)


def build_torture_corpus(seeds: Path, outside: Path) -> tuple[int, dict[str, str]]:
    """Write the corpus; return (number of good articles, {bad file: expected reason part})."""
    good = len(write_many(seeds, 40))
    marker = outside / "executed"
    bad = {
        "big.txt": "larger than",
        "random.txt": "not valid UTF-8",
        "only_fence.txt": "unterminated front matter",
        "laughs.txt": "'topics' item 1 must be text",
        "python_tag.txt": "invalid YAML",
        "deep_nesting.txt": "invalid YAML",
        "no_title.txt": "missing 'title'",
        "bad_date.txt": "'publishedDateTime' is not a date",
        "wrong_type.txt": "'quality' must be a number",
        "not_mapping.txt": "not a mapping",
        "link_outside.txt": "outside the seeds folder",
        "link_loop.txt": "cannot read",
        "fifo.txt": "not a regular file",
        "empty_front.txt": "empty front matter",
        "bad_id.txt": "invalid id",
        "long_title.txt": "'title' is longer than",
        "int_tag.txt": "a value cannot be read",
        "huge_int.txt": "a value cannot be read",
        "bad_bool.txt": "'published' must be true or false",
        "nan_quality.txt": "'quality' must be a finite number",
        "tab_yaml.txt": "invalid YAML at line 3",
        "nul.txt": "invalid YAML",
        "zz_duplicate.txt": "duplicate id",
    }
    with open(seeds / "big.txt", "wb") as handle:
        handle.write(article_text("Big").encode())
        handle.write(b"x" * (50 * 1024 * 1024))
    (seeds / "random.txt").write_bytes(os.urandom(1 << 16) + b"\xff\xfe")
    (seeds / "only_fence.txt").write_text("---", encoding="utf-8")
    (seeds / "laughs.txt").write_text(billion_laughs(), encoding="utf-8")
    (seeds / "python_tag.txt").write_text(
        f"---\ntitle: !!python/object/apply:os.mkdir [{str(marker)!r}]\n---\n", encoding="utf-8"
    )
    (seeds / "deep_nesting.txt").write_text(
        "---\ntitle: Deep\nx: " + "[" * 50_000 + "]" * 50_000 + "\n---\n", encoding="utf-8"
    )
    (seeds / "no_title.txt").write_text("---\nexcerpt: nothing\n---\n", encoding="utf-8")
    (seeds / "bad_date.txt").write_text(
        article_text("Bad date", date="yesterday"), encoding="utf-8"
    )
    (seeds / "wrong_type.txt").write_text(
        article_text("Wrong type").replace("quality: 50", "quality: high"), encoding="utf-8"
    )
    (seeds / "not_mapping.txt").write_text("---\n- a\n- b\n---\n", encoding="utf-8")
    secret = outside / "secret.txt"
    secret.write_text(article_text("Secret outside the seeds folder"), encoding="utf-8")
    (seeds / "link_outside.txt").symlink_to(secret)
    (seeds / "link_loop.txt").symlink_to(seeds / "link_loop.txt")
    os.mkfifo(seeds / "fifo.txt")
    (seeds / "empty_front.txt").write_text("---\n---\nbody\n", encoding="utf-8")
    (seeds / "bad_id.txt").write_text(article_text("Bad id", doc_id="a b/c"), encoding="utf-8")
    (seeds / "long_title.txt").write_text(article_text("t" * 5000), encoding="utf-8")
    (seeds / "int_tag.txt").write_text("---\ntitle: x\nquality: !!int abc\n---\n", encoding="utf-8")
    (seeds / "huge_int.txt").write_text(
        f"---\ntitle: x\nheat: {'9' * 5000}\n---\n", encoding="utf-8"
    )
    (seeds / "bad_bool.txt").write_text(
        article_text("Maybe").replace("published: true", "published: maybe"), encoding="utf-8"
    )
    (seeds / "nan_quality.txt").write_text(
        article_text("NaN").replace("quality: 50", "quality: .nan"), encoding="utf-8"
    )
    (seeds / "tab_yaml.txt").write_text("---\ntitle: x\n\tbad: 1\n---\n", encoding="utf-8")
    (seeds / "nul.txt").write_text("---\ntitle: \x00\n---\n", encoding="utf-8")
    # the id of write_many's first article; the smaller path (000_...) wins
    (seeds / "zz_duplicate.txt").write_text(
        article_text("Duplicate", doc_id=file_name(0)[4:20]), encoding="utf-8"
    )
    (seeds / "bom_crlf.txt").write_text(
        "\ufeff" + article_text("Byte order mark and CRLF lines").replace("\n", "\r\n"),
        encoding="utf-8",
    )
    good += 1
    (seeds / "dir_outside").symlink_to(outside, target_is_directory=True)  # never descended
    (seeds / "unreadable.txt").write_text(article_text("Unreadable"), encoding="utf-8")
    (seeds / "unreadable.txt").chmod(0)
    write_many(seeds / "locked", 2, start=1000)
    (seeds / "locked").chmod(0)
    bad["unreadable.txt"] = "cannot read file: Permission denied"
    bad["locked/"] = "cannot read folder: Permission denied"
    empty = seeds / "empty"
    empty.mkdir()
    for number in range(EMPTY_FILES):
        (empty / f"{number:06d}.txt").touch()
    return good, bad


PR_CAPBSET_DROP = 24
DAC_CAPABILITIES = (1, 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


def _confine() -> None:
    """In the reindex child before ``exec``: bounded memory, and root loses the right to read
    what a file's mode forbids."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in DAC_CAPABILITIES:
            libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)


def run_reindex(seeds: Path, index: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = reindex_command(seeds, index, "--json")
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_confine)  # fmt: skip


def skip_unless_unreadable(path: Path) -> None:
    probe = [sys.executable, "-c", f"open({str(path)!r}, 'rb')"]
    if subprocess.run(probe, capture_output=True, preexec_fn=_confine).returncode == 0:
        pytest.skip("cannot make a file unreadable here (root without CAP_SETPCAP?)")


def restore_modes(seeds: Path) -> None:
    """Let pytest clean the temporary folder up."""
    for path in [seeds, *seeds.rglob("*")]:
        if not path.is_symlink() and not stat.S_ISFIFO(path.lstat().st_mode):
            path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.slow
def test_torture_corpus_is_indexed_safely(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    outside = tmp_path / "outside"
    seeds.mkdir()
    outside.mkdir()
    try:
        good, bad = build_torture_corpus(seeds, outside)
        skip_unless_unreadable(seeds / "unreadable.txt")
        index = tmp_path / "index"
        result = run_reindex(seeds, index, timeout=900)
    finally:
        restore_modes(seeds)
    assert result.returncode == 3, result.stderr[-2000:]
    report = json.loads(result.stdout)
    reasons = {item["path"]: item["reason"] for item in report["rejected"]}
    assert report["added"] == good
    for name, expected in bad.items():
        assert expected in reasons[name], (name, reasons.get(name))
    empties = [path for path in reasons if path.startswith("empty/")]
    assert len(empties) == EMPTY_FILES
    assert all("no front matter" in reasons[path] for path in empties[:100])
    assert len(reasons) == len(bad) + EMPTY_FILES
    assert not (outside / "executed").exists()

    _, ix = layout.open_current(index)
    with ix.searcher() as searcher:
        titles = [fields["title"] for fields in searcher.all_stored_fields()]
    assert len(titles) == good
    assert not any("Secret" in title for title in titles)


def test_unreadable_files_and_folders_are_reported_and_what_was_indexed_stays(
    tmp_path: Path,
) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    write_many(seeds, 6)
    write_many(seeds / "locked", 3, start=100)
    assert run_reindex(seeds, index).returncode == 0
    changed = sorted(seeds.glob("*.txt"))[1]
    changed.write_text(article_text("Changed, then unreadable"), encoding="utf-8")
    new = seeds / "new_unreadable.txt"
    new.write_text(article_text("Never readable"), encoding="utf-8")
    for path in (changed, new, seeds / "locked"):
        path.chmod(0)
    try:
        skip_unless_unreadable(changed)
        result = run_reindex(seeds, index)
    finally:
        restore_modes(seeds)
    assert result.returncode == 3, result.stderr[-2000:]
    report = json.loads(result.stdout)
    reasons = {item["path"]: item["reason"] for item in report["rejected"]}
    assert reasons == {
        changed.name: "cannot read file: Permission denied",
        new.name: "cannot read file: Permission denied",
        "locked/": "cannot read folder: Permission denied",
    }
    # nothing is lost: the unreadable file's previous version and the folder's articles stay
    assert (report["deleted"], report["documents"]) == (0, 9)
    _, ix = layout.open_current(index)
    with ix.searcher() as searcher:
        titles = {fields["path"]: fields["title"] for fields in searcher.all_stored_fields()}
    assert titles[changed.name].startswith("Article number 1 ")
    assert sum(path.startswith("locked/") for path in titles) == 3
