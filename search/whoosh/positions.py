"""Term positions as plain arrays beside each segment, for phrase checks without unpickling.

Whoosh keeps a posting's positions as a pickled list of deltas inside its posting blocks, so a
phrase of two common words at a million articles unpickles tens of thousands of them per query
(0.2–0.45 s on the first pass). ``NewsSegmentWriter`` therefore writes, beside each segment it
writes, a table of the same positions as ``uint32`` arrays: ``<segment id>.nfpos`` in the
generation folder. A phrase check reads one term's entry with one ``pread`` and filters it with
numpy.

Kept in step with the segment, crash-safe:

- The table is written while the segment's posting lists are (the same terms, the same
  documents, decoded from the values just encoded), to a hidden temporary name, then fsynced
  and renamed to its final name once the segment's compound file is assembled — before the
  worker hands the segment to the parent, so before any table of contents lists it.
- A segment is never rewritten (incremental runs add segments and never merge), so its table
  never goes stale. Its name follows Whoosh's segment file pattern: when a commit drops the
  segment (or a killed run left it behind), Whoosh's own clean-up removes the table with it.
  Temporary files of a killed run are removed by the next commit (``remove_temporary``).
- A reader uses a table only if its header, size and document count check out; a segment
  without one (an older index, Whoosh's own writer) is read through its posting blocks, with the
  same answers.

File layout (little-endian): a header (``HEADER``), then one entry per term of each positional
field, ``uint32 [n, docs × n, counts × n, positions × Σcounts]`` (segment-local documents,
ascending; absolute positions, ascending within a document), then the index: the terms'
posting-list offsets in the segment's ``.pst`` (``int64``, ascending: the key Whoosh's term
info gives) and the byte offset of each entry (``int64``, one more than the terms).
"""

from __future__ import annotations

import mmap
import os
import secrets
import struct
import weakref
from array import array
from pathlib import Path
from typing import Any

import numpy as np

EXTENSION = ".nfpos"
MAGIC = b"NFPOS\x01\x00\x00"
HEADER = struct.Struct("<8sqqq")  # magic, documents, terms, offset of the index
_TEMPORARY = f"{EXTENSION}.tmp"
_LIMIT = 2**32


def file_name(segment: Any) -> str:
    return str(segment.make_filename(EXTENSION))


class TableWriter:
    """Writes one segment's table: ``add`` each term as its posting list is written, then
    ``finish`` (after the segment is complete) or ``discard``."""

    def __init__(self, folder: str | os.PathLike[str], name: str) -> None:
        self.path = Path(folder) / name
        self._temporary = self.path.with_name(f".{name}.{secrets.token_hex(4)}{_TEMPORARY}")
        self._handle = open(self._temporary, "wb")  # noqa: SIM115 - closed in finish/discard
        self._handle.write(bytes(HEADER.size))
        self._offset = HEADER.size
        self._keys = array("q")
        self._starts = array("q")

    def add(self, key: int, docs: np.ndarray, counts: np.ndarray, positions: np.ndarray) -> None:
        """One term: the offset of its posting list, and its postings' documents, position
        counts and positions. Values past ``uint32`` leave the term out (read from its blocks)."""
        if self._keys and key <= self._keys[-1]:
            raise ValueError(f"terms out of order: {key} after {self._keys[-1]}")
        if len(positions) and int(positions.max()) >= _LIMIT or len(docs) >= _LIMIT:
            return
        entry = np.concatenate(([len(docs)], docs, counts, positions)).astype("<u4")
        self._keys.append(key)
        self._starts.append(self._offset)
        self._handle.write(entry.tobytes())
        self._offset += entry.nbytes

    def finish(self, doc_count: int) -> Path:
        """Write the index and the header, fsync, and rename to the final name."""
        try:
            self._starts.append(self._offset)
            self._handle.write(np.asarray(self._keys, dtype="<i8").tobytes())
            self._handle.write(np.asarray(self._starts, dtype="<i8").tobytes())
            self._handle.seek(0)
            self._handle.write(HEADER.pack(MAGIC, doc_count, len(self._keys), self._offset))
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            os.replace(self._temporary, self.path)
        except BaseException:
            self.discard()
            raise
        return self.path

    def discard(self) -> None:
        self._handle.close()
        self._temporary.unlink(missing_ok=True)


def remove_temporary(folder: str | os.PathLike[str]) -> None:
    """Remove the temporary tables a killed run left (call it only while holding the lock)."""
    for path in Path(folder).glob(f".*{_TEMPORARY}"):
        path.unlink(missing_ok=True)


class Table:
    """One segment's table, read: ``positions(key, docs)``. The index arrays are memory-mapped
    (a lookup touches a few pages); entries are read with ``pread``, through the page cache
    that all server processes share, so they do not stay in any process's resident set."""

    def __init__(self, fd: int, buffer: mmap.mmap, terms: int, index: int) -> None:
        self._fd = fd
        # the arrays keep the map alive; it closes when the last of them goes
        self._keys = np.frombuffer(buffer, dtype="<i8", count=terms, offset=index)
        self._starts = np.frombuffer(buffer, dtype="<i8", count=terms + 1, offset=index + 8 * terms)
        self._finalizer = weakref.finalize(self, os.close, fd)

    @classmethod
    def open(cls, folder: str | os.PathLike[str], segment: Any, doc_count: int) -> Table | None:
        """The segment's table, or None when it has none that checks out."""
        try:
            fd = os.open(Path(folder) / file_name(segment), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            size = os.fstat(fd).st_size
            head = os.pread(fd, HEADER.size, 0)
            if len(head) != HEADER.size:
                raise ValueError
            magic, documents, terms, index = HEADER.unpack(head)
            if (
                magic != MAGIC
                or documents != doc_count
                or not HEADER.size <= index
                or size != index + 8 * (2 * terms + 1)
            ):
                raise ValueError
            buffer = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            os.close(fd)
            return None
        return cls(fd, buffer, terms, index)

    def positions(self, key: int, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``(document, position)`` pairs of the term whose posting list starts at ``key``, for
        those of ``docs`` (sorted, segment-local), as ``postings.positions`` gives them; None
        when the table does not hold the term."""
        where = int(np.searchsorted(self._keys, key))
        if where >= len(self._keys) or int(self._keys[where]) != key:
            return None
        start, end = int(self._starts[where]), int(self._starts[where + 1])
        entry = np.frombuffer(os.pread(self._fd, end - start, start), dtype="<u4")
        count = int(entry[0])
        ids = entry[1 : 1 + count]
        counts = entry[1 + count : 1 + 2 * count]
        found = entry[1 + 2 * count :]
        if len(ids) != count or len(counts) != count or len(found) != int(counts.sum()):
            return None
        if not len(docs) or not count:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        slot = np.minimum(np.searchsorted(docs, ids), len(docs) - 1)
        keep = docs[slot] == ids
        return (
            np.repeat(ids[keep], counts[keep]).astype(np.int64),
            found[np.repeat(keep, counts)].astype(np.int64),
        )

    def close(self) -> None:
        self._finalizer()
