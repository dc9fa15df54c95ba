"""Reads on a cluster of several Typesense nodes: one node at a time, only nodes in step."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any, Protocol

from ..errors import IndexUnavailable
from .settings import KEY_PROPAGATION, TypesenseSettings, errors, unreachable


class _Engine(Protocol):
    settings: TypesenseSettings

    def scoped_key(self) -> str: ...


VIEW_TTL = 1.0
"""Seconds a view of a cluster (its document counts, the nodes in step) is used without a check."""
READ_PASSES = 3
"""Rounds over the nodes before a cluster read is given up (more while a new key propagates)."""


class ClusterReads:
    """Reads on a cluster of several nodes: one node at a time, only nodes holding current data.

    Typesense's own readiness is not enough for that. A restarted node rebuilds its state from its
    Raft log (or a snapshot) and indexes the replayed writes asynchronously; ``/health`` says ok
    and searches are answered meanwhile — by a collection still empty or half imported, an alias
    not yet there (a 404), or without the writes the node missed while it was down. The client
    library takes any 2xx as an answer, so a search could silently come back with 0 hits.

    So every multi-search carries a sentinel (``q=*`` with no filter but the key's own) whose count
    must equal the cluster's document count; that count is the one most nodes agree on, polled with
    the admin key on every node at most every ``VIEW_TTL`` seconds, and again at once when a node
    answers with another count (a reindex since the last poll, or a node out of step). Only the
    nodes holding that count are asked; a node that answers with another count, a 404 for the
    alias, a 401 for a key it has not replicated yet, a 5xx or nothing is passed over for the next
    one. When no node can answer, the request fails (``IndexUnavailable``): never a wrong answer.
    """

    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.nodes = tuple(self.settings.nodes)
        self._clients: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._turn = 0
        self._checked = -1.0e18
        """Monotonic time of the last poll."""
        self._expected: tuple[int, int] | None = None
        """The cluster's (documents, published documents) behind the alias."""
        self._admitted: tuple[str, ...] = ()

    def _client(self, url: str, include_unpublished: bool) -> Any:
        key = (url, include_unpublished)
        client = self._clients.get(key)
        if client is None:
            one = replace(self.settings, nodes=(url,), retries=0)
            client = one.client(None if include_unpublished else self.engine.scoped_key())
            with self._lock:
                client = self._clients.setdefault(key, client)
        return client

    def _counts(self, url: str) -> tuple[int, int] | None:
        alias = self.settings.collection
        body = {
            "searches": [
                {"collection": alias, "q": "*", "per_page": 0},
                {"collection": alias, "q": "*", "per_page": 0, "filter_by": "published:=true"},
            ]
        }
        try:
            results = self._client(url, True).multi_search.perform(body, {})["results"]
        except unreachable():
            return None
        if any("error" in result for result in results):
            return None
        return int(results[0].get("found", -1)), int(results[1].get("found", -1))

    def refresh(self, seen: float) -> None:
        """Poll every node, unless another thread has done so since ``seen``."""
        with self._refreshing:
            if self._checked > seen:
                return
            counts = {url: self._counts(url) for url in self.nodes}
            votes: dict[tuple[int, int], int] = {}
            for value in counts.values():
                if value is not None:
                    votes[value] = votes.get(value, 0) + 1
            with self._lock:
                if votes:
                    # most nodes; on a tie the larger count (a node that missed writes has fewer)
                    best = max(votes, key=lambda value: (votes[value], value))
                    self._expected = best
                    self._admitted = tuple(url for url, value in counts.items() if value == best)
                else:
                    self._expected, self._admitted = None, ()
                self._checked = time.monotonic()

    def view(self) -> tuple[float, tuple[int, int] | None, list[str]]:
        """(time of the poll, the cluster's counts, the nodes in step, rotated for this read)."""
        if time.monotonic() - self._checked > VIEW_TTL:
            self.refresh(self._checked)
        with self._lock:
            admitted = list(self._admitted)
            self._turn += 1
            turn = self._turn
        if admitted:
            turn %= len(admitted)
            admitted = admitted[turn:] + admitted[:turn]
        return self._checked, self._expected, admitted

    def perform(self, body: dict[str, Any], include_unpublished: bool) -> Any:
        failures = errors()
        sentinel = {"collection": self.settings.collection, "q": "*", "per_page": 0}
        full = {**body, "searches": [*body["searches"], sentinel]}
        request_errors = (
            failures.RequestMalformed,
            failures.RequestForbidden,
            failures.ObjectUnprocessable,
        )
        last: BaseException | None = None
        key_deadline = time.monotonic() + KEY_PROPAGATION
        passes = 0
        while True:
            checked, expected, nodes = self.view()
            waiting_for_key = False
            for url in nodes if expected is not None else ():
                try:
                    response = self._client(url, include_unpublished).multi_search.perform(full, {})
                except request_errors:
                    raise
                except failures.RequestUnauthorized as exc:
                    # a search key created on the leader reaches the other nodes a moment later
                    if include_unpublished:
                        raise
                    last, waiting_for_key = exc, True
                    continue
                except unreachable() as exc:  # down, not ready (503), failing
                    last = exc
                    continue
                results = response["results"]
                check = results.pop()
                if any(result.get("code") == 404 for result in results) or "error" in check:
                    last = IndexUnavailable(f"{url} has no collection {sentinel['collection']!r}")
                    continue  # an alias or collection this node has not loaded (yet)
                found = int(check.get("found", -1))
                if found != expected[0 if include_unpublished else 1]:  # type: ignore[index]
                    last = IndexUnavailable(f"{url} is out of step with the cluster")
                    continue  # loading, lagging, or the view is older than a reindex
                return response
            passes += 1
            if passes >= READ_PASSES and not (waiting_for_key and time.monotonic() < key_deadline):
                break
            self.refresh(checked)
            time.sleep(0.1)
        if expected is None and last is None:
            last = IndexUnavailable("no node of the cluster answers for the collection")
        if isinstance(last, failures.RequestUnauthorized):
            raise last
        raise IndexUnavailable(f"Typesense cluster unavailable: {last}") from last
