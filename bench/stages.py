"""Timed steps that ``bench.common.run_stage`` runs each in a fresh process.

``python -m bench.stages NAME JSON_ARGS RESULT_FILE``: runs ``NAME(**args)`` and writes its result
(plus the process's own peak RSS and its children's) as JSON to RESULT_FILE.
"""

from __future__ import annotations

import json
import pickle
import resource
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import peers

PICKLE_CHUNK = 2000


def newsfind_reindex(seeds: str, index: str, full: bool, workers: int | None = None) -> dict:
    from search.whoosh.target import reindex

    return _timed_report(
        lambda: reindex(seeds, index, full=full, workers=workers, lock_timeout=600)
    )


def _timed_report(run: Any) -> dict:
    """A reindex report as a dict, with its measured wall time and the count of rejections."""
    started = time.perf_counter()
    report = run()
    seconds = time.perf_counter() - started
    data: dict = report.to_dict()
    data["rejected"] = len(report.rejected)
    data["measured_seconds"] = round(seconds, 3)
    return data


def typesense_reindex(
    seeds: str,
    nodes: list[str],
    api_key: str,
    collection: str,
    lock_dir: str,
    workers: int | None = None,
) -> dict:
    """``newsfind reindex --engine typesense --full``'s code path into a running Typesense."""
    from search import typesense as typesense_engine

    settings = typesense_engine.TypesenseSettings(tuple(nodes), api_key, collection)
    return _timed_report(
        lambda: typesense_engine.reindex(
            seeds, settings, full=True, workers=workers, lock_timeout=600, lock_dir=lock_dir
        )
    )


def parse(corpus: str, out: str) -> dict:
    """The plain loop's parsing half, one process; the articles are kept for the peers."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    count = 0
    chunk: list[Any] = []
    with open(out, "wb") as handle:
        for item in peers.parse_corpus(Path(corpus)):
            chunk.append(item)
            count += 1
            if len(chunk) >= PICKLE_CHUNK:
                pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)
                chunk = []
        if chunk:
            pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "documents": count,
        "seconds": round(time.perf_counter() - started, 3),
        "work_cpu_seconds": round(time.process_time() - cpu_started, 2),
    }


def _parsed(path: str) -> Iterator[Any]:
    with open(path, "rb") as handle:
        while True:
            try:
                yield from pickle.load(handle)
            except EOFError:
                return


def _docs(path: str) -> Iterator[peers.Doc]:
    return (peers.Doc.from_article(article) for _, article in _parsed(path))


def build(engine: str, parsed: str, target: str) -> dict:
    """Index the parsed articles with one peer; only the indexing is timed."""
    target_path = Path(target)
    if target_path.is_dir():
        shutil.rmtree(target_path)
    # loaded before the clock starts: what is timed (and the memory above this) is the peer's
    items = list(_parsed(parsed))
    docs = [peers.Doc.from_article(article) for _, article in items] if engine != "whoosh" else []
    loaded_rss = _rss()
    started = time.perf_counter()
    cpu_started = time.process_time()
    if engine == "whoosh":
        count = peers.build_plain_whoosh(items, target_path)
    elif engine == "fts5":
        count = peers.build_fts5(docs, target_path)
    elif engine == "tantivy":
        count = peers.build_tantivy(docs, target_path)
    elif engine == "datasette":
        from bench import datasette_peer

        count = datasette_peer.build(docs, target_path)
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    size = sum(p.stat().st_size for p in target_path.rglob("*") if p.is_file())
    if target_path.is_file():
        size = target_path.stat().st_size
    return {
        "documents": count,
        "seconds": round(seconds, 3),
        "work_cpu_seconds": round(cpu_seconds, 2),
        "disk_mb": round(size / 2**20, 1),
        "loaded_rss_bytes": loaded_rss,
    }


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


STAGES = {
    "newsfind_reindex": newsfind_reindex,
    "typesense_reindex": typesense_reindex,
    "parse": parse,
    "build": build,
}


def main() -> int:
    name, args, result_file = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    result = STAGES[name](**args)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["maxrss_bytes"] = own.ru_maxrss * 1024
    result["children_maxrss_bytes"] = children.ru_maxrss * 1024
    # CPU time (this process and its workers) varies less than wall time on a shared machine
    result["cpu_seconds"] = round(
        own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 2
    )
    Path(result_file).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
