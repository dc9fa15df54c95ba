"""newsfind's HTTP front end: ``create_app()`` serves the search page and the JSON API.

Configuration, later layers winning: the defaults below, then ``NEWSFIND_*`` environment
variables (``NEWSFIND_INDEX_DIR``, ``NEWSFIND_ADMIN_TOKEN``, ``NEWSFIND_PER_PAGE``,
``NEWSFIND_CORS_ORIGINS``, ``NEWSFIND_ENGINE``...), then the mapping given to ``create_app``.
Nothing heavy runs here: the engine is opened on the first request of each process
(see ``web.state``).

``flask --app web run`` serves it for development; ``newsfind serve`` for real (``web.cli``).

Modules: ``pages`` (HTML routes) renders ``present``'s declared page contexts (``SearchPage``,
``ArticlePage``); ``api`` (JSON routes) renders ``jsonview`` (documented by ``openapi``); both
parse requests with ``params`` and get their data from ``data``; ``exports`` streams a search as
CSV or JSON and serves its Atom feed. Around them: ``auth`` (admin
token), ``caching`` (ETags from the engine's generation, 304s), ``guard`` (size limits, security
headers, CORS), ``errors`` (one error shape), ``state`` (the process's engine).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "INDEX_DIR": "index",
    "SEEDS_DIR": "seeds",
    "ADMIN_TOKEN": "",
    "PER_PAGE": 10,
    "CORS_ORIGINS": "",
    "ENGINE": "whoosh",
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_QUERY_STRING_BYTES": 8 * 1024,
    "SEND_FILE_MAX_AGE_DEFAULT": 3600,
    "JSON_SORT_KEYS": False,
    "WARM_UP": True,
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    from .jsonview import FastJSONProvider

    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("NEWSFIND")
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    _check_config(app)

    from . import api, auth, errors, guard, pages

    guard.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    return app


def _check_config(app: Flask) -> None:
    """A bad setting fails at start-up with its name, not as a 400 on every request."""
    from search.contract import MAX_PER_PAGE

    per_page = app.config["PER_PAGE"]
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise ValueError(f"NEWSFIND_PER_PAGE must be an integer, got {per_page!r}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"NEWSFIND_PER_PAGE must be between 1 and {MAX_PER_PAGE}")
    for name in ("ADMIN_TOKEN", "CORS_ORIGINS"):  # NEWSFIND_ADMIN_TOKEN=12345 arrives as an int
        app.config[name] = str(app.config.get(name) or "")
    for name in ("INDEX_DIR", "SEEDS_DIR"):
        app.config[name] = str(app.config[name])
