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


def test_node_loss_and_catch_up(cluster: Any, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    settings = ts.TypesenseSettings(tuple(cluster.urls), cluster.api_key, "news")
    lock = tmp_path / "lock"
    assert ts.reindex(seeds, settings, lock_dir=lock).exit_code == 0
    engine = ts.TypesenseEngine(settings)
    expected = engine.search(SearchRequest(q="tram council")).total
    assert expected > 0

    failures: list[BaseException] = []
    totals: list[int] = []
    stop = threading.Event()

    def load() -> None:
        deadline = time.monotonic() + 180
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                totals.append(engine.search(SearchRequest(q="tram council")).total)
            except BaseException as exc:  # noqa: BLE001 - every failure counts
                failures.append(exc)
            time.sleep(0.02)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        time.sleep(1.0)
        before = len(totals)
        cluster.stop_node(0)
        time.sleep(4.0)
        # the cluster, two nodes of three, still takes writes: an incremental reindex
        write_article(
            seeds, "950_catchup000000001.txt", "Gondola council tram vote", topics=["Transport"]
        )
        report = ts.reindex(seeds, settings, lock_dir=lock)
        assert (report.added, report.exit_code) == (1, 0)
        time.sleep(2.0)
        during = len(totals)
        cluster.start_node(0, timeout=90)
    finally:
        stop.set()
        worker.join(60)
    assert not failures, failures[:3]
    assert during - before > 20  # queries kept being answered while the node was down
    assert set(totals) <= {expected, expected + 1}

    # the restarted node alone: it has caught up with the write it missed
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
