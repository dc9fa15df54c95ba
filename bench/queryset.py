"""The versioned query set: ``python -m bench queries`` regenerates ``bench/queries-v1.json``.

The file holds only query words and filter values drawn from a corpus' vocabulary (by default
the shared corpus, whose sentences the scaled corpora reuse) — no documents. Deterministic for a
given corpus and seed; the committed file is what every run uses, so results stay comparable.
Change the generator → bump ``VERSION`` (a new file), never rewrite an old one.

Kinds (each request = top 10 + exact total + topic, provider and date facets):

==============  ===================================================================
common1         one word among the 300 with the highest document frequency
mid1            one word in 50–500 documents
rare1           one word in 3–20 documents
two_or          two words, any of them (newsfind's plain-words default)
two_and         two words, all of them (``a AND b``)
three_or        three words, any of them
phrase          a frequent two-word sequence as a ``"quoted phrase"``
topic           a word + one or two topics
provider        a word + a provider
date            a word + an absolute or relative (``1y``, ``30d``) date range
topic_date      a word + a topic + a date range
newest          mixed words, newest first
==============  ===================================================================

``boolean`` marks the queries whose words every engine analyses alike (alphabetic, not a
newsfind stop word, the same Porter and Snowball English stem): their totals are compared.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from bench.peers import Request, parse_corpus
from bench.scale import DATE_END

VERSION = 1
QUERIES_FILE = Path(__file__).resolve().parent / f"queries-v{VERSION}.json"
NOW = DATE_END
"""The clock of relative ranges and freshness in every run (the scaled corpora end there)."""

_WORD = re.compile(r"[A-Za-z]+")
# absolute ranges meaningful for both the 1987 / 2021-22 shared corpus and the scaled ones
DATE_RANGES = [
    ("1987-01-01", "1988-01-01"),
    ("1987-03-01", "1987-04-01"),
    ("2021-01-01", "2023-01-01"),
    ("2022-01-01", "2022-07-01"),
    ("2000-01-01", "2010-01-01"),
    ("2015-01-01", None),
    (None, "1995-01-01"),
]
RELATIVE = ["1y", "30d"]
KINDS = {  # kind: how many
    "common1": 25,
    "mid1": 15,
    "rare1": 25,
    "two_or": 25,
    "two_and": 20,
    "three_or": 20,
    "phrase": 25,
    "topic": 15,
    "provider": 15,
    "date": 15,
    "topic_date": 10,
    "newest": 15,
}


def _stemmers() -> tuple[Any, Any]:
    import Stemmer

    return Stemmer.Stemmer("porter"), Stemmer.Stemmer("english")


def vocabulary(corpus: Path) -> dict[str, Any]:
    from search.analysis import STOP_WORDS

    doc_freq: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    topics: Counter[str] = Counter()
    providers: Counter[str] = Counter()
    for _, article in parse_corpus(corpus):
        text = f"{article.title}\n{article.excerpt}\n{article.body}"
        words = [w.lower() for w in _WORD.findall(text)]
        doc_freq.update({w for w in words if len(w) >= 3 and w not in STOP_WORDS})
        for line in (article.title, article.excerpt):
            line_words = [w.lower() for w in _WORD.findall(line)]
            bigrams.update(
                (a, b)
                for a, b in zip(line_words, line_words[1:], strict=False)
                if len(a) >= 3 and len(b) >= 3 and a not in STOP_WORDS and b not in STOP_WORDS
            )
        topics.update(article.topics)
        if article.provider.name:
            providers[article.provider.name] += 1
    return {"df": doc_freq, "bigrams": bigrams, "topics": topics, "providers": providers}


def generate(corpus: Path, seed: int = 1) -> dict[str, Any]:
    vocab = vocabulary(corpus)
    porter, snowball = _stemmers()
    rng = random.Random(f"newsfind-queries/{seed}")
    df: Counter[str] = vocab["df"]
    ranked = sorted(df, key=lambda w: (-df[w], w))
    common = ranked[:300]
    mid = sorted(w for w in df if 50 <= df[w] <= 500)
    rare = sorted(w for w in df if 3 <= df[w] <= 20)
    phrases = [pair for pair, n in sorted(vocab["bigrams"].items(), key=lambda x: (-x[1], x[0]))]
    phrases = phrases[:400]
    top_topics = [t for t, _ in vocab["topics"].most_common(40)]
    top_providers = [p for p, _ in vocab["providers"].most_common(25)]

    def stable(words: list[str]) -> bool:
        return all(porter.stemWord(w) == snowball.stemWord(w) for w in words)

    def pick(pool: list[str], k: int = 1) -> list[str]:
        pool = pool or common  # a tiny corpus may lack a band of frequencies
        return rng.sample(pool, min(k, len(pool)))

    def date_filter(entry: dict[str, Any]) -> None:
        choice = rng.randrange(len(DATE_RANGES) + len(RELATIVE))
        if choice < len(DATE_RANGES):
            entry["since"], entry["until"] = DATE_RANGES[choice]
        else:
            entry["range"] = RELATIVE[choice - len(DATE_RANGES)]

    queries = []
    for kind, count in KINDS.items():
        for _ in range(count):
            entry: dict[str, Any] = {"kind": kind, "mode": "or", "sort": "relevance"}
            if kind == "common1":
                terms = pick(common)
            elif kind == "mid1":
                terms = pick(mid)
            elif kind == "rare1":
                terms = pick(rare)
            elif kind in ("two_or", "two_and"):
                terms = pick(common) + pick(mid)
                entry["mode"] = "and" if kind == "two_and" else "or"
            elif kind == "three_or":
                terms = pick(common, 2) + pick(mid)
            elif kind == "phrase":
                terms = list(phrases[rng.randrange(len(phrases))]) if phrases else pick(common)
                entry["mode"] = "phrase" if phrases else "or"
            else:
                terms = pick(common if rng.random() < 0.5 else mid)
            if kind in ("topic", "topic_date"):
                entry["topics"] = pick(
                    top_topics, 1 if kind == "topic_date" or rng.random() < 0.7 else 2
                )
            if kind == "provider":
                entry["providers"] = pick(top_providers)
            if kind in ("date", "topic_date"):
                date_filter(entry)
            if kind == "newest":
                terms = pick(common) + (pick(mid) if rng.random() < 0.5 else [])
                entry["sort"] = "newest"
            entry["terms"] = terms
            entry["q"] = newsfind_q(terms, entry["mode"])
            entry["boolean"] = stable(terms)
            queries.append(entry)
    for number, entry in enumerate(queries, 1):
        entry["id"] = f"q{number:03d}"
    return {
        "version": VERSION,
        "generated_from": f"{corpus.parent.name}/{corpus.name}",
        "seed": seed,
        "now": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "queries": [{"id": e.pop("id"), **e} for e in queries],
    }


def newsfind_q(terms: list[str], mode: str) -> str:
    if mode == "phrase":
        return '"' + " ".join(terms) + '"'
    if mode == "and":
        return " AND ".join(terms)
    return " ".join(terms)


def dumps(data: dict[str, Any]) -> str:
    """JSON with one query per line: small, and a diff shows which queries changed."""
    head = {key: value for key, value in data.items() if key != "queries"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "queries": [']
    rows = [json.dumps(entry, ensure_ascii=False) for entry in data["queries"]]
    lines += [f"  {row}," for row in rows[:-1]] + [f"  {rows[-1]}", "]}"]
    return "\n".join(lines) + "\n"


def load(path: Path = QUERIES_FILE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _date(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC) if text else None


def now_of(queryset: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(queryset["now"].replace("Z", "+00:00"))


def to_request(entry: dict[str, Any], now: dt.datetime) -> Request:
    """The engine-neutral request (relative ranges resolved against ``now``)."""
    since, until = _date(entry.get("since")), _date(entry.get("until"))
    if entry.get("range"):
        from search.contract import RELATIVE_RANGES

        since, until = now - RELATIVE_RANGES[entry["range"]][1], None
    return Request(
        terms=tuple(entry["terms"]),
        mode=entry["mode"],
        topics=tuple(entry.get("topics", ())),
        providers=tuple(entry.get("providers", ())),
        since=since,
        until=until,
        sort=entry["sort"],
    )


def add_arguments(parser: Any) -> None:
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=QUERIES_FILE)


def main(args: Any) -> int:
    data = generate(args.corpus, args.seed)
    args.out.write_text(dumps(data), encoding="utf-8")
    kinds = Counter(entry["kind"] for entry in data["queries"])
    boolean = sum(entry["boolean"] for entry in data["queries"])
    print(f"wrote {len(data['queries'])} queries ({boolean} boolean) to {args.out}: {dict(kinds)}")
    return 0
