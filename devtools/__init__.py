"""Developer tools that are not part of the installed service (never imported by ``search`` or
``web``): ``typesense_local`` starts Typesense servers on this machine for tests, benchmarks and
trying the Typesense engine (``python -m devtools.typesense_local``)."""
