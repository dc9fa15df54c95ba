"""The seed parser (search/articles.py), the bundled samples and the stored form (documents.py).

Bad input must raise ``ArticleError`` naming the file and the problem; the leniencies listed in
the parser's docstring must hold; ``secured`` must never survive parsing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from search import articles, documents
from search.articles import (
    MAX_FILE_BYTES,
    Article,
    ArticleError,
    Image,
    Provider,
    RelatedArticle,
    parse_article,
    read_article,
)
from search.whoosh import schema

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHOWCASE = SEEDS / "001_fc434f8ecf37be4d.txt"
REFERENCE_SAMPLE = "000_e08b7012a3019e8c.txt"
PATH = "seeds/001_0123456789abcdef.txt"
SECRET = "c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du;Zm9v=="
UTC = dt.UTC


def doc(*lines: str, body: str = "") -> str:
    """A seed file: the front-matter lines between fences, then the body."""
    return "---\n" + "\n".join(lines) + "\n---\n" + body


def parse(text: str | bytes, path: str = PATH) -> Article:
    return parse_article(text.encode("utf-8") if isinstance(text, str) else text, path)


def reason(text: str | bytes, path: str = PATH) -> str:
    """Parse bad input; check the error names the file; return its reason."""
    with pytest.raises(ArticleError) as caught:
        parse(text, path)
    assert caught.value.path == path
    assert str(caught.value) == f"{path}: {caught.value.reason}"
    return caught.value.reason


def values(obj: Any) -> list[Any]:
    """Every leaf value inside an Article (dataclasses, tuples and all)."""
    if dataclasses.is_dataclass(obj):
        return [v for f in dataclasses.fields(obj) for v in values(getattr(obj, f.name))]
    if isinstance(obj, tuple):
        return [v for item in obj for v in values(item)]
    return [obj]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("title: x\n", "no front matter: the first line must be '---'", id="none"),
        pytest.param("", "no front matter", id="empty-file"),
        pytest.param("\n---\ntitle: x\n---\n", "no front matter", id="blank-first-line"),
        pytest.param("--- \ntitle: x\n", "unterminated front matter", id="unterminated"),
        pytest.param("---\ntitle: x\n--\n", "unterminated front matter", id="short-fence"),
        pytest.param("---\n---\nbody\n", "empty front matter", id="empty-front-matter"),
        pytest.param(doc("- a", "- b"), "front matter is a list, not a mapping", id="list"),
        pytest.param(
            doc("just words"), "front matter is the text 'just words', not a mapping", id="text"
        ),
        pytest.param(doc("42"), "front matter is the number 42, not a mapping", id="number"),
    ],
)
def test_front_matter_problems(text: str, expected: str) -> None:
    assert expected in reason(text)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            ["category: news", "title: x", "  bad: indent"],
            "invalid YAML at line 4, column 6: mapping values are not allowed",
            id="mapping-value",
        ),
        pytest.param(
            ["title: x", "excerpt: [unclosed"],
            "invalid YAML at line 4, column 1: did not find expected ',' or ']'",
            id="unclosed-flow",
        ),
        pytest.param(
            ["title: x", "\tquality: 3"],
            "invalid YAML at line 3, column 1: found a tab character",
            id="tab",
        ),
        pytest.param(["? [a]", ": b", "title: x"], "invalid YAML at line 2, column 3", id="key"),
        pytest.param(['title: "a\x07"'], "unacceptable character #x0007", id="control-char"),
    ],
)
def test_invalid_yaml_names_the_line(lines: list[str], expected: str) -> None:
    assert expected in reason(doc(*lines))


def test_invalid_yaml_line_numbers_count_bom_and_crlf_files_alike() -> None:
    plain = reason(doc("title: x", "excerpt: a: b"))
    crlf = reason(doc("title: x", "excerpt: a: b").replace("\n", "\r\n"))
    bom = reason(b"\xef\xbb\xbf" + doc("title: x", "excerpt: a: b").encode())
    assert plain == crlf == bom
    assert plain.startswith("invalid YAML at line 3, column 11: ")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(["excerpt: x"], "missing 'title'", id="missing"),
        pytest.param(["title:"], "missing 'title'", id="null"),
        pytest.param(['title: ""'], "empty 'title'", id="empty"),
        pytest.param(['title: "   "'], "empty 'title'", id="blank"),
        pytest.param(["title: [a, b]"], "'title' must be text, got a list", id="list"),
        pytest.param(["title: true"], "'title' must be text, got a boolean", id="bool"),
        pytest.param(["title: " + "x" * 2001], "'title' is longer than 2000 characters", id="long"),
    ],
)
def test_title_problems(lines: list[str], expected: str) -> None:
    assert reason(doc(*lines)) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("quality: high", "'quality' must be a number, got 'high'"),
        ("quality: [1]", "'quality' must be a number, got a list"),
        ("quality: .nan", "'quality' must be a finite number"),
        pytest.param("quality: " + "9" * 400, "'quality' must be a finite number", id="1e400"),
        ("heat: true", "'heat' must be a number, got a boolean"),
        ("topics: 5", "'topics' must be a list of text, got the number 5"),
        ("topics: {a: 1}", "'topics' must be a list of text, got a mapping"),
        ("topics: [a, {b: 1}]", "'topics' item 2 must be text, got a mapping"),
        ('published: "yes"', "'published' must be true or false, got the text 'yes'"),
        ("published: 1", "'published' must be true or false, got the number 1"),
        ("provider: [a, b]", "'provider' must be a mapping with name and domain, got a list"),
        ("provider: {name: [x]}", "'name' must be text, got a list"),
        ("excerpt: {a: 1}", "'excerpt' must be text, got a mapping"),
        ("webUrl: [x]", "'webUrl' must be text, got a list"),
        ("images: a.jpg", "'images' must be a list, got the text 'a.jpg'"),
        ("images: [a.jpg]", "'images' item 1 must be a mapping, got the text 'a.jpg'"),
        ("images: [{width: 3}]", "'images' item 1 has no url"),
        ("images: [{url: a, width: -3}]", "'images' item 1: 'width' must be a positive integer"),
        ("images: [{url: a, height: 2.5}]", "'images' item 1: 'height' must be a positive integer"),
        ("related: {title: x}", "'related' must be a list, got a mapping"),
        ("related: [x]", "'related item 1' must be a mapping, got the text 'x'"),
        ("related: [{webUrl: u}]", "related item 1 has no title"),
        ("related: [{title: t, quality: lots}]", "'quality' must be a number, got 'lots'"),
        ("id: [1]", "'id' must be text, got a list"),
        ('id: "two words"', "invalid id 'two words': use letters, digits, '_', '-', '.', ':'"),
    ],
)
def test_wrong_types_name_the_key(line: str, expected: str) -> None:
    assert reason(doc("title: x", line)) == expected


@pytest.mark.parametrize(
    "value",
    [
        "last tuesday",
        '"2022-13-01"',
        "2022-02-30",  # matches YAML's timestamp pattern, yet no such day
        "2022-01-01T25:00:00Z",
        "12345",
        "[2022, 1, 1]",
        "9999-12-31T23:59:59-01:00",  # in UTC that is year 10000
    ],
)
def test_unparseable_date(value: str) -> None:
    got = reason(doc("title: x", f"publishedDateTime: {value}"))
    assert got.startswith("'publishedDateTime' is not a date: ")


def test_unparseable_date_in_a_related_entry() -> None:
    got = reason(doc("title: x", "related:", "  - title: y", "    publishedDateTime: soon"))
    assert got == "'publishedDateTime' is not a date: 'soon'"


@pytest.mark.parametrize(
    "line",
    [
        "published: !!bool maybe",
        "quality: !!int abc",
        "publishedDateTime: !!timestamp soon",
        pytest.param("quality: " + "9" * 5000, id="beyond-the-int-digit-limit"),
    ],
)
def test_values_yaml_cannot_construct(line: str) -> None:
    assert reason(doc("title: x", line)).startswith("invalid YAML: a value cannot be read (")


def test_non_utf8_names_the_offset() -> None:
    data = doc("title: caf\xe9").encode("latin-1")
    offset = data.index(b"\xe9")
    assert reason(data) == f"not valid UTF-8 (byte offset {offset})"


def test_over_the_size_limit(tmp_path: Path) -> None:
    head = doc("title: big", body="").encode()
    too_big = head + b"x" * (MAX_FILE_BYTES + 1 - len(head))
    assert reason(too_big) == f"file is larger than the {MAX_FILE_BYTES} byte limit"
    path = tmp_path / "001_big.txt"
    path.write_bytes(too_big)
    with pytest.raises(ArticleError, match="byte limit") as caught:
        read_article(path)
    assert caught.value.path == str(path)


def test_exactly_at_the_size_limit_is_read(tmp_path: Path) -> None:
    head = doc("title: big", body="").encode()
    path = tmp_path / "001_big.txt"
    path.write_bytes(head + b"x" * (MAX_FILE_BYTES - len(head)))
    assert len(read_article(path).body) == MAX_FILE_BYTES - len(head)


def test_unreadable_files(tmp_path: Path) -> None:
    for path in (tmp_path / "absent.txt", tmp_path):
        with pytest.raises(ArticleError, match="cannot read file") as caught:
            read_article(path)
        assert caught.value.path == str(path)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.makedirs [{target}]",
        "!!python/object/new:os.makedirs [{target}]",
        "!!python/object:os.PathLike {{}}",
        "!!python/name:os.makedirs",
    ],
)
def test_python_tags_are_rejected_not_run(tag: str, tmp_path: Path) -> None:
    target = tmp_path / "created-by-yaml"
    got = reason(doc(f"title: {tag.format(target=json.dumps(str(target)))}"))
    assert got.startswith("invalid YAML at line 2, column 8: could not determine a constructor")
    assert not target.exists()


def test_deeply_nested_lists_do_not_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert reason(doc("title: x", f"topics: {deep}")).startswith("invalid YAML")
    shallow = "[" * 400 + "]" * 400
    expected = "'topics' item 1 must be text, got a list"
    assert reason(doc("title: x", f"topics: {shallow}")) == expected


def test_deeply_nested_lists_do_not_crash_the_pure_python_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # where libyaml is missing the parser falls back to the pure-Python loader, which recurses
    monkeypatch.setattr(articles, "_Loader", yaml.SafeLoader)
    deep = "[" * 5_000 + "]" * 5_000
    assert reason(doc("title: x", f"topics: {deep}")) == "invalid YAML: nested too deeply"


def test_a_fence_at_column_zero_inside_quotes_ends_the_front_matter() -> None:
    # YAML itself forbids a document marker inside a quoted scalar; the error says where
    got = reason(doc('title: "Budget talks', "---", '  what we know"'))
    assert got.startswith("invalid YAML at line 3")


# ---------------------------------------------------------------- leniencies and defaults


def test_bom_and_crlf_are_accepted() -> None:
    text = doc("title: Café", "topics:", "  - Culture", body="line one\n\nline two\n")
    article = parse(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert article.title == "Café"
    assert article.topics == ("Culture",)
    assert article.body == "line one\n\nline two"


def test_fences_may_carry_trailing_spaces() -> None:
    article = parse("--- \r\ntitle: x\r\n---\t\r\nbody")
    assert (article.title, article.body) == ("x", "body")


def test_a_single_topic_string_is_a_one_topic_list() -> None:
    assert parse(doc("title: x", "topics: Science")).topics == ("Science",)


def test_topics_are_trimmed_and_deduplicated_in_order() -> None:
    article = parse(doc("title: x", 'topics: [" b ", a, b, "", 7]'))
    assert article.topics == ("b", "a", "7")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-29", dt.datetime(2024, 2, 29, tzinfo=UTC)),
        ('"2024-02-29"', dt.datetime(2024, 2, 29, tzinfo=UTC)),
        ("2024-03-01T10:15:00+02:00", dt.datetime(2024, 3, 1, 8, 15, tzinfo=UTC)),
        ('"2024-03-01T10:15:00+02:00"', dt.datetime(2024, 3, 1, 8, 15, tzinfo=UTC)),
        ("2024-03-01T00:30:00-05:30", dt.datetime(2024, 3, 1, 6, 0, tzinfo=UTC)),
        ("2024-03-01T01:30:00+02:00", dt.datetime(2024, 2, 29, 23, 30, tzinfo=UTC)),
        ("2022-07-09T18:45:09Z", dt.datetime(2022, 7, 9, 18, 45, 9, tzinfo=UTC)),
        ('"2022-07-09T18:45:09Z"', dt.datetime(2022, 7, 9, 18, 45, 9, tzinfo=UTC)),
        ("2022-07-09 18:45:09", dt.datetime(2022, 7, 9, 18, 45, 9, tzinfo=UTC)),  # naive
        ('""', None),
        ("", None),
    ],
)
def test_dates_become_aware_utc(value: str, expected: dt.datetime | None) -> None:
    published_at = parse(doc("title: x", f"publishedDateTime: {value}")).published_at
    assert published_at == expected
    if published_at is not None:
        assert published_at.tzinfo is UTC


def test_a_quoted_title_with_a_fence_line_inside_does_not_end_the_front_matter() -> None:
    article = parse(
        doc(
            'title: "Budget talks',
            "  ---",
            '  what we know so far"',
            'excerpt: "Still in the front matter."',
            body="The body.\n---\nStill the body.",
        )
    )
    assert article.title == "Budget talks --- what we know so far"
    assert article.excerpt == "Still in the front matter."
    assert article.body == "The body.\n---\nStill the body."


def test_a_quoted_title_with_an_inline_fence() -> None:
    assert parse(doc('title: "Vote --- live"')).title == "Vote --- live"


def test_the_id_comes_from_the_file_name() -> None:
    assert parse(doc("title: x"), "seeds/000_e08b7012a3019e8c.txt").id == "e08b7012a3019e8c"
    assert parse(doc("title: x"), "elsewhere/notes.txt").id == "notes"


def test_an_explicit_id_wins_over_the_file_name() -> None:
    article = parse(doc("title: x", "id: story-42"), "seeds/000_e08b7012a3019e8c.txt")
    assert article.id == "story-42"
    assert parse(doc("title: x", "id: 42"), PATH).id == "42"


def test_defaults_for_a_title_only_file() -> None:
    assert parse(doc("title: Only a title")) == Article(
        id="0123456789abcdef",
        title="Only a title",
        excerpt="",
        body="",
        published_at=None,
        url="",
        type="article",
        category="",
        quality=0.0,
        heat=0.0,
        published=True,
        provider=Provider("", ""),
        topics=(),
        images=(),
        related=(),
        source_path=PATH,
    )


def test_lenient_scalars() -> None:
    article = parse(
        doc(
            "title: 1987",
            "quality: '12.5'",
            "heat: -1",
            "published: false",
            "provider: Lone Wire",
            "provider_note: unknown keys are ignored",
        )
    )
    assert (article.title, article.quality, article.heat) == ("1987", 12.5, -1.0)
    assert article.published is False
    assert article.provider == Provider("Lone Wire", "")


def test_provider_domain_is_lower_cased() -> None:
    article = parse(doc("title: x", "provider:", "  name: Wire", "  domain: Wire.SAMPLE"))
    assert article.provider == Provider("Wire", "wire.sample")


def test_secured_is_dropped_everywhere() -> None:
    article = parse(
        doc(
            "title: x",
            f'secured: "{SECRET}"',
            "related:",
            "  - title: y",
            f'    secured: "{SECRET}"',
            "images:",
            f'  - {{url: "https://a.sample/i.jpg", secured: "{SECRET}"}}',
        )
    )
    assert "secured" not in {f.name for f in dataclasses.fields(Article)}
    assert not hasattr(article, "secured")
    assert SECRET not in repr(article)
    assert all(SECRET not in str(value) for value in values(article))
    assert len(article.related) == 1 and len(article.images) == 1


# ---------------------------------------------------------------- the bundled samples


def test_showcase_seed_round_trip() -> None:
    northwind = Provider("Northwind Gazette", "northwind-gazette.sample")
    expected = Article(
        id="fc434f8ecf37be4d",
        title="Zürich café owners back plan for a car-free old town",
        excerpt=(
            "Owners of more than forty cafés in Zürich's old town signed a letter supporting "
            "the plan. The city council votes on it next month."
        ),
        body=(
            "The letter asks the council to close four streets to cars on weekends from spring."
            "\n\nCafé owners say outdoor seating would bring more visitors to the old town."
            "\n\nDelivery firms asked for early-morning access to be kept."
        ),
        published_at=dt.datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        url="https://alpine-wire.sample/2026/zurich-cafe-owners-back-plan-for-a-car-free-old-town",
        type="article",
        category="news",
        quality=187.0,
        heat=42.0,
        published=True,
        provider=Provider("Alpine Wire", "alpine-wire.sample"),
        topics=("Politics", "Culture"),
        images=(
            Image(
                url="https://alpine-wire.sample/images/fc434f8ecf37be4d-1.jpg",
                width=1200,
                height=800,
                title="Zürich café owners back plan for a car-free old town",
            ),
        ),
        related=(
            RelatedArticle(
                title="Riverton council delays vote on harbor redevelopment",
                url="https://northwind-gazette.sample/2026/"
                "riverton-council-delays-vote-on-harbor-redevelopment",
                excerpt="The harbor redevelopment for Riverton has divided residents since it "
                "was first proposed. The decision can still be challenged in court.",
                published_at=dt.datetime(2026, 11, 27, 3, 56, 2, tzinfo=UTC),
                type="article",
                provider=northwind,
                quality=5.0,
                images=(),
            ),
            RelatedArticle(
                title="Film about lighthouse keepers premieres in Kraków",
                url="https://northwind-gazette.sample/2026/"
                "film-about-lighthouse-keepers-premieres-in-krakow",
                excerpt="The documentary about lighthouse keepers took 6 years to make. "
                "Entry is free for children and students.",
                published_at=dt.datetime(2026, 11, 23, 10, 51, 55, tzinfo=UTC),
                type="article",
                provider=northwind,
                quality=34.0,
                images=(),
            ),
        ),
        source_path=str(SHOWCASE),
    )
    article = read_article(SHOWCASE)
    for field in dataclasses.fields(Article):  # field by field first: a readable failure
        assert getattr(article, field.name) == getattr(expected, field.name), field.name
    assert article == expected
    assert "secured:" in SHOWCASE.read_text(encoding="utf-8")


REFERENCE_SHA256 = "8964ff1b35b59604c646f7b71422c3a0b74829ad463a27cb939b8c51b1fd974f"
REFERENCE_SECURED = (
    "I/ZR6I7hW/ETN14MuoP4QFyn3yzPmu1AMJs4qGYlA6CeafuNdyTm/LkfuKWtlO+/wJciMWpdkIkl6Ms0nvtfSB4EsESSo"
    "1zh2mtSjnvbAsOllLO6IcPgznb0QsHDuFCBufvlGhSxQXyE/NvWIZVIYLeQzivuprgbv63qqe+QerzYB9U+xn8jbXwCUW"
    "cnW/AEhTV58QluRig4S6PcOmMYQ2ztI+LGMnctHxpfO3Jvklr9Xiwg3FJMNL4/NzKiV2p6MYrjgy8ywiiTRBQ/wsxeW88"
    "PzW+WbsH2kypcptlpNH4KsPn9tgFOuqyWVFaCrwvI;qvpmfayihbJn1jgdBJIAog=="
)


def test_the_reference_sample_is_kept_byte_for_byte() -> None:
    data = (SEEDS / REFERENCE_SAMPLE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == REFERENCE_SHA256


def test_reference_sample_field_by_field() -> None:
    """The project's reference sample of the format (``seeds/000_e08b7012a3019e8c.txt``)."""
    path = SEEDS / REFERENCE_SAMPLE
    title = (
        "It\u2019s not all Xbox vs PlayStation \u2013 Sony partners with Microsoft on smart camera "
        "technologies"
    )
    expected = Article(
        id="e08b7012a3019e8c",
        title=title,
        excerpt=(
            "Sony and Microsoft announced earlier today that they would be working together to "
            "produce significant advancements in the field of smart cameras and related video "
            "analytics. The partnership will"
        ),
        body="",  # nothing after the closing fence but a blank line
        published_at=dt.datetime(2020, 5, 19, 10, 11, tzinfo=UTC),
        url="https://www.onmsft.com/news/"
        "its-not-all-xbox-vs-playstation-sony-partners-with-microsoft-on-smart-camera-technologies",
        type="article",
        category="news",
        quality=28.0,
        heat=-1.0,
        published=False,
        provider=Provider("On MSFT", "onmsft.com"),
        topics=("Microsoft AI", "AI"),
        images=(
            Image(
                url="https://www.onmsft.com/wp-content/uploads/2019/08/windows10-camera-icon.jpg",
                width=1024,
                height=768,
                title=title,
            ),
        ),
        related=(
            RelatedArticle(
                title="Sony and Microsoft team up on AI-powered cameras",
                # ampWebUrl and cdnAmpWebUrl are not kept: webUrl is the article's address
                url="https://www.engadget.com/sony-microsoft-team-up-ai-powered-cameras-091449976.html",
                excerpt=(
                    "Sony and Microsoft are working on AI-powered cameras together. The two tech "
                    "giants have announced that they\u2019re embedding Microsoft Azure\u2019s AI "
                    "capabilities into Sony\u2019s new image sensor, the IMX500, which comes with "
                    "an onboard AI chip that processes information in real time."
                ),
                published_at=dt.datetime(2020, 5, 19, 9, 17, tzinfo=UTC),
                type="article",
                provider=Provider("Engadget", "engadget.com"),
                quality=106.0,
                images=(
                    Image(
                        url="https://o.aolcdn.com/images/dims?thumbnail=600%2C350&quality=80"
                        "&image_uri=https%3A%2F%2Fs.yimg.com%2Fos%2Fcreatr-images%2F2020-05%2F"
                        "9229e060-999b-11ea-939f-54acbb91a315&client=amp-blogside-v2"
                        "&signature=f4675774e49d1699bc2ea8c11f3f382adaf9a6e7",
                        width=600,
                        height=350,
                        title="",
                    ),
                ),
            ),
        ),
        source_path=str(path),
    )
    article = read_article(path)
    for field in dataclasses.fields(Article):  # field by field first: a readable failure
        assert getattr(article, field.name) == getattr(expected, field.name), field.name
    assert article == expected
    # the file does carry a secured value; the parser drops it
    assert f'secured: "{REFERENCE_SECURED}"\n' in path.read_text(encoding="utf-8")
    assert REFERENCE_SECURED not in repr(article)
    assert all(REFERENCE_SECURED not in str(value) for value in values(article))
    assert "secured" not in json.dumps(schema.article_to_stored(article))


