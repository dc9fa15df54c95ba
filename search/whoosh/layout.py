"""Where index generations live on disk and which one is current.

::

    index/
      CURRENT                  name of the live generation; replaced atomically (os.replace)
      gen-20261127T153000-1a2b/ a complete Whoosh index, and <kind>-<TOC number>.npz: the
                               derived data of each commit (search.derived: stories, vectors)
      last_reindex.json        the report of the last successful reindex
      reindex.lock             held (fcntl) by the running reindex

A full reindex builds a new ``gen-*`` folder and only then points ``CURRENT`` at it, so readers
see either the old or the new generation, never a half-built one. Incremental reindexes commit
into the current generation (Whoosh's table-of-contents commit is an atomic rename).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from ..errors import IndexUnavailable

POINTER = "CURRENT"
REPORT = "last_reindex.json"
GENERATION_PREFIX = "gen-"
DERIVED = re.compile(r"^(?:stories|vectors)-(\d+)\.npz$")


def current_generation(index_dir: str | os.PathLike[str]) -> str | None:
    """The name of the live generation, or None when no index has been built."""
    try:
        name = (Path(index_dir) / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not name.startswith(GENERATION_PREFIX) or "/" in name or not name[len(GENERATION_PREFIX) :]:
        raise IndexUnavailable(f"{Path(index_dir) / POINTER}: corrupt pointer {name[:60]!r}")
    return name


def open_current(index_dir: str | os.PathLike[str]) -> tuple[str, Any]:
    """Open the live generation: ``(name, whoosh Index)``; IndexUnavailable when there is none."""
    name = current_generation(index_dir)
    if name is None:
        raise IndexUnavailable(f"no index in {index_dir}: run 'newsfind reindex' first")
    path = Path(index_dir) / name
    try:
        return name, whoosh_index.open_dir(str(path))
    except (OSError, whoosh_index.EmptyIndexError) as exc:
        raise IndexUnavailable(f"cannot open index generation {path}: {exc}") from exc


def new_generation_name(now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%f")
    return f"{GENERATION_PREFIX}{stamp}-{secrets.token_hex(3)}"


def switch_to(index_dir: str | os.PathLike[str], name: str) -> None:
    """Atomically make ``name`` the live generation (write a temp file, fsync, rename)."""
    write_atomically(Path(index_dir) / POINTER, name + "\n")


def write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def generations(index_dir: str | os.PathLike[str]) -> list[str]:
    root = Path(index_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.name.startswith(GENERATION_PREFIX))


def read_report(index_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(index_dir) / REPORT).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def derived_file(generation_dir: Path, kind: str, toc: int) -> Path:
    """The derived data of ``kind`` (``search.derived.KINDS``) of the commit ``toc``."""
    return generation_dir / f"{kind}-{toc}.npz"


def stories_file(generation_dir: Path, toc: int) -> Path:
    """The story state of the commit with table of contents number ``toc``."""
    return derived_file(generation_dir, "stories", toc)


def remove_old_derived(generation_dir: Path, toc: int) -> None:
    """Keep the derived files of commit ``toc`` and the one before (a reader may be opening
    them); remove older ones and the temporary files of writes that died."""
    for path in generation_dir.iterdir():
        match = DERIVED.match(path.name)
        stale = match is not None and int(match.group(1)) < toc - 1
        temporary = path.name.startswith(".") and path.name.endswith(".tmp")
        if stale or (temporary and path.name[1:].startswith(("stories-", "vectors-"))):
            path.unlink(missing_ok=True)
