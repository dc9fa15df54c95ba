"""Read one seed file (YAML front matter, then an optional body) into an immutable ``Article``.

The format is the one of ``seeds/*.txt``::

    ---
    title: "..."            # required, non-empty
    excerpt: "..."
    publishedDateTime: 2022-07-07T06:54:19Z
    ...
    secured: "..."          # dropped on read: never indexed, never returned
    ---
    optional body text

Rules, and where this parser is lenient on purpose:

- The front matter starts at the first line, which must be exactly ``---``, and ends at the next
  line that is exactly ``---`` (trailing spaces and CR allowed). A quoted value containing
  ``---`` does not end it.
- UTF-8 only; a leading BOM and CRLF line ends are accepted.
- ``topics`` may be a single string (taken as a one-element list).
- Dates may be date-only (midnight UTC), carry any offset (converted to UTC), or be naive
  (taken as UTC). Quoted ISO-8601 strings are accepted too.
- ``quality`` / ``heat`` accept integers and floats (and numeric strings); ``published``
  accepts booleans only, defaulting to true when absent.
- The id is the hash part of the file name (``000_e08b7012a3019e8c.txt`` → ``e08b7012a3019e8c``);
  an explicit ``id:`` key wins.

Every problem raises ``ArticleError(path, reason)``; callers report it and carry on.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster; fall back to pure Python where libyaml is absent
    _SafeLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _SafeLoader = yaml.SafeLoader


class _Loader(_SafeLoader):  # type: ignore[misc]
    """The safe loader, except that an impossible timestamp (2022-02-30) stays text, so that the
    field check reports it under its key instead of PyYAML raising a bare ValueError."""


def _timestamp_or_text(loader: Any, node: Any) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Files larger than this are rejected unread (a news article is a few KiB)."""

MAX_TITLE_CHARS = 2_000
MAX_LIST_ITEMS = 1_000

_FENCE = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_ID_FROM_NAME = re.compile(r"^(?:\d+_)?([0-9A-Za-z][0-9A-Za-z_.-]*?)$")
_VALID_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,127}$")


class ArticleError(Exception):
    """A file that cannot become an article: ``path`` names it, ``reason`` says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class RelatedArticle:
    title: str
    url: str
    excerpt: str = ""
    published_at: dt.datetime | None = None
    type: str = ""
    provider: Provider | None = None
    quality: float | None = None
    images: tuple[Image, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    excerpt: str
    body: str
    published_at: dt.datetime | None
    url: str
    type: str
    category: str
    quality: float
    heat: float
    published: bool
    provider: Provider
    topics: tuple[str, ...]
    images: tuple[Image, ...]
    related: tuple[RelatedArticle, ...]
    source_path: str


def id_from_filename(path: str | os.PathLike[str]) -> str:
    """``000_e08b7012a3019e8c.txt`` → ``e08b7012a3019e8c`` (the part after the batch number)."""
    stem = Path(path).stem
    match = _ID_FROM_NAME.match(stem)
    return match.group(1) if match else stem


def read_article(path: str | os.PathLike[str]) -> Article:
    """Read and parse one file; raises ``ArticleError`` for every kind of bad input."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ArticleError(path, f"cannot read file: {exc.strerror or exc}") from None
    return parse_article(data, path)


def parse_article(data: bytes, path: str | os.PathLike[str]) -> Article:
    """Parse the bytes of one seed file (``path`` names it in errors and gives the default id)."""
    if len(data) > MAX_FILE_BYTES:
        raise ArticleError(path, f"file is larger than the {MAX_FILE_BYTES} byte limit")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(path, f"not valid UTF-8 (byte offset {exc.start})") from None
    front, body = split_front_matter(text, path)
    meta = _load_yaml(front, path)
    return _build_article(meta, body, path)


