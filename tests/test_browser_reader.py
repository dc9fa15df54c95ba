"""The reader's side (issue 16) in a real browser (Debian's chromium, Playwright) against the real
server: the exact sequences the issue lists, live results, dates, focus, the back link, the facet
search box, an axe-core check of every page type, the page's weight and height on a phone, and
the README's screenshots of a real search on the shared corpus.

axe-core comes from the npm registry, pinned, installed by ``scripts/axe`` (``scripts/test`` runs
it) into ``.cache/axe``; never committed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHROMIUM,
    REPO,
    TIMEOUT_MS,
    LiveServer,
    no_errors,
    query_of,
    served,
)

from search.whoosh.target import reindex

AXE = REPO / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PAGE_WEIGHT_LIMIT = 150 * 1024
PHONE_RESULTS_HEIGHT = 2_000
"""Ten results on a 390 px phone, in CSS pixels (about 5,600 before the compact layout)."""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent"),
]


# -- on the web corpus ---------------------------------------------------------------------------


def test_late_suggestions_never_replace_what_is_typed(page: Any, live_server: LiveServer) -> None:
    """Type ``oil``, wait for its suggestions, then `` reuters`` and ArrowDown+Enter at once:
    the search is for the text in the box, not for a suggestion of ``oil``."""
    page.goto(live_server.url + "/?topic=Energy")
    box = page.locator("#q")
    box.press_sequentially("oil", delay=40)
    page.locator("#q-suggestions [role=option]").first.wait_for(state="visible")
    box.press_sequentially(" reuters", delay=10)
    assert page.locator("#q-suggestions").is_hidden()  # the old answer is gone at once
    with page.expect_navigation():
        box.press("ArrowDown")
        box.press("Enter")
    assert query_of(page.url)["q"] == ["oil reuters"]
    no_errors(page)


def test_a_title_suggestion_opens_its_article(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?topic=Energy&provider=Reuters")
    page.locator("#q").press_sequentially("fresh oil", delay=40)
    option = page.locator("#q-suggestions [role=option]", has_text="article").first
    option.wait_for(state="visible")
    title = option.locator(".text").inner_text()
    with page.expect_navigation():
        option.click()
    assert "/articles/" in page.url and "topic" not in page.url
    assert page.locator("h1").inner_text() == title
    no_errors(page)


def test_focus_stays_on_the_ticked_facet(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?q=oil")
    box = page.get_by_role("checkbox", name=re.compile(r"^Energy\b"))
    box.focus()
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert query_of(page.url)["topic"] == ["Energy"]
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    assert focused == ["topic", "Energy"]
    no_errors(page)


def test_typed_dates_apply_only_when_complete_and_valid(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?q=oil")
    start = page.url
    since = page.locator("input[name=since]")
    since.click()
    since.press_sequentially("01022023", delay=60)  # 01/02/2023 in an en-US date field
    assert page.url == start  # nothing submitted while typing
    assert since.input_value() == "2023-01-02"
    until = page.locator("input[name=until]")
    until.click()
    until.press_sequentially("12312022", delay=60)  # before "From"
    until.press("Enter")
    note = page.locator("#date-note")
    note.wait_for(state="visible")
    assert "before" in note.inner_text() and page.url == start
    assert until.get_attribute("aria-invalid") == "true"
    until.fill("2023-06-30")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply dates").click()
    assert query_of(page.url)["since"] == ["2023-01-02"]
    assert query_of(page.url)["until"] == ["2023-06-30"]
    any_time = page.locator(".ranges a", has_text="Any time")
    assert any_time.get_attribute("aria-current") is None
    with page.expect_navigation():
        any_time.click()
    assert query_of(page.url) == {"q": ["oil"]}
    assert page.locator(".ranges a", has_text="Any time").get_attribute("aria-current") == "true"
    no_errors(page)


def test_results_update_as_you_type(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.resource_type == "document" else None)
    page.locator("#q").press_sequentially("vaccine", delay=30)
    page.wait_for_url(live_server.url + "/?q=vaccine")
    page.locator("#result-count", has_text="vaccine").wait_for()
    assert requests == []  # no page load: fetched and swapped in
    titles = page.locator(".hit-title").all_inner_texts()
    assert titles and all("vaccine" in t.lower() for t in titles)
    page.locator("#q").press_sequentially(" trial", delay=30)
    page.wait_for_url(live_server.url + "/?q=vaccine+trial")
    page.go_back()  # the whole typing burst is one history entry
    page.wait_for_url(live_server.url + "/")
    page.locator("#result-count", has_text="vaccine").wait_for(state="detached")
    assert page.locator("#q").input_value() == ""
    no_errors(page)


def test_the_facet_search_box(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    finder = page.locator("input[data-facet-filter=topic]")
    finder.fill("spo")
    visible = page.locator("fieldset[data-facet=topic] li:visible .value").all_inner_texts()
    assert visible == ["Sports"]
    finder.fill("")
    assert page.locator("fieldset[data-facet=topic] li:visible").count() > 1
    no_errors(page)


def test_back_to_the_results(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?q=oil&topic=Energy")
    results = page.url
    with page.expect_navigation():
        page.locator(".hit-title a").first.click()
    back = page.locator("a.back-link")
    assert back.inner_text() == "← Back to results"
    with page.expect_navigation():
        back.click()
    assert page.url == results
    no_errors(page)


def test_every_page_type_passes_axe(browser: Any, live_server: LiveServer) -> None:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: scripts/test installs it (scripts/axe)")
        pytest.skip("axe-core is not installed: run bash scripts/axe")
    script = AXE.read_text(encoding="utf-8")
    urls = ["/", "/?q=oil&topic=Energy", "/?q=zzzzzz&exact=1", "/?page=x", "/articles/nope"]
    found: dict[str, list[str]] = {}
    for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        context = browser.new_context(viewport=viewport)
        try:
            tab = context.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            tab.goto(live_server.url + "/?q=oil")
            article = tab.locator(".hit-title a").first.get_attribute("href")
            for url in [*urls, article]:
                tab.goto(live_server.url + url)
                tab.evaluate(script)  # through the devtools protocol: the CSP stays strict
                result = tab.evaluate(
                    "axe.run(document, {resultTypes: ['violations']})"
                    ".then(r => r.violations.filter(v => ['serious', 'critical']"
                    ".includes(v.impact)).map(v => v.id + ': ' + v.nodes.map("
                    "n => n.target.join(' ')).slice(0, 3).join(', ')))"
                )
                if result:
                    found[f"{url} @ {viewport['width']}"] = result
        finally:
            context.close()
    assert found == {}


# -- on real articles: the shared corpus's headlines ---------------------------------------------


@pytest.fixture(scope="module")
def headlines_server(
    shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The 9,870 real headlines of ``../shared/corpus/headlines`` indexed (read in place, never
    copied) and served for real."""
    seeds = shared_dir / "corpus" / "headlines"
    root = tmp_path_factory.mktemp("headlines")
    reindex(seeds, root / "index")
    with served(root / "index", seeds, root / "server.log", "--workers", "1") as server:
        yield server


