"""One error shape for every API error, and the matching HTML page for the site.

JSON (every path under ``/api/``)::

    {"error": {"code": "invalid_parameter", "message": "must be an integer", "param": "page"}}

``param`` is present only for a bad parameter. A 500 says nothing about the internals (the
traceback goes to the log). Pages get the same status with a readable page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search.errors import IndexUnavailable, NotFound, QueryTooLong, RequestError

CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    500: "internal_error",
    503: "index_unavailable",
}
TITLES = {
    400: "That search cannot be run",
    401: "Not authorised",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    414: "Request too long",
    500: "Something went wrong",
    503: "The search index is not ready",
}


class ApiError(Exception):
    """An error with its HTTP status, code and message, raised anywhere in a view."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.param = param
        self.headers = headers or {}
        super().__init__(message)


def is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def render_error(error: ApiError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.param is not None:
        body["param"] = error.param
    if is_api():
        response = jsonify({"error": body})
    else:
        response = Response(
            render_template("error.html", error=error, title=TITLES.get(error.status, "Error")),
            mimetype="text/html",
        )
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def from_request_error(error: RequestError) -> ApiError:
    status = 414 if isinstance(error, QueryTooLong) else 400
    code = "query_too_long" if status == 414 else "invalid_parameter"
    return ApiError(status, error.message, code=code, param=error.param)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return render_error(error)

    @app.errorhandler(RequestError)
    def request_error(error: RequestError) -> Response:
        return render_error(from_request_error(error))

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Response:
        return render_error(ApiError(404, f"no article with id {error.article_id!r}"))

    @app.errorhandler(IndexUnavailable)
    def unavailable(error: IndexUnavailable) -> Response:
        app.logger.warning("index unavailable: %s", error)
        message = "the search index has not been built yet or cannot be opened; try again later"
        return render_error(ApiError(503, message, headers={"Retry-After": "30"}))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        headers = {}
        if status == 405:
            headers["Allow"] = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
        message = _http_message(status, error)
        return render_error(ApiError(status, message, headers=headers))

    @app.errorhandler(Exception)
    def internal(error: Exception) -> Response:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(ApiError(500, "an internal error occurred; it has been logged"))


def _http_message(status: int, error: HTTPException) -> str:
    if status == 404:
        return f"no such page: {request.path}"
    if status == 405:
        return f"{request.method} is not allowed here"
    if status == 413:
        return "the request body is too large"
    description = (error.description or "").strip()
    return description.splitlines()[0] if description else error.name