def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


def test_every_seed_parses() -> None:
    files = seed_files()
    # the generated samples and the reference sample, nothing else
    assert len(files) == load_generator().COUNT + 1
    assert REFERENCE_SAMPLE in {path.name for path in files}
    problems = []
    for path in files:
        try:
            read_article(path)
        except ArticleError as exc:
            problems.append(str(exc))
    assert problems == []


def test_seeds_are_named_and_marked_as_samples() -> None:
    generated = [path for path in seed_files() if path.name != REFERENCE_SAMPLE]
    parsed = [read_article(path) for path in generated]
    for path, article in zip(generated, parsed, strict=True):
        assert re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", path.name), path.name
        assert article.id == hashlib.sha1(article.url.encode()).hexdigest()[:16], path.name
        assert article.provider.domain.endswith(".sample"), path.name
        assert article.url.startswith(f"https://{article.provider.domain}/"), path.name
        for entry in article.related:
            assert entry.provider is not None and entry.provider.domain.endswith(".sample")
    assert 6 <= len({article.provider for article in parsed}) <= 8
    assert 8 <= len({topic for article in parsed for topic in article.topics}) <= 12
    assert all(1 <= len(article.topics) <= 3 for article in parsed)
    assert {article.published_at.year for article in parsed if article.published_at} >= set(
        range(2015, 2027)
    )


