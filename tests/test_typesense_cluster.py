"""A 3-node Typesense cluster on 127.0.0.1: losing a node mid-load loses no request, and the node
catches up with the writes it missed once restarted. Skipped only without the server binary."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from search.contract import SearchRequest

pytest.importorskip("typesense", reason="the typesense client is not installed (extra 'typesense')")
from factory import write_article  # noqa: E402

from devtools import typesense_local as ts_dev  # noqa: E402
from search import typesense as ts  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    try:
        ts_dev.server_binary()
    except ts_dev.ServerUnavailable as exc:
        pytest.skip(f"no Typesense server binary: {exc}")
    cluster = ts_dev.LocalCluster.create(tmp_path_factory.mktemp("cluster"), 3)
    with cluster:
        yield cluster


class Load:
    """One client asking the same search in a loop (at most 600 s) and keeping every answer."""

    def __init__(self, search: Any) -> None:
        self.search = search
        self.totals: list[int] = []
        self.failures: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.totals.append(self.search())
            except BaseException as exc:  # noqa: BLE001 - every failure counts
                self.failures.append(exc)
            self.stop.wait(0.02)

    def wait_for(self, what: str, done: Any, seconds: float = 120.0) -> None:
        """Until ``done()`` holds (polled; the test fails after ``seconds`` or on a failure)."""
        deadline = time.monotonic() + seconds
        while not done():
            assert not self.failures, self.failures[:3]
            assert self.thread.is_alive(), f"the load stopped before {what}"
            assert time.monotonic() < deadline, f"waited {seconds:g} s for {what}"
            time.sleep(0.05)


def test_node_loss_and_catch_up(cluster: Any, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    settings = ts.TypesenseSettings(tuple(cluster.urls), cluster.api_key, "news")
    lock = tmp_path / "lock"
    assert ts.reindex(seeds, settings, lock_dir=lock).exit_code == 0
    engine = ts.TypesenseEngine(settings)
    expected = engine.search(SearchRequest(q="tram council")).total
    assert expected > 0

    load = Load(lambda: engine.search(SearchRequest(q="tram council")).total)
    load.thread.start()
    try:
        load.wait_for("5 answers", lambda: len(load.totals) >= 5)
        cluster.stop_node(0)  # returns once the process has exited
        assert not ts_dev.health(cluster.urls[0])
        down = len(load.totals)
        # the other two nodes keep answering, every request
        load.wait_for("10 answers with node 1 down", lambda: len(load.totals) >= down + 10)
        # and the cluster, two nodes of three, still takes writes: an incremental reindex
        unchanged = len(load.totals)
        write_article(
            seeds, "950_catchup000000001.txt", "Gondola council tram vote", topics=["Transport"]
        )
        report = ts.reindex(seeds, settings, lock_dir=lock)
        assert (report.added, report.exit_code) == (1, 0)
        written = len(load.totals)
        load.wait_for("the new article in an answer", lambda: expected + 1 in load.totals[written:])
        cluster.start_node(0, timeout=90)
        assert ts_dev.health(cluster.urls[0])
        back = len(load.totals)
        load.wait_for("10 answers after the restart", lambda: len(load.totals) >= back + 10)
    finally:
        load.stop.set()
        load.thread.join(60)
    assert not load.failures, load.failures[:3]
    # the old count before the write, then only the old or the new one
    assert set(load.totals[:unchanged]) == {expected}
    assert set(load.totals[unchanged:]) <= {expected, expected + 1}

    # the restarted node alone: it catches up with the write it missed
    alone = ts.TypesenseEngine(ts.TypesenseSettings((cluster.urls[0],), cluster.api_key, "news"))
    deadline = time.monotonic() + 60
    while True:
        try:
            if alone.search(SearchRequest(q="gondola", include_unpublished=True)).total == 1:
                break
        except Exception:  # noqa: BLE001 - still joining
            pass
        assert time.monotonic() < deadline, "the restarted node never caught up"
        time.sleep(0.5)
    assert alone.get("catchup000000001").title == "Gondola council tram vote"
