"""``search.analysis``: the terms both engines index, and the stemmer that replaced Whoosh's."""

from __future__ import annotations

from pathlib import Path

from whoosh.lang.snowball.english import EnglishStemmer

from search import analysis
from search.whoosh.schema import news_analyzer

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seed_words() -> set[str]:
    words: set[str] = set()
    for path in SEEDS.rglob("*.txt"):
        words.update(w.lower() for w in analysis.WORD_PATTERN.findall(path.read_text("utf-8")))
    return words


def test_stems_are_whooshs_on_the_seeds_and_the_measured_exceptions() -> None:
    whoosh = EnglishStemmer()
    words = {analysis.fold_word(w) for w in seed_words()} | set(analysis.WHOOSH_STEMS)
    words = {w for w in words if w and w not in analysis.STOP_WORDS}
    assert len(words) > 1_000
    assert {w: analysis.stem(w) for w in words} == {w: whoosh.stem(w) for w in words}


def test_term_chain() -> None:
    assert analysis.term("company's") == "compani"
    assert analysis.term("u.s.") == "us"
    assert analysis.term("café") == analysis.term("cafe") == "cafe"
    assert analysis.term("the") is None
    assert analysis.analyse("Bank of England rates") == ("bank", "england", "rate")
    assert analysis.positions("the bank, the bank of england") == {
        "bank": [0, 1],
        "england": [2],
    }


def test_the_whoosh_tokenizer_only_wraps_analysis() -> None:
    for text in ["Zürich café: the U.S. company's rates", *sorted(seed_words())[:500]]:
        tokens = [t.text for t in news_analyzer(text)]
        assert tuple(tokens) == analysis.analyse(text)
        positioned = {}
        for token in news_analyzer(text, positions=True):
            positioned.setdefault(token.text, []).append(token.pos)
        assert positioned == analysis.positions(text)
