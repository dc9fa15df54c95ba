"""Article vectors as data derived at reindex: the state of one commit, its file, the step.

``VectorState`` holds, sorted by article id, each article's vector (float16, unit length before
rounding), the hash of the text it was computed from (``embedding.text.text_hash``: the model's
id and the text) and the content hash of the file it came from (to check the state is in step
with the index). It is stored like the story state, with each commit of each engine
(``<kind>-<TOC number>.npz`` in a Whoosh generation folder, ``<kind>-<collection>.npz`` beside
the reindex lock for Typesense): see ``search.reindex``, "Derived data".

``derive`` is the step of a run: the previous state, minus the articles deleted or changed, plus
this run's records; a record whose text hash has a vector — in the previous state, or in the live
state when a full run builds a new generation — reuses it, so only new and changed texts are
embedded (one text per model call, ``workers`` threads).

The file (``search.derived``'s format) is an uncompressed ``.npz``; float16 halves it (1.5 KB →
768 bytes per article) and readers widen the rows they use to float32.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import derived
from .embedding.model import DIMENSIONS, MODEL_ID

FORMAT = "newsfind-vectors-1"
KIND = "vectors"


@dataclass(frozen=True)
class VectorRecord:
    id: str
    content_hash: str
    text_hash: str
    text: str


@dataclass(frozen=True)
class VectorState:
    ids: list[str]
    content_hashes: list[str]
    text_hashes: list[str]
    vectors: np.ndarray
    """(len(ids), DIMENSIONS) float16."""
    model: str = MODEL_ID

    @classmethod
    def empty(cls) -> VectorState:
        return cls([], [], [], np.zeros((0, DIMENSIONS), np.float16))

    def __len__(self) -> int:
        return len(self.ids)

    def in_step(self, indexed: dict[str, str]) -> bool:
        """Whether this state has exactly the indexed articles (id → content hash)."""
        return len(indexed) == len(self.ids) and all(
            indexed.get(article_id) == content_hash
            for article_id, content_hash in zip(self.ids, self.content_hashes, strict=True)
        )

    def by_text(self) -> dict[str, int]:
        return {text_hash: row for row, text_hash in enumerate(self.text_hashes)}


Embed = Callable[[Sequence[str]], np.ndarray]
"""Texts → their (n, DIMENSIONS) float32 unit vectors."""


@dataclass
class Derived:
    state: VectorState
    embedded: int
    reused: int


def derive(
    previous: VectorState | None,
    removed: Collection[str],
    records: Sequence[VectorRecord],
    embed: Embed,
    *,
    full: bool,
    cache: VectorState | None = None,
) -> Derived:
    """The next state (see the module docstring); ``cache`` lends vectors by text hash."""
    base = VectorState.empty() if full or previous is None else previous
    leaving = set(removed) | {record.id for record in records}
    keep = [row for row, article_id in enumerate(base.ids) if article_id not in leaving]
    lenders = [state for state in (previous, cache) if state is not None and len(state)]
    known = [(state, state.by_text()) for state in lenders]
    rows = np.zeros((len(records), DIMENSIONS), np.float16)
    missing: list[int] = []
    for position, record in enumerate(records):
        for state, rows_by_text in known:
            row = rows_by_text.get(record.text_hash)
            if row is not None:
                rows[position] = state.vectors[row]
                break
        else:
            missing.append(position)
    if missing:
        fresh = embed([records[position].text for position in missing])
        rows[missing] = fresh.astype(np.float16)
    ids = [base.ids[row] for row in keep] + [record.id for record in records]
    order = sorted(range(len(ids)), key=ids.__getitem__)
    content = [base.content_hashes[row] for row in keep] + [r.content_hash for r in records]
    texts = [base.text_hashes[row] for row in keep] + [r.text_hash for r in records]
    matrix = np.concatenate([base.vectors[keep], rows])[order] if order else rows
    state = VectorState(
        [ids[i] for i in order],
        [content[i] for i in order],
        [texts[i] for i in order],
        np.ascontiguousarray(matrix, dtype=np.float16),
    )
    return Derived(state, len(missing), len(records) - len(missing))


def refresh_reason(previous: VectorState | None, indexed: dict[str, str]) -> str:
    """Why an incremental run cannot start from ``previous`` ("" when it can)."""
    if previous is None:
        return "no vectors for the live index yet"
    if previous.model != MODEL_ID:
        return f"embedding model changed ({previous.model} → {MODEL_ID})"
    if not previous.in_step(indexed):
        return "vectors out of step with the index"
    return ""


# -- the file ------------------------------------------------------------------------------------


def save(state: VectorState, path: Path) -> None:
    """Write ``path`` whole or not at all (temporary file, fsync, rename, directory fsync)."""
    meta = {"format": FORMAT, "model": state.model, "dimensions": DIMENSIONS}
    arrays = {
        "meta": derived.blob([json.dumps(meta)]),
        "ids": derived.blob(state.ids),
        "content_hashes": derived.blob(state.content_hashes),
        "text_hashes": derived.blob(state.text_hashes),
        "vectors": np.ascontiguousarray(state.vectors, dtype=np.float16),
    }
    derived.write_atomically(path, lambda handle: np.savez(handle, **arrays))  # type: ignore[arg-type]


def load(path: Path) -> VectorState | None:
    """The state in ``path``; None when absent, unreadable or of another format or model."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(derived.strings(data["meta"])[0])
            if meta.get("format") != FORMAT:
                return None
            vectors = data["vectors"]
            state = VectorState(
                derived.strings(data["ids"]),
                derived.strings(data["content_hashes"]),
                derived.strings(data["text_hashes"]),
                vectors.reshape(-1, DIMENSIONS),
                str(meta.get("model", "")),
            )
    except (FileNotFoundError, OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if not len(state.ids) == len(state.content_hashes) == len(state.text_hashes) == len(vectors):
        return None
    return state
