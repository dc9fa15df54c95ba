"""The engine over real news: 1,200 Reuters articles of ``../shared/corpus`` (skipped if absent)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from test_engine_helpers import Built, field_texts, has_term, request, visible

from search.articles import Article, read_article
from search.ranking import SEARCH_FIELDS
from search.whoosh.engine import WhooshEngine
from search.whoosh.schema import news_analyzer
from search.whoosh.target import reindex

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def reuters(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    source = shared_dir / "corpus" / "reuters"
    if not source.is_dir():
        pytest.skip(f"{source} is absent")
    root = tmp_path_factory.mktemp("reuters")
    seeds = root / "seeds"
    seeds.mkdir()
    for path in sorted(source.glob("*.txt"))[:1200]:
        shutil.copy(path, seeds / path.name)
    report = reindex(seeds, root / "index", workers=2)
    assert not report.rejected
    articles = [read_article(path) for path in sorted(seeds.glob("*.txt"))]
    return Built(WhooshEngine(root / "index"), articles, seeds, root / "index")


@pytest.mark.parametrize("word", ["oil", "said", "rates", "tonnes", "dividend"])
def test_totals_and_topic_counts_equal_brute_force(reuters: Built, word: str) -> None:
    stem = next(iter(news_analyzer(word))).text
    expected = [a for a in visible(reuters.articles) if has_term(a, stem)]
    result = reuters.engine.search(request(q=word, facet_size=100))
    assert result.total == len(expected) > 0
    topics = Counter(topic for a in expected for topic in a.topics)
    top = sorted(topics.items(), key=lambda item: (-item[1], item[0]))[:100]
    assert [(v.value, v.count) for v in result.facets["topic"].values] == top
    assert result.facets["topic"].truncated == (len(topics) > 100)
    assert all(hit.article.published for hit in result.hits)


def test_phrase_hits_hold_the_phrase(reuters: Built) -> None:
    result = reuters.engine.search(request(q='"interest rates"', per_page=50))
    assert result.total > 0
    for hit in result.hits:
        texts = field_texts(reuters.by_id(hit.article.id)).values()
        assert any(["interest", "rate"] in pairs(text) for text in texts)


@pytest.mark.parametrize(
    "phrase", ["interest rates", "mln dlrs", "the company said", "oil prices", "net loss", "vs"]
)
def test_phrase_totals_equal_brute_force(reuters: Built, phrase: str) -> None:
    stems = [token.text for token in news_analyzer(phrase)]

    def holds(article: Article) -> bool:
        for field in SEARCH_FIELDS:
            text = [token.text for token in news_analyzer(field_texts(article)[field])]
            if any(text[i : i + len(stems)] == stems for i in range(len(text))):
                return True
        return False

    expected = {a.id for a in visible(reuters.articles) if holds(a)}
    result = reuters.engine.search(request(q=f'"{phrase}"', per_page=10))
    assert result.total == len(expected) > 0
    assert {hit.article.id for hit in result.hits} <= expected


def pairs(text: str) -> list[list[str]]:
    stems = [token.text for token in news_analyzer(text)]
    return [stems[i : i + 2] for i in range(len(stems) - 1)]


def test_ranking_and_snippets_look_right(reuters: Built) -> None:
    result = reuters.engine.search(request(q="crude oil prices"))
    top = result.hits[0]
    assert sum(part.match for part in top.title) >= 2
    assert result.hits[0].score >= result.hits[-1].score
    snippets = [hit for hit in result.hits if hit.body_snippet]
    assert snippets and all(any(part.match for part in hit.body_snippet) for hit in snippets)
    assert all(len("".join(p.text for p in hit.body_snippet)) <= 260 for hit in snippets)


def test_unpublished_articles_stay_hidden(reuters: Built) -> None:
    hidden = [a for a in reuters.articles if not a.published]
    assert hidden
    for article in hidden[:10]:
        words = " ".join(article.title.split()[:3])
        result = reuters.engine.search(request(q=words, per_page=100))
        assert article.id not in {hit.article.id for hit in result.hits}
    assert reuters.engine.info().doc_count == len(visible(reuters.articles))


def test_did_you_mean_on_a_real_vocabulary(reuters: Built) -> None:
    offered = reuters.engine.search(request(q="dividnd", exact=True))
    assert offered.did_you_mean is not None and offered.total == 0
    assert offered.did_you_mean.q == "dividend"
    assert offered.did_you_mean.total > 0
    applied = reuters.engine.search(request(q="dividnd"))  # found nothing: respelled
    assert applied.corrected == offered.did_you_mean and applied.did_you_mean is None
    assert applied.total == offered.did_you_mean.total


def test_more_like_this_and_suggest(reuters: Built) -> None:
    first = next(a for a in reuters.articles if a.published and a.body)
    similar = reuters.engine.more_like_this(first.id, limit=5)
    assert similar and first.id not in {hit.article.id for hit in similar}
    assert reuters.engine.suggest("usa")[0].text == "USA"
