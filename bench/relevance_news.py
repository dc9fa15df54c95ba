"""News sanity checks: for queries whose answer is known in the news corpus, that article must
come in newsfind's top 3.

``bench/relevance_news_checks.tsv`` lists ``query<TAB>expected article id``. The whole corpus
(``../shared/corpus``, its sub-folders included) is indexed with newsfind's own indexer into a
temporary directory, and each query is searched as a user would: default request, relevance sort.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

TOP = 3


def read_checks(path: Path) -> list[tuple[str, str]]:
    checks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        query, sep, expected = line.partition("\t")
        if not sep or not query.strip() or not expected.strip():
            raise SystemExit(f"{path}:{number}: expected 'query<TAB>article id'")
        checks.append((query.strip(), expected.strip()))
    return checks


def run_news_checks(corpus: Path, checks_file: Path, top: int = TOP) -> bool:
    from search.engine import WhooshEngine
    from search.indexer import reindex
    from search.models import SearchRequest

    checks = read_checks(checks_file)
    if not corpus.is_dir():
        raise SystemExit(f"{corpus}: no news corpus there (give --corpus DIR)")
    work = Path(tempfile.mkdtemp(prefix="newsfind-news-checks-"))
    try:
        started = time.perf_counter()
        report = reindex(corpus, work, full=True)
        print(
            f"news checks: indexed {report.documents} articles of {corpus} in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        engine = WhooshEngine(work)
        failures = 0
        for query, expected in checks:
            result = engine.search(SearchRequest(q=query, per_page=top, facets=()))
            ids = [hit.article.id for hit in result.hits]
            rank = ids.index(expected) + 1 if expected in ids else None
            failures += rank is None
            verdict = f"ok (#{rank})" if rank else f"FAIL: top {top} = {', '.join(ids) or 'none'}"
            print(f"  {query!r:50} → {expected}  {verdict}")
        closer = getattr(engine, "close", None)
        if callable(closer):
            closer()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"news checks: {len(checks) - failures}/{len(checks)} in the top {top}")
    return failures == 0
