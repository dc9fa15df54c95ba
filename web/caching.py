"""HTTP caching: weak ETags made of the index generation and the request, and 304s.

Responses carry ``Cache-Control: no-cache`` (revalidate each time; a 304 when nothing changed);
the ETag's generation is ``Engine.generation()`` (cheap: no report read per request), so a
reindex changes every ETag. Admin responses are ``private, no-store``. ``conditional`` answers a
conditional request before the engine does any work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from flask import Response, request

from .auth import is_admin
from .state import get_engine


def conditional(
    variant: str, produce: Callable[[], tuple[str, Response]], *, clock_dependent: bool = False
) -> Response:
    """A 304 when the client's ETag still holds; else ``produce() → (generation, response)``."""
    # "*" means "any current representation": only produce() knows whether there is one
    if request.if_none_match and not request.if_none_match.star_tag:
        generation = get_engine().generation()
        etag = etag_for(generation, variant=variant, clock_dependent=clock_dependent)
        if not_modified(etag):
            return not_modified_response(etag)
    generation, response = produce()
    return cached(response, etag_for(generation, variant=variant, clock_dependent=clock_dependent))


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
