"""The JSON API: ``/api/search``, its exports ``/api/search.csv`` and ``/api/search.json``
(``web.exports``), ``/api/suggest``, ``/api/articles/<id>``, ``/api/stories/<id>``,
``/api/trending``, ``/api/health``, ``/api/openapi.json`` (which documents all of them)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from . import exports, jsonview, openapi
from .caching import conditional
from .data import article_and_similar, search_params, story, suggestions, trending
from .params import SHAPE_PARAMS, parse_shape
from .state import get_engine

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
def search() -> Response:
    params = search_params(strict=True, also=SHAPE_PARAMS)
    shape = parse_shape(request.args)

    def produce() -> tuple[str, Response]:
        result = get_engine().search(params.request)
        return result.generation, jsonify(jsonview.shaped(jsonview.result_to_dict(result), shape))

    return conditional("json", produce, clock_dependent=params.request.range is not None)


@bp.get("/search.csv")
def search_csv() -> Response:
    return exports.csv_response()


@bp.get("/search.json")
def search_json() -> Response:
    return exports.json_response()


@bp.get("/suggest")
def suggest() -> Response:
    def produce() -> tuple[str, Response]:
        generation = get_engine().generation()  # first: see article()
        found = suggestions()
        return generation, jsonify(
            {"suggestions": [jsonview.suggestion_to_dict(item) for item in found]}
        )

    return conditional("json", produce)


@bp.get("/articles/<article_id>")
def article(article_id: str) -> Response:
    def produce() -> tuple[str, Response]:
        # read before the data: were a reindex swapped in between, an older generation's ETag
        # on newer data costs one 200 later; the reverse would 304 stale data until the next one
        generation = get_engine().generation()
        found, similar = article_and_similar(article_id)
        body = jsonview.article_to_dict(found)
        body["more_like_this"] = [jsonview.hit_to_dict(hit) for hit in similar]
        return generation, jsonify(body)

    return conditional("json", produce)


@bp.get("/stories/<story_id>")
def story_view(story_id: str) -> Response:
    def produce() -> tuple[str, Response]:
        generation = get_engine().generation()  # first: see article()
        return generation, jsonify(jsonview.story_to_dict(story(story_id)))

    return conditional("json", produce)


@bp.get("/trending")
def trending_view() -> Response:
    def produce() -> tuple[str, Response]:
        found = trending()
        return found.generation, jsonify(jsonview.trending_to_dict(found))

    return conditional("json", produce, clock_dependent=True)


@bp.get("/health")
def health() -> Response:
    response = jsonify(jsonview.info_to_dict(get_engine().info()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/openapi.json")
def openapi_document() -> Response:
    response = jsonify(openapi.document())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