def test_seeds_cover_the_format() -> None:
    texts = {path.name: path.read_text(encoding="utf-8") for path in seed_files()}
    parsed = [read_article(SEEDS / name) for name in texts]
    assert all(re.search(r'^secured: "[^"]+"$', text, re.MULTILINE) for text in texts.values())
    assert any(re.search(r"^topics: \w", text, re.MULTILINE) for text in texts.values())
    folded_title = re.compile(r'^title: "[^"\n]*\n  ---\n', re.MULTILINE)
    assert any(folded_title.search(text) for text in texts.values())
    assert sum("---" in article.title for article in parsed) >= 2
    assert sum(not article.title.isascii() for article in parsed) >= 3
    assert any(not article.published for article in parsed)
    assert any(article.published_at is None for article in parsed)
    assert any(article.images for article in parsed)
    assert any(article.related for article in parsed)
    assert any(article.body for article in parsed)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_samples", SEEDS / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode, before = True, sys.dont_write_bytecode  # keep seeds/ clean
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
        del sys.modules[spec.name]
    return module


def files_in(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.txt"))}


def test_the_generator_is_deterministic_and_matches_the_committed_seeds(tmp_path: Path) -> None:
    generator = load_generator()
    generator.write_samples(tmp_path / "one")
    generator.write_samples(tmp_path / "two")
    one, two = files_in(tmp_path / "one"), files_in(tmp_path / "two")
    assert len(one) == generator.COUNT
    assert one == two
    committed = {name: data for name, data in files_in(SEEDS).items() if name != REFERENCE_SAMPLE}
    assert sorted(committed) == sorted(one), "rerun seeds/make_samples.py and commit its output"
    assert committed == one


def test_the_generator_keeps_the_reference_sample_and_drops_stale_output(tmp_path: Path) -> None:
    reference = tmp_path / REFERENCE_SAMPLE
    reference.write_bytes(b"---\r\ntitle: kept byte for byte\r\n---\r\n")
    stale = tmp_path / "002_0000000000000000.txt"
    stale.write_bytes(b"old output")
    mine = tmp_path / "notes.txt"
    mine.write_bytes(b"not generated")
    load_generator().write_samples(tmp_path)
    assert reference.read_bytes() == b"---\r\ntitle: kept byte for byte\r\n---\r\n"
    assert mine.read_bytes() == b"not generated"
    assert not stale.exists()


# ---------------------------------------------------------------- the whole corpus


def corpus_counts(readme: str) -> dict[str, int]:
    """Folder → article count from the README's table rows: | `reuters/` | 20841 | ..."""
    rows = re.findall(r"^\| `(\w+)/` \| (\d+) \|", readme, re.MULTILINE)
    return {folder: int(count) for folder, count in rows}


@pytest.mark.shared
@pytest.mark.slow
def test_the_whole_corpus_parses(shared_dir: Path) -> None:
    corpus = shared_dir / "corpus"
    expected = corpus_counts((corpus / "README.md").read_text(encoding="utf-8"))
    assert expected == {"reuters": 20841, "headlines": 9870, "agnews": 7600}
    secured = re.compile(rb'^secured: "([^"]*)"', re.MULTILINE)
    counts: Counter[str] = Counter()
    problems = []
    for folder in expected:
        for path in sorted((corpus / folder).glob("*.txt")):
            counts[folder] += 1
            data = path.read_bytes()
            try:
                article = parse_article(data, path)
            except ArticleError as exc:
                problems.append(str(exc))
                continue
            match = secured.search(data)
            if match and match.group(1).decode() in repr(article):
                problems.append(f"{path}: the secured value survived parsing")
    assert problems == []
    assert dict(counts) == expected


# ------------------------------------------------------------- the stored form (documents.py)


def rich_article() -> Article:
    return parse(
        doc(
            'title: "Kraków tram vote"',
            'excerpt: "An excerpt."',
            "publishedDateTime: 2024-03-01T10:15:00.250000+02:00",
            'webUrl: "https://a.sample/2024/tram"',
            "type: video",
            "category: news",
            "quality: 12.5",
            "heat: -1",
            "published: false",
            "provider: {name: A Wire, domain: a.sample}",
            "topics: [Politics, World]",
            "images:",
            "  - {url: 'https://a.sample/1.jpg', width: 640, height: 480, title: T}",
            "  - {url: 'https://a.sample/2.jpg'}",
            "related:",
            "  - title: With everything",
            "    excerpt: E",
            "    publishedDateTime: 2024-02-01",
            "    webUrl: https://b.sample/x",
            "    type: article",
            "    provider: {name: B, domain: b.sample}",
            "    quality: 3",
            "    images: [{url: 'https://b.sample/1.jpg', width: 1, height: 2}]",
            "  - title: Bare",
            f'secured: "{SECRET}"',
            body="A body.",
        ),
        "seeds/001_rich.txt",
    )


@pytest.mark.parametrize(
    "article",
    [
        pytest.param(rich_article(), id="rich"),
        pytest.param(parse(doc("title: Only a title")), id="minimal"),
        pytest.param(read_article(SHOWCASE), id="showcase"),
    ],
)
def test_stored_form_round_trips(article: Article) -> None:
    stored = json.loads(json.dumps(documents.article_to_stored(article)))
    without_body = dataclasses.replace(article, body="", source_path="")
    assert documents.stored_to_article(stored) == without_body
    rebuilt = documents.stored_to_article(
        stored, body=article.body, source_path=article.source_path
    )
    assert rebuilt == article
    assert stored["has_body"] is bool(article.body)


def test_article_fields_for_the_index() -> None:
    article = rich_article()
    fields = schema.article_fields(article, "001_rich.txt", "hash-1")
    assert fields["id"] == "rich"
    assert (fields["path"], fields["content_hash"]) == ("001_rich.txt", "hash-1")
    assert fields["topic"] == schema.FACET_SEPARATOR.join(["Politics", "World"])
    assert (fields["provider"], fields["domain"], fields["type"]) == ("A Wire", "a.sample", "video")
    assert fields["published"] == "0"
    # a value column of UTC epoch seconds
    assert fields["published_at"] == int(dt.datetime(2024, 3, 1, 8, 15, tzinfo=UTC).timestamp())
    assert fields["related_text"] == "With everything\nBare"
    assert "" not in fields.values()
    assert set(fields) <= set(schema.make_schema().names())
    stored = json.loads(fields["doc"])
    assert documents.stored_to_article(stored, article.body, article.source_path) == article


def test_article_fields_leave_out_what_is_missing() -> None:
    fields = schema.article_fields(parse(doc("title: x")), "p.txt", "h")
    assert "published_at" not in fields
    assert "topic" not in fields and "provider" not in fields and "body" not in fields


def test_secured_never_reaches_the_stored_json() -> None:
    article = rich_article()
    texts = [
        json.dumps(documents.article_to_stored(article)),
        schema.article_fields(article, "p.txt", "h")["doc"],
        repr(schema.article_fields(article, "p.txt", "h")),
    ]
    for seed in seed_files():
        texts.append(json.dumps(documents.article_to_stored(read_article(seed))))
    for text in texts:
        assert "secured" not in text
        assert SECRET not in text
