"""The engine of this process: opened on first use, once per process, shared by its threads.

The engine itself keeps its searchers and picks up a new index generation after a reindex (the
contract's job); the web layer only makes sure each worker process builds its own engine (by
``search.backends``, from the app's configuration) — never one inherited across ``fork`` from
gunicorn's master — and retries on the next request while no index exists yet.
"""

from __future__ import annotations

import os
import threading

from flask import current_app

from search import backends
from search.contract import Engine

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
            engine = backends.make_engine(app.config)
            held = app.extensions[_KEY] = (os.getpid(), engine)
    return held[1]  # type: ignore[no-any-return]
