"""Stories in a real browser (Debian's chromium, Playwright) against the real server: the grouped
search page, a story page, trending on the home page, a phone-sized screen; and the README's
screenshot of grouped results on real articles (the shared corpus' headlines)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHROMIUM,
    REPO,
    LiveServer,
    no_errors,
    query_of,
    start_server,
    stop_server,
    wait_until_up,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is absent (apt-get install chromium; scripts/test does)",
    ),
]


def test_grouped_results_lead_to_the_story_page(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?q=oil+prices")
    count = page.locator("#result-count").inner_text()
    assert re.search(r"\d+ articles in \d+ stories", count), count
    line = page.locator(".story-line a").first
    label = line.inner_text()
    assert re.fullmatch(r"\d+ articles · \d+ sources?", label), label
    with page.expect_navigation():
        line.click()
    assert page.url.startswith(live_server.url + "/stories/")
    assert page.locator("h1").is_visible()
    assert page.locator(".story-article").count() == int(label.split()[0])
    assert page.locator("svg.histogram rect.bar").count() >= 1
    assert page.get_by_role("heading", name="Sources").is_visible()
    page.go_back()
    with page.expect_navigation():
        page.get_by_role("link", name="All articles").click()
    assert query_of(page.url)["group"] == ["none"]
    assert page.locator(".story-line").count() == 0
    assert "stories" not in page.locator("#result-count").inner_text()
    no_errors(page)


def test_trending_on_the_home_page(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    section = page.locator("section.trending")
    assert section.get_by_role("heading", name="Trending").is_visible()
    with page.expect_navigation():
        section.get_by_role("link", name="7 days").click()
    assert query_of(page.url)["trending"] == ["7d"]
    story = page.locator(".trending-stories a").first
    with page.expect_navigation():
        story.click()
    assert "/stories/" in page.url and page.locator(".story-article").count() >= 2
    no_errors(page)


def test_a_story_on_a_phone(page: Any, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/?q=oil+prices")
    href = page.locator(".story-line a").first.get_attribute("href")
    page.goto(live_server.url + href)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("svg.histogram").is_visible()


@pytest.fixture(scope="module")
def headlines_server(
    shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The shared corpus' headlines (real articles, 2021-22) served for real."""
    seeds = shared_dir / "corpus" / "headlines"
    if not seeds.is_dir():
        pytest.skip(f"{seeds} is absent")
    root = tmp_path_factory.mktemp("headlines")
    server = start_server(root / "index", seeds, root / "server.log", "--workers", "1")
    try:
        wait_until_up(server, seconds=300)
        yield server
    finally:
        stop_server(server)


@pytest.mark.shared
def test_screenshot_of_grouped_real_news(
    page: Any, headlines_server: LiveServer, tmp_path: Path
) -> None:
    page.goto(headlines_server.url + "/?q=roe+v+wade")
    assert page.locator(".story-line").count() >= 1
    ids = [page.locator(".story-line a").nth(i).get_attribute("href") for i in range(3)]
    assert len(set(ids)) == len(ids)  # one entry per story
    # docs/screenshot-stories.png (the README's) is rewritten only on request
    update = bool(os.environ.get("NEWSFIND_UPDATE_SCREENSHOT"))
    folder = REPO / "docs" if update else tmp_path
    page.screenshot(path=str(folder / "screenshot-stories.png"), full_page=False)
    story = page.locator(".story-line a").first.get_attribute("href")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=str(tmp_path / "screenshot-stories-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(headlines_server.url + story)
    page.screenshot(path=str(tmp_path / "story-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "story-1280.png"), full_page=False)
    assert (folder / "screenshot-stories.png").stat().st_size > 10_000
    no_errors(page)
