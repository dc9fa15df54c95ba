"""HTTP around the views: admin authentication, size limits, caching, CORS, security headers.

- **Admin**: ``Authorization: Bearer <NEWSFIND_ADMIN_TOKEN>`` (compared in constant time) lets a
  request see unpublished articles. With no token configured nobody can; a Bearer token that does
  not match is a 401 and nothing else.
- **Limits**: a query string over ``MAX_QUERY_STRING_BYTES`` is a 414, one of raw bytes that are
  not UTF-8 a 400, a body over ``MAX_CONTENT_LENGTH`` a 413 (the API reads no bodies).
- **Caching**: responses carry a weak ETag derived from the index generation and the request, and
  ``Cache-Control: no-cache`` (revalidate each time; a 304 when nothing changed). A reindex
  changes the generation, hence every ETag. Admin responses are ``private, no-store``.
- **CORS**: off unless ``NEWSFIND_CORS_ORIGINS`` lists origins (comma-separated, or ``*``), and
  then only for ``/api/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import Flask, Response, current_app, g, request

from .errors import ApiError, is_api

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
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
    app.before_request(authenticate)
    app.after_request(add_headers)


def check_limits() -> None:
    limit = current_app.config["MAX_QUERY_STRING_BYTES"]
    if len(request.query_string) > limit:
        raise ApiError(414, f"the query string is longer than {limit} bytes")
    try:
        request.query_string.decode()
    except UnicodeDecodeError as exc:
        # werkzeug's request.args decodes raw bytes strictly (a 500); percent-encoded ones pass
        raise ApiError(400, f"the query string is not valid UTF-8 (byte {exc.start})") from None
    length = request.content_length
    if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
        raise ApiError(413, "the request body is too large")


def authenticate() -> None:
    g.admin = False
    header = request.headers.get("Authorization")
    if header is None:
        return
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return  # another scheme (e.g. a proxy's Basic auth) is none of our business
    expected = current_app.config["ADMIN_TOKEN"]
    given = credentials.strip().encode("utf-8", "surrogateescape")
    if expected and hmac.compare_digest(given, expected.encode("utf-8")):
        g.admin = True
        return
    raise ApiError(
        401,
        "invalid bearer token",
        headers={"WWW-Authenticate": 'Bearer realm="newsfind", error="invalid_token"'},
    )


def is_admin() -> bool:
    return bool(g.get("admin", False))


def etag_for(generation: str, *, variant: str, clock_dependent: bool = False) -> str:
    """A weak validator: the index generation, the rendering, the request, and who asks.

    ``clock_dependent`` responses (relative ranges, "3 days ago") also change with the minute.
    """
    parts = [generation, variant, request.path, _canonical_query(), "admin" if is_admin() else ""]
    if clock_dependent:
        parts.append(dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M"))
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()
    return digest


def not_modified(etag: str) -> bool:
    return request.if_none_match.contains_weak(etag)


def cached(response: Response, etag: str) -> Response:
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = "private, no-store" if is_admin() else "no-cache"
    if request.method in ("GET", "HEAD") and not_modified(etag):
        response.status_code = 304
        response.set_data(b"")
        for header in ("Content-Type", "Content-Length"):
            response.headers.pop(header, None)
    return response


def not_modified_response(etag: str) -> Response:
    return cached(Response(status=304), etag)


def _canonical_query() -> str:
    pairs = sorted(request.args.items(multi=True))
    return "&".join(f"{key}={value}" for key, value in pairs)


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
