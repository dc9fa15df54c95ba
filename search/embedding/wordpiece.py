"""BERT uncased WordPiece in pure Python: the ids all-MiniLM-L6-v2's ``tokenizer.json`` gives
(Hugging Face ``tokenizers``: BertNormalizer + BertPreTokenizer + WordPiece), without the
``tokenizers`` package and its dependencies. It gave the same ids on all 38,311 texts of the
shared corpus; ``tests/test_embedding.py`` keeps a set of hard cases with the library's ids.

- Normaliser: U+0000, U+FFFD and control characters (category C*, except tab, line feed and
  carriage return, which become spaces) are dropped; white space (category Zs) becomes a space;
  CJK ideographs get spaces around them; then lower case, NFD, and combining marks (Mn) dropped.
- Pre-tokeniser: split on white space; every punctuation character (ASCII 33–47, 58–64, 91–96,
  123–126, or category P*) is a token of its own.
- WordPiece: greedy longest match first; continuation pieces start with ``##``; a word over
  100 characters, or one that cannot be matched whole, is ``[UNK]``.
- ``[CLS]`` … ``[SEP]`` around at most ``max_tokens − 2`` pieces (truncation keeps the start).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

MAX_WORD_CHARS = 100
_CACHE_LIMIT = 200_000


class WordPiece:
    def __init__(self, vocab_file: Path) -> None:
        with open(vocab_file, encoding="utf-8") as handle:
            self.vocab = {line.rstrip("\n"): number for number, line in enumerate(handle)}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]
        self._pieces: dict[str, tuple[int, ...]] = {}

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """``[CLS]``, the text's pieces (cut to fit), ``[SEP]``."""
        ids: list[int] = []
        room = max_tokens - 2
        for word in self.words(text):
            ids.extend(self.pieces(word))
            if len(ids) >= room:
                break
        return [self.cls, *ids[:room], self.sep]

    def words(self, text: str) -> Iterator[str]:
        for chunk in normalize(text).split():
            current: list[str] = []
            for char in chunk:
                if _is_punctuation(char):
                    if current:
                        yield "".join(current)
                        current = []
                    yield char
                else:
                    current.append(char)
            if current:
                yield "".join(current)

    def pieces(self, word: str) -> tuple[int, ...]:
        known = self._pieces.get(word)
        if known is not None:
            return known
        found = self._match(word)
        if len(self._pieces) < _CACHE_LIMIT:
            self._pieces[word] = found
        return found

    def _match(self, word: str) -> tuple[int, ...]:
        if len(word) > MAX_WORD_CHARS:
            return (self.unk,)
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            piece = None
            while start < end:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                piece = self.vocab.get(candidate)
                if piece is not None:
                    break
                end -= 1
            if piece is None:
                return (self.unk,)
            ids.append(piece)
            start = end
        return tuple(ids)


def normalize(text: str) -> str:
    out: list[str] = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD:
            continue
        category = unicodedata.category(char)
        if char in "\t\n\r" or category == "Zs":
            out.append(" ")
        elif category.startswith("C"):
            continue
        elif _is_cjk(code):
            out.append(f" {char} ")
        else:
            out.append(char)
    lowered = unicodedata.normalize("NFD", "".join(out).lower())
    return "".join(char for char in lowered if unicodedata.category(char) != "Mn")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")
