"""The HTML pages: the search page (``/``, with trending stories when nothing is asked), one
article (``/articles/<id>``), one story (``/stories/<id>``), and the Atom feed of a search
(``/feed``, ``web.exports``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from pathlib import Path

from flask import Blueprint, Response, render_template, request, url_for

from search.contract import DEFAULT_MODE, MAX_FILTER_VALUES, SearchResult
from search.errors import RequestError

from . import exports, present, storyview
from .caching import conditional
from .data import article_and_similar, search_params, story, story_of, trending
from .errors import from_request_error
from .params import SEARCH_PARAMS
from .state import get_engine

bp = Blueprint("pages", __name__)
bp.add_app_template_filter(present.relative_time, "ago")
bp.add_app_template_filter(present.absolute_time, "absolute")
bp.add_app_template_filter(present.machine_time, "isotime")
bp.add_app_template_global(present.providers_of, "providers_of")
bp.add_app_template_filter(present.web_url, "web_url")


@bp.app_context_processor
def page_globals() -> dict[str, object]:
    return {
        "SORTS": present.SORT_LABELS,
        "MODES": present.MODE_LABELS,
        "DEFAULT_MODE": DEFAULT_MODE,
    }


@bp.app_template_global()
def asset(filename: str) -> str:
    """A static file's URL with its content hash, so a new version is never served stale."""
    return url_for("static", filename=filename, v=_asset_version(filename))


@functools.cache
def _asset_version(filename: str) -> str:
    path = Path(bp.root_path, "static", filename)
    return hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()


@bp.get("/")
def search() -> Response:
    try:
        params = search_params(strict=False)
    except RequestError as error:
        return _invalid_search(error)

    def produce() -> tuple[str, Response]:
        result = get_engine().search(params.request)
        html = render_search(result, params.args, params.notes)
        return result.generation, Response(html, mimetype="text/html")

    return conditional("html", produce, clock_dependent=True)


def render_search(
    result: SearchResult, args: dict[str, list[str]], notes: dict[str, str] | None = None
) -> str:
    """The search page for a result; ``args`` is the canonical query that produced it, ``notes``
    the parameters it could not apply."""
    page = present.SearchPage.of(result, args, notes)
    home = not any(name in args for name in SEARCH_PARAMS if name not in ("group", "sort"))
    page = dataclasses.replace(
        page,
        story_lines=storyview.story_lines(result),
        group_links=storyview.group_links(result, page.state),
        trending=storyview.trending_view(trending(strict=False)) if home else None,
    )
    return render_template("search.html", **page.context())


def _invalid_search(error: RequestError) -> Response:
    """The search page in its error state: the form stays, the message names the parameter."""
    problem = from_request_error(error)
    # as many values as a valid search may have: each chip's URL repeats all the others, so
    # the 1,000 filters an 8 KB query string holds would cost seconds (quadratic)
    args = {
        name: list(dict.fromkeys(v for v in request.args.getlist(name) if v.strip()))[
            :MAX_FILTER_VALUES
        ]
        for name in SEARCH_PARAMS
    }
    state = present.UrlState({name: values for name, values in args.items() if values})
    page = present.SearchPage(
        state=state,
        chips=present.chips(state),
        problem=problem,
        retry_url=state.refine(**{problem.param or "": None}),
    )
    html = render_template("search.html", **page.context())
    response = Response(html, status=problem.status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/feed")
def feed() -> Response:
    return exports.feed_response()


@bp.get("/articles/<article_id>")
def article(article_id: str) -> Response:
    def produce() -> tuple[str, Response]:
        generation = get_engine().generation()  # first: see api.article()
        found, similar = article_and_similar(article_id)
        page = present.ArticlePage.of(found, similar, dt.datetime.now(dt.UTC))
        covered = storyview.also_covered(found, story_of(article_id))
        html = render_template("article.html", covered=covered, **page.context())
        return generation, Response(html, mimetype="text/html")

    return conditional("html", produce, clock_dependent=True)


@bp.get("/stories/<story_id>")
def story_page(story_id: str) -> Response:
    def produce() -> tuple[str, Response]:
        generation = get_engine().generation()  # first: see api.article()
        page = storyview.StoryPage.of(story(story_id), dt.datetime.now(dt.UTC))
        html = render_template("story.html", **page.context())
        return generation, Response(html, mimetype="text/html")

    return conditional("html", produce, clock_dependent=True)
