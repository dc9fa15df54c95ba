"""The embedded Whoosh engine: newsfind's contract over index generations in a folder.

=================  ==============================================================================
``layout``         generations on disk, the ``CURRENT`` pointer, the saved report
``schema``         the Whoosh schema (``search.analysis`` as its tokenizer); ``Article → fields``
``target``         where reindex writes: segments in worker processes, atomic commits (``reindex``)
``segment_writer`` a faster segment writer for Whoosh's file format
``tuning``         small documented corrections to whoosh-reloaded 2.7.5
``snapshot``       one generation in memory as numpy arrays (masks, columns, facet entries)
``postings``       posting lists and positions read in bulk from Whoosh's files
``cache``          the snapshot's byte-bounded cache of clause vectors
``matching``       the query tree → masks and BM25F scores
``counts``         filters, page order, facet / histogram / range counts from masks
``engine``         ``WhooshEngine``: the contract's ``Engine``
=================  ==============================================================================
"""
