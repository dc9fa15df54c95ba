"""Data derived at reindex (stories, vectors, columns): how each commit's state is stored.

Every kind of derived data is one state per index commit, in one ``.npz`` file per commit and
kind, written whole before the commit it belongs to (``search.reindex`` calls
``Session.derived(kind, state, save)`` between "duplicates" and "commit"):

- Whoosh: ``<kind>-<TOC number>.npz`` in the generation folder (``whoosh.layout.derived_file``),
  written before the table of contents (a full run: before ``CURRENT`` switches); the previous
  commit's file stays (a reader may be opening it), older ones go, as Whoosh does with segments.
- Typesense: ``<kind>-<collection>.npz`` beside the reindex lock, written before the alias
  switch of a full run and after the documents of an incremental one (the documents carry what a
  query needs of it: story ids, the vector).

``columns`` is the Whoosh engine's own kind: the per-document arrays of a commit, computed from
its segments at commit time (``whoosh.columns``) and memory-mapped by every server process.
Each segment's positions table (``whoosh.positions``) is not a kind of its own: it belongs to
one segment, never changes, and comes and goes with that segment's files.

A run that dies before its commit leaves the live commit and its files as they were; a state out
of step with the index (a run that died between a Typesense write and its state) makes the next
run full. The helpers below are the file format both kinds share: strings as one ``\\n``-joined
UTF-8 blob (ids never hold a line break), written to a temporary name, fsynced and renamed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

KINDS = ("stories", "vectors", "columns")
"""``columns``: the Whoosh engine's per-document arrays of each commit (``whoosh.columns``)."""

Save = Callable[[Any, Path], None]
"""Writes a state to a path (``write_atomically`` inside)."""


def write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` whole or not at all (temporary file, fsync, rename, directory fsync)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def blob(texts: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(texts).encode("utf-8"), dtype=np.uint8)


def strings(data: np.ndarray) -> list[str]:
    text = data.tobytes().decode("utf-8")
    return text.split("\n") if text else []
