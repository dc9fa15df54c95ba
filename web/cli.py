"""``newsfind serve``: added to the ``newsfind`` command group of ``search.cli``.

The console script points at ``web.cli:main`` so that ``search`` never imports ``web``.
"""

from __future__ import annotations

from pathlib import Path

import click

from search import backends
from search.cli import index_dir_option, main, seeds_dir_option
from search.errors import NewsfindError
from search.whoosh import layout

from . import create_app, server

__all__ = ["main", "serve"]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes, each with its own engine (default: one per core).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Threads per worker (concurrent connections).",
)
@index_dir_option
@seeds_dir_option
@click.option("--access-log", is_flag=True, help="Log every request to stdout.")
def serve(
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    index_dir: Path,
    seeds_dir: Path,
    access_log: bool,
) -> None:
    """Serve the search page and the JSON API (gunicorn), building the index first if needed."""
    try:
        app = create_app({"INDEX_DIR": str(index_dir), "SEEDS_DIR": str(seeds_dir)})
    except ValueError as exc:  # a bad NEWSFIND_* setting
        raise click.ClickException(str(exc)) from None
    if str(app.config["ENGINE"]).lower() == "whoosh":  # another engine keeps its own index
        ensure_index(Path(index_dir), Path(seeds_dir))
    workers = workers or server.default_workers()
    click.echo(
        f"newsfind: serving {index_dir} on http://{_display(host)}:{port}/ "
        f"({workers} worker{'s' if workers != 1 else ''} × {threads} threads; Ctrl+C stops)"
    )
    server.run(app, server.options(host, port, workers, threads, access_log))


def ensure_index(index_dir: Path, seeds_dir: Path) -> None:
    """Build the index from the seeds when there is none; without seeds, serve 503s until one is."""
    try:
        if layout.current_generation(index_dir) is not None:
            return
    except NewsfindError as exc:
        raise click.ClickException(str(exc)) from None
    if not seeds_dir.is_dir():
        click.echo(
            f"newsfind: no index in {index_dir} and no seeds folder {seeds_dir}; the page will "
            "say so until 'newsfind reindex' builds one",
            err=True,
        )
        return
    click.echo(f"newsfind: no index in {index_dir} yet; building it from {seeds_dir}…")
    try:
        report = backends.make_indexer({"INDEX_DIR": str(index_dir)}).reindex(seeds_dir)
    except NewsfindError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"newsfind: indexed {report.documents} articles in {report.seconds:.1f} s"
        + (
            f"; {len(report.rejected)} files rejected (see 'newsfind reindex')"
            if report.rejected
            else ""
        )
    )


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host else host
