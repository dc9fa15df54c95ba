"""Bulk reads from one Whoosh segment into numpy arrays: posting lists, term ranges, columns.

The engine's hot path never walks Whoosh's matchers posting by posting. These functions read a
segment's files the way ``whoosh.codec.whoosh3`` wrote them, a whole posting list or column at
a time:

- a posting list is a header (``W3Bl``) and blocks of up to 128 postings; a block is its length
  (negative for the last one), a pickled info tuple ``(count, last id, max weight, compression,
  min length, max length)`` and a zlib-compressed pickle ``(id deltas, weights, values)``. Only
  the ids and weights are wanted here, so only the head of each block is inflated and unpickled
  (the values, one ``bytes`` per posting, are most of the unpickling time);
- the term index is an ordered file of ``(key length, value length, key, value)`` records, the
  key being a two-byte field number and the term, the value a ``W3TermInfo`` (document
  frequency at byte 5);
- numeric and length columns are fixed-width arrays.

Whenever the bytes are not what this module expects, it falls back to Whoosh's own readers:
a change of codec costs speed, never correctness. The reader lock is the caller's business:
these functions touch the segment's files.
"""

from __future__ import annotations

import bisect
import io
import itertools
import os
import pickle
import re
import struct
import weakref
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from whoosh import formats
from whoosh.codec import whoosh3
from whoosh.filedb import compound, structfile
from whoosh.filedb.filetables import _lengths as _RECORD_HEADER
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

if TYPE_CHECKING:
    from .positions import Table

_MAGIC = whoosh3.WHOOSH3_HEADER_MAGIC
_INT = rb"(?:K.|M..|J....)"
_FLOAT = rb"G.{8}"
_MEMO = rb"(?:q.|r....)?"  # protocol 2 memoises with BINPUT / LONG_BINPUT, 4 with MEMOIZE
_MEMO4 = rb"\x94?"


def _head_pattern(start: bytes, memo: bytes) -> re.Pattern[bytes]:
    """The pickled ``(ids, weights, …`` tuple up to the end of the weights: ids are a tuple of
    ints (TUPLE1..3 for short ones), weights None, one float or a tuple of floats."""
    return re.compile(
        start
        + rb"(?:\((?:" + _INT + rb")*t|" + _INT + rb"{1,3}[\x85-\x87]|\))" + memo
        + rb"(?:N|" + _FLOAT + rb"|\((?:" + _FLOAT + rb")*t" + memo
        + rb"|(?:" + _FLOAT + rb"){1,3}[\x85-\x87]" + memo + rb"|\))",
        re.DOTALL,
    )  # fmt: skip


_BLOCK_HEAD = _head_pattern(rb"\x80\x02", _MEMO)
# protocol 4 (NewsSegmentWriter's blocks) opens with a FRAME of 8 length bytes
_BLOCK_HEAD4 = _head_pattern(rb"\x80\x04\x95.{8}", _MEMO4)
_FRAME_END = 11  # PROTO (2 bytes), then FRAME and its 8 length bytes
_TUPLE2_STOP = b"\x86."
_DOC_FREQ = struct.Struct("!I")
_LENGTH_TABLE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)

EMPTY_DOCS = np.zeros(0, dtype=np.int32)
EMPTY_WEIGHTS = np.zeros(0, dtype=np.float32)


