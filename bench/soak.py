"""Soak: ``newsfind serve`` under a steady mixed load for minutes, with a full reindex every minute.

``python bench/soak.py --minutes 10`` (or ``python -m bench.soak``; not run in CI)

- Builds the index of ``--seeds`` (default ``../shared/corpus/agnews``, else ``seeds/``) into
  ``bench/work/soak-*`` if it is not there, starts ``newsfind serve`` on 127.0.0.1 (2 workers ×
  4 threads), and warms both workers.
- Load: ``--clients`` threads, each a keep-alive ``http.client`` connection, a short pause
  between requests (``--think-ms``): 60 % ``/api/search`` from the versioned query set, 10 %
  the search page, 15 % ``/api/suggest``, 10 % an article (API with more-like-this, or page),
  5 % ``/api/health``. Any answer but a 200, a connection error or a timeout is an error.
- Every ``--reindex-every`` seconds a ``newsfind reindex --full`` starts (unless one still runs):
  each one is a new generation that every worker must swap in, and the old one must be let go.
- Every ``--sample-every`` seconds: RSS of the gunicorn master and of each worker, their open
  file descriptors (``/proc/<pid>/fd``), requests and errors since the last sample, latency
  p50/p95, the worker pids (a replaced worker shows) and the generation folders on disk.
- Writes ``bench/results/soak-<label>-<stamp>.json`` and a ``.png`` beside it (RSS, open files,
  requests and errors over time, reindexes marked). Exits 1 if any request failed or a reindex
  did not exit 0. Growth is reported as a least-squares slope over the run after the first
  reindex (the warm-up: caches fill, a second generation is opened once).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python bench/soak.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common, http_bench, http_client, queryset  # noqa: E402

SHARED_AGNEWS = common.ROOT.parent / "shared" / "corpus" / "agnews"


def add_arguments(parser: Any) -> None:
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seeds", type=Path, help="default: ../shared/corpus/agnews or seeds/")
    parser.add_argument("--work", type=Path, help="where the index lives (default bench/work)")
    parser.add_argument("--reindex-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--think-ms", type=float, default=20.0, help="pause between requests")
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per server worker")
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--no-record", dest="results", action="store_const", const=None)


# --- the mixed load -----------------------------------------------------------------------------


def mixed_paths(queries: list[dict[str, Any]], ids: list[str], rng: random.Random) -> list[str]:
    """A shuffled cycle of URLs in the proportions of the module docstring."""
    searches = http_bench.search_paths(queries)
    words = [entry["q"].split()[0].strip('"()-') for entry in queries if entry["q"].strip()]
    words = [word for word in words if word.isalpha()] or ["news"]
    paths = list(searches)  # 60 %
    count = len(searches)
    for _ in range(count // 6):  # 10 %
        paths.append("/?q=" + urllib.parse.quote(rng.choice(words)))
    for _ in range(count // 4):  # 15 %
        word = rng.choice(words)
        paths.append("/api/suggest?q=" + urllib.parse.quote(word[: rng.randint(1, len(word))]))
    for _ in range(count // 6):  # 10 %
        doc_id = rng.choice(ids)
        paths.append(
            rng.choice([f"/api/articles/{doc_id}?more_like_this=5", f"/articles/{doc_id}"])
        )
    paths += ["/api/health"] * (count // 12)  # 5 %
    rng.shuffle(paths)
    return paths


class MixedLoad:
    """``clients`` threads cycling through ``paths`` until stopped; counters read per sample."""

    def __init__(self, port: int, paths: list[str], clients: int, think: float) -> None:
        self.port = port
        self.paths = paths
        self.think = think
        self.lock = threading.Lock()
        self.requests = 0
        self.errors: dict[str, int] = {}
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(clients)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def take(self) -> tuple[int, dict[str, int], list[float]]:
        """Requests, errors and latencies (ms) since the last call."""
        with self.lock:
            taken = (self.requests, self.errors, self.latencies)
            self.requests, self.errors, self.latencies = 0, {}, []
        return taken

    def _client(self, number: int) -> None:
        position = number * len(self.paths) // max(len(self.threads), 1)

        def next_path() -> str:
            nonlocal position
            position += 1
            return self.paths[(position - 1) % len(self.paths)]

        http_client.get_loop(self.port, next_path, self._record, self.stop, self.think)

    def _record(self, path: str, milliseconds: float, error: str | None) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.append(milliseconds)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
                print(f"soak: {error} on {path}", file=sys.stderr)


# --- the reindexes ------------------------------------------------------------------------------


class Reindexer:
    """Starts ``newsfind reindex --full`` every ``every`` seconds, never two at once."""

    def __init__(self, seeds: Path, index: Path, every: float, started: float) -> None:
        self.command = [sys.executable, "-m", "search.cli", "reindex", "--full", "--quiet",
                        "--seeds-dir", str(seeds), "--index-dir", str(index)]  # fmt: skip
        self.every = every
        self.started = started
        self.next_at = started + every
        self.process: subprocess.Popen[bytes] | None = None
        self.current: dict[str, Any] = {}
        self.runs: list[dict[str, Any]] = []

    def tick(self, now: float) -> None:
        if self.process is not None and self.process.poll() is not None:
            _, stderr = self.process.communicate()
            self.current.update(end=round(now - self.started, 1), exit_code=self.process.returncode)
            if self.process.returncode != 0:
                self.current["error"] = stderr.decode(errors="replace")[-500:]
            self.runs.append(self.current)
            self.process = None
        if now >= self.next_at:
            self.next_at += self.every
            if self.process is None:
                self.current = {"start": round(now - self.started, 1)}
                self.process = subprocess.Popen(
                    self.command, cwd=common.ROOT, env=http_bench._env(),
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )  # fmt: skip
            else:
                self.runs.append({"start": round(now - self.started, 1), "skipped": True})

    def running(self) -> bool:
        return self.process is not None

    def finish(self) -> None:
        if self.process is not None:
            self.process.wait(timeout=1800)
            self.tick(time.monotonic())


# --- sampling -----------------------------------------------------------------------------------


def process_sample(pid: int) -> dict[str, Any]:
    import psutil

    try:
        process = psutil.Process(pid)
        memory = process.memory_full_info()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (psutil.Error, FileNotFoundError):
        return {"pid": pid, "rss_mb": 0.0, "uss_mb": 0.0, "fds": 0}
    return {
        "pid": pid,
        "rss_mb": round(memory.rss / 2**20, 1),
        "uss_mb": round(memory.uss / 2**20, 1),
        "fds": fds,
    }


def sample(master: int, load: MixedLoad, reindexer: Reindexer, index: Path, t: float
           ) -> dict[str, Any]:  # fmt: skip
    import psutil

    try:
        workers = sorted(child.pid for child in psutil.Process(master).children())
    except psutil.Error:
        workers = []
    processes = [process_sample(master)] + [process_sample(pid) for pid in workers]
    requests, errors, latencies = load.take()
    latencies.sort()
    return {
        "t": round(t, 1),
        "master": processes[0],
        "workers": processes[1:],
        "rss_mb": round(sum(p["rss_mb"] for p in processes), 1),
        "workers_uss_mb": round(sum(p["uss_mb"] for p in processes[1:]), 1),
        "fds": sum(p["fds"] for p in processes),
        "requests": requests,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "p50_ms": round(common.percentile(latencies, 0.5), 1),
        "p95_ms": round(common.percentile(latencies, 0.95), 1),
        "reindexing": reindexer.running(),
        "generations_on_disk": len([p for p in index.iterdir() if p.name.startswith("gen-")]),
    }


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 3600


def summarize(samples: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    first_done = next((r["end"] for r in runs if "end" in r), 0.0)
    steady = [s for s in samples if s["t"] >= first_done] or samples
    summary: dict[str, Any] = {
        "requests": sum(s["requests"] for s in samples),
        "errors": sum(s["errors"] for s in samples),
        "reindexes": len([r for r in runs if r.get("exit_code") == 0]),
        "reindexes_failed": len([r for r in runs if r.get("exit_code") not in (None, 0)]),
        "reindexes_skipped": len([r for r in runs if r.get("skipped")]),
        "worker_pids_seen": sorted({w["pid"] for s in samples for w in s["workers"]}),
        "steady_from_s": first_done,
    }
    for key in ("rss_mb", "workers_uss_mb", "fds"):
        values = [s[key] for s in steady]
        summary[key] = {
            "first": values[0],
            "last": values[-1],
            "min": min(values),
            "max": max(values),
            "slope_per_hour": round(slope_per_hour([(s["t"], s[key]) for s in steady]), 2),
        }
    return summary


# --- the plot -----------------------------------------------------------------------------------


def plot(record: dict[str, Any], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = record["samples"]
    minutes = [s["t"] / 60 for s in samples]
    figure, (memory, files, traffic) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    memory.plot(minutes, [s["rss_mb"] for s in samples], label="RSS, master + workers")
    memory.plot(minutes, [s["master"]["rss_mb"] for s in samples], label="RSS, master")
    memory.plot(minutes, [s["workers_uss_mb"] for s in samples], label="USS, workers")
    memory.set(ylabel="MB", title="Memory")
    files.plot(minutes, [s["fds"] for s in samples], color="tab:purple", label="master + workers")
    files.set(ylabel="open file descriptors", title="Open files (/proc/<pid>/fd)")
    seconds = record["sample_every"]
    traffic.plot(minutes, [s["requests"] / seconds for s in samples], label="requests/s")
    traffic.plot(minutes, [s["errors"] for s in samples], "r.", label="errors")
    traffic.set(xlabel="minutes", ylabel="per sample", title="Load")
    for axes in (memory, files, traffic):
        for run in record["reindexes"]:
            if "end" in run:
                axes.axvspan(run["start"] / 60, run["end"] / 60, color="tab:gray", alpha=0.15)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8, loc="lower right")
    summary = record["summary"]
    figure.suptitle(
        f"newsfind soak: {record['documents']:,} articles, {record['minutes']:g} min, "
        f"{summary['requests']:,} requests, {summary['errors']} errors, "
        f"{summary['reindexes']} full reindexes (shaded)"
    )
    figure.tight_layout()
    figure.savefig(out, dpi=80)
    plt.close(figure)
    return out


# --- the run ------------------------------------------------------------------------------------


def article_ids(port: int, paths: list[str], limit: int = 200) -> list[str]:
    ids: list[str] = []
    for path in paths[:40]:
        body = json.loads(http_client.get_once(port, path)[1])
        ids += [hit["id"] for hit in body.get("hits", [])]
        if len(ids) >= limit:
            break
    if not ids:
        raise SystemExit("soak: the first searches found no article")
    return ids[:limit]


def main(args: Any) -> int:
    seeds = args.seeds or (SHARED_AGNEWS if SHARED_AGNEWS.is_dir() else common.ROOT / "seeds")
    work = common.work_dir(seeds, args.work) if args.work else common.work_dir(seeds)
    work = work.with_name(f"soak-{work.name}")
    work.mkdir(parents=True, exist_ok=True)
    index = work / "index"
    if not (index / "CURRENT").exists():
        print(f"soak: building the index of {seeds} in {index}…")
        command = [sys.executable, "-m", "search.cli", "reindex", "--quiet",
                   "--seeds-dir", str(seeds), "--index-dir", str(index)]  # fmt: skip
        subprocess.run(command, cwd=common.ROOT, env=http_bench._env(), check=False)
    queries = queryset.load()["queries"]
    port = http_bench.free_port()
    server = http_bench.Server(index, seeds, port, args, work / "serve.log")
    samples: list[dict[str, Any]] = []
    try:
        server.wait_ready()
        searches = http_bench.search_paths(queries)
        paths = mixed_paths(queries, article_ids(port, searches), random.Random(1))
        http_bench.Load(port, paths[:50], 2).run(3.0)  # warm both workers
        load = MixedLoad(port, paths, args.clients, args.think_ms / 1000)
        started = time.monotonic()
        reindexer = Reindexer(seeds, index, args.reindex_every, started)
        load.start()
        deadline = started + args.minutes * 60
        next_sample = started + args.sample_every
        try:
            while time.monotonic() < deadline:
                now = time.monotonic()
                reindexer.tick(now)
                if now >= next_sample:
                    next_sample += args.sample_every
                    samples.append(
                        sample(server.process.pid, load, reindexer, index, now - started)
                    )
                    last = samples[-1]
                    print(f"soak {last['t']:6.0f} s: RSS {last['rss_mb']:7.1f} MB, "
                          f"{last['fds']:3d} fds, {last['requests']:4d} requests, "
                          f"{last['errors']} errors{', reindexing' if last['reindexing'] else ''}",
                          flush=True)  # fmt: skip
                time.sleep(0.2)
        finally:
            load.close()
            reindexer.finish()
    finally:
        server.stop()
    record = common.base_record("soak", f"{args.minutes:g}min", seeds)
    documents = len(list(seeds.rglob("*.txt")))
    record.update(
        documents=documents,
        minutes=args.minutes,
        sample_every=args.sample_every,
        reindex_every=args.reindex_every,
        clients=args.clients,
        think_ms=args.think_ms,
        server={"workers": args.workers, "threads": args.threads},
        summary=summarize(samples, reindexer.runs),
        reindexes=reindexer.runs,
        samples=samples,
    )
    print(render(record))
    path = common.write_record("soak", record, args.results)
    if path:
        print(f"record: {path}\nplot: {plot(record, path.with_suffix('.png'))}")
    failed = record["summary"]["errors"] or record["summary"]["reindexes_failed"]
    return 1 if failed else 0


def render(record: dict[str, Any]) -> str:
    summary = record["summary"]
    rows = [
        (name, s["first"], s["last"], s["min"], s["max"], s["slope_per_hour"])
        for name, s in (
            ("RSS MB (master + workers)", summary["rss_mb"]),
            ("USS MB (workers)", summary["workers_uss_mb"]),
            ("open fds (master + workers)", summary["fds"]),
        )
    ]
    table = common.table(
        (f"after the first reindex ({summary['steady_from_s']:g} s)", "first", "last", "min",
         "max", "slope /h"), rows)  # fmt: skip
    return (
        f"{table}\n{summary['requests']:,} requests, {summary['errors']} errors; "
        f"{summary['reindexes']} full reindexes ({summary['reindexes_failed']} failed, "
        f"{summary['reindexes_skipped']} skipped: one still running); "
        f"worker pids seen: {summary['worker_pids_seen']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python bench/soak.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
