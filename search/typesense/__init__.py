"""The Typesense engine: newsfind's contract on a Typesense cluster (docs/typesense.md).

=================  ==============================================================================
``settings``       ``NEWSFIND_TYPESENSE_*`` → settings, clients, the client's errors, search key
``documents``      ``Article`` → Typesense document; the collection's fields; exact-value keys
``meta``           the schema version and last report (``<alias>-meta``); the alias's collection
``plan``           the query language on Typesense (what runs, what is refused with a 400)
``batch``          one request = one ``multi_search``: filters, facets, histogram, hits
``union``          counts over keyword matches plus articles found by meaning alone (sums)
``dense``          hybrid and semantic mode, more-like-this: the nearest by vector, the fusion
``cluster``        reads on several nodes: only from nodes in step with the cluster
``engine``         ``TypesenseEngine``: the contract's ``Engine``
``target``         where reindex writes: collections behind an alias (``reindex``)
=================  ==============================================================================
"""

from .documents import COLLECTION_FIELDS, SCHEMA_VERSION, exact_key, facet_text, facet_value
from .engine import TypesenseEngine
from .settings import TypesenseSettings
from .target import reindex

__all__ = [
    "COLLECTION_FIELDS",
    "SCHEMA_VERSION",
    "TypesenseEngine",
    "TypesenseSettings",
    "exact_key",
    "facet_text",
    "facet_value",
    "reindex",
]
