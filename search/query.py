"""The query language: text → a small tree of clauses, analysed exactly as documents are.

What a reader can type::

    bank rates            plain words: documents with any of them match; those with all of
                          them rank first (up to three words: ``ranking`` has the rule)
    "bank of england"     a phrase: the words next to each other (stop words take no position)
    -wheat   NOT wheat    exclude
    oil OR gas            either
    oil AND gas           both
    (oil OR gas) prices   parentheses group
    title:oil             a field: title, excerpt, body, topic (or topics), provider;
    title:(oil gas)       also before a phrase, a prefix or a group
    econom*               a prefix (at least two letters; no leading or inner wildcards); it
                          expands to at most ``MAX_EXPANSIONS`` indexed terms, the most
                          frequent kept (see ``EXPANSION_POSTINGS``)

Limits that keep one request cheap: at most ``MAX_CLAUSES`` words, phrases and prefixes (the
rest of a pasted text is ignored), of which at most ``MAX_PREFIXES`` prefixes (a further
``word*`` is searched as ``word``).

A query of more than ``ranking.STRICT_COORDINATION`` searchable words is read as a sentence
(``is_natural_language``): a typed word joining several (``non-linear``, ``oil/gas``) is those
words, not a phrase (quotes still make one), and when the text has no lower-case letter,
``AND`` / ``OR`` / ``NOT`` are words too (a question typed in capitals is not a formula).

Operators are upper case (``and``/``or``/``not`` are ordinary, stop, words). ``OR`` and ``AND``
bind tighter than the plain juxtaposition of words, as in web search engines:
``bank rates OR yields`` is ``bank`` and ``(rates OR yields)``. A clause left with no word after
analysis (``the``) is dropped. A query of stop words alone (``the``, ``"of the"``) is the phrase
of those words in titles (``ranking.WORDS_FIELD``, which keeps them); a query left with nothing
else matches nothing.

Anything the grammar does not accept — an unbalanced quote or parenthesis, a lone operator, a
leading wildcard — is not an error for the user: ``parse`` then returns the text's plain words
with ``plain_fallback=True``. ``parse`` never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from . import ranking
from .analysis import WORD_PATTERN, all_words, analyse, fold_word, term
from .ranking import LEAD_FIELD, SEARCH_FIELDS, WORDS_FIELD

MAX_EXPANSIONS = 200
"""A prefix expands to at most this many terms (the most frequent in the index)…"""
EXPANSION_POSTINGS = 3
"""… holding together at most this many postings per document of the index (a broad prefix
such as ``co*`` keeps its most frequent terms, rather than reading half the index)."""

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "excerpt": ("excerpt", LEAD_FIELD),
    "body": ("body",),
    "topic": ("topics_text",),
    "topics": ("topics_text",),
    "provider": ("provider_text",),
}
MAX_DEPTH = 32
"""Parentheses nested deeper than this are a syntax error (the text is then plain words)."""
MAX_CLAUSES = 64
"""Words, phrases and prefixes a query may hold; further ones are ignored."""
MAX_PREFIXES = 4
"""Prefixes a query may hold; further ``word*`` are searched as the plain ``word``."""


@dataclass(frozen=True)
class Words:
    """One typed word or a quoted phrase: its analysed terms must appear next to each other."""

    stems: tuple[str, ...]
    fields: tuple[str, ...]
    text: str
    span: tuple[int, int]
    """Where the word is in the query text (for did-you-mean)."""
    quoted: bool = False


@dataclass(frozen=True)
class Prefix:
    prefix: str
    """Lower case, accents folded, like indexed terms (but not stemmed)."""
    fields: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Soft:
    """Juxtaposed clauses: a document matching any positive one matches, none of the negated."""

    children: tuple[Node, ...]


Node = Words | Prefix | Not | All | Any | Soft


@dataclass(frozen=True)
class ParsedQuery:
    root: Node | None
    """None when nothing searchable is left (empty text, stop words only)."""
    plain_fallback: bool = False


class QuerySyntaxError(Exception):
    pass


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<quote>"[^"]*"?)
  | (?P<field>(?:title|excerpt|body|topics?|provider):(?=[^\s)]))
  | (?P<minus>[-!](?=[^\s)]))
  | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_OPERATORS = {"AND": "and", "OR": "or", "NOT": "not", "&&": "and", "||": "or"}
_PREFIX_BODY = re.compile(r"\w+(?:[.']\w+)*")
_SYNTAX_CHARS = re.compile(
    r"[()\"*]|(?<!\S)[-+!]+|\b(?:title|excerpt|body|topics?|provider):", re.I
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def parse(text: str) -> ParsedQuery:
    """The clause tree of ``text``; never raises (see the module docstring)."""
    text = clean(text)
    try:
        parsed = ParsedQuery(_Parser(text, natural=is_natural_language(text)).parse())
    except QuerySyntaxError:
        parsed = ParsedQuery(plain_words(text), plain_fallback=True)
    if parsed.root is None:
        return ParsedQuery(stop_words_phrase(text), parsed.plain_fallback)
    return parsed


def stop_words_phrase(text: str) -> Words | None:
    """The words of a query of stop words alone, as one phrase of titles' words (or None)."""
    plain = _SYNTAX_CHARS.sub(" ", text)
    words = tuple(w for w in WORD_PATTERN.findall(plain) if w not in _OPERATORS)
    folded = all_words(" ".join(words))[:MAX_CLAUSES]
    if not folded:
        return None
    return Words(folded, (WORDS_FIELD,), " ".join(words), (0, len(text)), quoted=True)


