"""One commit's per-document arrays, written at reindex and memory-mapped by every reader.

A ``Snapshot`` needs, per document, the masks, dates, boosts, field lengths, id order and the
facet entries (see ``snapshot``). Computing them means reading every segment's columns and
facet posting lists: seconds at a million articles, and a private copy in every server
process. So the reindex computes them once, from the segments it is about to commit, and
writes them beside the table of contents that they belong to::

    gen-…/columns-<TOC number>.bin

written whole (a temporary file, fsync, rename) *before* that table of contents, so a commit
never exists without its file; the previous commit's file stays (a reader may be opening it)
and older ones are removed with the commit files of ``layout``. Readers map the file
read-only: the page cache holds one copy for all the processes of a server, and opening a
new generation costs a few system calls. A missing, short or foreign file (an index written
before this format, a copied folder) is not an error: the arrays are then computed from the
segments, in memory, as before; ``tests/test_columns.py`` checks that both ways agree.

Layout: ``MAGIC``, the header's length (8 bytes, little-endian), the JSON header (array names
→ dtype, shape, offset; the facet values; the average field lengths), then each array at a
64-byte aligned offset, in native byte order.
"""

from __future__ import annotations

import json
import mmap
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import ranking
from ..ranking import TEXT_FIELDS
from . import postings
from .schema import MISSING_DATE

MAGIC = b"NFCOLS1\n"
FACET_FIELDS = ("topic", "provider", "domain", "type")
_ALIGN = 64
_LENGTH = struct.Struct("<Q")


