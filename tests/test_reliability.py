"""Hard to break: a real ``newsfind serve`` (gunicorn, 2 workers) on 127.0.0.1 keeps answering,
always from one complete index generation, while real ``newsfind reindex`` processes add, change,
delete and swap generations, while they are SIGKILLed anywhere, and while one of its own workers
is SIGKILLed mid-request.

How "one complete generation" is checked: every article carries a marker word for its version
(``alphaword``, ``bravoword``, ``charlieword``) and a tenth of them the topic ``Tracked``. The
load asks for the whole ``Tracked`` set (ids and titles, one page) and for each marker's total.
The test knows each state of the seeds folder it wrote; every answer must equal one of those
states exactly, and every answer naming the same ``generation`` must equal the same state. A mix
of old and new in one response, or a half-built index, matches no state.

Each load client opens a new connection per request, so a failure is always the server's (no
keep-alive race to excuse). Every loop is bounded in count and time.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, start_server, stop_server, wait_until_up
from factory import file_name, write_article
from whoosh import index as whoosh_index

from search.whoosh import layout
from search.whoosh import target as indexer
from search.whoosh.snapshot import probe

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc"),
]

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MARKERS = {"a": "alphaword", "b": "bravoword", "c": "charlieword"}
TRACKED_PATH = "/api/search?topic=Tracked&per_page=100&sort=newest"
GROUPED_PATH = TRACKED_PATH + "&group=story"
"""The same set grouped by story: its total is the state's, every hit one of its articles, and
its stories add up (a story count from another commit than the hits' would not)."""
REQUEST_TIMEOUT = 60.0
"""Per request: a hang detector, far above any real answer."""


# --- the seeds folder and what the index must answer for it -------------------------------------


def article_id(number: int) -> str:
    return file_name(number)[4:20]


def title(number: int, version: str) -> str:
    return f"Story {number} version {version}"


@dataclass(frozen=True)
class State:
    """What every search answer must say for one state of the seeds folder."""

    name: str
    tracked: dict[str, str]
    """id → title of the ``Tracked`` articles."""
    counts: dict[str, int]
    """marker word → number of articles carrying it."""

    def explains(self, answer: Answer) -> bool:
        if answer.path == TRACKED_PATH:
            return answer.total == len(self.tracked) and dict(answer.hits) == self.tracked
        if answer.path == GROUPED_PATH:
            shown = dict(answer.hits)
            return answer.total == len(self.tracked) and all(
                self.tracked.get(doc_id) == name for doc_id, name in shown.items()
            )
        word = answer.path.split("q=", 1)[1].split("&", 1)[0]
        return answer.total == self.counts[word]


class Corpus:
    """A seeds folder of numbered articles, each at a version (a, b, c); every tenth tracked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.versions: dict[int, str] = {}

    def apply(self, target: dict[int, str]) -> None:
        """Make the folder hold exactly ``target`` (number → version), touching only differences."""
        for number in set(self.versions) - set(target):
            (self.folder / file_name(number)).unlink()
            del self.versions[number]
        for number, version in target.items():
            if self.versions.get(number) != version:
                write_article(
                    self.folder,
                    file_name(number),
                    title(number, version),
                    excerpt=f"Report number {number}.",
                    body=f"Text of story {number} with {MARKERS[version]}.",
                    topics=["Tracked" if number % 10 == 0 else "Bulk"],
                )
                self.versions[number] = version

    def state(self, name: str) -> State:
        tracked = {article_id(n): title(n, v) for n, v in self.versions.items() if n % 10 == 0}
        counts = Counter(MARKERS[v] for v in self.versions.values())
        return State(name, tracked, {word: counts[word] for word in MARKERS.values()})

    def ids(self) -> set[str]:
        return {article_id(number) for number in self.versions}


def changed(base: dict[int, str], *, version: str, change: range, delete: range, add: range
            ) -> dict[int, str]:  # fmt: skip
    target = {n: v for n, v in base.items() if n not in delete}
    target.update({n: version for n in change if n in target})
    target.update({n: version for n in add})
    return target


# --- processes ----------------------------------------------------------------------------------


def reindex_command(seeds: Path, index: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "search.cli", "reindex", "--seeds-dir", str(seeds),
            "--index-dir", str(index), "--workers", "2", "--lock-timeout", "60",
            *extra]  # fmt: skip


def run_reindex(seeds: Path, index: Path, *extra: str) -> dict[str, Any]:
    result = subprocess.run(
        reindex_command(seeds, index, "--json", *extra),
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def generation_key(index: Path) -> str:
    """The ``generation`` the API reports for the live index: ``<folder>:<TOC number>``."""
    key = probe(index)
    assert key is not None
    return f"{key[0]}:{key[1]}"


def port_of(server: LiveServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def fetch(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


@contextmanager
def serving(index: Path, seeds: Path, log: Path) -> Iterator[LiveServer]:
    server = start_server(index, seeds, log, "--workers", "2", "--threads", "4")
    try:
        wait_until_up(server)
        yield server
    finally:
        stop_server(server)


# --- the load -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    path: str
    generation: str
    total: int
    hits: tuple[tuple[str, str], ...]
    started: float


@dataclass(frozen=True)
class Failure:
    path: str
    problem: str
    started: float


class Load:
    """``clients`` threads asking ``paths`` in turn until stopped (at most ``seconds`` and
    ``max_requests`` each). Search answers are kept for the consistency checks; any other status
    than 200, a connection error or a timeout is a failure."""

    def __init__(
        self, port: int, paths: list[str], clients: int = 3, seconds: float = 600.0,
        max_requests: int = 200_000,
    ) -> None:  # fmt: skip
        self.port = port
        self.paths = paths
        self.clients = clients
        self.seconds = seconds
        self.max_requests = max_requests
        self.answers: list[Answer] = []
        self.failures: list[Failure] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 10)

    def _client(self, number: int) -> None:
        deadline = time.monotonic() + self.seconds
        for count in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            path = self.paths[(count + number) % len(self.paths)]
            started = time.monotonic()
            try:
                status, body = fetch(self.port, path)
            except (OSError, http.client.HTTPException) as exc:
                self._record(Failure(path, repr(exc), started))
                continue
            if status != 200:
                self._record(Failure(path, f"HTTP {status}: {body[:300]!r}", started))
            elif path.startswith("/api/search"):
                data = json.loads(body)
                hits = tuple((hit["id"], hit["title"]) for hit in data["hits"])
                problem = _story_problem(data)
                if problem:
                    self._record(Failure(path, problem, started))
                    continue
                self._record(Answer(path, data["generation"], data["total"], hits, started))
            else:
                self._record(None)

    def _record(self, item: Answer | Failure | None) -> None:
        with self._lock:
            self.requests += 1
            if isinstance(item, Answer):
                self.answers.append(item)
            elif isinstance(item, Failure):
                self.failures.append(item)

    def wait_for(self, accept: Callable[[Answer], bool], count: int = 1, seconds: float = 60.0
                 ) -> None:  # fmt: skip
        """Until ``count`` answers satisfy ``accept`` (a bounded wait; fails the test after)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                if sum(1 for answer in self.answers if accept(answer)) >= count:
                    return
            time.sleep(0.05)
        raise AssertionError(f"no {count} such answers within {seconds} s; failures: "
                             f"{self.failures[:5]}")  # fmt: skip


def _story_problem(data: dict[str, Any]) -> str:
    """What is wrong with a grouped answer's stories ("" when nothing): one hit per story, each
    story counted once, and the matching articles of the stories adding up to the total."""
    if data["stories"] is None:
        return ""
    stories = [hit["story"] for hit in data["hits"]]
    if len({story["id"] for story in stories}) != len(stories):
        return "a story twice"
    if data["stories"] <= data["per_page"] and (
        len(stories) != data["stories"] or sum(s["matches"] for s in stories) != data["total"]
    ):
        return f"stories do not add up: {data['stories']}, {data['total']}, {stories[:3]}"
    return ""


def load_paths(stable: str) -> list[str]:
    paths = [TRACKED_PATH, GROUPED_PATH]
    # the markers' counts are words' (keyword mode): meaning would add articles near them
    paths += [f"/api/search?q={word}&per_page=1&mode=keyword" for word in MARKERS.values()]
    return paths + ["/api/suggest?q=stor", "/?q=story", f"/api/articles/{stable}",
                    f"/articles/{stable}"]  # fmt: skip


def explain(answers: list[Answer], states: list[State]) -> dict[str, list[str]]:
    """For each generation answered, the states that explain every one of its answers; the test
    fails if one has none (a mix, or an incomplete index)."""
    by_generation: dict[str, list[Answer]] = {}
    for answer in answers:
        by_generation.setdefault(answer.generation, []).append(answer)
    explained = {}
    for generation, group in by_generation.items():
        names = [s.name for s in states if all(s.explains(answer) for answer in group)]
        assert names, (
            f"answers of {generation} match no complete state: "
            f"{[a for a in group if not any(s.explains(a) for s in states)][:3]}"
        )
        explained[generation] = names
    return explained


# --- 1. reindex under load ----------------------------------------------------------------------


def test_reindex_under_load_answers_every_request_from_one_complete_generation(
    tmp_path: Path,
) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    corpus = Corpus(seeds)
    first = {n: "a" for n in range(800)}
    corpus.apply(first)
    states = [corpus.state("initial")]
    run_reindex(seeds, index, "--full")
    expected = {generation_key(index): states[0]}
    second = changed(first, version="b", change=range(100, 400), delete=range(400, 430),
                     add=range(1000, 1030))  # fmt: skip
    third = changed(second, version="c", change=range(0, 50), delete=range(60, 90),
                    add=range(2000, 2020))  # fmt: skip
    with serving(index, seeds, tmp_path / "serve.log") as server:
        port = port_of(server)
        with Load(port, load_paths(article_id(799))) as load:
            load.wait_for(lambda a: True, count=20)
            # (a) incremental: adds, changes and deletes
            corpus.apply(second)
            states.append(corpus.state("incremental"))
            report = run_reindex(seeds, index)
            assert (report["full"], report["added"], report["updated"], report["deleted"]) == (
                False, 30, 300, 30,
            )  # fmt: skip
            expected[generation_key(index)] = states[1]
            load.wait_for(lambda a: a.generation == generation_key(index), count=20)
            # (b) a full reindex: a new generation, switched under the load
            corpus.apply(third)
            states.append(corpus.state("full"))
            report = run_reindex(seeds, index, "--full")
            assert report["full"] and report["documents"] == len(third)
            expected[generation_key(index)] = states[2]
            load.wait_for(lambda a: a.generation == generation_key(index), count=40)
        assert load.failures == [], load.failures[:10]
        explained = explain(load.answers, states)
        assert explained.keys() == expected.keys()
        for generation, state in expected.items():
            assert state.name in explained[generation], (generation, explained[generation])
        assert len(load.answers) > 100, load.requests
        # after the swap: every article of the seeds folder is found by id, no deleted one is
        for doc_id in sorted(corpus.ids()):
            status, body = fetch(port, f"/api/articles/{doc_id}?more_like_this=0")
            assert status == 200 and json.loads(body)["id"] == doc_id, (doc_id, body[:200])
        gone = {article_id(n) for n in set(first) | set(second)} - corpus.ids()
        assert len(gone) == 60
        for doc_id in sorted(gone):
            status, body = fetch(port, f"/api/articles/{doc_id}")
            assert status == 404 and json.loads(body)["error"]["code"] == "not_found"


# --- 2. crashes ---------------------------------------------------------------------------------


def _new_generation(index: Path, before: set[str]) -> Path | None:
    fresh = set(layout.generations(index)) - before
    return index / min(fresh) if fresh else None


def _segment_files(folder: Path) -> set[str]:
    try:
        return {name for name in os.listdir(folder) if name.endswith(".seg")}
    except FileNotFoundError:
        return set()


def _trigger(kind: str, index: Path) -> Callable[[], bool]:
    """A condition on the index folder that marks a moment of the run (polled every 2 ms)."""
    current = layout.current_generation(index)
    assert current is not None
    generations = set(layout.generations(index))
    segments = _segment_files(index / current)
    key = generation_key(index)
    if kind == "full: generation folder created":
        return lambda: _new_generation(index, generations) is not None
    if kind == "full: first segment written":
        return lambda: bool(_segment_files(_new_generation(index, generations) or index / "-"))
    if kind == "full: complete, before the switch":
        return lambda: (
            (_new_generation(index, generations) or index / "-") / indexer.SCHEMA_MARK
        ).exists()
    if kind == "full: just switched":
        return lambda: layout.current_generation(index) != current
    if kind == "incremental: segment written":
        return lambda: _segment_files(index / current) != segments
    if kind == "incremental: just committed":
        return lambda: generation_key(index) != key
    if kind == "positions table being written":  # a worker's temporary table shows
        return lambda: any(index.glob("*/.*.nfpos.*"))
    raise ValueError(kind)


EVENTS = (
    "full: generation folder created",
    "full: first segment written",
    "full: complete, before the switch",
    "full: just switched",
    "incremental: segment written",
    "incremental: just committed",
)


def _kill_reindex(seeds: Path, index: Path, full: bool, when: float | str, log: Path) -> str:
    """Start a real reindex, SIGKILL its process group at ``when`` (seconds, or an event of
    ``_trigger``); say what the kill interrupted, as seen on disk (or that the run finished)."""
    event = _trigger(when, index) if isinstance(when, str) else None
    key, generations = generation_key(index), set(layout.generations(index))
    started = time.monotonic()

    def due() -> bool:
        if event is not None:
            return event()
        return time.monotonic() - started >= float(when)

    with open(log, "ab") as errors:
        process = subprocess.Popen(
            reindex_command(seeds, index, "-q", *(["--full"] if full else [])),
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True,
        )  # fmt: skip
    try:
        while process.poll() is None and time.monotonic() - started < 120 and not due():
            time.sleep(0.002)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        code = process.wait(timeout=30)
    assert code in (0, -signal.SIGKILL), (code, log.read_text()[-3000:])
    if code == 0:
        return "finished"
    if generation_key(index) != key:
        return "killed after its commit"
    if _new_generation(index, generations) or _orphan_segments(index):
        return "killed while writing"
    return "killed before writing"


def kill_plan(
    seeds: Path, index: Path, flip: Callable[[], None], fractions: tuple[float, ...]
) -> tuple[dict[bool, float], list[tuple[bool, float | str]]]:
    """One uninterrupted run of each kind (full, incremental) gives the time scale of the
    kills: ``(durations, [(full, seconds into the run)…])``."""
    durations = {}
    for full in (True, False):
        flip()
        started = time.monotonic()
        run_reindex(seeds, index, *(["--full"] if full else []))
        durations[full] = time.monotonic() - started
    plan: list[tuple[bool, float | str]] = [
        (full, round(durations[full] * fraction, 3))
        for full in (True, False)
        for fraction in fractions
    ]
    return durations, plan


def _orphan_segments(index: Path) -> set[str]:
    """Segment files of the live generation that its table of contents does not list."""
    live = index / str(layout.current_generation(index))
    toc = whoosh_index.open_dir(str(live))._read_toc()
    return _segment_files(live) - {f"{segment.segment_id()}.seg" for segment in toc.segments}


def _indexed_titles(index: Path) -> dict[str, str]:
    _, ix = layout.open_current(index)
    with ix.searcher() as searcher:
        return {fields["id"]: fields["title"] for fields in searcher.all_stored_fields()}


def test_sigkilled_reindexes_never_disturb_the_server_and_need_no_clean_up(
    tmp_path: Path,
) -> None:
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    corpus = Corpus(seeds)
    base = {n: "a" for n in range(500)}
    other = changed(base, version="b", change=range(0, 300), delete=range(300, 320),
                    add=range(1000, 1020))  # fmt: skip
    corpus.apply(other)
    state_b = corpus.state("B")
    corpus.apply(base)
    state_a = corpus.state("A")
    run_reindex(seeds, index, "--full")

    def flip() -> None:
        """Seeds to the state the index does not hold, so that every run has work to do."""
        holds_a = _indexed_titles(index).get(article_id(0)) == title(0, "a")
        corpus.apply(other if holds_a else base)

    outcomes: Counter[str] = Counter()
    with serving(index, seeds, tmp_path / "serve.log") as server:
        port = port_of(server)
        with Load(port, load_paths(article_id(499)), clients=2) as load:
            load.wait_for(lambda a: True, count=10)
            fractions = (0.02, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
            durations, plan = kill_plan(seeds, index, flip, fractions)
            plan += [(event.startswith("full"), event) for event in EVENTS]
            for number, (full, when) in enumerate(plan):
                flip()
                outcomes[_kill_reindex(seeds, index, full, when, tmp_path / "reindex.log")] += 1
                layout.open_current(index)  # the live generation always opens
                if number % 6 == 5:  # and the next run completes, with no manual step
                    run_reindex(seeds, index)
            # the end: an incremental run then a full one complete after all those kills
            flip()
            run_reindex(seeds, index)
            final = state_a if corpus.versions[0] == "a" else state_b
            report = run_reindex(seeds, index, "--full")
            assert report["documents"] == len(corpus.versions)
            load.wait_for(lambda a: a.generation == generation_key(index), count=10)
        print(f"\nreindex runs: {dict(outcomes)}; uninterrupted: {durations}")
        # the kills did land inside the runs (a run's time varies with the machine's load,
        # so a late kill can find it finished): most of them, and at every stage
        assert len(plan) - outcomes["finished"] >= 16, (outcomes, durations)
        assert outcomes["killed before writing"] >= 2, (outcomes, durations)
        assert outcomes["killed while writing"] >= 2, (outcomes, durations)
        assert load.failures == [], load.failures[:10]
        explained = explain(load.answers, [state_a, state_b])
        assert len(explained) >= 3, explained  # the server did follow the committed runs
        assert final.name in explained[generation_key(index)]
    # no leftovers: the live generation and at most the one before it; no orphan segment
    assert len(layout.generations(index)) <= 2
    assert _orphan_segments(index) == set()


# --- a worker killed mid-request ----------------------------------------------------------------


def _socket_owner(pids: set[int], client_port: int, server_port: int) -> int | None:
    """Which process holds the server side of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if (local, remote) == (server_port, client_port):
            inode = fields[9]
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds}
        except FileNotFoundError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    return None


def test_a_worker_killed_mid_request_is_replaced_and_only_its_request_fails(
    web_index: Path, tmp_path: Path
) -> None:
    with serving(web_index, web_index.parent / "seeds", tmp_path / "serve.log") as server:
        port = port_of(server)
        master = server.process.pid
        workers = worker_pids(master)
        assert len(workers) == 2
        paths = ["/api/search?q=oil", "/api/suggest?q=ban", "/?q=solar", "/api/health"]
        with Load(port, paths, clients=3) as load:
            load.wait_for(lambda a: True, count=10)
            # a request in flight: its headers are sent but for the final blank line
            in_flight = socket.create_connection((HOST, port), timeout=REQUEST_TIMEOUT)
            in_flight.sendall(b"GET /api/search?q=oil HTTP/1.1\r\nHost: newsfind\r\n")
            deadline = time.monotonic() + 30
            victim = None
            while victim is None and time.monotonic() < deadline:
                victim = _socket_owner(workers, in_flight.getsockname()[1], port)
                time.sleep(0.05)
            assert victim is not None, "the worker holding the request was not found"
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            try:
                in_flight.sendall(b"\r\n")
                answer = in_flight.recv(4096)
            except ConnectionError:
                answer = b""
            finally:
                in_flight.close()
            assert answer == b"", answer[:200]  # the killed request got no answer at all
            while time.monotonic() < deadline:
                now = worker_pids(master)
                if len(now) == 2 and victim not in now:
                    break
                time.sleep(0.1)
            replacement = worker_pids(master) - workers
            assert len(replacement) == 1 and victim not in worker_pids(master)
            load.wait_for(lambda a: a.started > killed_at + 1, count=30)
        late = [failure for failure in load.failures if failure.started >= killed_at]
        assert late == [], late  # only requests in flight at the kill may have failed
        assert len(load.failures) <= 3, load.failures  # at most one per load client
        for _ in range(10):
            assert fetch(port, "/api/search?q=oil")[0] == 200


# --- a reindex with nothing to do ---------------------------------------------------------------


def test_a_reindex_with_nothing_to_do_leaves_the_served_generation_alone(tmp_path: Path) -> None:
    """Cron runs it every few minutes: without a change, no new commit, so every worker keeps
    its snapshot and every client its ETag (and no file is left behind)."""
    from web import create_app

    seeds, index = tmp_path / "seeds", tmp_path / "index"
    Corpus(seeds).apply({n: "a" for n in range(30)})
    run_reindex(seeds, index)
    key, files = (
        generation_key(index),
        sorted(os.listdir(index / str(layout.current_generation(index)))),
    )
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    etag = client.get("/api/search?q=story").headers["ETag"]
    for _ in range(3):
        report = run_reindex(seeds, index)
        assert (report["unchanged"], report["added"], report["updated"]) == (30, 0, 0)
    assert generation_key(index) == key
    assert sorted(os.listdir(index / str(layout.current_generation(index)))) == files
    assert client.get("/api/search?q=story", headers={"If-None-Match": etag}).status_code == 304


# --- a file gone bad, through SIGKILLed full runs -----------------------------------------------


@pytest.mark.parametrize(
    "event", ["full: first segment written", "full: complete, before the switch"]
)
def test_a_sigkilled_full_run_then_a_full_run_keep_a_broken_files_last_version(
    tmp_path: Path, event: str
) -> None:
    """``--full`` carries the live generation's copy of a file that no longer parses into the
    new one; killed anywhere, the live index still has it; the next full run carries it."""
    seeds, index = tmp_path / "seeds", tmp_path / "index"
    corpus = Corpus(seeds)
    corpus.apply({n: "a" for n in range(600)})
    run_reindex(seeds, index, "--full")
    broken = seeds / file_name(7)
    broken.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    outcome = _kill_reindex(seeds, index, True, event, tmp_path / "reindex.log")
    assert outcome != "finished"
    assert _indexed_titles(index)[article_id(7)] == title(7, "a")
    done = subprocess.run(
        reindex_command(seeds, index, "--json", "--full"),
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert [item["path"] for item in report["rejected"]] == [broken.name]
    assert report["documents"] == 600
    assert _indexed_titles(index)[article_id(7)] == title(7, "a")
