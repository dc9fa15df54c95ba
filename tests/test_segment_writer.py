"""NewsSegmentWriter writes what Whoosh's SegmentWriter writes, for the same documents.

Both writers index the same parsed articles into two real indexes on disk; then every term of
every field is compared (term statistics, document numbers, weights and decoded posting values),
and so are the stored fields and the value columns. The fast writer pickles its posting blocks
with another protocol (and memoises a shared one-position value), so postings are compared
decoded, and the other files byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from search.articles import parse_article
from search.seeds import digest as _digest
from search.whoosh.schema import article_fields, make_schema, news_analyzer
from search.whoosh.segment_writer import NewsSegmentWriter, encode_positions

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

HOSTILE = [
    "",
    "   ",
    "the of and",
    "Bank's banks' BANK bank U.S. u.s. 1,000.5 e-mail café CAFÉ naïve",
    "İstanbul ǅemal ß straße ﬁnance Ωmega",
    "emoji 🙂 mixed ٣٤ ४५ 中文 字 日本語 한국어",
    "a" * 300 + " " + "word " * 300,
    "x\x00y\u200bz\ttab\nnewline",
]


def _documents(paths: list[Path]) -> list[dict[str, Any]]:
    documents = []
    for path in paths:
        data = path.read_bytes()
        article = parse_article(data, path.name)
        documents.append(article_fields(article, path.name, _digest(data)))
    return documents


def _build(
    folder: Path, writer_class: type, documents: list[dict[str, Any]], **options: Any
) -> Any:
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), make_schema())
    writer = writer_class(ix, _lk=False, compound=False, **options)
    for document in documents:
        writer.add_document(**document)
    segment = writer._finalize_segment()
    writer._close_segment()
    writer._commit_toc([segment])
    writer._finish()
    return whoosh_index.open_dir(str(folder))


def _postings(reader: Any) -> dict[tuple[str, bytes], Any]:
    found = {}
    for (field, term), info in _all_terms(reader):
        matcher = reader.postings(field, term)
        docs, weights, values = [], [], []
        while matcher.is_active():
            docs.append(matcher.id())
            weights.append(matcher.weight())
            values.append(matcher.value())
            matcher.next()
        stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                 info.max_weight(), info.min_id(), info.max_id())  # fmt: skip
        decoded = [_decode(reader, field, value) for value in values]
        found[(field, term)] = (stats, docs, weights, decoded)
    return found


def _all_terms(reader: Any) -> Any:
    for field, term in reader.all_terms():
        yield (field, term), reader.term_info(field, term)


def _decode(reader: Any, field: str, value: bytes) -> Any:
    fmt = reader.schema[field].format
    if type(fmt).__name__ == "Positions":
        return fmt.decode_positions(value)
    return value


def _same_index(left: Any, right: Any) -> None:
    with left.reader() as a, right.reader() as b:
        assert a.doc_count_all() == b.doc_count_all()
        assert list(a.all_stored_fields()) == list(b.all_stored_fields())
        postings_a, postings_b = _postings(a), _postings(b)
        assert postings_a.keys() == postings_b.keys()
        for key in postings_a:
            assert postings_a[key] == postings_b[key], key
        for field in a.schema.names():
            assert a.field_length(field) == b.field_length(field), field
            for docnum in range(a.doc_count_all()):
                assert a.doc_field_length(docnum, field) == b.doc_field_length(docnum, field)
    _same_columns(left, right)


def _same_columns(left: Any, right: Any) -> None:
    """Value columns and lengths, byte for byte, file by file."""
    (segment_a,) = left._segments()
    (segment_b,) = right._segments()
    files_a = sorted(f for f in left.storage.list() if f.endswith(".col"))
    files_b = sorted(f for f in right.storage.list() if f.endswith(".col"))
    rename = {f.replace(segment_a.segment_id(), "SEG"): f for f in files_a}
    assert sorted(rename) == sorted(f.replace(segment_b.segment_id(), "SEG") for f in files_b)
    for f in files_b:
        other = rename[f.replace(segment_b.segment_id(), "SEG")]
        assert (
            Path(left.storage.folder, other).read_bytes()
            == Path(right.storage.folder, f).read_bytes()
        ), f


def _hostile_documents() -> list[dict[str, Any]]:
    documents = []
    for number, text in enumerate(HOSTILE):
        documents.append(
            {
                "id": f"h{number}",
                "path": f"h{number}.txt",
                "title": text or "untitled",
                "body": text,
                "excerpt": text[::-1],
                "topic": "a\x1fb" if number % 2 else "a",
                "quality": 0.5,
                "doc": "{}",
            }  # fmt: skip
        )
    return documents


def test_same_index_as_whoosh_on_the_seeds(tmp_path: Path) -> None:
    documents = _documents(sorted(SEEDS.glob("*.txt"))) + _hostile_documents()
    whoosh = _build(tmp_path / "whoosh", SegmentWriter, documents)
    news = _build(tmp_path / "news", NewsSegmentWriter, documents)
    _same_index(whoosh, news)


def test_spilled_runs_merge_to_the_same_index(tmp_path: Path) -> None:
    documents = _documents(sorted(SEEDS.glob("*.txt")))
    whoosh = _build(tmp_path / "whoosh", SegmentWriter, documents)
    # a 40 kB buffer: the postings go through several run files and a merge
    news = _build(tmp_path / "news", NewsSegmentWriter, documents, limitmb=0.04)
    _same_index(whoosh, news)
    assert not list((tmp_path / "news").glob("**/*.nfrun")), "run files are removed"


def test_same_index_as_whoosh_on_a_corpus_sample(tmp_path: Path, shared_dir: Path) -> None:
    corpus = shared_dir / "corpus"
    paths = sorted(corpus.rglob("*.txt"))
    sample = random.Random(7).sample(paths, 600)
    documents = _documents(sample)
    _same_index(
        _build(tmp_path / "whoosh", SegmentWriter, documents),
        _build(tmp_path / "news", NewsSegmentWriter, documents),
    )


def test_positions_agree_with_the_analyzer() -> None:
    texts = HOSTILE + [
        path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))[:40]
    ]
    for text in texts:
        expected: dict[str, list[int]] = {}
        for token in news_analyzer(text, positions=True):
            expected.setdefault(token.text, []).append(token.pos)
        assert news_analyzer.positions(text) == expected


def test_encoded_positions_decode_as_whoosh_encodes() -> None:
    fmt = make_schema()["body"].format
    for positions in ([0], [5], [4095], [4096], [3, 9, 10], list(range(0, 3000, 7))):
        encoded = encode_positions(positions)
        assert fmt.decode_positions(encoded) == positions
        if len(positions) > 1 or positions[0] >= 4096:
            assert encoded == fmt.encode(positions)


def test_boost_fields_are_refused(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    writer = NewsSegmentWriter(ix, _lk=False)
    try:
        with pytest.raises(NotImplementedError, match="Whoosh's own writer"):
            writer.add_document(id="a", title="t", _boost=2.0)
    finally:
        writer._close_segment()


def test_block_edges(tmp_path: Path) -> None:
    """Terms with 1, 127, 128, 129, 256, 257 and 300 postings: full, partial and single blocks."""
    counts = {
        "one": 1,
        "seven": 127,
        "eight": 128,
        "nine": 129,
        "full": 256,
        "over": 257,
        "all": 300,
    }
    documents = []
    for number in range(300):
        words = [word for word, count in counts.items() if number < count]
        documents.append(
            {"id": f"d{number}", "title": " ".join(words), "body": " ".join(words * 3)}
        )
    whoosh = _build(tmp_path / "whoosh", SegmentWriter, documents)
    news = _build(tmp_path / "news", NewsSegmentWriter, documents)
    _same_index(whoosh, news)
    with news.reader() as reader:
        assert reader.doc_frequency("title", b"nine") == 129