@dataclass
class Columns:
    """The arrays (in memory or mapped), the facet values and the average field lengths."""

    arrays: dict[str, np.ndarray]
    facet_values: dict[str, tuple[str, ...]]
    averages: dict[str, float]
    mapped: bool = False

    @property
    def doc_count(self) -> int:
        return len(self.arrays["live"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


def file_name(toc: int) -> str:
    return f"columns-{toc}.bin"


# -- computing -----------------------------------------------------------------------------------


def compute(reader: Any) -> Columns:
    """The arrays of the documents a Whoosh reader sees (deleted ones included, as not live)."""
    leaves: list[tuple[Any, int]] = list(reader.leaf_readers())
    n = int(reader.doc_count_all())
    arrays: dict[str, np.ndarray] = {}
    live = np.ones(n, dtype=bool)
    published = np.zeros(n, dtype=bool)
    ids: list[str] = []
    dates, quality, heat = [], [], []
    lengths: dict[str, list[np.ndarray]] = {field: [] for field in TEXT_FIELDS}
    totals = dict.fromkeys(TEXT_FIELDS, 0.0)
    for leaf, offset in leaves:
        count = leaf.doc_count_all()
        if leaf.has_deletions():
            deleted = np.fromiter(leaf.deleted_docs_set, dtype=np.int64)
            live[offset + deleted] = False
        docs, _ = postings.postings(leaf, "published", b"1")
        published[offset + docs] = True
        leaf_ids = list(leaf.column_reader("id"))
        ids.extend(leaf_ids if len(leaf_ids) == count else [""] * count)
        dates.append(postings.numeric_column(leaf, "published_at", ">i8", MISSING_DATE))
        quality.append(postings.numeric_column(leaf, "quality", ">f8", 0.0))
        heat.append(postings.numeric_column(leaf, "heat", ">f8", 0.0))
        for field in TEXT_FIELDS:
            lengths[field].append(postings.field_lengths(leaf, field))
            totals[field] += leaf.field_length(field)
    arrays["live"] = live
    arrays["published"] = published
    arrays["visible"] = live & published
    arrays["dates"] = _concat(dates, np.int64)
    arrays["dated"] = arrays["dates"] != MISSING_DATE
    arrays["quality"] = _concat(quality, np.float64)
    arrays["heat"] = _concat(heat, np.float64)
    arrays["quality_rank"] = ranking.percentile_ranks(arrays["quality"])
    arrays["heat_rank"] = ranking.percentile_ranks(arrays["heat"])
    for field, parts in lengths.items():
        arrays[f"length.{field}"] = _concat(parts, np.float32)
    arrays.update(_id_arrays(ids))
    facet_values: dict[str, tuple[str, ...]] = {}
    for field in FACET_FIELDS:
        values, facet_arrays = _facet_arrays(leaves, field, n)
        facet_values[field] = values
        arrays.update({f"facet.{field}.{name}": array for name, array in facet_arrays.items()})
    averages = {f: (totals[f] / n if n else 0.0) for f in TEXT_FIELDS}
    return Columns(arrays, facet_values, averages)


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _id_arrays(ids: list[str]) -> dict[str, np.ndarray]:
    """The ids as UTF-8 bytes end to end (``id_offsets``), documents in id order and each
    document's rank in that order (the last tie-breaker of every sort)."""
    n = len(ids)
    order = sorted(range(n), key=ids.__getitem__)
    rank = np.empty(n, dtype=np.int32)
    rank[order] = np.arange(n, dtype=np.int32)
    encoded = [text.encode("utf-8") for text in ids]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    return {
        "id_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "id_offsets": offsets,
        "id_order": np.asarray(order, dtype=np.int32),
        "id_rank": rank,
    }


def _facet_arrays(
    leaves: list[tuple[Any, int]], field: str, doc_count: int
) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """(document, value ordinal) entries grouped by value (``starts``) and by document."""
    by_value: dict[str, list[np.ndarray]] = {}
    for leaf, offset in leaves:
        for term, info in list(postings.term_infos(leaf, field, b"")):
            docs, _ = postings.postings(leaf, field, term, info)
            by_value.setdefault(term.decode("utf-8"), []).append(docs + offset)
    values = tuple(sorted(by_value))
    docs_per_value = [np.concatenate(by_value[value]) for value in values]
    sizes = np.array([len(docs) for docs in docs_per_value], dtype=np.int64)
    starts = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    entry_docs = _concat(docs_per_value, np.int32)
    entry_values = np.repeat(np.arange(len(values), dtype=np.int32), sizes)
    by_doc = np.argsort(entry_docs, kind="stable")
    doc_starts = np.zeros(doc_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(entry_docs, minlength=doc_count), out=doc_starts[1:])
    return values, {
        "entry_docs": entry_docs,
        "entry_values": entry_values,
        "starts": starts,
        "doc_starts": doc_starts,
        "values_by_doc": entry_values[by_doc],
    }


# -- the file ------------------------------------------------------------------------------------


def write(folder: Path, toc: int, columns: Columns) -> Path:
    """Write ``columns-<toc>.bin`` in ``folder`` whole (temporary file, fsync, rename)."""
    path = folder / file_name(toc)
    layout: dict[str, Any] = {}
    offset = 0
    for name, array in columns.arrays.items():
        layout[name] = [array.dtype.str, list(array.shape), offset]
        offset = _aligned(offset + array.nbytes)
    header = json.dumps(
        {
            "arrays": layout,
            "facet_values": {k: list(v) for k, v in columns.facet_values.items()},
            "averages": columns.averages,
            "doc_count": columns.doc_count,
        }
    ).encode("utf-8")
    start = _aligned(len(MAGIC) + _LENGTH.size + len(header))
    temp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    with open(temp, "wb") as handle:
        handle.write(MAGIC + _LENGTH.pack(len(header)) + header)
        for (_, _, at), array in zip(layout.values(), columns.arrays.values(), strict=True):
            handle.seek(start + at)
            handle.write(np.ascontiguousarray(array).tobytes())
        handle.truncate(start + offset)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return path


def read(folder: Path, toc: int, doc_count: int) -> Columns | None:
    """The mapped arrays of commit ``toc``; None when its file is missing or does not fit."""
    path = folder / file_name(toc)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < len(MAGIC) + _LENGTH.size:
                return None
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        return _parse(buffer, size, doc_count)
    except (ValueError, KeyError, TypeError):
        return None


def _parse(buffer: mmap.mmap, size: int, doc_count: int) -> Columns | None:
    if buffer[: len(MAGIC)] != MAGIC:
        return None
    (length,) = _LENGTH.unpack_from(buffer, len(MAGIC))
    begin = len(MAGIC) + _LENGTH.size
    if begin + length > size:
        return None
    header = json.loads(buffer[begin : begin + length])
    if header.get("doc_count") != doc_count:
        return None
    start = _aligned(begin + length)
    arrays: dict[str, np.ndarray] = {}
    for name, (dtype, shape, offset) in header["arrays"].items():
        count = int(np.prod(shape)) if shape else 1
        nbytes = count * np.dtype(dtype).itemsize
        if start + offset + nbytes > size:
            return None
        array = np.frombuffer(buffer, dtype=dtype, count=count, offset=start + offset)
        arrays[name] = array.reshape(shape)
    values = {k: tuple(v) for k, v in header["facet_values"].items()}
    return Columns(arrays, values, dict(header["averages"]), mapped=True)


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def remove_old(folder: Path, toc: int) -> None:
    """Keep the files of commit ``toc`` and the one before; remove older ones and leftovers."""
    for path in _files(folder):
        number = path.name[len("columns-") : -len(".bin")]
        if number.isdigit() and int(number) < toc - 1:
            path.unlink(missing_ok=True)
    for path in folder.glob(".columns-*.tmp"):
        path.unlink(missing_ok=True)


def _files(folder: Path) -> Iterator[Path]:
    return folder.glob("columns-*.bin")


# -- lookups -------------------------------------------------------------------------------------


def id_of(columns: Columns, doc: int) -> str:
    offsets = columns["id_offsets"]
    return bytes(columns["id_bytes"][offsets[doc] : offsets[doc + 1]]).decode("utf-8")


def doc_of(columns: Columns, article_id: str) -> int | None:
    """The live document with this id (a deleted old version may share it); None if none."""
    order = columns["id_order"]
    live = columns["live"]
    low, high = 0, len(order)
    while low < high:  # the first position whose id is not below article_id
        middle = (low + high) // 2
        if id_of(columns, int(order[middle])) < article_id:
            low = middle + 1
        else:
            high = middle
    found = None
    while low < len(order) and id_of(columns, int(order[low])) == article_id:
        doc = int(order[low])
        if live[doc]:
            found = doc  # the last one, as a dict built in document order keeps
        low += 1
    return found
