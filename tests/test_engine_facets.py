"""Facet shapes, and the date histogram at bucket and interval boundaries, across time zones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_engine_helpers import Doc, build, request

from search.contract import DateHistogram
from search.whoosh.engine import WhooshEngine

UTC = dt.UTC


def histogram(tmp_path: Path, dates: list[str | None], **fields: object) -> DateHistogram:
    built = build(tmp_path, [Doc(f"Note {n}", date=date) for n, date in enumerate(dates)])
    result = built.engine.search(request(q="note", **fields))
    assert result.date_histogram is not None
    return result.date_histogram


def counts(hist: DateHistogram) -> list[tuple[str, int]]:
    return [(bucket.label, bucket.count) for bucket in hist.buckets]


def test_days_in_utc_whatever_the_offset(tmp_path: Path) -> None:
    hist = histogram(
        tmp_path,
        [
            "2024-03-01T23:59:59Z",
            "2024-03-02T00:00:00Z",
            "2024-03-02T01:30:00+02:00",  # 2024-03-01T23:30Z
            "2024-03-01T19:00:00-05:00",  # 2024-03-02T00:00Z
        ],
    )
    assert hist.interval == "day"
    assert counts(hist) == [("2024-03-01", 2), ("2024-03-02", 2)]
    first = hist.buckets[0]
    assert first.start == dt.datetime(2024, 3, 1, tzinfo=UTC)
    assert first.end == dt.datetime(2024, 3, 2, tzinfo=UTC)
    assert hist.undated == 0


def test_months_are_contiguous_calendar_months(tmp_path: Path) -> None:
    hist = histogram(
        tmp_path,
        [
            "2024-01-31T23:59:59Z",
            "2024-02-01T00:00:00Z",
            "2024-02-29T12:00:00Z",
            "2024-04-30T22:00:00-05:00",  # 2024-05-01T03:00Z
            None,
        ],
    )
    assert hist.interval == "month"
    assert counts(hist) == [
        ("2024-01", 1),
        ("2024-02", 2),
        ("2024-03", 0),
        ("2024-04", 0),
        ("2024-05", 1),
    ]
    february = hist.buckets[1]
    assert (february.start, february.end) == (
        dt.datetime(2024, 2, 1, tzinfo=UTC),
        dt.datetime(2024, 3, 1, tzinfo=UTC),
    )
    assert hist.undated == 1


def test_years_including_before_1970(tmp_path: Path) -> None:
    hist = histogram(
        tmp_path,
        ["1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "1973-06-01T00:00:00Z"],
    )
    assert hist.interval == "year"
    assert counts(hist) == [("1969", 2), ("1970", 0), ("1971", 0), ("1972", 0), ("1973", 1)]
    assert hist.buckets[0].start == dt.datetime(1969, 1, 1, tzinfo=UTC)
    assert hist.buckets[-1].end == dt.datetime(1974, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "interval"),
    [
        ("2024-03-03T00:00:00Z", "day"),  # a span of exactly 62 days
        ("2024-03-03T00:00:01Z", "month"),
        ("2027-01-03T00:00:00Z", "month"),  # exactly 3 × 366 days
        ("2027-01-03T00:00:01Z", "year"),
    ],
)
def test_interval_follows_the_span(tmp_path: Path, last: str, interval: str) -> None:
    assert histogram(tmp_path, ["2024-01-01T00:00:00Z", last]).interval == interval


def test_one_date_and_no_dates(tmp_path: Path) -> None:
    hist = histogram(tmp_path / "one", ["2024-02-29T10:00:00Z", None, None])
    assert hist.interval == "day"
    assert counts(hist) == [("2024-02-29", 1)]
    assert hist.undated == 2
    none = histogram(tmp_path / "none", [None])
    assert none.buckets == () and none.undated == 1


def test_histogram_follows_the_filters(tmp_path: Path) -> None:
    hist = histogram(
        tmp_path,
        ["2020-01-01T00:00:00Z", "2024-05-30T00:00:00Z", "2024-05-31T00:00:00Z"],
        range="7d",
    )
    assert hist.interval == "day"
    assert counts(hist) == [("2024-05-30", 1), ("2024-05-31", 1)]


# -- value facets -------------------------------------------------------------------------------


@pytest.fixture
def faceted(tmp_path: Path) -> WhooshEngine:
    docs = [
        Doc("Story", topics=["Alpha"], provider=("Wire A", "a.sample")),
        Doc("Story", topics=["Alpha", "Beta"], provider=("Wire A", "a.sample")),
        Doc("Story", topics=["Beta", "Gamma"], provider=("Wire B", "b.sample")),
        Doc("Story", topics=["Delta"], provider=("Wire C", "c.sample")),
        Doc("Story", topics=["Beta"], provider=("Wire C", "c.sample"), published=False),
    ]
    return build(tmp_path, docs).engine


def test_top_values_by_count_then_value_with_truncation(faceted: WhooshEngine) -> None:
    result = faceted.search(request(q="story", facet_size=2))
    topic = result.facets["topic"]
    assert [(v.value, v.count) for v in topic.values] == [("Alpha", 2), ("Beta", 2)]
    assert topic.truncated
    wide = faceted.search(request(q="story", facet_size=10))
    assert not wide.facets["topic"].truncated
    assert [(v.value, v.count) for v in wide.facets["topic"].values] == [
        ("Alpha", 2),
        ("Beta", 2),
        ("Delta", 1),
        ("Gamma", 1),
    ]


def test_selected_values_are_always_listed(faceted: WhooshEngine) -> None:
    result = faceted.search(
        request(q="story", topics=("Gamma", "Nope"), providers=("c.sample",), facet_size=1)
    )
    topic = {(v.value, v.count, v.selected) for v in result.facets["topic"].values}
    # topic counts ignore the topic filter but keep the provider one (Wire C only)
    assert topic == {("Delta", 1, False), ("Gamma", 0, True), ("Nope", 0, True)}
    provider = [(v.value, v.count, v.selected) for v in result.facets["provider"].values]
    assert ("c.sample", 0, True) in provider  # Gamma is Wire B's
    assert result.total == 0


def test_disjunctive_counts(faceted: WhooshEngine) -> None:
    result = faceted.search(request(q="", topics=("Alpha",)))
    assert result.total == 2
    topic = {v.value: v.count for v in result.facets["topic"].values}
    assert topic == {"Alpha": 2, "Beta": 2, "Gamma": 1, "Delta": 1}
    provider = {v.value: v.count for v in result.facets["provider"].values}
    assert provider == {"Wire A": 2}
    both = faceted.search(request(q="", topics=("Alpha", "Delta")))
    assert both.total == 3


def test_only_the_requested_facets(faceted: WhooshEngine) -> None:
    result = faceted.search(request(q="story", facets=("provider",)))
    assert set(result.facets) == {"provider"}
    assert result.date_histogram is None and result.ranges == ()
