"""Who asks: ``Authorization: Bearer <NEWSFIND_ADMIN_TOKEN>`` (compared in constant time) lets
a request see unpublished articles. With no token configured nobody can; a Bearer token that
does not match is a 401 and nothing else; another scheme (a proxy's Basic auth) is ignored.
"""

from __future__ import annotations

import hmac

from flask import Flask, current_app, g, request

from .errors import ApiError


def init_app(app: Flask) -> None:
    app.before_request(authenticate)


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
