"""The story state of one index commit, and its file.

``StoryState`` is what the next incremental run needs: every article's row (``Table``: keys,
terms, shingles, smoothed vector, story and near-duplicate group, the content hash of its file),
the document frequencies frozen at the last full story run, and how many articles changed
incrementally since. Each target saves it with its commit (``save``) and readers load only the
assignments (``load_assignments``): article id → story id, near-duplicate group.

The file is an uncompressed ``.npz`` (one array per column; strings as one ``\\n``-joined
UTF-8 blob, since ids never hold a line break), written to a temporary name, flushed and renamed:
a reader sees a whole file or none.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .table import Ragged, Table
from .vectors import DocFrequencies

FORMAT = "newsfind-stories-1"


@dataclass(frozen=True)
class StoryState:
    table: Table
    df: DocFrequencies
    changes: int = 0
    """Articles added, changed or deleted incrementally since the last full story run."""

    def hashes(self) -> dict[str, str]:
        """Article id → content hash of the file its row was computed from."""
        return dict(zip(self.table.ids, self.table.content_hashes, strict=True))


@dataclass(frozen=True)
class Assignments:
    """What readers need: each article's story and near-duplicate group."""

    ids: list[str]
    story: list[str]
    group: list[str]

    @classmethod
    def empty(cls) -> Assignments:
        return cls([], [], [])


def save(state: StoryState, path: Path) -> None:
    """Write ``path`` whole or not at all (temporary file, fsync, rename, directory fsync)."""
    table = state.table
    names = sorted(set(table.story) | set(table.group))
    index = {name: number for number, name in enumerate(names)}
    assert table.y is not None and table.terms.weights is not None
    meta = {"format": FORMAT, "documents": state.df.documents, "changes": state.changes}
    arrays: dict[str, np.ndarray] = {
        "meta": _blob([json.dumps(meta)]),
        "ids": _blob(table.ids),
        "content_hashes": _blob(table.content_hashes),
        "names": _blob(names),
        "story": np.array([index[name] for name in table.story], dtype=np.int32),
        "group": np.array([index[name] for name in table.group], dtype=np.int32),
        "t": table.t,
        "provider": table.provider,
        "published": table.published,
        "url": table.url,
        "df_hashes": state.df.hashes,
        "df_counts": state.df.counts,
        "term_counts": np.minimum(table.terms.weights, 65535).astype(np.uint16),
        "y_weights": table.y.weights.astype(np.float32),  # type: ignore[union-attr]
    }
    for name in ("related", "terms", "shingles", "y"):
        rows: Ragged = getattr(table, name)
        arrays[f"{name}_ptr"] = rows.ptr
        arrays[name] = rows.values
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def load(path: Path) -> StoryState | None:
    """The state in ``path``; None when there is none or it is not one this version reads."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(_strings(data["meta"])[0])
            if meta.get("format") != FORMAT:
                return None
            return _state(data, meta)
    except (FileNotFoundError, OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def _state(data: Any, meta: dict[str, Any]) -> StoryState:
    names = _strings(data["names"])
    ragged = {
        name: Ragged(data[f"{name}_ptr"], data[name]) for name in ("related", "terms", "shingles")
    }
    terms = ragged["terms"]
    table = Table(
        ids=_strings(data["ids"]),
        content_hashes=_strings(data["content_hashes"]),
        t=data["t"],
        provider=data["provider"],
        published=data["published"],
        url=data["url"],
        related=ragged["related"],
        terms=Ragged(terms.ptr, terms.values, data["term_counts"].astype(np.float32)),
        shingles=ragged["shingles"],
        y=Ragged(data["y_ptr"], data["y"], data["y_weights"].astype(np.float64)),
        story=[names[i] for i in data["story"].tolist()],
        group=[names[i] for i in data["group"].tolist()],
    )
    df = DocFrequencies(data["df_hashes"], data["df_counts"], int(meta["documents"]))
    return StoryState(table, df, int(meta["changes"]))


def load_assignments(path: Path) -> Assignments | None:
    """Only the assignments of the state in ``path`` (readers); None when absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = _strings(data["names"])
            return Assignments(
                _strings(data["ids"]),
                [names[i] for i in data["story"].tolist()],
                [names[i] for i in data["group"].tolist()],
            )
    except (FileNotFoundError, OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def _blob(texts: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(texts).encode("utf-8"), dtype=np.uint8)


def _strings(blob: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
