"""News sanity checks on the real corpus, in every mode.

- ``bench/relevance_news_checks.tsv``: ``query<TAB>expected article id``, queries whose words
  the article has; it must come in the top 3 (``TOP``) of the default mode, as it did before
  hybrid search.
- ``bench/relevance_meaning_checks.tsv``: ``query<TAB>article id<TAB>its title``, paraphrases
  written from real corpus articles that share few words with them (synonyms, descriptions:
  "German luxury carmaker" for Mercedes); the article must come in the top 10 (``MEANING_TOP``).

The whole corpus (``../shared/corpus``, its sub-folders included) is indexed with newsfind's own
indexer — into a temporary directory, or into ``--work DIR`` brought up to date incrementally
(its vectors reused) — and each query is searched as a user would: default request, relevance
sort, in each mode. The last line is the default mode's news checks (scripts read it).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

TOP = 3
MEANING_TOP = 10


def read_checks(path: Path) -> list[tuple[str, str]]:
    checks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise SystemExit(f"{path}:{number}: expected 'query<TAB>article id'")
        checks.append((parts[0].strip(), parts[1].strip()))
    return checks


def run_news_checks(
    corpus: Path,
    checks_file: Path,
    meaning_file: Path | None = None,
    work: Path | None = None,
) -> bool:
    from search.contract import DEFAULT_MODE, MODES
    from search.whoosh.engine import WhooshEngine
    from search.whoosh.target import reindex

    checks = read_checks(checks_file)
    meaning = read_checks(meaning_file) if meaning_file else []
    if not corpus.is_dir():
        raise SystemExit(f"{corpus}: no news corpus there (give --corpus DIR)")
    folder = work or Path(tempfile.mkdtemp(prefix="newsfind-news-checks-"))
    try:
        started = time.perf_counter()
        report = reindex(corpus, folder, full=work is None)
        print(
            f"news checks: indexed {report.documents} articles of {corpus} in "
            f"{time.perf_counter() - started:.0f} s ({report.embedded} embedded)",
            flush=True,
        )
        engine = WhooshEngine(folder)
        found: dict[str, int] = {}
        for mode in (DEFAULT_MODE, *(m for m in MODES if m != DEFAULT_MODE)):
            print(f"mode {mode}:")
            found[mode] = _run(engine, checks, mode, TOP)
            if meaning:
                hits = _run(engine, meaning, mode, MEANING_TOP)
                print(f"  meaning checks ({mode}): {hits}/{len(meaning)} in the top {MEANING_TOP}")
        engine.close()
    finally:
        if work is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"news checks: {found[DEFAULT_MODE]}/{len(checks)} in the top {TOP}")
    return found[DEFAULT_MODE] == len(checks)


def _run(engine: object, checks: list[tuple[str, str]], mode: str, top: int) -> int:
    from search.contract import SearchRequest

    passed = 0
    for query, expected in checks:
        result = engine.search(SearchRequest(q=query, per_page=top, facets=(), mode=mode))  # type: ignore[attr-defined]
        ids = [hit.article.id for hit in result.hits]
        rank = ids.index(expected) + 1 if expected in ids else None
        passed += rank is not None
        verdict = f"ok (#{rank})" if rank else f"not in the top {top}"
        print(f"  {query[:60]!r:62} → {expected}  {verdict}")
    return passed