def is_natural_language(text: str) -> bool:
    """More than ``ranking.STRICT_COORDINATION`` searchable words: a sentence, not keywords."""
    count = 0
    for match in WORD_PATTERN.finditer(_SYNTAX_CHARS.sub(" ", text)):
        if match.group() not in _OPERATORS and term(match.group().lower()):
            count += 1
            if count > ranking.STRICT_COORDINATION:
                return True
    return False


def clean(text: str) -> str:
    # control characters (NUL, escape sequences…) are never part of a word
    return "".join(ch if ch.isprintable() or ch.isspace() else " " for ch in text)


def plain_words(text: str) -> Node | None:
    """The text's words, every operator and special character ignored."""
    stripped = _SYNTAX_CHARS.sub(lambda match: " " * len(match.group()), text)
    children: list[Node] = []
    split = WORD_PATTERN if is_natural_language(text) else re.compile(r"\S+")
    for match in split.finditer(stripped):
        node = _words(match.group(), SEARCH_FIELDS, (match.start(), match.end()), quoted=False)
        if node is not None and len(children) < MAX_CLAUSES:
            children.append(node)
    return _soft(children)


def _words(text: str, fields: tuple[str, ...], span: tuple[int, int], quoted: bool) -> Words | None:
    stems = analyse(text)
    if not stems:
        return None
    return Words(stems, fields, text, span, quoted)


def _soft(children: list[Node]) -> Node | None:
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    return Soft(tuple(children))


