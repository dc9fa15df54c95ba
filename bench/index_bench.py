"""Index speed: newsfind's full and incremental reindex against the peers, in one run.

``python -m bench index --corpus bench/data/c100k``

1. The corpus is mirrored (hard links) into ``bench/work/<corpus>/seeds`` and read once so every
   engine starts from a warm page cache.
2. ``newsfind full``: ``search.whoosh.target.reindex(full=True)`` with its default workers.
3. 1% of the files get a changed title (written as new files, the source corpus is untouched),
   then ``newsfind incremental``: ``reindex()`` again.
4. ``parse``: every file through ``read_article`` (PyYAML's C loader) in one process.
5. The peers index those parsed articles, one process each (see ``bench.peers``): the plain
   Whoosh ``add_document`` loop, SQLite FTS5, tantivy. A peer's end-to-end time is the parse
   time plus its indexing time, which is what a single-process loop of its own would take.

``--baseline REV`` also runs newsfind's full reindex as it was at ``REV`` (its source tree from
``git archive``, e.g. the commit before a feature), alternating with today's ``--rounds`` times
on the same seeds: the ratio of their medians is the feature's cost, measured in one run.

Each step runs in a fresh process; peak memory is the largest RSS sum of that process and its
children, sampled every 50 ms. The built indexes stay in the work folder for ``bench query``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import statistics
from pathlib import Path
from typing import Any

from bench import common, peers

PEERS = ("whoosh", "fts5", "tantivy")
TARGETS = {
    "whoosh": "whoosh",
    "fts5": "fts5.db",
    "tantivy": "tantivy",
    "datasette": "news.db",  # bench http's peer (not timed by bench index)
}
BUILT = "built.json"


def add_arguments(parser: Any) -> None:
    parser.add_argument("--corpus", type=Path, required=True, help="a folder of seed files")
    parser.add_argument("--work", type=Path, help="where the indexes go (default bench/work/...)")
    parser.add_argument(
        "--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}"
    )
    parser.add_argument("--workers", type=int, help="newsfind reindex workers (default: its own)")
    parser.add_argument("--change", type=float, default=0.01, help="share of files changed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--no-record", dest="results", action="store_const", const=None)
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="per step, seconds")
    parser.add_argument("--baseline", help="a git revision whose full reindex runs beside")
    parser.add_argument("--rounds", type=int, default=1, help="full reindexes of each, alternated")


def change_files(seeds: Path, fraction: float, seed: int) -> list[str]:
    """Give ``fraction`` of the files a new title; each is written anew (a new inode)."""
    files = [rel for rel, _ in peers.corpus_files(seeds)]
    count = max(1, round(len(files) * fraction)) if files else 0
    chosen = sorted(random.Random(seed).sample(files, count))
    for rel in chosen:
        path = seeds / rel
        text = path.read_text(encoding="utf-8-sig")
        text = text.replace('\ntitle: "', '\ntitle: "Updated: ', 1)
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    return chosen


def main(args: Any) -> int:
    corpus: Path = args.corpus
    chosen_peers = [name for name in args.peers.split(",") if name]
    unknown = set(chosen_peers) - set(PEERS)
    if unknown:
        raise SystemExit(f"index: unknown peer(s) {', '.join(sorted(unknown))}")
    files = peers.corpus_files(corpus)
    if not files:
        raise SystemExit(f"index: no seed files under {corpus}")
    work = args.work or common.work_dir(corpus)
    work.mkdir(parents=True, exist_ok=True)
    seeds = work / "seeds"
    common.copy_tree_linked(corpus, seeds)
    common.warm([path for _, path in peers.corpus_files(seeds)])
    kept = _peers_still_valid(work / BUILT, corpus, len(files), args)
    (work / BUILT).unlink(missing_ok=True)
    label = common.count_label(len(files))
    record = common.base_record("index", label, corpus)
    record["files"] = len(files)
    stages: dict[str, Any] = {}
    timeout = args.timeout

    has_indexer = importlib.util.find_spec("search.whoosh.target") is not None
    if has_indexer:
        index_dir = work / "newsfind"
        stage_args = {"seeds": str(seeds), "index": str(index_dir), "workers": args.workers}
        stages["newsfind_full"] = common.run_stage(
            "newsfind_reindex", {**stage_args, "full": True}, timeout
        )
        if args.baseline:
            stages.update(_against_baseline(args, stage_args, stages["newsfind_full"], timeout))
        changed = change_files(seeds, args.change, args.seed)
        stages["newsfind_incremental"] = common.run_stage(
            "newsfind_reindex", {**stage_args, "full": False}, timeout
        )
        stages["newsfind_incremental"]["changed_files"] = len(changed)
    else:
        print("index: search.whoosh.target is not there yet; newsfind is skipped")
        change_files(seeds, args.change, args.seed)

    parsed = work / "parsed.pickle"
    if chosen_peers:
        stages["parse"] = common.run_stage(
            "parse", {"corpus": str(seeds), "out": str(parsed)}, timeout
        )
    for name in chosen_peers:
        target = work / TARGETS[name]
        stages[name] = common.run_stage(
            "build", {"engine": name, "parsed": str(parsed), "target": str(target)}, timeout
        )
    parsed.unlink(missing_ok=True)
    record["stages"] = stages
    record["summary"] = summarize(stages)
    built = {
        "corpus": str(corpus.resolve()),
        "files": len(files),
        "change": args.change,
        "seed": args.seed,
        "engines": list(stages) + [name for name in kept if name not in stages],
    }
    (work / BUILT).write_text(json.dumps(built) + "\n", encoding="utf-8")
    print(render(record))
    path = common.write_record("index", record, args.results)
    if path:
        print(f"\nrecord: {path}")
    return 0


def _against_baseline(
    args: Any, stage_args: dict[str, Any], first: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Full reindexes at ``--baseline`` and today's, alternated (``--rounds`` each, today's
    first one already done): their times and the ratio of the medians."""
    root = common.checkout(args.baseline)
    index = Path(stage_args["index"]).with_name("baseline")
    baseline_args = {**stage_args, "index": str(index)}
    ours, theirs = [first], []
    for number in range(args.rounds):
        theirs.append(common.run_stage("newsfind_reindex", {**baseline_args, "full": True},
                                       timeout, root=root))  # fmt: skip
        if number + 1 < args.rounds:
            ours.append(common.run_stage("newsfind_reindex", {**stage_args, "full": True},
                                         timeout))  # fmt: skip
    shutil.rmtree(index, ignore_errors=True)
    mine = statistics.median(stage["measured_seconds"] for stage in ours)
    base = statistics.median(stage["measured_seconds"] for stage in theirs)
    return {
        "baseline_full": {
            **theirs[len(theirs) // 2],
            "revision": args.baseline,
            "rounds": [stage["measured_seconds"] for stage in theirs],
            "current_rounds": [stage["measured_seconds"] for stage in ours],
            "current_median_seconds": mine,
            "median_seconds": base,
            "ratio": round(mine / max(base, 1e-9), 3),
            "story_seconds": [stage.get("story_seconds") for stage in ours],
        }
    }


def _peers_still_valid(built_file: Path, corpus: Path, files: int, args: Any) -> list[str]:
    """The peers an earlier run built from the seeds this run makes again (same corpus and
    number of files, same share of them changed with the same random seed): ``bench query``
    needs no rebuild of them.
    """
    try:
        built = json.loads(built_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    same_seeds = (
        built.get("corpus") == str(corpus.resolve())
        and built.get("files") == files
        and built.get("change", 0.01) == args.change
        and built.get("seed", 1) == args.seed
    )
    return [name for name in built.get("engines", []) if name in PEERS] if same_seeds else []


def summarize(stages: dict[str, Any]) -> dict[str, Any]:
    """Rows of the table: docs, seconds and docs/s end to end, peak memory, ratios."""
    rows: dict[str, Any] = {}
    parse = stages.get("parse")
    full = stages.get("newsfind_full")
    if full:
        docs = full.get("added", 0)
        rows["newsfind full reindex"] = _row(docs, full["measured_seconds"], full)
    baseline = stages.get("baseline_full")
    if baseline:
        row = _row(baseline.get("added", 0), baseline["median_seconds"], baseline)
        row["ratio"] = baseline["ratio"]
        rows[f"newsfind full reindex at {baseline['revision']}"] = row
    # a rerun (added by hand to a record) replaces an incremental step that had to rebuild
    incremental = stages.get("newsfind_incremental_rerun") or stages.get("newsfind_incremental")
    if incremental:
        changed = incremental.get("added", 0) + incremental.get("updated", 0)
        row = _row(changed, incremental["measured_seconds"], incremental)
        row["changed_files"] = incremental.get("changed_files")
        if full:
            row["share_of_full"] = round(
                incremental["measured_seconds"] / max(full["measured_seconds"], 1e-9), 4
            )
        if incremental.get("full"):  # e.g. the schema version changed between the two steps
            row["became_full"] = incremental.get("note", "")
        rows["newsfind incremental (1%)"] = row
    if parse:
        rows["parse only (1 process)"] = _row(parse["documents"], parse["seconds"], parse)
    labels = {
        "whoosh": "plain Whoosh loop",
        "fts5": "SQLite FTS5",
        "tantivy": "tantivy",
    }
    for name, label in labels.items():
        stage = stages.get(name)
        if not stage or not parse:
            continue
        total = parse["seconds"] + stage["seconds"]
        row = _row(stage["documents"], total, stage)
        row["cpu_seconds"] = round(parse["work_cpu_seconds"] + stage["work_cpu_seconds"], 1)
        row["index_seconds"] = stage["seconds"]
        row["index_docs_per_second"] = round(stage["documents"] / max(stage["seconds"], 1e-9), 1)
        row["disk_mb"] = stage.get("disk_mb")
        row["peak_rss_mb_above_loaded"] = round(
            stage["peak_rss_mb"] - stage.get("loaded_rss_bytes", 0) / 2**20, 1
        )
        rows[f"{label} (parse + index)"] = row
    if full:
        mine = rows["newsfind full reindex"]["docs_per_second"]
        for label, row in rows.items():
            if label.startswith("newsfind") or not row["docs_per_second"]:
                continue
            row["newsfind_speedup"] = round(mine / row["docs_per_second"], 2)
    return rows


def _row(docs: int, seconds: float, stage: dict[str, Any]) -> dict[str, Any]:
    return {
        "documents": docs,
        "seconds": round(seconds, 2),
        "docs_per_second": round(docs / seconds, 1) if seconds > 0 else 0.0,
        "peak_rss_mb": stage.get("peak_rss_mb"),
        "cpu_seconds": stage.get("work_cpu_seconds", stage.get("cpu_seconds")),
    }


def render(record: dict[str, Any]) -> str:
    rows = [
        (
            label,
            row["documents"],
            row["seconds"],
            row["docs_per_second"],
            row.get("index_docs_per_second"),
            row.get("cpu_seconds"),
            row["peak_rss_mb"],
            row.get("newsfind_speedup"),
        )
        for label, row in record["summary"].items()
    ]
    headers = (
        f"index {record['label']} ({record['files']:,} files)",
        "docs",
        "seconds",
        "docs/s",
        "index-only docs/s",
        "CPU s",
        "peak RSS MB",
        "newsfind ×",
    )
    text = common.table(headers, rows)
    baseline = record["stages"].get("baseline_full")
    if baseline:
        text += (
            f"\nfull reindex today ÷ at {baseline['revision']}: {baseline['ratio']:.2f} "
            f"(medians of {baseline['current_rounds']} s and {baseline['rounds']} s)"
        )
    for step in ("newsfind_full", "newsfind_incremental"):
        stage = record["stages"].get(step)
        if stage and "vector_seconds" in stage:
            text += (
                f"\n{step.replace('_', ' ')}: vectors {stage.get('embedded', 0):,} embedded, "
                f"{stage.get('vectors_reused', 0):,} reused, {stage['vector_seconds']} s of its "
                f"{stage['measured_seconds']} s (stories {stage.get('story_seconds', 0)} s)"
            )
    incremental = record["summary"].get("newsfind incremental (1%)")
    if incremental and incremental.get("became_full"):
        text += f"\nthe incremental run was a full one: {incremental['became_full']}"
    elif incremental and "share_of_full" in incremental:
        text += (
            f"\nincremental after changing {incremental['changed_files']:,} files: "
            f"{incremental['seconds']} s = {incremental['share_of_full']:.1%} of the full reindex"
        )
    return text


def ensure_built(corpus: Path, work: Path, engines: list[str], timeout: float = 6 * 3600) -> None:
    """Build (untimed) whatever of ``engines`` the work folder lacks, for ``bench query``.

    The indexes of one work folder always come from the same seeds: the mirrored (and 1%
    changed) copy when ``bench index`` made one, else the corpus itself.
    """
    built_file = work / BUILT
    try:
        built = json.loads(built_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        built = {"corpus": str(corpus.resolve()), "engines": []}
    have = set(built.get("engines", []))
    have_names = {"newsfind" if name.startswith("newsfind") else name for name in have}
    if "newsfind" in have_names and not newsfind_index_current(work / "newsfind"):
        have_names.discard("newsfind")
    missing = [name for name in engines if name not in have_names]
    if not missing:
        return
    work.mkdir(parents=True, exist_ok=True)
    seeds = work / "seeds" if (work / "seeds").is_dir() else corpus
    print(f"building {', '.join(missing)} for {corpus} in {work} (untimed)")
    if "newsfind" in missing:
        common.run_stage(
            "newsfind_reindex",
            {"seeds": str(seeds), "index": str(work / "newsfind"), "full": True},
            timeout,
        )
        have.add("newsfind_full")
    peer_names = [name for name in missing if name in TARGETS]
    if peer_names:
        parsed = work / "parsed.pickle"
        common.run_stage("parse", {"corpus": str(seeds), "out": str(parsed)}, timeout)
        for name in peer_names:
            target = work / TARGETS[name]
            common.run_stage(
                "build", {"engine": name, "parsed": str(parsed), "target": str(target)}, timeout
            )
            have.add(name)
        parsed.unlink(missing_ok=True)
    built["engines"] = sorted(have)
    built_file.write_text(json.dumps(built) + "\n", encoding="utf-8")


def newsfind_index_current(index_dir: Path) -> bool:
    """False when the index was built with another schema version (the engine needs a rebuild)."""
    try:
        from search.whoosh import layout
        from search.whoosh.schema import SCHEMA_VERSION
        from search.whoosh.target import SCHEMA_MARK

        name = layout.current_generation(index_dir)
        if name is None:
            return False
        mark = (index_dir / name / SCHEMA_MARK).read_text(encoding="utf-8").strip()
    except Exception:  # no indexer yet, no index, a corrupt pointer: rebuild
        return False
    return bool(mark == SCHEMA_VERSION)
