"""One commit's per-document arrays, written at reindex and memory-mapped by every reader.

A ``Snapshot`` needs, per document, the masks, dates, boosts, field lengths, id order and the
facet entries (see ``snapshot``). Computing them means reading every segment's columns and
facet posting lists: seconds at a million articles, and a private copy in every server
process. So the reindex computes them once, from the segments it is about to commit, and stores
them as one more kind of derived data of that commit (``search.derived``)::

    gen-…/columns-<TOC number>.npz

written whole (a temporary file, fsync, rename) *before* that table of contents, kept and
removed with the other derived files (``layout.remove_old_derived``). The ``.npz`` is
uncompressed, so readers map each array in place, read-only: the page cache holds one copy for
all the processes of a server, and opening a new generation costs a few system calls. A
missing, short or foreign file (an index written before this format, a copied folder) is not an
error: the arrays are then computed from the segments, in memory, as before;
``tests/test_columns.py`` checks that both ways agree.
"""

from __future__ import annotations

import io
import json
import mmap
import struct
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from .. import derived, ranking
from ..ranking import TEXT_FIELDS
from . import postings
from .schema import MISSING_DATE

KIND = "columns"
"""The kind of derived data (``search.derived``) these arrays are stored as."""
FACET_FIELDS = ("topic", "provider", "domain", "type")
_META = "_meta"
_NPY_HEAD = 4096  # an .npy header is far shorter
_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


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


# -- the file (search.derived: one .npz per commit, written before its table of contents) -------


def save(data: Columns, path: Path) -> None:
    """``derived.Save``: the arrays as an uncompressed ``.npz`` (each member can be mapped), the
    facet values, averages and document count as a JSON member."""
    meta = {
        "facet_values": {k: list(v) for k, v in data.facet_values.items()},
        "averages": data.averages,
        "doc_count": data.doc_count,
    }
    members: dict[str, Any] = {k: np.ascontiguousarray(v) for k, v in data.arrays.items()}
    members[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    derived.write_atomically(path, lambda handle: np.savez(handle, **members))


def load(path: Path, doc_count: int) -> Columns | None:
    """The mapped arrays of the file at ``path``; None when it is missing or does not fit."""
    arrays = _mapped_npz(path)
    if arrays is None or _META not in arrays:
        return None
    try:
        meta = json.loads(arrays.pop(_META).tobytes())
        if meta["doc_count"] != doc_count or len(arrays.get("live", ())) != doc_count:
            return None
        values = {k: tuple(v) for k, v in meta["facet_values"].items()}
        return Columns(arrays, values, dict(meta["averages"]), mapped=True)
    except (ValueError, KeyError, TypeError):
        return None


def _mapped_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an uncompressed ``.npz``, each over a read-only map of the file (the page
    cache holds one copy for every process); None if the file is not one."""
    try:
        with open(path, "rb") as handle:
            with zipfile.ZipFile(handle) as archive:
                members = archive.infolist()
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    arrays: dict[str, np.ndarray] = {}
    for member in members:
        if member.compress_type != zipfile.ZIP_STORED or not member.filename.endswith(".npy"):
            return None
        at = member.header_offset
        if buffer[at : at + 4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack_from("<HH", buffer, at + 26)
        start = at + 30 + name_length + extra_length
        head = io.BytesIO(buffer[start : start + _NPY_HEAD])
        try:
            version = np.lib.format.read_magic(head)
            read_header = _NPY_HEADERS[version]
            shape, fortran, dtype = read_header(head)
        except (ValueError, KeyError):
            return None
        count = int(np.prod(shape)) if shape else 1
        offset = start + head.tell()
        if fortran or dtype.hasobject or offset + count * dtype.itemsize > len(buffer):
            return None
        array = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
        arrays[member.filename[: -len(".npy")]] = array.reshape(shape)
    return arrays


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


class Ids(Sequence[str]):
    """Every document's id, by document number (``Snapshot.ids``), read from the arrays."""

    def __init__(self, columns: Columns) -> None:
        self._columns = columns

    def __len__(self) -> int:
        return self._columns.doc_count

    @overload
    def __getitem__(self, doc: int) -> str: ...
    @overload
    def __getitem__(self, doc: slice) -> list[str]: ...
    def __getitem__(self, doc: int | slice) -> str | list[str]:
        if isinstance(doc, slice):
            return [id_of(self._columns, d) for d in range(len(self))[doc]]
        if not -len(self) <= doc < len(self):
            raise IndexError(doc)
        return id_of(self._columns, int(doc) % len(self))


class LiveDocs:
    """The live document of each id (``Snapshot.doc_of_id``), looked up in the id order: no
    dictionary of every id in each process."""

    def __init__(self, columns: Columns) -> None:
        self._columns = columns

    def get(self, article_id: str, default: int | None = None) -> int | None:
        found = doc_of(self._columns, article_id)
        return default if found is None else found

    def __getitem__(self, article_id: str) -> int:
        found = doc_of(self._columns, article_id)
        if found is None:
            raise KeyError(article_id)
        return found

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and doc_of(self._columns, article_id) is not None

    def many(self, article_ids: Iterable[str]) -> np.ndarray:
        """The live documents of many ids at once (-1 for an id with none), through one
        temporary dictionary: for derived data loaded per generation (vectors, stories)."""
        live = self._columns["live"]
        ids = Ids(self._columns)
        found = {ids[doc]: doc for doc in np.flatnonzero(live).tolist()}
        return np.array([found.get(i, -1) for i in article_ids], dtype=np.int64)