def postings(leaf: Any, field: str, term: bytes, info: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(doc numbers, weights)`` of one term in one segment, deleted documents included.

    ``info``: the term's ``TermInfo`` when the caller has it already (from ``term_infos``).
    """
    if info is None:
        try:
            info = leaf._terms.term_info(field, term)
        except (KeyError, TermNotFound):
            return EMPTY_DOCS, EMPTY_WEIGHTS
    try:
        return _read_blocks(leaf, info)
    except _Unexpected:
        return _postings_by_matcher(leaf, field, term)


class _Unexpected(ValueError):
    """Data in a layout this module does not know (its callers fall back to Whoosh's own)."""


def _read_blocks(leaf: Any, info: Any) -> tuple[np.ndarray, np.ndarray]:
    if info.is_inlined():
        ids, inlined_weights, _ = info.inlined_postings()
        return np.asarray(ids, dtype=np.int32), np.asarray(inlined_weights, dtype=np.float32)
    deltas: list[int] = []
    weights: list[float] = []
    previous_last = 0
    for count, last_id, compression, payload in _blocks(leaf, info):
        ids, block_weights = _block_head(payload, count, compression)
        if len(ids) != count:
            raise _Unexpected
        if deltas:  # each block's first id is absolute: make it relative to the previous block
            ids = list(ids)
            ids[0] -= previous_last
        deltas.extend(ids)
        previous_last = last_id
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
    docs = np.cumsum(np.fromiter(deltas, dtype=np.int64, count=len(deltas)))
    return docs.astype(np.int32), np.fromiter(weights, dtype=np.float32, count=len(weights))


def _blocks(leaf: Any, info: Any) -> Iterator[tuple[int, int, int, bytes]]:
    """``(count, last id, compression, payload)`` of each block of a posting list."""
    offset, length = info.extent()
    if isinstance(length, tuple):  # whoosh3 unpacks the length without taking item 0
        length = length[0]
    data = leaf._terms._postfile.get(offset, length)
    if data[:4] != _MAGIC:
        raise _Unexpected
    position = 4
    end = len(data)
    while position < end:
        size = abs(int.from_bytes(data[position : position + 4], "big", signed=True))
        block = data[position + 4 : position + 4 + size]
        position += 4 + size
        stream = io.BytesIO(block)
        count, last_id, _, compression, _, _ = pickle.load(stream)
        yield count, last_id, compression, block[stream.tell() :]


def positions(
    leaf: Any, field: str, term: bytes, docs: np.ndarray, table: Table | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(document, position)`` pairs of a term for those of ``docs`` (sorted, segment-local):
    two flat ``int64`` arrays, one entry per occurrence, by document then position.

    From the segment's positions ``table`` when it holds the term (``search.whoosh.positions``:
    one read, no unpickling). Else only the blocks that can hold one of ``docs`` are inflated
    and unpickled, and the postings' values (each a count and a pickled list of position
    deltas) are decoded in one ``pickle.loads`` of their lists side by side.
    """
    try:
        info = leaf._terms.term_info(field, term)
    except (KeyError, TermNotFound):
        return EMPTY_POSITIONS
    if table is not None and not info.is_inlined():
        found = table.positions(info.extent()[0], docs)
        if found is not None:
            return found
    try:
        ids, values = _values_of(leaf, info, docs)
        return _decode_positions(ids, values, leaf.schema[field].format)
    except _Unexpected:
        return _positions_by_matcher(leaf, field, term, docs)


EMPTY_POSITIONS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
_VALUE_HEAD = b"\x80\x02]"  # PROTO 2, EMPTY_LIST: the start of each pickled delta list


def _values_of(leaf: Any, info: Any, docs: np.ndarray) -> tuple[np.ndarray, list[bytes]]:
    """The ids and encoded values of the postings of ``docs`` that hold the term."""
    if info.is_inlined():
        inlined_ids, _, inlined_values = info.inlined_postings()
        block_ids = np.asarray(inlined_ids, dtype=np.int64)
        keep = np.flatnonzero(np.isin(block_ids, docs))
        return block_ids[keep], [inlined_values[i] for i in keep.tolist()]
    wanted = docs.tolist()
    deltas: list[int] = []
    values: list[bytes] = []
    sizes: list[int] = []
    previous_last = -1
    for _count, last_id, compression, payload in _blocks(leaf, info):
        # does one of docs fall in this block's ids, (previous last id, last id]?
        wanted_here = bisect.bisect_right(wanted, last_id) > bisect.bisect_right(
            wanted, previous_last
        )
        previous_last = last_id
        if not wanted_here:
            continue
        raw = zlib.decompress(payload) if compression else payload
        try:
            block_deltas, _, block_values = pickle.loads(raw)
        except Exception as exc:  # noqa: BLE001 - not the layout this module knows
            raise _Unexpected from exc
        if not isinstance(block_values, tuple) or not len(block_values) == len(block_deltas):
            raise _Unexpected
        deltas.extend(block_deltas)
        values.extend(block_values)
        sizes.append(len(block_deltas))
    if not sizes:
        return EMPTY_POSITIONS[0], []
    # a block's first delta is its absolute id, so the sums restart at each block
    ids = _sums_by_group(np.asarray(deltas, dtype=np.int64), np.asarray(sizes, dtype=np.int64))
    keep = np.flatnonzero(np.isin(ids, docs, assume_unique=True))
    return ids[keep], [values[i] for i in keep.tolist()]


def _decode_positions(
    ids: np.ndarray, values: list[bytes], fmt: Any
) -> tuple[np.ndarray, np.ndarray]:
    if not values:
        return EMPTY_POSITIONS
    counts, found = decode_values(values, fmt)
    return np.repeat(ids, counts), found


def decode_values(values: list[bytes], fmt: Any) -> tuple[np.ndarray, np.ndarray]:
    """The position counts of ``Positions``-encoded posting values and all their positions
    (absolute, in order), decoded together; ``ValueError`` for values of another kind."""
    if not values:
        return EMPTY_POSITIONS
    if type(fmt) is not formats.Positions or values[0][4:7] != _VALUE_HEAD:
        raise _Unexpected
    # each value is pack_uint(count) + b"\x80\x02" + <list opcodes> + b"."; the list opcodes of
    # all values between MARK and TUPLE unpickle as one tuple of lists
    stream = b"".join([b"\x80\x02(", *[value[6:-1] for value in values], b"t."])
    try:
        lists = pickle.loads(stream)
    except Exception as exc:  # noqa: BLE001 - a value that is not a pickled list
        raise _Unexpected from exc
    if not isinstance(lists, tuple) or len(lists) != len(values):
        raise _Unexpected
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    total = int(counts.sum())
    try:
        deltas = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=total)
    except (TypeError, ValueError) as exc:
        raise _Unexpected from exc
    return counts, _sums_by_group(deltas, counts)


def _sums_by_group(deltas: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Running sums of ``deltas`` restarting at each group (``lengths`` consecutive items)."""
    running = np.cumsum(deltas)
    lengths = lengths[lengths > 0]
    firsts = np.cumsum(lengths) - lengths
    result: np.ndarray = running - np.repeat(running[firsts] - deltas[firsts], lengths)
    return result


def _positions_by_matcher(
    leaf: Any, field: str, term: bytes, docs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    matcher = leaf._terms.matcher(field, term, leaf.schema[field].format)
    found_docs: list[int] = []
    found_positions: list[int] = []
    for doc in docs.tolist():
        if matcher.is_active() and matcher.id() < doc:
            matcher.skip_to(doc)
        if not matcher.is_active():
            break
        if matcher.id() == doc:
            doc_positions = matcher.value_as("positions")
            found_docs.extend([doc] * len(doc_positions))
            found_positions.extend(doc_positions)
    return np.asarray(found_docs, dtype=np.int64), np.asarray(found_positions, dtype=np.int64)


def _block_head(payload: bytes, count: int, compression: int) -> tuple[Any, Any]:
    if not compression:
        ids, weights, _ = pickle.loads(payload)
        return ids, weights
    inflater = zlib.decompressobj()
    head = inflater.decompress(payload, 32 + 14 * count)
    match = _head_match(head)
    if match is None:
        head += inflater.decompress(inflater.unconsumed_tail)
        match = _head_match(head)
        if match is None:
            ids, weights, _ = pickle.loads(head)
            return ids, weights
    # protocol 4: leave out the FRAME, which announces more bytes than are kept
    start = _FRAME_END if head[1] == 4 else 2
    ids, weights = pickle.loads(head[:2] + head[start : match.end()] + _TUPLE2_STOP)
    return ids, weights


def _head_match(head: bytes) -> re.Match[bytes] | None:
    return (_BLOCK_HEAD4 if head[1:2] == b"\x04" else _BLOCK_HEAD).match(head)


def _postings_by_matcher(leaf: Any, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray]:
    matcher = leaf._terms.matcher(field, term, leaf.schema[field].format)
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.asarray(ids, dtype=np.int32), np.asarray(weights, dtype=np.float32)


def term_range(leaf: Any, field: str, prefix: bytes) -> Iterator[tuple[bytes, int]]:
    """``(term, document frequency)`` of every term of ``field`` starting with ``prefix``."""
    for term, record, at, _ in _records(leaf, field, prefix):
        if isinstance(record, bytes):
            yield term, _DOC_FREQ.unpack_from(record, at + 5)[0]
        else:
            yield term, record.doc_frequency()


def term_infos(leaf: Any, field: str, prefix: bytes) -> Iterator[tuple[bytes, Any]]:
    """``(term, TermInfo)`` of every term of ``field`` starting with ``prefix``."""
    for term, record, at, length in _records(leaf, field, prefix):
        if isinstance(record, bytes):
            yield term, whoosh3.W3TermInfo.from_bytes(record[at : at + length])
        else:
            yield term, record


def _records(leaf: Any, field: str, prefix: bytes) -> Iterator[tuple[bytes, Any, int, int]]:
    """``(term, chunk, offset and length of its TermInfo in chunk)`` in term order.

    The term table is read in big chunks; on the slow path (a table this module does not know)
    the tuples are ``(term, TermInfo, 0, 0)``.
    """
    terms = leaf._terms
    if field not in terms._fieldmap:
        return
    key = terms._keycoder(field, prefix)
    table = terms._tindex
    try:
        position = table.closest_key_pos(key)
    except Exception:  # noqa: BLE001 - an unexpected table: take the slow, public way
        for term, info in leaf.iter_prefix(field, prefix):
            yield term, info, 0, 0
        return
    if position is None:
        return
    dbfile = table.dbfile
    end = table.endofdata
    header = _RECORD_HEADER.size
    chunk = b""
    chunk_start = position
    while position < end:
        offset = position - chunk_start
        if offset + header > len(chunk):
            chunk = dbfile.get(position, min(65536, end - position))
            chunk_start = position
            offset = 0
        key_length, value_length = _RECORD_HEADER.unpack_from(chunk, offset)
        record_end = offset + header + key_length + value_length
        if record_end > len(chunk):
            chunk = dbfile.get(position, max(65536, header + key_length + value_length))
            chunk_start = position
            continue
        record_key = chunk[offset + header : offset + header + key_length]
        if not record_key.startswith(key):
            return
        yield record_key[2:], chunk, offset + header + key_length, value_length
        position += header + key_length + value_length


def doc_frequency(leaf: Any, field: str, term: bytes) -> int:
    try:
        return int(leaf._terms.term_info(field, term).doc_frequency())
    except (KeyError, TermNotFound):
        return 0


def numeric_column(leaf: Any, field: str, dtype: str, default: float | int) -> np.ndarray:
    """A ``COLUMN(NumericColumn(...))`` field of one segment as an array (``dtype`` big-endian)."""
    count = leaf.doc_count_all()
    values = np.full(count, default, dtype=np.dtype(dtype).newbyteorder("="))
    perdoc = leaf._perdoc
    if not perdoc.has_column(field):
        return values
    reader = perdoc.column_reader(field, leaf.schema[field].column_type)
    stored = min(reader._count, count)
    raw = reader._dbfile.get(reader._basepos, stored * reader._fixedlen)
    values[:stored] = np.frombuffer(raw, dtype=dtype, count=stored)
    return values


def field_lengths(leaf: Any, field: str) -> np.ndarray:
    """Per-document token counts of a field (Whoosh stores them as one lossy byte each)."""
    count = leaf.doc_count_all()
    reader = leaf._perdoc._cached_reader(whoosh3._lenfield(field), whoosh3.LENGTHS_COLUMN)
    if reader is None:
        return np.zeros(count, dtype=np.float32)
    stored = min(reader._count, count)
    codes = np.zeros(count, dtype=np.uint8)
    codes[:stored] = np.frombuffer(reader._dbfile.get(reader._basepos, stored), dtype=np.uint8)
    return _LENGTH_TABLE[codes]


class _LazyBufferFile(structfile.BufferFile):  # type: ignore[misc]
    """A ``BufferFile`` that copies its buffer into a ``BytesIO`` only when first read as a file.

    Whoosh's compound segments hand out every sub-file (postings, term index, columns, stored
    fields) as a ``BufferFile`` over the segment's memory map, whose constructor copies the
    sub-file into a ``BytesIO`` for ``seek``/``read``. This module and Whoosh's lookups use
    ``get`` (a slice of the map) instead, so the copy — the size of the index — is mostly never
    needed. Behaviour is unchanged: the first ``seek``/``read`` makes the copy.
    """

    def __init__(self, buf: Any, name: str | None = None, onclose: Any = None) -> None:
        self._buf = buf
        self._name = name
        self._stream: io.BytesIO | None = None
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    @property
    def file(self) -> io.BytesIO:
        if self._stream is None:
            self._stream = io.BytesIO(self._buf)
        return self._stream

    @file.setter
    def file(self, stream: io.BytesIO) -> None:
        self._stream = stream

    def release(self) -> None:
        """Drop the copy (the next ``seek``/``read`` makes a new one)."""
        self._stream = None

    def close(self) -> None:
        if self.is_closed:
            raise Exception("This file is already closed")
        if self.onclose:
            self.onclose(self)
        if self._stream is not None:
            self._stream.close()
        self.is_closed = True


def lazy_compound_buffers() -> None:
    """Open compound segment files as ``_LazyBufferFile``s from now on (idempotent)."""
    compound.BufferFile = _LazyBufferFile


class _Descriptor:
    """A read-only file descriptor closed when nothing uses it any more (no ``ResourceWarning``
    for a snapshot that is simply dropped), with the ``seek``/``read`` that ``SubFile`` calls."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._position = 0
        self._finalizer = weakref.finalize(self, os.close, self.fd)

    def seek(self, position: int, whence: int = 0) -> None:
        self._position = position

    def read(self, size: int) -> bytes:
        data = os.pread(self.fd, size, self._position)
        self._position += len(data)
        return data

    def close(self) -> None:
        self._finalizer()


class _PreadFile(structfile.StructFile):  # type: ignore[misc]
    """A segment's posting file read with ``os.pread`` from the compound file, not mapped.

    Posting lists are most of an index's bytes. Read through the segment's memory map, every
    page a query touched stays in the resident set of each server process that touched it
    (counted once per process); read with ``pread``, the bytes pass through the page cache,
    shared by all processes, and a request keeps only the lists it decodes. ``get`` is one
    system call per posting list; Whoosh's own matchers (the fallback paths) read through the
    ``StructFile`` interface as before.
    """

    def __init__(self, path: str, offset: int, length: int, name: str) -> None:
        self._descriptor = _Descriptor(path)
        super().__init__(compound.SubFile(self._descriptor, offset, length, name=name), name=name)
        self._offset = offset
        self._length = length

    def get(self, position: int, length: int) -> bytes:
        length = max(0, min(length, self._length - position))
        data = os.pread(self._descriptor.fd, length, self._offset + position)
        if len(data) != length:
            raise OSError(f"{self._name}: short read at {position}")
        return data

    def close(self) -> None:
        self._descriptor.close()  # (a finalizer: only its first call closes)
        self.is_closed = True


def read_postings_unmapped(leaf: Any, folder: str) -> bool:
    """Serve this segment's posting lists from ``_PreadFile`` (True) instead of its memory
    map; a segment that is not a mapped compound file keeps its file (False)."""
    storage = getattr(leaf, "_storage", None)
    files = getattr(storage, "a", storage)  # OverlayStorage(compound, folder): ``a``
    terms = getattr(leaf, "_terms", None)
    if not isinstance(files, compound.CompoundStorage) or files._source is None or terms is None:
        return False
    segment = leaf.segment()
    name = segment.make_filename(whoosh3.W3Codec.POSTS_EXT)
    try:
        offset, length = files.range(name)
    except NameError:
        return False
    path = os.path.join(folder, segment.make_filename(getattr(segment, "COMPOUND_EXT", ".seg")))
    if os.path.getsize(path) < offset + length:
        return False
    replaced = terms._postfile
    terms._postfile = _PreadFile(path, offset, length, name)
    replaced.close()
    return True


def release_term_table_copy(leaf: Any) -> None:
    """Free the copy of a segment's term table made when Whoosh read its header.

    The term table is only read with ``get`` afterwards (by Whoosh's lookups and this module).
    """
    table_file = getattr(getattr(leaf._terms, "_tindex", None), "dbfile", None)
    if isinstance(table_file, _LazyBufferFile):
        table_file.release()
