"""Stories: which articles tell the same news event (issue 14), computed at reindex, read by
both engines.

================  ===============================================================================
``features``      one article → what the story step reads of it (in the reindex workers)
``table``         articles as columns (``Table``) and variable-length rows (``Ragged``)
``vectors``       tf-idf, pruning, smoothing, similarities within a time window (numpy)
``linkage``       connected components, exact average linkage
``method``        the full run: similarity (``similarity``, the one definition), clustering
``incremental``   articles added to a clustered archive join a story or start one
``state``         ``StoryState`` and its file (one per index commit)
``step``          the reindex step: previous state + this run's changes → next state
``grouping``      a grouped page: each story's first match, the order pages are cut from
``diversity``     providers spread over the first page
``view``          a story page's data (``contract.Story``)
``trending``      stories and topics that grew most in a window
================  ===============================================================================
"""
