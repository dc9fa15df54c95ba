"""What every bench command shares: the machine, the work folders, records, tables, stages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = BENCH_DIR / "work"
"""Built indexes and corpus copies, one folder per corpus (git-ignored)."""


def machine() -> dict[str, Any]:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = next(
            (line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line),
            "",
        )
    except (OSError, subprocess.SubprocessError):
        pass
    memory = 0
    try:
        import psutil

        memory = psutil.virtual_memory().total
    except ImportError:  # pragma: no cover - psutil is in the bench extra
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "load_average": load_average(),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def uncommitted() -> list[str]:
    """Changed or new files of the product (the tree is shared: a run may measure them)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", "search", "web"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line[3:] for line in out.splitlines() if line.strip()]


def count_label(count: int) -> str:
    """38,245 → ``38k``; 1,000,000 → ``1M``."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:g}M"
    if count >= 1000:
        return f"{round(count / 1000)}k"
    return str(count)


def work_dir(corpus: Path, base: Path | None = None) -> Path:
    """One folder per corpus (by resolved path) for the built indexes of every engine."""
    resolved = corpus.resolve()
    tag = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    return (base or WORK_DIR) / f"{resolved.name}-{tag}"


def write_record(kind: str, record: dict[str, Any], results_dir: Path | None) -> Path | None:
    """Save one run as ``<kind>-<label>-<UTC stamp>.json``; ``results_dir`` None skips it."""
    if results_dir is None:
        return None
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{kind}-{record.get('label', 'run')}-{stamp}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def base_record(
    kind: str, label: str, corpus: Path | None, load_before: list[float] | None = None
) -> dict[str, Any]:
    """The head of a record. A record made after its run passes the load average taken at its
    start (``load_before``): it is kept as ``load_average``, and the end's as
    ``load_average_after``."""
    host = machine()
    if load_before is not None:
        host["load_average_after"] = host["load_average"]
        host["load_average"] = load_before
    return {
        "kind": kind,
        "label": label,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "uncommitted": uncommitted(),
        "machine": host,
        "corpus": str(corpus) if corpus else None,
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (first column left, the others right)."""
    cells = [[str(h) for h in headers]] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty list)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[rank])


def tree_rss(pid: int, pss: bool = False) -> int:
    """RSS in bytes of a process and all its children (0 once it is gone); with ``pss``, their
    proportional set size (a page shared by n processes counts 1/n in each)."""
    import psutil

    try:
        process = psutil.Process(pid)
        processes = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for item in processes:
        try:
            total += item.memory_full_info().pss if pss else item.memory_info().rss
        except psutil.Error:
            continue
    return total


class RssSampler:
    """Samples the RSS of a process tree in a thread; ``peak`` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_stage(
    name: str, args: dict[str, Any], timeout: float | None = None, root: Path = ROOT
) -> dict[str, Any]:
    """Run ``bench.stages.<name>(**args)`` in a fresh process; its result plus peak tree RSS.

    A fresh process per stage makes peak memory attributable and keeps one engine's caches from
    helping the next. ``root``: the source tree it runs (another revision: ``checkout``).
    """
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as tmp:
        result_file = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "bench.stages", name, json.dumps(args), str(result_file)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=root, env=env)
        with RssSampler(process.pid) as sampler:
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise SystemExit(f"bench stage {name} took longer than {timeout} s") from None
        if code != 0:
            raise SystemExit(f"bench stage {name} failed with exit code {code}")
        result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result["wall_seconds"] = round(time.perf_counter() - started, 3)
    # this machine is shared: the load at the end of a step tells how much others were running
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["peak_rss_mb"] = round(max(sampler.peak, result.get("maxrss_bytes", 0)) / 2**20, 1)
    return result


def checkout(revision: str) -> Path:
    """The source tree of ``revision`` (``git archive``) in the work folder, made once: a stage
    can run the code as it was (``run_stage(root=...)``), e.g. before a feature, in the same run."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    target = WORK_DIR / f"rev-{sha[:12]}"
    if not (target / "search").is_dir():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", sha, "search", "bench"], cwd=ROOT, capture_output=True,
            check=True, timeout=120,
        ).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True, timeout=120)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


def copy_tree_linked(source: Path, target: Path) -> int:
    """Mirror ``source`` into ``target`` with hard links (copies across file systems)."""
    if target.exists():
        shutil.rmtree(target)
    count = 0
    link = True
    for directory, subdirs, names in os.walk(source):
        subdirs.sort()
        relative = Path(directory).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in names:
            src, dst = Path(directory) / name, target / relative / name
            if link:
                try:
                    os.link(src, dst)
                    count += 1
                    continue
                except OSError:
                    link = False
            shutil.copy2(src, dst)
            count += 1
    return count


def warm(paths: Sequence[Path]) -> int:
    """Read every file once so that every engine starts from the same (warm) page cache."""
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            total += len(handle.read())
    return total
