"""Connecting to a Typesense cluster: the settings (``NEWSFIND_TYPESENSE_*``), clients, the
client library's errors, and the search key derived from the admin key."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import IndexUnavailable

KEY_PROPAGATION = 5.0
"""Seconds a new search key may take to reach every node of a cluster."""


@dataclass(frozen=True)
class TypesenseSettings:
    nodes: tuple[str, ...]
    """``http://host:port`` of every node (the client spreads reads and fails over)."""
    api_key: str
    """The admin key: writes, reindex, and requests that include unpublished articles."""
    collection: str = "newsfind"
    """The alias searched; each full reindex creates ``<collection>-<stamp>`` behind it."""
    search_key: str = ""
    """A ``documents:search`` key; derived from the admin key and created when empty."""
    timeout: float = 5.0
    retries: int = 3

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None = None) -> TypesenseSettings:
        """From Flask-style config keys (``TYPESENSE_NODES``…), else ``NEWSFIND_TYPESENSE_*``."""
        config = config or {}

        def get(name: str, default: str = "") -> str:
            value = config.get(f"TYPESENSE_{name}")
            if value is None:
                value = os.environ.get(f"NEWSFIND_TYPESENSE_{name}", default)
            return str(value)

        nodes = tuple(
            _node_url(part) for part in get("NODES").replace(";", ",").split(",") if part.strip()
        )
        if not nodes:
            raise IndexUnavailable(
                "NEWSFIND_TYPESENSE_NODES is not set (e.g. http://127.0.0.1:8108, comma-separated)"
            )
        api_key = get("API_KEY")
        if not api_key:
            raise IndexUnavailable("NEWSFIND_TYPESENSE_API_KEY is not set")
        return cls(
            nodes=nodes,
            api_key=api_key,
            collection=get("COLLECTION", "newsfind"),
            search_key=get("SEARCH_KEY"),
            timeout=float(get("TIMEOUT", "5")),
        )

    def client(self, api_key: str | None = None) -> Any:
        import typesense  # type: ignore[import-untyped]

        nodes = []
        for url in self.nodes:
            scheme, _, rest = url.partition("://")
            host, _, port = rest.rstrip("/").rpartition(":")
            nodes.append({"host": host, "port": int(port), "protocol": scheme})
        # the 2.x client warns about its own deprecated analytics API on every construction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self._client(typesense, nodes, api_key)

    def _client(self, typesense: Any, nodes: list[dict[str, Any]], api_key: str | None) -> Any:
        return typesense.Client(
            {
                "nodes": nodes,
                "api_key": api_key or self.api_key,
                "connection_timeout_seconds": self.timeout,
                "num_retries": max(self.retries, len(nodes)),
                "retry_interval_seconds": 0.1,
                "healthcheck_interval_seconds": 2,
            }
        )


def _node_url(text: str) -> str:
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    scheme, _, rest = text.partition("://")
    if ":" not in rest.rstrip("/"):
        rest = rest.rstrip("/") + (":443" if scheme == "https" else ":8108")
    return f"{scheme}://{rest.rstrip('/')}"


def errors() -> Any:
    import typesense.exceptions as exceptions  # type: ignore[import-untyped]

    return exceptions


def unreachable() -> tuple[type[BaseException], ...]:
    """What a request to an unreachable or failing cluster raises."""
    found: tuple[type[BaseException], ...] = (errors().TypesenseClientError, OSError)
    try:  # the 2.x client speaks httpx; 0.x (for 0.2x servers) requests, whose errors are OSErrors
        import httpx  # type: ignore[import-not-found, unused-ignore]

        found += (httpx.HTTPError,)
    except ImportError:
        pass
    return found


def ensure_search_key(admin: Any, settings: TypesenseSettings) -> str:
    """A search-only key derived from the admin key: the same value on every process and host."""
    value = hmac.new(settings.api_key.encode(), b"newsfind-search-key", hashlib.sha256).hexdigest()[
        :32
    ]
    failures = errors()
    with contextlib.suppress(failures.ObjectAlreadyExists):
        admin.keys.create(
            {
                "value": value,
                "description": "newsfind: search only (derived from the admin key)",
                "actions": ["documents:search"],
                "collections": ["*"],
            }
        )
    return value