class _Parser:
    def __init__(self, text: str, natural: bool = False) -> None:
        self.text = text
        self.tokens = [t for t in _tokenize(text) if t.kind != "space"]
        self.operators: dict[str, str] = _OPERATORS
        if natural:
            self.tokens = list(_split_words(self.tokens))
        if natural and not any(ch.islower() for ch in text):
            self.operators = {}
        self.position = 0
        self.depth = 0
        self.clauses = 0
        self.prefixes = 0

    def parse(self) -> Node | None:
        if not self.tokens:
            return None
        node = self.sequence(SEARCH_FIELDS)
        if self.peek() is not None:  # a stray ')'
            raise QuerySyntaxError("unbalanced parenthesis")
        return node

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("unexpected end")
        self.position += 1
        return token

    def sequence(self, fields: tuple[str, ...]) -> Node | None:
        children: list[Node] = []
        seen_any = False
        while (token := self.peek()) is not None and token.kind != "rparen":
            seen_any = True
            node = self.disjunction(fields)
            if node is not None:
                children.append(node)
        if not seen_any:
            raise QuerySyntaxError("empty group")
        return _soft(children)

    def disjunction(self, fields: tuple[str, ...]) -> Node | None:
        nodes = [self.conjunction(fields)]
        while self._operator("or"):
            self.position += 1
            nodes.append(self.conjunction(fields))
        return _combine(Any, nodes)

    def conjunction(self, fields: tuple[str, ...]) -> Node | None:
        nodes = [self.unary(fields)]
        while self._operator("and"):
            self.position += 1
            nodes.append(self.unary(fields))
        return _combine(All, nodes)

    def _operator(self, name: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and self.operators.get(token.text) == name

    def unary(self, fields: tuple[str, ...]) -> Node | None:
        negations = 0
        token = self.take()
        while token.kind == "minus" or (
            token.kind == "word" and self.operators.get(token.text) == "not"
        ):
            negations += 1
            token = self.take()
        node = self.operand(fields, token)
        if node is None or negations % 2 == 0:
            return node
        return Not(node)

    def operand(self, fields: tuple[str, ...], token: _Token) -> Node | None:
        if token.kind == "word" and token.text in self.operators:
            raise QuerySyntaxError(f"operator {token.text} without a left operand")
        if token.kind == "field":
            name = token.text[:-1].lower()
            following = self.peek()
            if following is None or following.kind not in ("word", "quote", "lparen"):
                raise QuerySyntaxError("field without a value")
            return self.primary(FIELD_ALIASES[name], self.take())
        return self.primary(fields, token)

    def primary(self, fields: tuple[str, ...], token: _Token) -> Node | None:
        if token.kind == "lparen":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError("nested too deeply")
            node = self.sequence(fields)
            closing = self.take()
            if closing.kind != "rparen":
                raise QuerySyntaxError("unbalanced parenthesis")
            self.depth -= 1
            return node
        if token.kind == "quote":
            if len(token.text) < 2 or not token.text.endswith('"'):
                raise QuerySyntaxError("unbalanced quote")
            return self.leaf(_words(token.text[1:-1], fields, (token.start, token.end), True))
        if token.kind == "word":
            if token.text in self.operators:
                raise QuerySyntaxError(f"operator {token.text} without an operand")
            if "*" in token.text:
                prefix = _prefix(token, fields)
                if self.prefixes < MAX_PREFIXES:
                    self.prefixes += 1
                    return self.leaf(prefix)
                return self.leaf(_words(token.text[:-1], fields, (token.start, token.end), False))
            return self.leaf(_words(token.text, fields, (token.start, token.end), False))
        raise QuerySyntaxError(f"unexpected {token.text!r}")

    def leaf(self, node: Words | Prefix | None) -> Node | None:
        """``node``, unless the query already has ``MAX_CLAUSES`` clauses (then it is ignored)."""
        if node is None or self.clauses >= MAX_CLAUSES:
            return None
        self.clauses += 1
        return node


def _prefix(token: _Token, fields: tuple[str, ...]) -> Prefix:
    body = token.text[:-1] if token.text.endswith("*") else ""
    if not _PREFIX_BODY.fullmatch(body):
        raise QuerySyntaxError("wildcards only at the end of a word")
    normalized = fold_word(body)
    if len(normalized) < 2:
        raise QuerySyntaxError("a prefix needs two letters")
    return Prefix(normalized, fields, token.text)


def _combine(kind: type[All] | type[Any], nodes: list[Node | None]) -> Node | None:
    kept = [node for node in nodes if node is not None]
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return kind(tuple(kept))


def _split_words(tokens: list[_Token]) -> Iterator[_Token]:
    """Each word of a typed token (``non-linear`` → ``non``, ``linear``), prefixes aside."""
    for token in tokens:
        if token.kind != "word" or "*" in token.text or token.text in _OPERATORS:
            yield token
            continue
        for match in WORD_PATTERN.finditer(token.text):
            start = token.start + match.start()
            yield _Token("word", match.group(), start, start + len(match.group()))


def positive_text(text: str) -> str:
    """The query as typed, less what is not asked for: excluded operands (``-word``, ``NOT x``,
    ``-(a b)``, ``-"a b"``), operator words, field names, quotes, parentheses and the ``*`` of
    prefixes. Stop words and punctuation stay (what the embedding model reads)."""
    tokens = [t for t in _tokenize(clean(text)) if t.kind != "space"]
    kept: list[str] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if token.kind == "minus" or (token.kind == "word" and token.text == "NOT"):
            position = _skip_operand(tokens, position)
        elif token.kind == "quote":
            kept.append(token.text.strip('"'))
        elif token.kind == "word" and token.text not in _OPERATORS:
            kept.append(token.text.rstrip("*"))
    return " ".join(word for word in kept if word.strip())


def _skip_operand(tokens: list[_Token], position: int) -> int:
    """The position after the operand starting at ``position`` (a field prefix, a word, a
    phrase or a parenthesised group)."""
    while position < len(tokens) and tokens[position].kind in ("field", "minus"):
        position += 1
    if position < len(tokens) and tokens[position].kind == "lparen":
        depth = 0
        while position < len(tokens):
            kind = tokens[position].kind
            depth += (kind == "lparen") - (kind == "rparen")
            position += 1
            if depth == 0:
                break
        return position
    return position + 1


def clause_key(node: Node) -> object:
    """What a clause searches, whatever its place in the text (equal keys: the same clause)."""
    if isinstance(node, Words):
        return ("w", node.stems, node.fields)
    if isinstance(node, Prefix):
        return ("p", node.prefix, node.fields)
    if isinstance(node, Not):
        return ("n", clause_key(node.child))
    return (type(node).__name__, tuple(clause_key(child) for child in node.children))


def _tokenize(text: str) -> Iterator[_Token]:
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None  # the word alternative accepts any other character
        kind = match.lastgroup or "word"
        yield _Token(kind, match.group(), match.start(), match.end())
        position = match.end()


# -- walking the tree ---------------------------------------------------------------------------


def without_field(node: Node | None, field: str) -> Node | None:
    """The tree with ``field`` no longer searched: clauses left without a field are dropped
    (the Typesense engine asks for the matches in an article's own text this way)."""
    if node is None:
        return None
    if isinstance(node, Words):
        kept = tuple(f for f in node.fields if f != field)
        return Words(node.stems, kept, node.text, node.span, node.quoted) if kept else None
    if isinstance(node, Prefix):
        kept = tuple(f for f in node.fields if f != field)
        return Prefix(node.prefix, kept, node.text) if kept else None
    if isinstance(node, Not):
        child = without_field(node.child, field)
        return Not(child) if child is not None else None
    children = [without_field(child, field) for child in node.children]
    if isinstance(node, Soft):
        return _soft([child for child in children if child is not None])
    return _combine(All if isinstance(node, All) else Any, children)


def positive_leaves(node: Node | None) -> Iterator[Words | Prefix]:
    """The clauses a matching document may contain (not under a NOT): what highlighting marks."""
    if node is None or isinstance(node, Not):
        return
    if isinstance(node, Words | Prefix):
        yield node
        return
    for child in node.children:
        yield from positive_leaves(child)
