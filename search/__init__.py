"""newsfind's search service without its web front end: the contract, what both engines share,
and one package per engine (``whoosh``, ``typesense``). The README's layout table and
docs/architecture.md say which module does what."""
