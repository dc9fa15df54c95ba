"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the project (the corpus and relevance collections), or a skip."""
    path = Path(__file__).resolve().parents[1].parent / "shared"
    if not path.is_dir():
        pytest.skip("../shared is absent (the corpus ships beside the project in CI)")
    return path


# --- web fixtures (tests/test_web*.py, tests/test_browser*.py) ----------------------------------

import contextlib as _contextlib  # noqa: E402
import datetime as _dt  # noqa: E402
import os as _os  # noqa: E402
import socket as _socket  # noqa: E402
import subprocess as _subprocess  # noqa: E402
import sys as _sys  # noqa: E402
import time as _time  # noqa: E402
import urllib.error as _urlerror  # noqa: E402
import urllib.request as _urlrequest  # noqa: E402
from collections.abc import Iterator as _Iterator  # noqa: E402
from typing import Any as _Any  # noqa: E402

WEB_ADMIN_TOKEN = "test-admin-token-\u00e9"
XSS_TITLE = "<script>alert(1)</script>"
UNPUBLISHED_WORD = "zephyrine"
WEB_SUBJECTS = (
    "oil prices",
    "central bank rates",
    "election results",
    "vaccine trial",
    "football final",
    "solar power",
)


def write_web_corpus(folder: Path) -> None:
    """A small, varied archive: topics, providers and months to facet on, bodies to snippet,
    related coverage, an unpublished article, an undated one and a hostile title."""
    from factory import file_name, write_article

    topics = ["Economy", "Energy", "Politics", "Science", "Sports", "Health"]
    providers = [
        ("Reuters", "reuters.com"),
        ("Associated Press", "apnews.com"),
        ("Nytimes", "nytimes.com"),
        ("Le Monde", "lemonde.fr"),
    ]
    for number in range(48):
        subject = WEB_SUBJECTS[number % len(WEB_SUBJECTS)]
        day = 1 + number % 27
        title = (
            f"Report {number}: {subject} move markets"
            if number % 2
            else f"{subject.title()} update {number}"
        )
        body = (
            f"Paragraph one about {subject} and the economy.\n\n"
            f"Paragraph two with detail number {number}."
        )
        related = [
            {
                "title": f"Earlier coverage of {subject}",
                "webUrl": f"https://apnews.com/earlier-{number}",
                "publishedDateTime": "2022-12-01T10:00:00Z",
                "provider": {"name": "Associated Press", "domain": "apnews.com"},
            }
        ]
        write_article(
            folder,
            file_name(number),
            title,
            excerpt=f"Analysts say {subject} shifted again in week {number}.",
            body=body if number % 3 == 0 else "",
            topics=[topics[number % 6], topics[(number + 1) % 6]]
            if number % 4 == 0
            else [topics[number % 6]],
            provider=providers[number % 4],
            date=f"{2023 + number % 2}-{1 + number % 12:02d}-{day:02d}T0{number % 10}:30:00Z",
            quality=10 + number % 40,
            heat=number % 7,
            related=related if number % 5 == 0 else None,
        )
    write_article(
        folder,
        file_name(100),
        XSS_TITLE,
        excerpt="An article whose title is markup.",
        topics=["Security"],
        provider=("Evil Corp", "evil.sample"),
        url="javascript:alert(2)",
    )
    write_article(
        folder,
        file_name(101),
        f"Secret draft about {UNPUBLISHED_WORD}",
        excerpt=f"Not yet public: {UNPUBLISHED_WORD}.",
        published=False,
        topics=["Economy"],
    )
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    for number, age in ((103, _dt.timedelta(minutes=30)), (104, _dt.timedelta(days=2)),
                        (105, _dt.timedelta(days=20))):  # fmt: skip
        write_article(
            folder,
            file_name(number),
            f"Fresh oil prices bulletin {number}",
            excerpt="Breaking: oil prices this week.",
            date=(now - age).isoformat().replace("+00:00", "Z"),
            topics=["Energy"],
            provider=("Reuters", "reuters.com"),
        )
    write_article(
        folder,
        file_name(102),
        "Undated archive note on oil",
        date=None,
        topics=["Energy"],
        excerpt="No date on this one.",
    )


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index built once for the web tests by the real reindex, from the corpus above."""
    from search.whoosh.target import reindex

    root = tmp_path_factory.mktemp("web")
    write_web_corpus(root / "seeds")
    report = reindex(root / "seeds", root / "index", workers=1)
    assert not report.rejected, report.rejected
    return root / "index"


@pytest.fixture
def web_app(web_index: Path) -> _Any:
    from web import create_app

    return create_app(
        {"TESTING": True, "INDEX_DIR": str(web_index), "ADMIN_TOKEN": WEB_ADMIN_TOKEN}
    )


@pytest.fixture
def web_client(web_app: _Any) -> _Any:
    return web_app.test_client()


class LiveServer:
    def __init__(self, url: str, process: _subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log


def free_port() -> int:
    with _socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(server: LiveServer, seconds: float = 60.0) -> None:
    deadline = _time.monotonic() + seconds
    while _time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = server.log.read_text()
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{log}")
        try:
            with _urlrequest.urlopen(server.url + "/api/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (_urlerror.URLError, ConnectionError, TimeoutError):
            pass
        _time.sleep(0.2)
    raise RuntimeError(f"server not up within {seconds} s:\n{server.log.read_text()}")


def start_server(index_dir: Path, seeds_dir: Path, log: Path, *extra: str) -> LiveServer:
    """``newsfind serve`` (gunicorn) in a subprocess on 127.0.0.1 and a free port."""
    port = free_port()
    env = {**_os.environ, "NEWSFIND_ADMIN_TOKEN": WEB_ADMIN_TOKEN}
    command = [
        _sys.executable, "-c", "from web.cli import main; main()", "serve",
        "--host", "127.0.0.1", "--port", str(port),
        "--index-dir", str(index_dir), "--seeds-dir", str(seeds_dir), *extra,
    ]  # fmt: skip
    with open(log, "wb") as output:
        process = _subprocess.Popen(
            command,
            stdout=output,
            stderr=_subprocess.STDOUT,
            env=env,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
    return LiveServer(f"http://127.0.0.1:{port}", process, log)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except _subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@_contextlib.contextmanager
def served(index_dir: Path, seeds_dir: Path, log: Path, *extra: str) -> _Iterator[LiveServer]:
    """``newsfind serve`` on ``index_dir`` while the block runs (up before it starts)."""
    server = start_server(index_dir, seeds_dir, log, *extra)
    try:
        wait_until_up(server)
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def live_server(web_index: Path, tmp_path_factory: pytest.TempPathFactory) -> _Iterator[LiveServer]:
    """The real server for the whole session: 2 gunicorn workers × 4 threads, then stopped."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = start_server(
        web_index, web_index.parent / "seeds", log, "--workers", "2", "--threads", "4"
    )
    try:
        wait_until_up(server)
        yield server
    finally:
        stop_server(server)


# --- browser fixtures (tests/test_browser*.py): Debian's chromium driven by Playwright ----------

from urllib.parse import parse_qs as _parse_qs  # noqa: E402
from urllib.parse import urlsplit as _urlsplit  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> _Iterator[_Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: _Any) -> _Iterator[_Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.dialogs = []  # type: ignore[attr-defined]
    tab.errors = []  # type: ignore[attr-defined]

    def on_dialog(dialog: _Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    try:
        yield tab
    finally:
        context.close()


OFFLINE_IMAGE = "Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
"""Articles' own images whose hosts resolve nowhere here (thumbnails then hide themselves)."""


def no_errors(tab: _Any) -> None:
    """No dialog and no script or console error, unreachable thumbnails aside."""
    errors = [error for error in tab.errors if error != OFFLINE_IMAGE]
    assert tab.dialogs == [] and errors == [], errors


def query_of(url: str) -> dict[str, list[str]]:
    return _parse_qs(_urlsplit(url).query)
