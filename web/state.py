"""The engine of this process: opened on first use, once per process, shared by its threads.

The engine itself keeps one searcher per thread and picks up a new index generation after a
reindex (the contract's job); the web layer only makes sure each worker process builds its own
engine — never one inherited across ``fork`` from gunicorn's master — and retries on the next
request while no index exists yet.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

from flask import Flask, current_app

from search.engines import NAMES
from search.engines import make_engine as make_named_engine
from search.models import Engine

_KEY = "newsfind.engine"
_lock = threading.Lock()


def get_engine() -> Engine:
    app = current_app
    held = app.extensions.get(_KEY)
    if held is not None and held[0] == os.getpid():
        return held[1]  # type: ignore[no-any-return]
    with _lock:
        held = app.extensions.get(_KEY)
        if held is None or held[0] != os.getpid():
            # may raise IndexUnavailable: nothing is cached then, so the next request retries
            engine = make_engine(app)
            held = app.extensions[_KEY] = (os.getpid(), engine)
    return held[1]


def make_engine(app: Flask) -> Engine:
    """``ENGINE``: a name ``search.engines`` knows (``whoosh``, ``typesense``),
    ``"module:Factory"``, a factory (given the index folder) or an engine."""
    spec: Any = app.config["ENGINE"]
    if isinstance(spec, str) and spec.lower() in NAMES:
        return make_named_engine(app.config)
    if isinstance(spec, str):
        module_name, _, attribute = spec.partition(":")
        spec = getattr(importlib.import_module(module_name), attribute)
    if isinstance(spec, type) or _is_factory(spec):
        return spec(app.config["INDEX_DIR"])  # type: ignore[no-any-return]
    return spec  # type: ignore[no-any-return]


def _is_factory(spec: Any) -> bool:
    return callable(spec) and not hasattr(spec, "search")
