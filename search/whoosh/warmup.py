"""A new generation opened and warmed before requests use it, so no reader pays for a reindex.

After a full reindex every clause of the old snapshot's cache must be read again from the new
generation's posting lists: at 100k articles a first query costs 2–3 times a repeated one, at
a million up to ten times. Two paths avoid that:

- **Full runs** announce their new generation in ``NEXT`` before switching ``CURRENT`` and wait
  (bounded) for the live readers (``layout.Reader``). Each server process's ``Watcher`` (a
  daemon thread polling ``NEXT``) opens the announced generation, replays the most valuable
  entries of the live snapshot's cache into it (``warm``, time-bounded), keeps it ready and
  says so; when ``CURRENT`` switches, the next request swaps the warm snapshot in at once.
- **Incremental runs** commit in place (a new table of contents): the request that sees it opens
  the new snapshot (cheap: the arrays are mapped, ``columns``) and a thread warms it from the
  previous one while requests go on.

The data other modules derive from a whole generation (``Snapshot.derived``: the story index,
the vectors) is built first, for the kinds the previous snapshot had built. Only cache entries
that mean the same in any generation are replayed: a term's or a phrase's
vector, prefix expansions, date slots, facet value lists (not documents, whose numbers change).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import dense, layout, stories
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .engine import WhooshEngine

log = logging.getLogger(__name__)

WARM_SECONDS = 10.0
"""The most time one warm-up spends replaying cache entries."""
WARM_ENTRIES = 5000
"""The most cache entries one warm-up replays (the most valuable first)."""
POLL_SECONDS = 0.1

_REPLAY: dict[str, Callable[[Snapshot, tuple[Any, ...]], object]] = {
    "t": lambda s, key: s.term(key[1], key[2]),
    "p": lambda s, key: s.words(key[1], key[2]),
    "xv": lambda s, key: s.prefix(key[1], key[2]),
    "x": lambda s, key: s.expand(key[1], key[2]),
    "v": lambda s, key: s.vocabulary(key[1], key[2]),
    "slots": lambda s, key: s.date_slots(key[1]),
    "c": lambda s, key: s.visible_counts(key[1], key[2]),
    "f": lambda s, key: s.folded_values(key[1]),
    "newest": lambda s, key: s.newest(key[1]),
}


_DERIVED: dict[str, Callable[[Snapshot], object]] = {
    "stories": stories.story_index,
    "dense": dense.dense_index,
}


def warm(fresh: Snapshot, previous: Snapshot, seconds: float = WARM_SECONDS) -> int:
    """Compute in ``fresh`` what ``previous`` holds in its cache (the most valuable entries
    first) for at most ``seconds``; how many entries were replayed."""
    deadline = time.perf_counter() + seconds
    replayed = 0
    # what other modules derive from a whole generation (the stories, the vectors) first:
    # the dearest thing a first request after the switch would otherwise build
    for name in previous.derived_names():
        build = _DERIVED.get(name)
        if build is not None:
            build(fresh)
            replayed += 1
    for key in previous.cached_keys()[:WARM_ENTRIES]:
        replay = _replay_of(key)
        if replay is None:
            continue
        if time.perf_counter() >= deadline:
            break
        replay(fresh, key)  # type: ignore[arg-type]
        replayed += 1
    return replayed


def _replay_of(key: Hashable) -> Callable[[Snapshot, tuple[Any, ...]], object] | None:
    if isinstance(key, tuple) and key and isinstance(key[0], str):
        return _REPLAY.get(key[0])
    return None


def warm_in_background(fresh: Snapshot, previous: Snapshot) -> threading.Thread:
    thread = threading.Thread(
        target=_warm_quietly, args=(fresh, previous), name="newsfind-warm", daemon=True
    )
    thread.start()
    return thread


def _warm_quietly(fresh: Snapshot, previous: Snapshot) -> None:
    try:
        warm(fresh, previous)
    except Exception:  # noqa: BLE001 - a warm-up is an optimisation; requests compute anyway
        log.warning("warming %s failed", fresh.name, exc_info=True)


class Watcher:
    """Prepares the generation a full reindex announces, in a daemon thread of this process."""

    def __init__(self, engine: WhooshEngine, poll: float = POLL_SECONDS) -> None:
        self.engine = engine
        self.index_dir = Path(engine.index_dir)
        self.poll = poll
        self.reader = layout.Reader(self.index_dir)
        self.prepared: Snapshot | None = None
        self._failed: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsfind-watch", daemon=True)
        self._thread.start()

    def take(self, key: tuple[str, int]) -> Snapshot | None:
        """The prepared snapshot if it is the generation ``key`` (it is handed over once)."""
        prepared = self.prepared
        if prepared is not None and prepared.key == key:
            self.prepared = None
            return prepared
        return None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.reader.close()
        if self.prepared is not None:
            self.prepared.close()
            self.prepared = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self._check()
            except Exception:  # noqa: BLE001 - keep watching; requests do not depend on it
                log.warning("preparing an announced generation failed", exc_info=True)

    def _check(self) -> None:
        name = layout.announced(self.index_dir)
        current = self.engine.current()
        prepared = self.prepared
        if prepared is not None and prepared.name != name and prepared.name != current.name:
            self.prepared = None  # the announcement was withdrawn or replaced
        if name is None or name == current.name or name in self._failed:
            return
        if self.prepared is not None and self.prepared.name == name:
            return
        try:
            fresh = Snapshot.open_generation(self.index_dir, name, self.engine.cache_bytes)
        except Exception:  # noqa: BLE001 - a generation that cannot be opened is not waited on
            self._failed.add(name)
            if (self.index_dir / name).is_dir():
                self.reader.warmed(self.index_dir / name)
            return
        warm(fresh, current)
        self.prepared = fresh
        self.reader.warmed(self.index_dir / name)
