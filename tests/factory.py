"""Write article files in the seed format for tests (the real format, read by the real parser)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def article_text(
    title: str,
    *,
    excerpt: str | None = None,
    body: str = "",
    published: bool = True,
    date: str | None = "2024-05-01T12:00:00Z",
    provider: tuple[str, str] = ("Test Wire", "testwire.sample"),
    topics: list[str] | None = None,
    quality: float = 50,
    heat: float = 0,
    doc_id: str | None = None,
    related: list[dict[str, Any]] | None = None,
    secured: str = "c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du",
    url: str | None = None,
) -> str:
    lines = ["---", "category: news"]
    if doc_id is not None:
        lines.append(f"id: {json.dumps(doc_id)}")
    lines.append(f"title: {json.dumps(title)}")
    if excerpt is not None:
        lines.append(f"excerpt: {json.dumps(excerpt)}")
    if date is not None:
        lines.append(f"publishedDateTime: {date}")
    slug = hashlib.sha1(title.encode()).hexdigest()[:12]
    lines.append(f"webUrl: {json.dumps(url or f'https://{provider[1]}/{slug}')}")
    lines += ["type: article", f"quality: {quality}", f"heat: {heat}"]
    lines.append(f"published: {'true' if published else 'false'}")
    lines += ["", "provider:", f"  name: {json.dumps(provider[0])}", f"  domain: {provider[1]}"]
    if topics:
        lines += ["", "topics:"] + [f"  - {json.dumps(t)}" for t in topics]
    if related:
        lines += ["", "related:"]
        for entry in related:
            first = True
            for key, value in entry.items():
                lines.append(f"  {'- ' if first else '  '}{key}: {json.dumps(value)}")
                first = False
    lines += ["", f"secured: {json.dumps(secured)}", "---"]
    text = "\n".join(lines) + "\n"
    if body:
        text += body.rstrip("\n") + "\n"
    return text


def write_article(folder: Path, name: str, title: str, **fields: Any) -> Path:
    """Write ``folder/name`` (``name`` like ``000_0123456789abcdef.txt``) and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_text(title, **fields), encoding="utf-8")
    return path


def file_name(number: int, batch: int = 0) -> str:
    digest = hashlib.sha1(f"article-{number}".encode()).hexdigest()[:16]
    return f"{batch:03d}_{digest}.txt"


def write_many(folder: Path, count: int, start: int = 0) -> list[Path]:
    """``count`` distinct valid articles with varied topics, providers and dates."""
    topics = ["Politics", "Business", "Science", "Sports", "Health"]
    providers = [
        ("Alpha News", "alpha.sample"),
        ("Beta Daily", "beta.sample"),
        ("Gamma", "gamma.sample"),
    ]
    paths = []
    for number in range(start, start + count):
        paths.append(
            write_article(
                folder,
                file_name(number),
                f"Article number {number} about {topics[number % 5].lower()} matters",
                excerpt=f"Excerpt {number}: the council discussed item {number}.",
                body=f"Body of article {number}.\n\nSecond paragraph {number}.",
                topics=[topics[number % 5]],
                provider=providers[number % 3],
                date=f"20{10 + number % 15:02d}-0{1 + number % 9}-1{number % 10}T08:00:00Z",
                published=number % 17 != 0,
            )
        )
    return paths


def reindex_command(seeds: Path, index: Path, *extra: str) -> list[str]:
    """The real ``newsfind reindex`` as a subprocess command line (run it with cwd = the repo)."""
    import sys

    return [
        sys.executable,
        "-m",
        "search.cli",
        "reindex",
        "--seeds-dir",
        str(seeds),
        "--index-dir",
        str(index),
        *extra,
    ]
