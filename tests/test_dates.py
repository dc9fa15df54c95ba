"""``search.dates``: one reading of dates for the web, the CLI and both engines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from factory import write_article

from search import dates
from search.cli import main
from search.contract import SearchRequest
from search.errors import RequestError
from search.whoosh.target import reindex
from web import create_app

UTC = dt.UTC


def test_parse_date_forms() -> None:
    assert dates.parse_date("since", "2024-03-05") == dt.datetime(2024, 3, 5, tzinfo=UTC)
    assert dates.parse_date("until", "2024-03-05", end=True) == dt.datetime(2024, 3, 6, tzinfo=UTC)
    assert dates.parse_date("until", "2024-03-05T14:00:00+02:00", end=True) == dt.datetime(
        2024, 3, 5, 12, tzinfo=UTC
    )
    assert dates.parse_date("since", "2024-03-05t14:00:00z") == dt.datetime(
        2024, 3, 5, 14, tzinfo=UTC
    )
    with pytest.raises(RequestError) as caught:
        dates.parse_date("until", "5 March")
    assert caught.value.param == "until"


def test_conditions_and_range_bounds() -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, 500_000, tzinfo=UTC)
    request = SearchRequest(
        since=dt.datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        until=dt.datetime(2025, 2, 1, tzinfo=UTC),
        range="24h",
        now=now,
    )
    low, high = dates.range_bounds("24h", now)
    assert (low, high) == (int(now.timestamp()) - 86_400 + 1, int(now.timestamp()))
    assert dates.conditions(request, now) == [
        (">=", int(dt.datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC).timestamp())),
        ("<", int(dt.datetime(2025, 2, 1, tzinfo=UTC).timestamp())),
        (">=", low),
        ("<=", high),
    ]


def test_slots_agree_with_numpy() -> None:
    moments = [dt.datetime(1970, 1, 1, tzinfo=UTC), dt.datetime(2024, 2, 29, 23, 59, tzinfo=UTC)]
    moments.append(dt.datetime(9999, 12, 31, tzinfo=UTC))
    stamps = np.array([int(m.timestamp()) for m in moments])
    for interval, unit in dates.UNITS.items():
        slots = dates.slot_numbers(stamps, unit).tolist()
        assert slots == [dates.slot_of(interval, m) for m in moments]
        for slot, moment in zip(slots, moments, strict=True):
            start = dates.slot_start(interval, slot)
            assert start <= moment < dates.slot_start(interval, slot + 1)
    assert dates.slot_start(
        "year", dates.slot_of("year", moments[-1]) + 1
    ) == dt.datetime.max.replace(tzinfo=UTC)


def test_histogram_contiguous_then_sparse() -> None:
    first = dates.slot_of("day", dt.datetime(2024, 1, 30, tzinfo=UTC))
    histogram = dates.histogram("day", first, first + 3, {first: 2, first + 3: 1}, undated=4)
    assert [(b.label, b.count) for b in histogram.buckets] == [
        ("2024-01-30", 2),
        ("2024-01-31", 0),
        ("2024-02-01", 0),
        ("2024-02-02", 1),
    ]
    assert histogram.undated == 4
    wide = dates.histogram("year", 0, 1000, {0: 1, 1000: 2}, undated=0)
    assert [(b.label, b.count) for b in wide.buckets] == [("1970", 1), ("2970", 2)]


@pytest.fixture(scope="module")
def march(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("march")
    seeds = root / "seeds"
    for day in (4, 5, 6):
        write_article(
            seeds,
            f"000_march0000000000{day}.txt",
            f"Tide report {day}",
            date=f"2024-03-0{day}T18:00:00Z",
        )
    reindex(seeds, root / "index")
    return root / "index"


def test_cli_until_date_includes_that_day_as_the_web_does(march: Path) -> None:
    """``newsfind search --until 2024-03-05`` used to leave out 5 March; ``?until=`` never did."""
    runner = CliRunner()
    done = runner.invoke(
        main, ["search", "tide", "--until", "2024-03-05", "--json", "--index-dir", str(march)]
    )
    assert done.exit_code == 0, done.output
    cli_titles = sorted(hit["title"] for hit in json.loads(done.output)["hits"])
    assert cli_titles == ["Tide report 4", "Tide report 5"]
    client = create_app({"INDEX_DIR": str(march), "TESTING": True}).test_client()
    body = client.get("/api/search?q=tide&until=2024-03-05").get_json()
    assert sorted(hit["title"] for hit in body["hits"]) == cli_titles
    since = runner.invoke(
        main, ["search", "tide", "--since", "2024-03-05", "--json", "--index-dir", str(march)]
    )
    assert sorted(h["title"] for h in json.loads(since.output)["hits"]) == [
        "Tide report 5",
        "Tide report 6",
    ]
