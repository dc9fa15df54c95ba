"""Corpus scaler: write N articles in the seed format that keep the statistics of a real corpus.

``python -m bench scale --source ../shared/corpus --count 100000 --out bench/data/c100k``

How (no Markov chains, no language model):

- Every real article of the source becomes a *template*: its folder (reuters / headlines /
  agnews), provider, topic list, ``published`` flag, quality, heat, which fields it has (excerpt,
  date, topics, body, images, related entries) and the *shape* of its texts (sentences per
  paragraph of the body, sentences of the excerpt). Article ``i`` copies a template drawn
  uniformly at random, so the folder mix, the provider and topic distributions (jointly), the
  share of unpublished articles (~6%) and of missing fields are the source's, in expectation.
- Its texts are new: the title joins the head of the template's title to the tail of another
  title of the same folder (word level); body and excerpt sentences are drawn from the sentence
  pools of the template's folder, filling the template's shape. Reuters-style excerpts are the
  first ~200 characters of the body, as in the source. Related entries get recombined titles.
- New URLs on reserved ``*.example`` domains (no real URL is invented), ids = first 16 hex
  digits of sha1(url), file names ``<batch>_<id>.txt`` with ``batch = i // 1000``, under the
  template's folder name. Dates are spread uniformly over ``DATE_START``..``DATE_END``
  (articles of undated templates stay undated).
- Deterministic: chunk ``c`` (articles ``c*1000 ..``) uses its own RNG seeded by ``(seed, c)``,
  so the output does not depend on the number of worker processes.
- YAML is written by hand: ``json.dumps`` of a string is a valid YAML double-quoted scalar once
  the few characters YAML forbids raw (C1 controls, DEL, BOM, lone surrogates...) are escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import pickle
import random
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from json.encoder import encode_basestring as _encode_json_string  # C; json.dumps' own
from pathlib import Path
from typing import Any

from search.articles import Article, ArticleError, read_article

CHUNK = 1000
DATE_START = dt.datetime(1987, 1, 1, tzinfo=dt.UTC)
DATE_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
"""Generated dates fall in [DATE_START, DATE_END); the query set pins ``now`` to DATE_END."""
EXCERPT_CHARS = 200
MANIFEST = ".scale.json"
DEFAULT_CACHE = Path(__file__).resolve().parent / "data" / "cache"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(A-Z0-9<])")
_PARAGRAPH = re.compile(r"\n\s*\n")
# Characters YAML does not accept raw in a double-quoted scalar, or reads as line breaks (NEL,
# LS, PS): json.dumps leaves them raw.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class RelatedShape:
    has_excerpt: bool
    has_date: bool
    has_amp: bool
    type: str
    provider: tuple[str, str] | None
    quality: float | None


@dataclass(frozen=True, slots=True)
class Template:
    folder: str
    title_words: tuple[str, ...]
    body_shape: tuple[int, ...]
    """Sentences per paragraph; empty when the article has no body."""
    excerpt_mode: str
    """``derived`` (prefix of the body), ``sentences`` (own text) or ``none``."""
    excerpt_sentences: int
    has_date: bool
    provider: tuple[str, str]
    topics: tuple[str, ...]
    images: tuple[tuple[int | None, int | None], ...]
    related: tuple[RelatedShape, ...]
    quality: float
    heat: float
    published: bool
    type: str
    category: str


@dataclass
class Pool:
    """Templates plus the sentence and title pools of each folder."""

    templates: list[Template]
    titles: dict[str, list[tuple[str, ...]]]
    body_sentences: dict[str, list[str]]
    excerpt_sentences: dict[str, list[str]]


# ---------------------------------------------------------------------------------------------
# reading the source


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def flat_prefix(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of ``text`` with whitespace collapsed, cut at a word end."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if flat[limit] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip()


def source_files(source: Path) -> list[tuple[str, Path]]:
    """``(folder, path)`` of every ``*.txt`` under ``source`` (its own files get folder "")."""
    found = []
    for path in sorted(source.rglob("*.txt")):
        relative = path.relative_to(source)
        folder = relative.parts[0] if len(relative.parts) > 1 else ""
        found.append((folder, path))
    return found


def _template(folder: str, article: Article) -> tuple[Template, list[str], list[str]]:
    paragraphs = [sentences(p) for p in _PARAGRAPH.split(article.body) if p.strip()]
    body_sentences = [s for p in paragraphs for s in p]
    excerpt_mode, excerpt_sentences = "none", []
    if article.excerpt:
        if article.body and " ".join(article.body.split()).startswith(article.excerpt):
            excerpt_mode = "derived"
        else:
            excerpt_mode, excerpt_sentences = "sentences", sentences(article.excerpt)
    related = tuple(
        RelatedShape(
            has_excerpt=bool(entry.excerpt),
            has_date=entry.published_at is not None,
            has_amp="headlines" in folder,
            type=entry.type,
            provider=(entry.provider.name, entry.provider.domain) if entry.provider else None,
            quality=entry.quality,
        )
        for entry in article.related
    )
    template = Template(
        folder=folder,
        title_words=tuple(article.title.split()),
        body_shape=tuple(len(p) for p in paragraphs),
        excerpt_mode=excerpt_mode,
        excerpt_sentences=len(excerpt_sentences),
        has_date=article.published_at is not None,
        provider=(article.provider.name, article.provider.domain),
        topics=article.topics,
        images=tuple((image.width, image.height) for image in article.images),
        related=related,
        quality=article.quality,
        heat=article.heat,
        published=article.published,
        type=article.type,
        category=article.category,
    )
    return template, body_sentences, excerpt_sentences


def _read_part(part: list[tuple[str, Path]]) -> tuple[list[Any], int]:
    rows, rejected = [], 0
    for folder, path in part:
        try:
            rows.append((str(path), *_template(folder, read_article(path))))
        except ArticleError:
            rejected += 1
    return rows, rejected


POOL_VERSION = 2
"""Bump when ``Template`` or the sentence splitting changes: cached pools are then rebuilt."""


def load_pool(source: Path, procs: int = 2, cache: Path | None = None) -> Pool:
    """Read the source once; with ``cache``, reuse a pickle keyed by every file's size/mtime."""
    files = source_files(source)
    if not files:
        raise SystemExit(f"scale: no *.txt files under {source}")
    cached = None
    if cache is not None:
        key = hashlib.sha1(f"{POOL_VERSION}:{source.resolve()}".encode())
        for _, path in files:
            info = path.stat()
            key.update(f"{path}:{info.st_size}:{info.st_mtime_ns};".encode())
        cached = cache / f"pool-{key.hexdigest()[:16]}.pickle"
        if cached.exists():
            with open(cached, "rb") as handle:
                pool: Pool = pickle.load(handle)
            return pool
    pool = _read_pool(files, procs)
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        temp = cached.with_suffix(f".{os.getpid()}.tmp")
        with open(temp, "wb") as handle:
            pickle.dump(pool, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, cached)
    return pool


