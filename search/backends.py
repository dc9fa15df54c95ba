"""The engine and its indexer, built by name from configuration: the one place that chooses.

``ENGINE`` (``NEWSFIND_ENGINE``) is ``whoosh`` (the default: index generations in ``INDEX_DIR``)
or ``typesense`` (the cluster of ``TYPESENSE_NODES``, ``TYPESENSE_API_KEY``,
``TYPESENSE_COLLECTION``; see ``search.typesense``). Keys are Flask-style; ``NEWSFIND_*``
variables fill the gaps. Engine packages are imported only when chosen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .contract import Engine, Indexer

NAMES = ("whoosh", "typesense")


def engine_name(config: Mapping[str, Any] | None = None) -> str:
    config = config or {}
    name = str(config.get("ENGINE") or os.environ.get("NEWSFIND_ENGINE") or "whoosh").lower()
    if name not in NAMES:
        raise ValueError(f"unknown engine {name!r}: use one of {', '.join(NAMES)}")
    return name


def index_dir(config: Mapping[str, Any] | None = None) -> str:
    """Whoosh's index folder; for Typesense, where the reindex lock lives."""
    config = config or {}
    return str(config.get("INDEX_DIR") or os.environ.get("NEWSFIND_INDEX_DIR", "index"))


def make_engine(config: Mapping[str, Any] | None = None) -> Engine:
    """The engine ``config`` names."""
    if engine_name(config) == "typesense":
        from .typesense.engine import TypesenseEngine

        return TypesenseEngine(config)
    from .whoosh.engine import WhooshEngine

    # a server warms each new generation before it goes live (search.whoosh.warmup)
    return WhooshEngine(index_dir(config), watch=bool((config or {}).get("WARM_UP", False)))


def make_indexer(config: Mapping[str, Any] | None = None) -> Indexer:
    """The indexer of the engine ``config`` names (its lock in ``INDEX_DIR``)."""
    from .reindex import Reindexer

    if engine_name(config) == "typesense":
        from .typesense.settings import TypesenseSettings
        from .typesense.target import TypesenseTarget

        settings = TypesenseSettings.from_mapping(config)
        return Reindexer(TypesenseTarget(settings, index_dir(config)), index_dir(config))
    from .whoosh.target import WhooshTarget

    return Reindexer(WhooshTarget(index_dir(config)), index_dir(config))
