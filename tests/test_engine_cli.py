"""``newsfind search`` and the SearchResult renderings it prints (``search.serialize``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_engine_helpers import Built, Doc, build, request

from search.cli import main
from search.serialize import result_to_dict, result_to_text


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("cli")
    return build(
        root,
        [
            Doc(
                "Harbour strike ends",
                excerpt="Dockers return to work.",
                body="The harbour strike ended after talks.",
                topics=["Labour", "Ports"],
                provider=("Wire A", "a.sample"),
                date="2024-05-30T10:00:00+02:00",
                doc_id="h1",
            ),
            Doc(
                "Harbour dredging plan",
                topics=["Ports"],
                provider=("Wire B", "b.sample"),
                date="2023-01-01T00:00:00Z",
                doc_id="h2",
            ),
            Doc("Harbour secret", published=False, doc_id="h3"),
            # dated from the real clock, as the CLI's relative --since counts back from it
            Doc("Ferry timetable changes", date=days_ago(2), doc_id="f1"),
            Doc("Ferry fares rise", date=days_ago(20), doc_id="f2"),
        ],
    )


def days_ago(days: int) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def run(built: Built, *args: str) -> tuple[int, str]:
    """``newsfind search`` in keyword mode unless ``--mode`` is given (exact expected counts)."""
    mode = [] if "--mode" in args else ["--mode", "keyword"]
    result = CliRunner().invoke(main, ["search", *args, *mode, "--index-dir", str(built.index)])
    return result.exit_code, result.output


def test_table_lists_hits_and_facets(built: Built) -> None:
    code, output = run(built, "harbour")
    assert code == 0
    assert output.startswith("1-2 of 2 results")
    lines = output.splitlines()
    header = next(line for line in lines if line.startswith("#"))
    assert header.split() == ["#", "date", "provider", "title", "topics"]
    assert any("2024-05-30" in line and "Harbour strike ends" in line for line in lines)
    assert "topic: Ports (2), Labour (1)" in output
    assert "Harbour secret" not in output


def test_filters_sort_and_paging(built: Built) -> None:
    code, output = run(built, "harbour", "--topic", "Labour", "--sort", "oldest")
    assert code == 0 and "1-1 of 1" in output and "*Labour (1)" in output
    code, output = run(built, "harbour", "--provider", "b.sample")
    assert "Harbour dredging plan" in output and "Harbour strike" not in output
    code, output = run(built, "harbour", "--since", "2024-01-01", "--until", "2025-01-01")
    assert "1-1 of 1" in output
    code, output = run(built, "harbour", "--since", "7d")
    assert code == 0 and output.startswith("No results for 'harbour'.\n")  # both years old
    code, output = run(built, "ferry", "--since", "7d")
    assert code == 0 and output.startswith("1-1 of 1 result")
    assert "Ferry timetable changes" in output and "Ferry fares rise" not in output
    # the newest article is two days old: the shorter windows end at it (dates.window_end)
    assert "ranges: 1h (1), 24h (1), *7d (1), 30d (2), 1y (2)" in output
    code, output = run(built, "harbour", "--page", "3", "--per-page", "1")
    assert "page 3 is past the last (2)" in output
    code, output = run(built, "harbour", "--include-unpublished")
    assert "Harbour secret" in output


def test_json_output(built: Built) -> None:
    code, output = run(built, "strike", "--json")
    assert code == 0
    data = json.loads(output)
    assert data["total"] == 1 and data["pages"] == 1
    hit = data["hits"][0]
    assert hit["id"] == "h1"
    assert hit["published_at"] == "2024-05-30T08:00:00Z"
    assert hit["highlights"]["title"][1] == {"text": "strike", "match": True}
    assert any(part["match"] for part in hit["highlights"]["body"])
    assert "body" not in hit and "has_body" not in hit and "secured" not in output
    assert set(data["facets"]) == {"topic", "provider", "type"}
    assert data["date_histogram"]["buckets"][0]["start"].endswith("Z")
    assert data["query"]["q"] == "strike"


def test_mode_option(built: Built) -> None:
    _, words = run(built, "harbour", "--json")
    for mode in ("hybrid", "semantic"):
        code, output = run(built, "harbour", "--mode", mode, "--json")
        data = json.loads(output)
        assert code == 0 and data["query"]["mode"] == data["mode"] == mode
        assert "h3" not in {hit["id"] for hit in data["hits"]}  # unpublished, in every mode
    keyword_ids = {hit["id"] for hit in json.loads(words)["hits"]}
    assert keyword_ids <= {
        hit["id"]
        for hit in json.loads(run(built, "harbour", "--mode", "hybrid", "--json")[1])["hits"]
    }
    assert run(built, "x", "--mode", "fuzzy")[0] == 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["x", "--since", "last tuesday"], 2, "is not a date"),
        (["x", "--per-page", "500"], 1, "per_page"),
        (["x" * 2000], 1, "longer than"),
        (["x", "--sort", "best"], 2, "best"),
    ],
)
def test_bad_input_is_one_clear_line(
    built: Built, args: list[str], code: int, message: str
) -> None:
    exit_code, output = run(built, *args)
    assert exit_code == code
    assert message in output
    assert "Traceback" not in output


def test_no_index(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["search", "x", "--index-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "reindex" in result.output


def test_renderings_of_an_empty_result(built: Built) -> None:
    result = built.engine.search(request(q="nothingmatches"))
    assert result_to_text(result).startswith("No results for 'nothingmatches'.")
    data = result_to_dict(result)
    assert data["hits"] == [] and data["total"] == 0
    json.dumps(data)
