"""A torture corpus: good articles mixed with every bad kind, 100,000 empty files, hostile YAML,
symbolic links out of the folder and a FIFO. The real ``newsfind reindex`` must finish in bounded
time and memory, index every good article, report every bad one, and execute or read nothing
outside the seeds folder."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from factory import article_text, write_many

from search import layout

REPO = Path(__file__).resolve().parents[1]
EMPTY_FILES = 100_000
MEMORY_LIMIT = 3 * 1024**3


def billion_laughs() -> str:
    lines = ["---", "title: Laughs", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
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
    (seeds / "bad_date.txt").write_text(article_text("Bad date", date="yesterday"), encoding="utf-8")
    (seeds / "wrong_type.txt").write_text(
        article_text("Wrong type").replace("quality: 50", "quality: high"), encoding="utf-8"
    )
    (seeds / "not_mapping.txt").write_text("---\n- a\n- b\n---\n", encoding="utf-8")
    secret = outside / "secret.txt"
    secret.write_text(article_text("Secret outside the seeds folder"), encoding="utf-8")
    (seeds / "link_outside.txt").symlink_to(secret)
    (seeds / "link_loop.txt").symlink_to(seeds / "link_loop.txt")
    os.mkfifo(seeds / "fifo.txt")
    empty = seeds / "empty"
    empty.mkdir()
    for number in range(EMPTY_FILES):
        (empty / f"{number:06d}.txt").touch()
    return good, bad


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.slow
def test_torture_corpus_is_indexed_safely(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    outside = tmp_path / "outside"
    seeds.mkdir()
    outside.mkdir()
    good, bad = build_torture_corpus(seeds, outside)
    index = tmp_path / "index"
    command = [sys.executable, "-m", "search.cli", "reindex", "--seeds-dir", str(seeds),
               "--index-dir", str(index), "--json"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900,
                            preexec_fn=_limit_memory)
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
