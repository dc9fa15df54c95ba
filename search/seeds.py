"""The seeds folder: which article files it holds, and reading one of them.

``scan_seeds`` lists every ``*.txt`` file (hidden files skipped) with a stamp (size and
modification time: an unchanged stamp means an unchanged file, unread); ``parse_seed`` reads and
parses one, with the content hash that tells a touched file from a changed one. Both engines'
reindex targets read files only through here.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .articles import MAX_FILE_BYTES, Article, ArticleError, parse_article
from .contract import Rejected
from .errors import ReindexError

SEED_SUFFIX = ".txt"


@dataclass(frozen=True)
class SeedFile:
    rel: str
    """The path relative to the seeds folder: what matches a file to its indexed document."""
    path: str
    stamp: str
    """``size-mtime_ns``: equal stamps mean an unchanged file without reading it."""


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


def unreadable_folders(rejected: list[Rejected]) -> tuple[str, ...]:
    return tuple(item.path for item in rejected if item.path.endswith(os.sep))


def _is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def parse_seed(seed: SeedFile) -> tuple[Article, str]:
    """The article of a seed file and the file's content hash; ``ArticleError`` when bad."""
    data = read_limited(seed.path)
    return parse_article(data, seed.rel), digest(data)


def read_limited(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ArticleError(path, f"cannot read file: {exc.strerror or exc}") from None


def hash_file(seed: SeedFile) -> str:
    try:
        return digest(read_limited(seed.path))
    except ArticleError:
        return ""


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
