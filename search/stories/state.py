"""The story state of one index commit, and its file.

``StoryState`` is what the next incremental run needs: every article's row (``Table``: keys,
terms, shingles, smoothed vector, story and near-duplicate group, the content hash of its file),
the document frequencies frozen at the last full story run, and how many articles changed
incrementally since. Each target saves it with its commit (``save``) and readers load only the
assignments (``load_assignments``): article id → story id, near-duplicate group.

The file is an uncompressed ``.npz`` (one array per column), in ``search.derived``'s format:
written whole or not at all.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import derived
from .table import Ragged, Table
from .vectors import DocFrequencies

FORMAT = "newsfind-stories-2"


@dataclass(frozen=True)
class StoryState:
    table: Table
    df: DocFrequencies
    changes: int = 0
    """Articles added, changed or deleted incrementally since the last full story run."""
    moved: tuple[str, ...] = ()
    """Articles not written in this run whose story changed (a target that keeps stories in
    its documents updates them); not saved."""

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
    assert table.x is not None and table.y is not None and table.terms.weights is not None
    meta = {"format": FORMAT, "documents": state.df.documents, "changes": state.changes}
    arrays: dict[str, np.ndarray] = {
        "meta": derived.blob([json.dumps(meta)]),
        "ids": derived.blob(table.ids),
        "content_hashes": derived.blob(table.content_hashes),
        "names": derived.blob(names),
        "story": np.array([index[name] for name in table.story], dtype=np.int32),
        "group": np.array([index[name] for name in table.group], dtype=np.int32),
        "t": table.t,
        "provider": table.provider,
        "published": table.published,
        "url": table.url,
        "df_hashes": state.df.hashes,
        "df_counts": state.df.counts,
        "term_counts": np.minimum(table.terms.weights, 65535).astype(np.uint16),
        "x_weights": table.x.weights.astype(np.float32),  # type: ignore[union-attr]
        "y_weights": table.y.weights.astype(np.float32),  # type: ignore[union-attr]
    }
    for name in ("related", "terms", "shingles", "x", "y"):
        rows: Ragged = getattr(table, name)
        arrays[f"{name}_ptr"] = rows.ptr
        arrays[name] = rows.values
    derived.write_atomically(path, lambda handle: np.savez(handle, **arrays))  # type: ignore[arg-type]


def load(path: Path) -> StoryState | None:
    """The state in ``path``; None when there is none or it is not one this version reads."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(derived.strings(data["meta"])[0])
            if meta.get("format") != FORMAT:
                return None
            return _state(data, meta)
    except (FileNotFoundError, OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def _state(data: Any, meta: dict[str, Any]) -> StoryState:
    names = derived.strings(data["names"])
    ragged = {
        name: Ragged(data[f"{name}_ptr"], data[name]) for name in ("related", "terms", "shingles")
    }
    terms = ragged["terms"]
    table = Table(
        ids=derived.strings(data["ids"]),
        content_hashes=derived.strings(data["content_hashes"]),
        t=data["t"],
        provider=data["provider"],
        published=data["published"],
        url=data["url"],
        related=ragged["related"],
        terms=Ragged(terms.ptr, terms.values, data["term_counts"].astype(np.float32)),
        shingles=ragged["shingles"],
        x=Ragged(data["x_ptr"], data["x"], data["x_weights"].astype(np.float64)),
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
            if json.loads(derived.strings(data["meta"])[0]).get("format") != FORMAT:
                return None
            names = derived.strings(data["names"])
            return Assignments(
                derived.strings(data["ids"]),
                [names[i] for i in data["story"].tolist()],
                [names[i] for i in data["group"].tolist()],
            )
    except (FileNotFoundError, OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