def _read_pool(files: list[tuple[str, Path]], procs: int) -> Pool:
    parts = [files[i::procs] for i in range(procs)]
    if procs > 1:
        with multiprocessing.get_context("fork").Pool(procs) as workers:
            results = workers.map(_read_part, parts)
    else:
        results = [_read_part(files)]
    # the source's own order: the output must not depend on how the reading was split
    rows = sorted((row for part_rows, _ in results for row in part_rows), key=lambda row: row[0])
    pool = Pool([], {}, {}, {})
    for _, template, body, excerpt in rows:
        pool.templates.append(template)
        pool.titles.setdefault(template.folder, []).append(template.title_words)
        pool.body_sentences.setdefault(template.folder, []).extend(body)
        pool.excerpt_sentences.setdefault(template.folder, []).extend(excerpt)
    if not pool.templates:
        raise SystemExit("scale: no readable article in the source")
    return pool


# ---------------------------------------------------------------------------------------------
# writing


def yaml_str(text: str) -> str:
    """A YAML double-quoted scalar for any text (JSON's escapes are YAML's)."""
    quoted = _encode_json_string(text)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _iso(moment: dt.datetime) -> str:
    m = moment
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def _below(rng: random.Random, n: int) -> int:
    """A uniform index in [0, n): ``randrange`` costs three times more."""
    return int(rng.random() * n)