def test_the_exact_suggestion_sequence_on_real_headlines(
    page: Any, headlines_server: LiveServer
) -> None:
    page.goto(headlines_server.url + "/")
    box = page.locator("#q")
    box.press_sequentially("covid", delay=40)
    page.locator("#q-suggestions [role=option]").first.wait_for(state="visible")
    box.press_sequentially(" reuters", delay=5)
    with page.expect_navigation():
        box.press("ArrowDown")
        box.press("Enter")
    assert query_of(page.url)["q"] == ["covid reuters"]
    no_errors(page)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("covid vacine", "covid vaccine"), ("oil pirces", "oil prices"), ("inflaton", "inflation")],
)
def test_typos_on_real_headlines(
    page: Any, headlines_server: LiveServer, typed: str, shown: str
) -> None:
    page.goto(headlines_server.url + "/?q=" + typed.replace(" ", "+"))
    notice = page.locator(".notice.corrected")
    assert notice.inner_text() == f"Showing results for {shown} — search instead for {typed}"
    assert page.locator("text=Did you mean").count() == 0
    with page.expect_navigation():
        notice.locator("a.exact").click()
    assert query_of(page.url) == {"q": [typed], "exact": ["1"]}
    assert page.locator(".notice.corrected").count() == 0
    assert page.locator("text=Did you mean").count() <= 1
    no_errors(page)


def test_the_page_is_light_and_compact_on_a_phone(
    browser: Any, headlines_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        tab = context.new_page()
        sizes: list[int] = []

        def count(response: Any) -> None:
            headers = sum(len(k) + len(v) + 4 for k, v in response.headers.items())
            sizes.append(len(response.body()) + headers)

        tab.on("response", count)
        elsewhere: list[str] = []
        local = headlines_server.url + "/"
        tab.on("request", lambda r: None if r.url.startswith(local) else elsewhere.append(r.url))
        tab.goto(headlines_server.url + "/?q=covid+vaccine")
        tab.wait_for_load_state("networkidle")
        assert tab.locator(".hit").count() == 10
        # nothing leaves the site but the articles' own images (lazy: those on screen)
        images = {
            image["url"]
            for hit in json.loads(
                # the page groups by story; the API groups when asked
                tab.evaluate("fetch('/api/search?q=covid+vaccine&group=story').then(r => r.text())")
            )["hits"]
            for image in hit["images"]
        }
        assert set(elsewhere) <= images, elsewhere
        assert sum(sizes) <= PAGE_WEIGHT_LIMIT, sizes
        height = tab.evaluate("document.querySelector('ol.hits').getBoundingClientRect().height")
        assert height <= PHONE_RESULTS_HEIGHT
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390
        print(f"\nphone: {sum(sizes)} bytes for the page, ten results {height:.0f} px high")
    finally:
        context.close()


def test_screenshots_for_the_readme(
    browser: Any, headlines_server: LiveServer, tmp_path: Path
) -> None:
    """docs/screenshot.png (1280 px) and docs/screenshot-phone.png (390 px), rewritten only on
    request (``NEWSFIND_UPDATE_SCREENSHOT=1``): relative times change."""
    folder = REPO / "docs" if os.environ.get("NEWSFIND_UPDATE_SCREENSHOT") else tmp_path
    for name, viewport in (
        ("screenshot.png", {"width": 1280, "height": 900}),
        ("screenshot-phone.png", {"width": 390, "height": 844}),
    ):
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        try:
            tab = context.new_page()
            tab.goto(headlines_server.url + "/?q=covid+vacine")
            assert tab.locator(".hit").count() == 10
            tab.screenshot(path=str(folder / name), full_page=False)
            assert (folder / name).stat().st_size > 10_000
        finally:
            context.close()


def test_the_feed_validates_in_a_reader(headlines_server: LiveServer) -> None:
    import urllib.request

    import feedparser

    with urllib.request.urlopen(headlines_server.url + "/feed?q=covid", timeout=30) as response:
        parsed = feedparser.parse(response.read())
    assert not parsed.bozo and len(parsed.entries) == 20
    dates = [entry.published_parsed for entry in parsed.entries]
    assert dates == sorted(dates, reverse=True)
    json.dumps(parsed.feed.title)
