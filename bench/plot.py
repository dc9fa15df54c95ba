"""``python -m bench plot``: draw ``bench/results/bench.png`` from the JSON records.

``--markdown`` also prints the README's tables (latest record per corpus size).

Three panels, each from the latest record per corpus size: query latency (p50 solid, p95
dashed, the first pass's p95 dotted) against corpus size for each engine; indexing documents
per CPU-second against corpus size for each engine (wall times on a shared machine mostly
measure the neighbours); HTTP requests/s of ``newsfind serve``, steady and during a full
reindex.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import common, http_bench, query_bench

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
    parser.add_argument("--markdown", action="store_true", help="print the README tables")


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
        first = [(size, e["first_pass"]["p95_ms"]) for size, e in points if "first_pass" in e]
        if first:
            left.plot(
                [size for size, _ in first],
                [ms for _, ms in first],
                "^:",
                color=color,
                label=f"{engine} p95, first pass",
            )
    _log_axes(left, "Faceted query latency", "ms per request (top 10 + total + 3 facets)")

    index = latest(results, "index")
    for row_label, engine in INDEX_ROWS.items():
        # per CPU-second: wall times on this shared machine mostly measure the neighbours
        points = [
            (
                r["files"],
                r["summary"][row_label]["documents"] / r["summary"][row_label]["cpu_seconds"],
            )
            for r in index
            if r.get("summary", {}).get(row_label, {}).get("cpu_seconds")
        ]
        if points:
            middle.plot(*zip(*points, strict=True), "o-", color=COLORS[engine], label=engine)
    _log_axes(middle, "Full indexing, parse + index", "documents per CPU-second (all processes)")

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
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)


def main(args: Any) -> int:
    out = draw(args.results, args.out or args.results / "bench.png")
    print(f"wrote {out}")
    if args.markdown:
        print(markdown(args.results))
    return 0


def _md(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(common._cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: Path) -> str:
    """The README's tables from the latest record of each kind and corpus size."""
    parts = []
    for record in latest(results, "index"):
        rows = [
            [
                label,
                row["documents"],
                row["seconds"],
                row.get("cpu_seconds"),
                row["docs_per_second"],
                row.get("index_docs_per_second"),
                row["peak_rss_mb"],
                row.get("newsfind_speedup"),
            ]
            for label, row in record["summary"].items()
        ]
        headers = [
            "step",
            "docs",
            "wall s",
            "CPU s",
            "docs/s",
            "index-only docs/s",
            "peak RSS MB",
            "newsfind ×",
        ]
        load = record["machine"]["load_average"][0]
        parts.append(
            f"**index, {record['label']}** ({record['files']:,} files; commit "
            f"{record['commit']}; load average {load} at the start)\n\n" + _md(headers, rows)
        )
    for record in latest(results, "query"):
        rows = query_bench.engine_rows(record)
        headers = ["engine", *query_bench.ROW_HEADERS]
        agreement = [
            f"{pair}: {stats['equal']}/{stats['compared']} equal, "
            f"{stats['within_1_percent']} within 1%"
            for pair, stats in record["agreement"].items()
            if isinstance(stats, dict)
        ]
        parts.append(
            f"**query, {record['label']}** ({record['queries']} queries × {record['repeat']}, "
            f"commit {record['commit']}, load average {record['machine']['load_average'][0]})"
            "\n\n"
            + _md(headers, rows)
            + "\n\ntotals of the boolean queries: "
            + "; ".join(agreement)
        )
    for record in latest(results, "http"):
        rows = http_bench.phase_rows(record)
        headers = [
            "phase",
            "requests",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "server RSS MB before",
            "after",
        ]
        reindex = record["phases"].get("reindex")
        during = (
            f"; full reindex during the load: {reindex.get('reindex_seconds')} s"
            if reindex
            else "; no reindex phase"
        )
        parts.append(
            f"**http, {record['label']}** (commit {record['commit']}, load average "
            f"{record['machine']['load_average'][0]}{during})\n\n" + _md(headers, rows)
        )
    return "\n\n".join(parts)
