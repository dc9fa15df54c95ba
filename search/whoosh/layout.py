"""Where index generations live on disk and which one is current.

::

    index/
      CURRENT                  name of the live generation; replaced atomically (os.replace)
      NEXT                     a full run's new generation, announced before CURRENT switches
      readers/<id>             one file per server process reading the index, locked (fcntl)
                               while it lives
      gen-20261127T153000-1a2b/ a complete Whoosh index, and <kind>-<TOC number>.npz: the
                               derived data of each commit (search.derived: stories, vectors,
                               the per-document columns)
      last_reindex.json        the report of the last successful reindex
      reindex.lock             held (fcntl) by the running reindex

A full reindex builds a new ``gen-*`` folder and only then points ``CURRENT`` at it, so readers
see either the old or the new generation, never a half-built one. Between the two it announces
the new generation in ``NEXT`` and waits (``wait_for_readers``, bounded) until every live reader
has warmed it (a ``.warm/<reader id>`` file in the generation), so that no request pays for the
switch. ``NEXT`` is only advice: a reader ignores one naming a generation it cannot open.
Incremental reindexes commit into the current generation (Whoosh's table-of-contents commit is
an atomic rename).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from .. import derived
from ..errors import IndexUnavailable

POINTER = "CURRENT"
ANNOUNCED = "NEXT"
READERS = "readers"
WARM = ".warm"
REPORT = "last_reindex.json"
GENERATION_PREFIX = "gen-"
_DERIVED_PREFIXES = tuple(f"{kind}-" for kind in derived.KINDS)
DERIVED = re.compile(rf"^(?:{'|'.join(derived.KINDS)})-(\d+)\.npz$")


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
    return open_generation(index_dir, name)


def open_generation(index_dir: str | os.PathLike[str], name: str) -> tuple[str, Any]:
    """Open the generation ``name`` (live or announced): ``(name, whoosh Index)``."""
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


# -- the new generation announced, and the readers that warm it ---------------------------------


def announce(index_dir: str | os.PathLike[str], name: str) -> None:
    write_atomically(Path(index_dir) / ANNOUNCED, name + "\n")


def announced(index_dir: str | os.PathLike[str]) -> str | None:
    try:
        name = (Path(index_dir) / ANNOUNCED).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if name.startswith(GENERATION_PREFIX) and "/" not in name else None


def withdraw(index_dir: str | os.PathLike[str], name: str) -> None:
    """Remove ``NEXT`` if it still names ``name``."""
    if announced(index_dir) == name:
        (Path(index_dir) / ANNOUNCED).unlink(missing_ok=True)


class Reader:
    """This process's entry in ``readers/``: a file locked for as long as the process reads
    the index (the kernel drops the lock when it dies, so a killed reader is never waited for).
    """

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        folder = Path(index_dir) / READERS
        folder.mkdir(exist_ok=True)
        self.name = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.path = folder / self.name
        # locked before it shows under its name: a reindex never takes it for a dead reader's
        temp = folder / f".{self.name}.tmp"
        self._handle = open(temp, "w")  # noqa: SIM115 - held until close()
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(temp, self.path)

    def warmed(self, generation_dir: Path) -> None:
        """Tell the reindex that this reader has warmed ``generation_dir``."""
        folder = generation_dir / WARM
        folder.mkdir(exist_ok=True)
        (folder / self.name).touch()

    def close(self) -> None:
        if not self._handle.closed:
            self.path.unlink(missing_ok=True)
            self._handle.close()


def live_readers(index_dir: str | os.PathLike[str]) -> list[str]:
    """The ids of the readers alive now; the files of dead ones are removed."""
    folder = Path(index_dir) / READERS
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    alive = []
    for name in names:
        if name.startswith("."):
            continue
        try:
            handle = open(folder / name, "a")  # noqa: SIM115 - closed below
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                alive.append(name)  # its process holds the lock
                continue
            (folder / name).unlink(missing_ok=True)  # its process is gone
    return sorted(alive)


def wait_for_readers(index_dir: str | os.PathLike[str], name: str, timeout: float) -> list[str]:
    """Wait until every live reader has warmed generation ``name``, at most ``timeout``
    seconds; the readers that had not (when the time ran out)."""
    warm = Path(index_dir) / name / WARM
    deadline = time.monotonic() + timeout
    while True:
        try:
            done = set(os.listdir(warm))
        except FileNotFoundError:
            done = set()
        waiting = [reader for reader in live_readers(index_dir) if reader not in done]
        if not waiting or time.monotonic() >= deadline:
            return waiting
        time.sleep(0.05)


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
        if stale or (temporary and path.name[1:].startswith(_DERIVED_PREFIXES)):
            path.unlink(missing_ok=True)
