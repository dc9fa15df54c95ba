"""The collection's metadata on the cluster: the schema version and the last reindex report,
kept in one document of ``<alias>-meta``; and which collection the alias points at."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from .documents import SCHEMA_VERSION
from .settings import TypesenseSettings, errors

META_ID = "state"


def meta_collection(settings: TypesenseSettings) -> str:
    return f"{settings.collection}-meta"


def _document(admin: Any, settings: TypesenseSettings) -> dict[str, Any] | None:
    failures = errors()
    try:
        document = admin.collections[meta_collection(settings)].documents[META_ID].retrieve()
    except (failures.ObjectNotFound, failures.TypesenseClientError):
        return None
    return document  # type: ignore[no-any-return]


def read_meta(admin: Any, settings: TypesenseSettings) -> dict[str, Any] | None:
    """The last reindex report."""
    document = _document(admin, settings)
    if document is None:
        return None
    try:
        report: dict[str, Any] = json.loads(document.get("report", "{}"))
    except ValueError:
        return None
    return report


def changes(admin: Any, settings: TypesenseSettings) -> str:
    """A value that changes with every reindex that changed something (``""`` before any)."""
    document = _document(admin, settings)
    return str(document.get("changes", "")) if document else ""


def write_meta(
    admin: Any, settings: TypesenseSettings, report: dict[str, Any], changed: bool
) -> None:
    """Save the report; ``changed``: the run changed the collection (``changes`` moves on)."""
    stamp = str(time.time_ns()) if changed else changes(admin, settings)
    failures = errors()
    name = meta_collection(settings)
    with contextlib.suppress(failures.ObjectAlreadyExists):
        admin.collections.create({"name": name, "fields": [{"name": "kind", "type": "string"}]})
    admin.collections[name].documents.upsert(
        {
            "id": META_ID,
            "kind": "state",
            "schema_version": SCHEMA_VERSION,
            "report": json.dumps(report),
            "changes": stamp,
        }
    )


def schema_mark(admin: Any, settings: TypesenseSettings) -> str | None:
    """The ``SCHEMA_VERSION`` of the last reindex into ``settings.collection``; None if unknown."""
    failures = errors()
    try:
        document = admin.collections[meta_collection(settings)].documents[META_ID].retrieve()
    except failures.ObjectNotFound:
        return None
    version = document.get("schema_version")
    return str(version) if version is not None else None


def current_collection(admin: Any, settings: TypesenseSettings) -> str | None:
    """The collection behind the alias; None when there is none yet."""
    try:
        return str(admin.aliases[settings.collection].retrieve()["collection_name"])
    except errors().ObjectNotFound:
        return None