class Writer:
    """Generates the articles of one chunk; all randomness comes from ``self.rng``."""

    def __init__(self, pool: Pool, seed: int, chunk: int) -> None:
        self.pool = pool
        self.rng = random.Random(f"newsfind-scale/{seed}/{chunk}")
        self.span = (DATE_END - DATE_START).total_seconds()

    def title(self, folder: str, head: tuple[str, ...]) -> str:
        rng = self.rng
        titles = self.pool.titles[folder]
        tail = titles[_below(rng, len(titles))]
        keep = max(1, round(len(head) * rng.uniform(0.35, 0.7)))
        start = min(len(tail) - 1, round(len(tail) * rng.uniform(0.3, 0.65)))
        words = head[:keep] + tail[max(start, 0) :]
        return " ".join(words) if words else " ".join(head)

    def pick(self, pool: list[str], count: int) -> list[str]:
        rng = self.rng
        return [pool[_below(rng, len(pool))] for _ in range(count)] if pool else []

    def body(self, template: Template) -> str:
        pool = self.pool.body_sentences[template.folder]
        return "\n\n".join(" ".join(self.pick(pool, n)) for n in template.body_shape if n)

    def date(self) -> dt.datetime:
        return DATE_START + dt.timedelta(seconds=int(self.rng.random() * self.span))

    def secured(self) -> str:
        rng = self.rng
        return (
            base64.b64encode(rng.randbytes(246)).decode()
            + ";"
            + base64.b64encode(rng.randbytes(16)).decode()
        )

    def article(self, index: int) -> tuple[str, str, str, Template]:
        """``(folder, file name, text, template)`` of article ``index``."""
        rng = self.rng
        templates = self.pool.templates
        template = templates[_below(rng, len(templates))]
        folder = template.folder
        title = self.title(folder, template.title_words)
        body = self.body(template) if template.body_shape else ""
        if template.excerpt_mode == "derived":
            excerpt = flat_prefix(body)
        elif template.excerpt_mode == "sentences":
            excerpt = " ".join(
                self.pick(self.pool.excerpt_sentences[folder], template.excerpt_sentences)
            )
        else:
            excerpt = ""
        published_at = self.date() if template.has_date else None
        name, domain = template.provider
        slug = _SLUG.sub("-", title.lower()).strip("-")[:60] or "article"
        day = _iso(published_at)[:10].replace("-", "/") if published_at else "undated"
        url = f"https://news.example/{folder or 'news'}/{day}/{slug}-{index}"
        article_id = hashlib.sha1(url.encode()).hexdigest()[:16]

        lines = ["---"]
        if template.category:
            lines.append(f"category: {template.category}")
        lines.append(f"title: {yaml_str(title)}")
        if excerpt:
            lines.append(f"excerpt: {yaml_str(excerpt)}")
        if published_at:
            lines.append(f"publishedDateTime: {_iso(published_at)}")
        lines.append(f"webUrl: {yaml_str(url)}")
        lines.append(f"type: {yaml_str(template.type)}")
        lines.append(f"quality: {_number(template.quality)}")
        lines.append(f"heat: {_number(template.heat)}")
        lines.append(f"published: {'true' if template.published else 'false'}")
        lines += ["", "provider:", f"  name: {yaml_str(name)}", f"  domain: {yaml_str(domain)}"]
        if template.topics:
            lines += ["", "topics:"] + [f"  - {yaml_str(topic)}" for topic in template.topics]
        if template.images:
            lines += ["", "images:"]
            for number, (width, height) in enumerate(template.images):
                suffix = f"-{number}" if number else ""
                lines.append(f'  - url: "https://images.scaled.example/{article_id}{suffix}.jpg"')
                if width is not None:
                    lines.append(f"    width: {width}")
                if height is not None:
                    lines.append(f"    height: {height}")
                lines.append(f"    title: {yaml_str(title)}")
        if template.related:
            lines += ["", "related:"]
            for number, shape in enumerate(template.related):
                lines += self.related(template, shape, index, number, published_at)
        lines += ["", f"secured: {yaml_str(self.secured())}", "---"]
        text = "\n".join(lines) + "\n"
        if body:
            text += body + "\n"
        return folder, f"{index // CHUNK:03d}_{article_id}.txt", text, template

    def related(
        self,
        template: Template,
        shape: RelatedShape,
        index: int,
        number: int,
        published_at: dt.datetime | None,
    ) -> list[str]:
        folder = template.folder
        titles = self.pool.titles[folder]
        head = titles[_below(self.rng, len(titles))]
        lines = [f"  - title: {yaml_str(self.title(folder, head))}"]
        if shape.has_excerpt:
            if self.pool.excerpt_sentences[folder]:
                excerpt = " ".join(self.pick(self.pool.excerpt_sentences[folder], 2))
            else:
                excerpt = flat_prefix(" ".join(self.pick(self.pool.body_sentences[folder], 3)))
            if excerpt:
                lines.append(f"    excerpt: {yaml_str(excerpt)}")
        if shape.has_date:
            moment = (
                published_at - dt.timedelta(seconds=int(self.rng.random() * 10 * 86400))
                if published_at
                else self.date()
            )
            lines.append(f"    publishedDateTime: {_iso(moment)}")
        url = f"https://news.example/{folder or 'news'}/related/{index}-{number}"
        lines.append(f"    webUrl: {yaml_str(url)}")
        if shape.has_amp:
            lines.append(f"    ampWebUrl: {yaml_str(url.replace('news.example', 'amp.example'))}")
            cdn = url.replace("https://news.example", "https://cdn.amp.example/c/s/amp.example")
            lines.append(f"    cdnAmpWebUrl: {yaml_str(cdn)}")
        if shape.type:
            lines.append(f"    type: {yaml_str(shape.type)}")
        if shape.provider:
            lines += [
                "    provider:",
                f"      name: {yaml_str(shape.provider[0])}",
                f"      domain: {yaml_str(shape.provider[1])}",
            ]
        if shape.quality is not None:
            lines.append(f"    quality: {_number(shape.quality)}")
        return lines


