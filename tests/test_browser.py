"""A real browser (Debian's chromium, driven by Playwright) against the real server.

The journey a reader makes: type a query and see suggestions, tick two facets, click a bar of
the date histogram, page forward, go back, open an article; an article titled
``<script>alert(1)</script>`` shows as text and no dialog ever opens. Ends with a screenshot of
the bundled seeds (the README's are taken in ``test_browser_reader.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHROMIUM,
    REPO,
    TIMEOUT_MS,
    XSS_TITLE,
    LiveServer,
    no_errors,
    query_of,
    served,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is absent (apt-get install chromium; scripts/test does)",
    ),
]


def test_a_readers_journey(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?per_page=2")

    # type a query: suggestions appear in an accessible listbox
    box = page.locator("#q")
    box.press_sequentially("oil", delay=60)
    options = page.locator("#q-suggestions [role=option]")
    options.first.wait_for(state="visible")
    assert box.get_attribute("aria-expanded") == "true"
    assert "oil" in options.first.inner_text().lower()
    box.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    box.press("Escape")
    assert page.locator("#q-suggestions").is_hidden()
    with page.expect_navigation():
        box.press("Enter")
    assert query_of(page.url) == {"q": ["oil"], "per_page": ["2"]}
    count_line = page.locator("#result-count").inner_text()
    assert re.search(r"\d+ articles?( in \d+ stor(y|ies))? for “oil”", count_line)

    # tick two facets: each applies at once (the URL holds the state)
    with page.expect_navigation():
        page.get_by_role("checkbox", name=re.compile(r"^Energy\b")).check()
    with page.expect_navigation():
        page.get_by_role("checkbox", name=re.compile(r"^Reuters\b")).check()
    state = query_of(page.url)
    assert state["topic"] == ["Energy"] and state["provider"] == ["Reuters"]
    assert page.locator(".chips .chip").count() == 2
    assert page.get_by_role("checkbox", name=re.compile(r"^Energy\b")).is_checked()

    # click the tallest bar of the date histogram: it narrows since/until to that bucket
    bars = page.locator("svg.histogram a")
    counts = [int(re.sub(r"\D", "", label.rsplit(":", 1)[1])) for label in
              [bars.nth(i).get_attribute("aria-label") for i in range(bars.count())]]  # fmt: skip
    tallest = counts.index(max(counts))
    with page.expect_navigation():
        bars.nth(tallest).click()
    narrowed = query_of(page.url)
    assert "since" in narrowed and "until" in narrowed and narrowed["topic"] == ["Energy"]
    total = int(re.sub(r"\D", "", page.locator("#result-count strong").first.inner_text()))
    assert total == max(counts) > 2

    # page forward, then back
    first_page_titles = page.locator(".hit-title").all_inner_texts()
    with page.expect_navigation():
        page.locator("a[rel=next]").click()
    assert query_of(page.url)["page"] == ["2"]
    assert page.locator(".pagination [aria-current=page]").inner_text() == "2"
    assert page.locator(".hit-title").all_inner_texts() != first_page_titles
    page.go_back()
    assert "page" not in query_of(page.url)
    assert page.locator(".hit-title").all_inner_texts() == first_page_titles

    # open an article
    title = page.locator(".hit-title a").first.inner_text()
    with page.expect_navigation():
        page.locator(".hit-title a").first.click()
    assert "/articles/" in page.url
    assert page.locator("h1").inner_text() == title

    assert page.dialogs == [] and page.errors == []


def test_choosing_a_source_suggestion_applies_it_as_a_filter(
    page: Any, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/?topic=Energy")
    page.locator("#q").press_sequentially("reut", delay=60)
    source = page.locator("#q-suggestions [role=option]", has_text="source").first
    source.wait_for(state="visible")
    assert source.locator(".text").inner_text() == "Reuters"
    with page.expect_navigation():
        source.click()
    assert query_of(page.url) == {"topic": ["Energy"], "provider": ["Reuters"]}
    assert page.locator(".chips .chip").count() == 2


def test_markup_in_a_title_is_text_and_runs_nothing(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?q=markup")
    link = page.locator(".hit-title a", has_text=XSS_TITLE)
    assert link.inner_text() == XSS_TITLE
    with page.expect_navigation():
        link.click()
    assert page.locator("h1").inner_text() == XSS_TITLE
    page.goto(live_server.url + "/?q=" + XSS_TITLE)
    assert page.locator("#q").input_value() == XSS_TITLE
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0


def test_keyboard_only_reader(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("vaccine")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert query_of(page.url)["q"] == ["vaccine"]


def test_a_phone_sized_screen(page: Any, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/?q=oil")
    assert page.locator("details.filters").get_attribute("open") is None  # folded on a phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing overflows sideways
    page.locator("details.filters summary").click()
    assert page.get_by_role("checkbox", name=re.compile(r"^Energy\b")).is_visible()


def test_without_javascript_everything_still_works(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(live_server.url + "/?q=oil")
        tab.get_by_role("checkbox", name=re.compile(r"^Energy\b")).check()
        with tab.expect_navigation():
            tab.get_by_role("button", name="Apply filters").click()
        assert query_of(tab.url)["topic"] == ["Energy"]
        assert tab.locator(".chips .chip").count() == 1
    finally:
        context.close()


@pytest.fixture(scope="module")
def seeds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The bundled seeds served for real (``newsfind serve`` builds their index first)."""
    seeds = REPO / "seeds"
    if not any(seeds.glob("*.txt")):
        pytest.skip("no bundled seeds in seeds/")
    root = tmp_path_factory.mktemp("seeds-server")
    with served(root / "index", seeds, root / "server.log", "--workers", "1") as server:
        yield server


def test_screenshot_for_the_readme(page: Any, seeds_server: LiveServer, tmp_path: Path) -> None:
    page.goto(seeds_server.url + "/?q=council&topic=Politics")
    assert page.locator(".hit").count() > 0
    # the README's screenshots are of the shared corpus (test_browser_reader.py)
    target = tmp_path / "screenshot.png"
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000
    no_errors(page)
