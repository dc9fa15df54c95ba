"""Choose the engine from configuration: ``ENGINE`` (``NEWSFIND_ENGINE``) is ``whoosh`` (the
default, the index folder ``INDEX_DIR``) or ``typesense`` (the cluster of ``TYPESENSE_NODES``,
``TYPESENSE_API_KEY``, ``TYPESENSE_COLLECTION``; see ``search.typesense_engine``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .models import Engine

NAMES = ("whoosh", "typesense")


def make_engine(config: Mapping[str, Any] | None = None) -> Engine:
    """The engine ``config`` names (Flask-style keys; ``NEWSFIND_*`` variables fill the gaps)."""
    config = config or {}
    name = str(config.get("ENGINE") or os.environ.get("NEWSFIND_ENGINE") or "whoosh").lower()
    if name == "typesense":
        from .typesense_engine import TypesenseEngine

        return TypesenseEngine(config)
    if name != "whoosh":
        raise ValueError(f"unknown engine {name!r}: use one of {', '.join(NAMES)}")
    from .engine import WhooshEngine

    index_dir = config.get("INDEX_DIR") or os.environ.get("NEWSFIND_INDEX_DIR", "index")
    return WhooshEngine(index_dir)
