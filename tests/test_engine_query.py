"""The query parser and the spelling helpers, without an index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search import highlight, query, spelling
from search.query import All, Any, Not, Prefix, Soft, Words, parse
from search.ranking import SEARCH_FIELDS
from search.whoosh.schema import news_analyzer


def words(node: query.Node | None) -> object:
    """The tree with only stems and structure, for compact assertions."""
    if node is None:
        return None
    if isinstance(node, Words):
        return " ".join(node.stems) if node.fields == SEARCH_FIELDS else (node.fields, node.stems)
    if isinstance(node, Prefix):
        return f"{node.prefix}*" if node.fields == SEARCH_FIELDS else (node.fields, node.prefix)
    if isinstance(node, Not):
        return ("not", words(node.child))
    name = {All: "and", Any: "or", Soft: "soft"}[type(node)]
    return (name, *[words(child) for child in node.children])


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("Banks rates", ("soft", "bank", "rate")),
        ("bank rates OR yields", ("soft", "bank", ("or", "rate", "yield"))),
        ("x AND y OR z", ("or", ("and", "x", "y"), "z")),
        ("oil -gas NOT coal", ("soft", "oil", ("not", "gas"), ("not", "coal"))),
        ("NOT NOT oil", "oil"),
        ('"Bank of England"', "bank england"),
        ("covid-19", "covid 19"),
        ("Title:oil topic:Energy provider:bbc.co.uk", ("soft", (("title",), ("oil",)),
         (("topics_text",), ("energi",)), (("provider_text",), ("bbccouk",)))),
        ("title:(oil gas)", ("soft", (("title",), ("oil",)), (("title",), ("gas",)))),
        ("Écon*", "econ*"),
        ("body:U.S*", (("body",), "us")),
        ("the of", (("title_words",), ("the", "of"))),  # stop words alone: a title phrase
        ("oil the", "oil"),
        ("(the) oil", "oil"),
        ("", None),
    ],
)  # fmt: skip
def test_grammar(text: str, tree: object) -> None:
    parsed = parse(text)
    assert not parsed.plain_fallback
    assert words(parsed.root) == tree


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        # up to ranking.STRICT_COORDINATION words: keywords, the grammar as above
        ("non-linear flow", ("soft", "non linear", "flow")),
        ("OIL AND GAS", ("and", "oil", "gas")),
        ("OIL NOT GAS", ("soft", "oil", ("not", "gas"))),
        # longer: a sentence; joined words are words, and in all-caps text AND/OR/NOT are words
        ("non-linear flow of heated gases", ("soft", "non", "linear", "flow", "heat", "gase")),
        ('"non-linear" flow of heated gases', ("soft", "non linear", "flow", "heat", "gase")),
        ("OIL AND GAS PRICES RISE", ("soft", "oil", "gas", "price", "rise")),
        ("OIL NOT GAS PRICES RISE", ("soft", "oil", "gas", "price", "rise")),
        ("oil NOT gas prices rise", ("soft", "oil", ("not", "gas"), "price", "rise")),
        ("oil-gas price* rise today", ("soft", "oil", "gas", "price*", "rise", "today")),
    ],
)  # fmt: skip
def test_long_queries_are_read_as_sentences(text: str, tree: object) -> None:
    parsed = parse(text)
    assert not parsed.plain_fallback
    assert words(parsed.root) == tree


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('"open quote', "open quot"),
        ("(oil", "oil"),
        ("oil)", "oil"),
        ("oil OR", "oil"),
        ("AND oil", "oil"),
        ("NOT", None),
        ("*oil", "oil"),
        ("o*il", ("soft", "o", "il")),
        ("title:-oil", "oil"),
        ("()", None),
    ],
)
def test_syntax_errors_become_plain_words(text: str, tree: object) -> None:
    parsed = parse(text)
    assert parsed.plain_fallback
    assert words(parsed.root) in (tree, ("soft", *tree.split()) if isinstance(tree, str) else tree)


def test_spans_point_into_the_text() -> None:
    text = 'central banke "rate cut" -x'
    spans = [
        (leaf.text, text[leaf.span[0] : leaf.span[1]])
        for leaf in query.positive_leaves(parse(text).root)
    ]
    assert spans == [("central", "central"), ("banke", "banke"), ("rate cut", '"rate cut"')]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.text(alphabet='ab "()*-:OR ANDNOTtile', max_size=60))
def test_parse_never_raises(text: str) -> None:
    parsed = parse(text)
    for leaf in query.positive_leaves(parsed.root):
        assert leaf.fields


def test_edit_distance() -> None:
    assert spelling.edit_distance("wheat", "wheat", 2) == 0
    assert spelling.edit_distance("wheet", "wheat", 2) == 1
    assert spelling.edit_distance("whaet", "wheat", 2) == 1  # a swap
    assert spelling.edit_distance("inflaton", "inflat", 2) == 2
    assert spelling.edit_distance("abc", "xyzabc", 2) == 3  # over the limit: limit + 1


@pytest.mark.parametrize(
    ("stem", "typed", "word"),
    [
        ("inflat", "inflaton", "inflation"),
        ("economi", "econmy", "economy"),
        ("bank", "bnak", "bank"),
    ],
)
def test_surface_form(stem: str, typed: str, word: str) -> None:
    assert spelling.surface_form(stem, typed) == word


# -- highlighting finds exactly the analyser's words ----------------------------------------------

HIGHLIGHT_TEXT = st.lists(
    st.sampled_from(list("aAbBsSuU.' -_1é\u00c9ﬁİ\u212a日\n") + ["dying", "U.S.", "Café"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=HIGHLIGHT_TEXT, pick=st.lists(st.integers(0, 50), max_size=4))
def test_highlight_marks_exactly_the_analysers_matches(text: str, pick: list[int]) -> None:
    # the analyser reuses one Token object: copy what is needed as it goes
    tokens = [(t.text, t.startchar, t.endchar) for t in news_analyzer(text, chars=True)]
    terms = {tokens[i % len(tokens)][0] for i in pick} if tokens else {"b"}
    expected = [(start, end) for stem, start, end in tokens if stem in terms]
    marked = [segment for segment in highlight.segments(text, terms) if segment.match]
    assert [segment.text for segment in marked] == [text[s:e] for s, e in expected]
    assert "".join(segment.text for segment in highlight.segments(text, terms)) == text


def test_clause_limits() -> None:
    many = " ".join(f"word{n}" for n in range(100))
    assert len(list(query.positive_leaves(parse(many).root))) == query.MAX_CLAUSES
    assert len(list(query.positive_leaves(parse(f"({many}").root))) == query.MAX_CLAUSES
    prefixes = list(query.positive_leaves(parse("ab* cd* ef* gh* ij* kl*").root))
    assert [type(leaf).__name__ for leaf in prefixes] == ["Prefix"] * 4 + ["Words"] * 2
    assert [leaf.stems for leaf in prefixes if isinstance(leaf, Words)] == [("ij",), ("kl",)]


def test_one_letter_prefixes_are_plain_words() -> None:
    parsed = parse("s* oil")
    assert parsed.plain_fallback
    assert words(parsed.root) == ("soft", "s", "oil")