# The pool reaches the workers by fork (copy-on-write), not by pickling it per task.
_POOL: Pool | None = None
_JOB: dict[str, Any] = {}


def _write_chunk(chunk: int) -> Counter[str]:
    assert _POOL is not None
    out: Path = _JOB["out"]
    count: int = _JOB["count"]
    flat: bool = _JOB["flat"]
    writer = Writer(_POOL, _JOB["seed"], chunk)
    stats: Counter[str] = Counter()
    made: set[str] = set()
    for index in range(chunk * CHUNK, min(count, (chunk + 1) * CHUNK)):
        folder, name, text, template = writer.article(index)
        directory = out if flat or not folder else out / folder
        if directory not in made:
            directory.mkdir(parents=True, exist_ok=True)
            made.add(directory)
        data = text.encode("utf-8")
        with open(directory / name, "wb") as handle:
            handle.write(data)
        _count(stats, template)
        stats["bytes"] += len(data)
    return stats


def _count(stats: Counter[str], template: Template) -> None:
    stats["articles"] += 1
    stats[f"folder:{template.folder}"] += 1
    stats["unpublished"] += not template.published
    stats["no_excerpt"] += template.excerpt_mode == "none"
    stats["no_date"] += not template.has_date
    stats["no_topics"] += not template.topics
    stats["no_body"] += not template.body_shape
    stats["with_images"] += bool(template.images)
    stats["with_related"] += bool(template.related)


def source_stats(pool: Pool) -> Counter[str]:
    stats: Counter[str] = Counter()
    for template in pool.templates:
        _count(stats, template)
    return stats


def scale(
    source: Path,
    out: Path,
    count: int,
    seed: int = 1,
    procs: int = 2,
    flat: bool = False,
    overwrite: bool = False,
    cache: Path | None = None,
) -> dict[str, Any]:
    """Write ``count`` articles under ``out``; returns the manifest (also saved in ``out``)."""
    global _POOL
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise SystemExit(f"scale: {out} is not empty (use --overwrite to replace it)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pool = load_pool(source, procs, cache)
    loaded = time.perf_counter()
    _POOL = pool
    _JOB.update(out=out, count=count, seed=seed, flat=flat)
    chunks = range((count + CHUNK - 1) // CHUNK)
    total: Counter[str] = Counter()
    if procs > 1 and len(chunks) > 1:
        with multiprocessing.get_context("fork").Pool(procs) as workers:
            for stats in workers.imap_unordered(_write_chunk, chunks, chunksize=4):
                total.update(stats)
    else:
        for chunk in chunks:
            total.update(_write_chunk(chunk))
    finished = time.perf_counter()
    _POOL = None

    def shares(stats: Counter[str]) -> dict[str, float]:
        n = stats["articles"] or 1
        return {k: round(v / n, 4) for k, v in sorted(stats.items()) if k not in ("bytes",)}

    manifest = {
        "source": str(source),
        "count": count,
        "seed": seed,
        "flat": flat,
        "date_range": [_iso(DATE_START), _iso(DATE_END)],
        "load_seconds": round(loaded - started, 2),
        "write_seconds": round(finished - loaded, 2),
        "articles_per_second": round(count / max(finished - loaded, 1e-9)),
        "megabytes": round(total["bytes"] / 1e6, 1),
        "source_shares": shares(source_stats(pool)),
        "generated_shares": shares(total),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(corpus: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((corpus / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def add_arguments(parser: Any) -> None:
    parser.add_argument("--source", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--procs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--flat", action="store_true", help="all files in one folder")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="folder for the parsed source pool (reused while the source is unchanged)",
    )
    parser.add_argument("--no-cache", dest="cache", action="store_const", const=None)


def main(args: Any) -> int:
    if args.count < 1:
        raise SystemExit("scale: --count must be at least 1")
    manifest = scale(
        args.source,
        args.out,
        args.count,
        args.seed,
        args.procs,
        args.flat,
        args.overwrite,
        args.cache,
    )
    print(
        f"wrote {manifest['count']:,} articles ({manifest['megabytes']} MB) to {args.out} in "
        f"{manifest['write_seconds']} s ({manifest['articles_per_second']:,} articles/s; "
        f"source read in {manifest['load_seconds']} s)"
    )
    print(f"{'share':<16}{'source':>10}{'generated':>11}")
    source, generated = manifest["source_shares"], manifest["generated_shares"]
    for key in sorted(set(source) | set(generated)):
        if key == "articles":
            continue
        print(f"{key:<16}{source.get(key, 0):>10.4f}{generated.get(key, 0):>11.4f}")
    return 0
