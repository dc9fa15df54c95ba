"""The story step of a reindex run (``search.reindex`` calls it between "duplicates" and
"commit"): the previous commit's ``StoryState`` + the articles deleted and (re)written in this run
→ the next ``StoryState``.

- A full reindex run, or no previous state: every article is clustered (``method.cluster``).
- An incremental run: deleted (and changed) articles leave their stories; new and changed ones
  are attached (``incremental.attach``); the state's rows are then in no particular order. When
  the articles changed incrementally since the last full story run exceed ``Params.full_after``
  of the archive, everything is clustered again from the state's rows (no file is read again),
  and the count starts over.

``refresh_reason`` says when an incremental reindex cannot use the previous state: there is none,
it is not in step with the index (a run that died between a target's writes and its state), or
the target keeps story ids in every document and all of them would change (Typesense): the run
is then a full one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from . import features, incremental, method
from .method import DEFAULTS, Params
from .state import StoryState
from .table import Table, concat


def derive(
    previous: StoryState | None,
    removed: Collection[str],
    records: Sequence[tuple[str, str, bytes]],
    *,
    full: bool,
    params: Params = DEFAULTS,
) -> StoryState:
    """The next state: ``removed`` ids leave, ``records`` (id, content hash, ``features``
    blob) are added, in whatever order they come."""
    added = features.decode(
        [record[0] for record in records],
        [record[2] for record in records],
        [record[1] for record in records],
    ).sorted()
    if full or previous is None:
        return _cluster(added, params)
    leaving = set(removed) | set(added.ids)
    keep = [i for i, row_id in enumerate(previous.table.ids) if row_id not in leaving]
    kept = previous.table.take(keep)
    gone = len(previous.table) - len(keep)
    if not len(added) and not gone:
        return previous
    changes = previous.changes + len(added) + gone
    if params.reclusters(changes, len(kept) + len(added)):
        return _cluster(concat([kept, added]).sorted(), params)
    table = (
        concat([kept, incremental.attach(kept, added, previous.df, params)]) if len(added) else kept
    )
    table, moved = _named_by_the_public(table)
    return StoryState(table, previous.df, changes, moved)


def _named_by_the_public(table: Table) -> tuple[Table, tuple[str, ...]]:
    """A story keeps its name when its first article leaves; but when that article comes back
    unpublished, a public story would be named after it: such a story takes the name of its
    earliest published article. Returns the table and the rows whose story changed."""
    unpublished = {i for i, shown in zip(table.ids, table.published.tolist(), strict=True)
                   if not shown}  # fmt: skip
    if not unpublished:
        return table, ()
    shown = table.published.tolist()
    named = {s for s, p in zip(table.story, shown, strict=True) if p and s in unpublished}
    if not named:
        return table, ()
    order = table.canonical_order().tolist()
    renamed: dict[str, str] = {}
    for row in order:
        story = table.story[row]
        if story in named and shown[row] and story not in renamed:
            renamed[story] = table.ids[row]
    stories = [renamed.get(story, story) for story in table.story]
    moved = tuple(i for i, old, new in zip(table.ids, table.story, stories, strict=True)
                  if old != new)  # fmt: skip
    return table.with_(story=stories), moved


def _cluster(table: Table, params: Params) -> StoryState:
    """Every published row clustered, then the unpublished ones attached (they count nowhere)."""
    clustered = method.cluster(table, params)
    hidden = table.take(np.flatnonzero(~table.published))
    rows = clustered.table
    if len(hidden):
        rows = concat([rows, incremental.attach(rows, hidden, clustered.df, params)])
    return StoryState(rows, clustered.df, 0)


def refresh_reason(
    state: StoryState | None,
    indexed: Mapping[str, str],
    changing: int,
    *,
    in_documents: bool,
    params: Params = DEFAULTS,
) -> str:
    """Why an incremental run must be full for its stories ("" when it need not).

    ``indexed``: id → content hash of what the live index holds; ``changing``: files this run
    adds, changes or deletes."""
    if state is None:
        return "no story state"
    if state.hashes() != dict(indexed):
        return "story state out of step with the index"
    changes = state.changes + changing
    if in_documents and params.reclusters(changes, len(indexed)):
        return (
            f"recomputing stories ({changes} articles changed since the last full story run, "
            f"over {params.full_after:.0%} of {len(indexed)})"
        )
    return ""
