"""newsfind benchmarks: ``python -m bench scale|index|query|http|plot`` (see bench/README.md).

Nothing in ``search/`` or ``web/`` imports this package.
"""