def split_front_matter(text: str, path: str | os.PathLike[str]) -> tuple[str, str]:
    """Return (front matter, body); the fences are lines that are exactly ``---``."""
    first = _FENCE.match(text)
    if first is None:
        raise ArticleError(path, "no front matter: the first line must be '---'")
    closing = _FENCE.search(text, first.end())
    if closing is None:
        raise ArticleError(path, "unterminated front matter: no closing '---' line")
    front = text[first.end() : closing.start()]
    body = text[closing.end() :]
    return front, body.replace("\r\n", "\n").strip()


def _load_yaml(front: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        meta = yaml.load(front, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # the front matter text starts with the newline that ends the opening fence, so its
        # 0-based line numbers are the file's 1-based ones minus one
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArticleError(path, f"invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise ArticleError(path, "invalid YAML: nested too deeply") from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # PyYAML's constructors let these escape for values such as `!!bool maybe`,
        # `!!int abc` or an integer of more than 4300 digits
        raise ArticleError(path, f"invalid YAML: a value cannot be read ({exc})") from None
    if meta is None:
        raise ArticleError(path, "empty front matter")
    if not isinstance(meta, dict):
        raise ArticleError(path, f"front matter is {_kind(meta)}, not a mapping")
    return meta


def _build_article(meta: dict[str, Any], body: str, path: str | os.PathLike[str]) -> Article:
    field = _FieldReader(meta, path)
    title = field.text("title", required=True)
    if len(title) > MAX_TITLE_CHARS:
        raise ArticleError(path, f"'title' is longer than {MAX_TITLE_CHARS} characters")
    article_id = field.identifier()
    return Article(
        id=article_id,
        title=title,
        excerpt=field.text("excerpt"),
        body=body,
        published_at=field.date("publishedDateTime"),
        url=field.text("webUrl"),
        type=field.text("type") or "article",
        category=field.text("category"),
        quality=field.number("quality"),
        heat=field.number("heat"),
        published=field.boolean("published", default=True),
        provider=field.provider("provider") or Provider("", ""),
        topics=field.topics(),
        images=field.images(meta.get("images"), "images"),
        related=field.related(),
        source_path=str(path),
    )


class _FieldReader:
    """Typed access to the front-matter mapping; every wrong type names the key."""

    def __init__(self, meta: dict[str, Any], path: str | os.PathLike[str]) -> None:
        self.meta = meta
        self.path = path

    def fail(self, reason: str) -> ArticleError:
        return ArticleError(self.path, reason)

    def text(self, key: str, *, required: bool = False, meta: dict[str, Any] | None = None) -> str:
        value = (self.meta if meta is None else meta).get(key)
        if value is None:
            if required:
                raise self.fail(f"missing '{key}'")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"'{key}' must be text, got {_kind(value)}")
        result = str(value).strip()
        if required and not result:
            raise self.fail(f"empty '{key}'")
        return result

    def identifier(self) -> str:
        explicit = self.meta.get("id")
        if explicit is None:
            value = id_from_filename(self.path)
        elif isinstance(explicit, bool) or not isinstance(explicit, str | int):
            raise self.fail(f"'id' must be text, got {_kind(explicit)}")
        else:
            value = str(explicit).strip()
        if not _VALID_ID.match(value):
            raise self.fail(f"invalid id {value!r}: use letters, digits, '_', '-', '.', ':'")
        return value

    def number(self, key: str, meta: dict[str, Any] | None = None) -> float:
        value = (self.meta if meta is None else meta).get(key)
        if value is None:
            return 0.0
        if isinstance(value, bool):
            raise self.fail(f"'{key}' must be a number, got a boolean")
        if isinstance(value, int | float):
            try:
                number = float(value)
            except OverflowError:  # an integer beyond the float range
                raise self.fail(f"'{key}' must be a finite number") from None
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise self.fail(f"'{key}' must be a number, got {value[:40]!r}") from None
        else:
            raise self.fail(f"'{key}' must be a number, got {_kind(value)}")
        if number != number or number in (float("inf"), float("-inf")):
            raise self.fail(f"'{key}' must be a finite number")
        return number

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.meta.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false, got {_kind(value)}")
        return value

    def date(self, key: str, meta: dict[str, Any] | None = None) -> dt.datetime | None:
        value = (self.meta if meta is None else meta).get(key)
        if value is None or value == "":
            return None
        try:
            return to_utc(value)
        except (ValueError, OverflowError):  # OverflowError: year 9999 moved past UTC
            raise self.fail(f"'{key}' is not a date: {str(value)[:60]!r}") from None

    def provider(self, key: str, meta: dict[str, Any] | None = None) -> Provider | None:
        value = (self.meta if meta is None else meta).get(key)
        if value is None:
            return None
        if isinstance(value, str):  # lenient: a bare provider name
            return Provider(value.strip(), "")
        if not isinstance(value, dict):
            raise self.fail(f"'{key}' must be a mapping with name and domain, got {_kind(value)}")
        name = self.text("name", meta=value)
        domain = self.text("domain", meta=value).lower()
        return Provider(name, domain)

    def topics(self) -> tuple[str, ...]:
        value = self.meta.get("topics")
        if value is None:
            return ()
        if isinstance(value, str):  # lenient: a single topic as a string
            value = [value]
        if not isinstance(value, list):
            raise self.fail(f"'topics' must be a list of text, got {_kind(value)}")
        if len(value) > MAX_LIST_ITEMS:
            raise self.fail(f"'topics' has more than {MAX_LIST_ITEMS} items")
        seen: dict[str, None] = {}
        for index, topic in enumerate(value):
            if isinstance(topic, bool) or not isinstance(topic, str | int | float):
                raise self.fail(f"'topics' item {index + 1} must be text, got {_kind(topic)}")
            text = str(topic).strip()
            if text:
                seen.setdefault(text, None)
        return tuple(seen)

    def images(self, value: Any, where: str) -> tuple[Image, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(f"'{where}' must be a list, got {_kind(value)}")
        images = []
        for index, item in enumerate(value[:MAX_LIST_ITEMS]):
            if not isinstance(item, dict):
                raise self.fail(f"'{where}' item {index + 1} must be a mapping, got {_kind(item)}")
            url = self.text("url", meta=item)
            if not url:
                raise self.fail(f"'{where}' item {index + 1} has no url")
            images.append(
                Image(
                    url=url,
                    width=self._size(item, "width", where, index),
                    height=self._size(item, "height", where, index),
                    title=self.text("title", meta=item),
                )
            )
        return tuple(images)

    def _size(self, item: dict[str, Any], key: str, where: str, index: int) -> int | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"'{where}' item {index + 1}: '{key}' must be a positive integer")
        return value

    def related(self) -> tuple[RelatedArticle, ...]:
        value = self.meta.get("related")
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(f"'related' must be a list, got {_kind(value)}")
        entries = []
        for index, item in enumerate(value[:MAX_LIST_ITEMS]):
            where = f"related item {index + 1}"
            if not isinstance(item, dict):
                raise self.fail(f"'{where}' must be a mapping, got {_kind(item)}")
            title = self.text("title", meta=item)
            if not title:
                raise self.fail(f"{where} has no title")
            quality = item.get("quality")
            entries.append(
                RelatedArticle(
                    title=title,
                    url=self.text("webUrl", meta=item),
                    excerpt=self.text("excerpt", meta=item),
                    published_at=self.date("publishedDateTime", meta=item),
                    type=self.text("type", meta=item),
                    provider=self.provider("provider", meta=item),
                    quality=None if quality is None else self.number("quality", meta=item),
                    images=self.images(item.get("images"), f"{where} images"),
                )
            )
        return tuple(entries)


def to_utc(value: Any) -> dt.datetime:
    """A YAML date/datetime or ISO-8601 text → an aware UTC datetime (ValueError otherwise)."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = dt.datetime.fromisoformat(text)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise ValueError(f"not a date: {value!r}")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return type(value).__name__
