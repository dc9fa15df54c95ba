"""``newsfind reindex`` through CliRunner and as a real subprocess: output and exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import reindex_command, write_many

from search import errors
from search.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    write_many(folder, 5)
    return folder


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_reindex_prints_a_summary_and_exits_0(seeds: Path, tmp_path: Path) -> None:
    code, out, err = run("reindex", "--seeds-dir", str(seeds), "--index-dir", str(tmp_path / "ix"))
    assert code == errors.EXIT_OK, err
    assert "full reindex" in out
    assert "added 5, updated 0, deleted 0, unchanged 0, rejected 0" in out
    assert "docs/s" in out


def test_rejected_files_are_listed_with_reasons_and_exit_3(seeds: Path, tmp_path: Path) -> None:
    (seeds / "000_badbadbadbadbad0.txt").write_text("---\nquality: 3\n---\n", encoding="utf-8")
    code, out, err = run("reindex", "--seeds-dir", str(seeds), "--index-dir", str(tmp_path / "ix"))
    assert code == errors.EXIT_REJECTED == 3
    assert "added 5" in out
    assert "rejected 000_badbadbadbadbad0.txt: missing 'title'" in err


def test_json_report_for_cron(seeds: Path, tmp_path: Path) -> None:
    (seeds / "000_badbadbadbadbad0.txt").write_bytes(b"---\ntitle: \xff\n---\n")
    code, out, _ = run(
        "reindex", "--seeds-dir", str(seeds), "--index-dir", str(tmp_path / "ix"), "--json"
    )
    report = json.loads(out)
    assert code == report["exit_code"] == 3
    assert report["added"] == 5 and report["full"] is True
    assert report["rejected"] == [
        {"path": "000_badbadbadbadbad0.txt", "reason": "not valid UTF-8 (byte offset 11)"}
    ]


def test_missing_seeds_folder_is_one_clear_line(tmp_path: Path) -> None:
    code, out, err = run(
        "reindex", "--seeds-dir", str(tmp_path / "missing"), "--index-dir", str(tmp_path / "ix")
    )
    assert code == errors.EXIT_FATAL == 1
    assert err.strip() == f"Error: seeds folder not found: {tmp_path / 'missing'}"
    assert "Traceback" not in out + err


def test_help_documents_exit_codes() -> None:
    code, out, _ = run("reindex", "--help")
    assert code == 0
    assert "Exit codes: 0" in out and "3 some files were rejected" in out and "75" in out


def test_environment_variables_set_the_folders(seeds: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["reindex", "--json"],
        env={"NEWSFIND_SEEDS_DIR": str(seeds), "NEWSFIND_INDEX_DIR": str(tmp_path / "envix")},
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["index_dir"] == str(tmp_path / "envix")


def test_real_subprocess_progress_lines_and_exit_code(seeds: Path, tmp_path: Path) -> None:
    command = reindex_command(seeds, tmp_path / "ix")
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "reindex: 5/5 files" in first.stderr  # plain log lines when not a terminal
    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0
    assert "incremental reindex" in second.stdout and "unchanged 5" in second.stdout
    broken = subprocess.run(
        command[:5] + [str(tmp_path / "nope")] + command[6:],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert broken.returncode == 1
    assert broken.stderr.strip().startswith("Error: seeds folder not found")
