"""What every request and response passes: size limits, security headers, CORS.

- **Limits**: a query string over ``MAX_QUERY_STRING_BYTES`` is a 414, one of raw bytes that are
  not UTF-8 a 400, a value whose percent-encoding is broken (``%zz``) or stands for bytes that are
  not UTF-8 (``q=%ff``) a 400 naming that parameter, a body over ``MAX_CONTENT_LENGTH`` a 413 (the
  API reads no bodies). The front server (``web.server``) lets request lines of any length
  through, so a long URL gets this JSON 414, not the server's own HTML page.
- **Headers**: a strict Content-Security-Policy and the usual hardening headers on every
  response; ``Vary: Authorization`` (admins see more).
- **CORS**: off unless ``NEWSFIND_CORS_ORIGINS`` lists origins (comma-separated, or ``*``), and
  then only for ``/api/``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_to_bytes

from flask import Flask, Response, current_app, request

from .errors import ApiError, is_api

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def init_app(app: Flask) -> None:
    app.before_request(check_limits)
    app.after_request(add_headers)


def check_limits() -> None:
    limit = current_app.config["MAX_QUERY_STRING_BYTES"]
    if len(request.query_string) > limit:
        raise ApiError(414, f"the query string is longer than {limit} bytes")
    try:
        query = request.query_string.decode()
    except UnicodeDecodeError as exc:
        # werkzeug's request.args decodes raw bytes strictly (a 500); percent-encoded ones pass
        raise ApiError(400, f"the query string is not valid UTF-8 (byte {exc.start})") from None
    if "%" in query:
        check_percent_encoding(query)
    length = request.content_length
    if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
        raise ApiError(413, "the request body is too large")


_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_percent_encoding(query: str) -> None:
    """Werkzeug decodes ``%ff`` to U+FFFD and keeps ``%zz`` as it is: both would be searched
    as if the reader had typed them. A 400 names the parameter instead."""
    for pair in query.split("&"):
        raw_name, _, raw_value = pair.partition("=")
        name = unquote(raw_name.replace("+", " "), errors="replace")
        for part, what in ((raw_name, "name "), (raw_value, "")):
            if _BROKEN_ESCAPE.search(part):
                problem = "has a '%' that is not followed by two hexadecimal digits"
            else:
                try:
                    unquote_to_bytes(part).decode("utf-8")
                    continue
                except UnicodeDecodeError:
                    problem = "is percent-encoded bytes that are not UTF-8 text"
            raise ApiError(400, f"{what}{problem}", code="invalid_parameter", param=name)


def add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.vary.add("Authorization")
    if is_api():
        _cors(response)
    return response


def _cors(response: Response) -> None:
    allowed = [o.strip() for o in str(current_app.config["CORS_ORIGINS"]).split(",") if o.strip()]
    if not allowed:
        return
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
    else:
        return
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, If-None-Match"
        response.headers["Access-Control-Max-Age"] = "600"
