"""``newsfind`` commands: thin click wrappers over the functions of ``search``.

Known errors become one clear line on stderr and a documented exit code, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import backends, dates
from .contract import (
    DEFAULT_MODE,
    GROUPS,
    MODES,
    RELATIVE_RANGES,
    SORTS,
    Progress,
    ReindexReport,
)
from .errors import EXIT_FATAL, EXIT_LOCKED, EXIT_OK, EXIT_REJECTED, NewsfindError, ReindexError

DEFAULT_INDEX_DIR = "index"
DEFAULT_SEEDS_DIR = "seeds"

REINDEX_EXIT_CODES = f"""
Exit codes: {EXIT_OK} all files indexed; {EXIT_REJECTED} some files were rejected
(the good ones are indexed all the same; each is listed with its reason); {EXIT_FATAL} a
fatal error (e.g. missing seeds folder), nothing changed; {EXIT_LOCKED} another reindex
held the lock past --lock-timeout (try again later); 2 a usage error.
"""


F = TypeVar("F", bound=Callable[..., Any])


def index_dir_option(function: F) -> F:
    return click.option(
        "--index-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("NEWSFIND_INDEX_DIR", DEFAULT_INDEX_DIR),
        show_default="$NEWSFIND_INDEX_DIR or ./index",
        help="Folder holding the index generations.",
    )(function)


def seeds_dir_option(function: F) -> F:
    return click.option(
        "--seeds-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("NEWSFIND_SEEDS_DIR", DEFAULT_SEEDS_DIR),
        show_default="$NEWSFIND_SEEDS_DIR or ./seeds",
        help="Folder of article files (*.txt, YAML front matter).",
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsfind", message="%(prog)s %(version)s")
def main() -> None:
    """newsfind: ranked, faceted search over a folder of news articles."""


@main.command(epilog=REINDEX_EXIT_CODES)
@seeds_dir_option
@index_dir_option
@click.option("--full", is_flag=True, help="Build a fresh generation and switch to it atomically.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Parse/index processes (default: cores).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for a running reindex.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report as JSON (for cron and monitoring)."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option(
    "--engine",
    default=lambda: os.environ.get("NEWSFIND_ENGINE", "whoosh"),
    callback=lambda _ctx, _param, value: "typesense" if "typesense" in value.lower() else "whoosh",
    show_default="$NEWSFIND_ENGINE or whoosh",
    help="whoosh (the index folder) or typesense (the NEWSFIND_TYPESENSE_* cluster).",
)
def reindex(
    seeds_dir: Path,
    index_dir: Path,
    full: bool,
    workers: int | None,
    lock_timeout: float,
    as_json: bool,
    quiet: bool,
    engine: str,
) -> None:
    """Index new, changed and removed article files (incremental unless --full)."""
    progress = None if quiet or as_json else _progress_printer()
    try:
        indexer = backends.make_indexer({"ENGINE": engine, "INDEX_DIR": str(index_dir)})
        report = indexer.reindex(
            seeds_dir, full=full, workers=workers, lock_timeout=lock_timeout, progress=progress
        )
    except ReindexError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except NewsfindError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_FATAL)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    sys.exit(report.exit_code)


def _progress_printer() -> Callable[[Progress], None]:
    """A redrawn progress bar on a terminal; a log line every few seconds otherwise."""
    stream = sys.stderr
    tty = stream.isatty()
    last_logged = [-10.0]

    def show(progress: Progress) -> None:
        eta = f"{progress.eta:.0f}s" if progress.eta is not None else "?"
        line = f"{progress.done}/{progress.total} files  {progress.rate:.0f} docs/s  ETA {eta}"
        if tty:
            width = 30
            filled = int(width * progress.done / max(progress.total, 1))
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {line}   ")
            if progress.done >= progress.total:
                stream.write("\n")
            stream.flush()
        elif progress.elapsed - last_logged[0] >= 5 or progress.done >= progress.total:
            last_logged[0] = progress.elapsed
            click.echo(f"reindex: {line}", err=True)

    return show


def _print_report(report: ReindexReport) -> None:
    kind = "full" if report.full else "incremental"
    click.echo(
        f"{kind} reindex of {report.seeds_dir} into {report.index_dir} ({report.generation})"
        + (f": {report.note}" if report.note else "")
    )
    click.echo(
        f"  added {report.added}, updated {report.updated}, deleted {report.deleted}, "
        f"unchanged {report.unchanged}, rejected {len(report.rejected)}; "
        f"{report.documents} documents in the index"
    )
    click.echo(f"  {report.seconds:.2f} s, {report.docs_per_second:.0f} docs/s")
    for item in report.rejected:
        click.echo(f"  rejected {item.path}: {item.reason}", err=True)


@main.command()
@click.argument("q", required=False, default="")
@click.option(
    "--topic", "topics", multiple=True, help="Only this topic (repeat for any of several)."
)
@click.option(
    "--provider",
    "providers",
    multiple=True,
    help="Only this provider, by name or domain (repeatable).",
)
@click.option("--type", "types", multiple=True, help="Only this type (repeatable).")
@click.option(
    "--since",
    help=f"A relative range ({', '.join(RELATIVE_RANGES)}) or a date / time (inclusive).",
)
@click.option("--until", help="A date (that whole day included) or a date / time (exclusive).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=DEFAULT_MODE,
    show_default=True,
    help="hybrid: words and meaning; keyword: words only; semantic: meaning only.",
)
@click.option(
    "--group",
    type=click.Choice(GROUPS),
    default="none",
    show_default=True,
    help="story: one line per story, as the search page shows them; none: one per article "
    "(the default, as the API's, so that scripts keep one line per article).",
)
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--per-page", type=int, default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@click.option("--include-unpublished", is_flag=True, help="Show unpublished articles too.")
@click.option("--exact", is_flag=True, help="Search the words as typed (no automatic respelling).")
@index_dir_option
def search(
    q: str,
    topics: tuple[str, ...],
    providers: tuple[str, ...],
    types: tuple[str, ...],
    since: str | None,
    until: str | None,
    sort: str,
    mode: str,
    group: str,
    page: int,
    per_page: int,
    as_json: bool,
    include_unpublished: bool,
    exact: bool,
    index_dir: Path,
) -> None:
    """Search the index: ranked hits and facet counts (a table, or JSON with --json)."""
    from . import serialize
    from .contract import SearchRequest

    relative = since if since in RELATIVE_RANGES else None
    try:
        request = SearchRequest(
            q=q,
            topics=topics,
            providers=providers,
            types=types,
            since=None if relative else _cli_date("--since", since),
            until=_cli_date("--until", until, end=True),
            range=relative,
            sort=sort,
            mode=mode,
            group=group,
            page=page,
            per_page=per_page,
            include_unpublished=include_unpublished,
            exact=exact,
        )
        engine = backends.make_engine({"INDEX_DIR": str(index_dir)})
        try:
            result = engine.search(request)
        finally:
            engine.close()
    except (NewsfindError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(serialize.result_to_dict(result), ensure_ascii=False, indent=2))
    else:
        click.echo(serialize.result_to_text(result))


def _cli_date(option: str, text: str | None, *, end: bool = False) -> dt.datetime | None:
    """As the web's ``since`` / ``until`` (``search.dates``): a date-only ``--until`` includes
    that day."""
    if not text:
        return None
    try:
        return dates.parse_date(option, text, end=end)
    except NewsfindError:
        raise click.BadParameter(
            f"{text!r} is not a date (use 2024-01-31 or 2024-01-31T08:00:00Z"
            f"{', or ' + ', '.join(RELATIVE_RANGES) if option == '--since' else ''})",
            param_hint=option,
        ) from None


@main.group()
def model() -> None:
    """The embedding model: build its graph, check its files."""


@model.command("build")
def model_build() -> None:
    """Build the int8 graph from the installed weights (once; scripts/bootstrap runs this)."""
    from .embedding import model as embedding_model

    try:
        path = embedding_model.ensure_graph()
    except NewsfindError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_FATAL)
    click.echo(f"{embedding_model.MODEL_ID}: {path}")


@model.command("check")
def model_check() -> None:
    """Check the weights and the graph against their pinned hashes (exit 1 naming the fix)."""
    from .embedding import model as embedding_model

    try:
        embedding_model.package_files()
        path = embedding_model.ensure_graph(build=False)
    except NewsfindError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_FATAL)
    click.echo(f"{embedding_model.MODEL_ID}: ok ({path})")


if __name__ == "__main__":  # pragma: no cover
    main()
