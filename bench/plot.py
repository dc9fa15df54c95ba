"""``python -m bench plot``: draw ``bench/results/bench.png`` from the JSON records.

Three panels, each from the latest record per corpus size: query latency (p50 solid, p95
dashed) against corpus size for each engine; indexing docs/s against corpus size for each
engine; HTTP requests/s of ``newsfind serve``, steady and during a full reindex.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import common

COLORS = {"newsfind": "tab:blue", "fts5": "tab:orange", "tantivy": "tab:green", "whoosh": "tab:red"}
INDEX_ROWS = {
    "newsfind full reindex": "newsfind",
    "plain Whoosh loop (parse + index)": "whoosh",
    "SQLite FTS5 (parse + index)": "fts5",
    "tantivy (parse + index)": "tantivy",
}


def add_arguments(parser: Any) -> None:
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--out", type=Path, help="default: <results>/bench.png")


def latest(results: Path, kind: str) -> list[dict[str, Any]]:
    """The newest record of ``kind`` for each corpus size, smallest corpus first."""
    newest: dict[int, dict[str, Any]] = {}
    for path in sorted(results.glob(f"{kind}-*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        size = int(record.get("documents") or record.get("files") or 0)
        if size and record.get("when", "") >= newest.get(size, {}).get("when", ""):
            newest[size] = record
    return [newest[size] for size in sorted(newest)]


def draw(results: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 5))
    query = latest(results, "query")
    for engine in ("newsfind", "fts5", "tantivy"):
        points = [(r["documents"], r["engines"][engine]) for r in query if engine in r["engines"]]
        if not points:
            continue
        sizes = [size for size, _ in points]
        color = COLORS[engine]
        left.plot(sizes, [e["p50_ms"] for _, e in points], "o-", color=color, label=f"{engine} p50")
        left.plot(
            sizes, [e["p95_ms"] for _, e in points], "s--", color=color, label=f"{engine} p95"
        )
    _log_axes(left, "Faceted query latency", "ms per request (top 10 + total + 3 facets)")

    index = latest(results, "index")
    for row_label, engine in INDEX_ROWS.items():
        points = [
            (r["files"], r["summary"][row_label]["docs_per_second"])
            for r in index
            if row_label in r.get("summary", {})
        ]
        if points:
            middle.plot(*zip(*points, strict=True), "o-", color=COLORS[engine], label=engine)
    _log_axes(middle, "Full indexing throughput", "documents/s, parse + index")

    runs = latest(results, "http")
    labels = [common.count_label(r["documents"]) for r in runs]
    positions = range(len(runs))
    for offset, phase in ((-0.2, "steady"), (0.2, "reindex")):
        values = [r["phases"].get(phase, {}).get("requests_per_second", 0) for r in runs]
        bars = right.bar([p + offset for p in positions], values, width=0.4, label=phase)
        for bar, run in zip(bars, runs, strict=True):
            p95 = run["phases"].get(phase, {}).get("p95_ms")
            if p95 is not None:
                right.annotate(
                    f"p95 {p95:g} ms",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    right.set_xticks(list(positions), labels)
    right.set(xlabel="articles", ylabel="requests/s", title="newsfind serve, /api/search")
    right.legend(fontsize=8)

    figure.suptitle("newsfind benchmarks (2 cores; see bench/README.md)")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return out


def _log_axes(axes: Any, title: str, ylabel: str) -> None:
    axes.set(xscale="log", yscale="log", xlabel="articles", ylabel=ylabel, title=title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)


def main(args: Any) -> int:
    out = draw(args.results, args.out or args.results / "bench.png")
    print(f"wrote {out}")
    return 0
