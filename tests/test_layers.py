"""The house's rules, checked on the code itself: engine-neutral modules load without Whoosh,
``search`` never imports Flask or ``bench``, and imports point downstream."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEUTRAL = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in [
        *(ROOT / "search").glob("*.py"),
        *(ROOT / "search" / "stories").glob("*.py"),
        *(ROOT / "search" / "typesense").glob("*.py"),
    ]
) + ["web.jsonview"]


def imports_of(path: Path) -> set[str]:
    """Top-level names of the modules ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            else:
                found.add(node.module or "")
    return found


def test_engine_neutral_modules_import_without_whoosh() -> None:
    code = (
        "import importlib, sys\n"
        "sys.modules['whoosh'] = None  # any 'import whoosh…' now fails\n"
        f"for name in {NEUTRAL!r}:\n"
        "    importlib.import_module(name)\n"
        "print(len([m for m in sys.modules if m.startswith('whoosh')]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # only the blocked entry itself
    assert "search.analysis" in NEUTRAL and "search.typesense.engine" in NEUTRAL
    assert "search.stories.method" in NEUTRAL


@pytest.mark.parametrize("path", sorted((ROOT / "search").rglob("*.py")), ids=str)
def test_search_never_imports_flask_bench_or_web(path: Path) -> None:
    roots = {name.split(".")[0] for name in imports_of(path)}
    assert not roots & {"flask", "werkzeug", "web", "bench", "devtools"}, path


@pytest.mark.parametrize("path", sorted((ROOT / "web").rglob("*.py")), ids=str)
def test_web_never_imports_bench_or_an_engine_package(path: Path) -> None:
    found = imports_of(path)
    assert not {name.split(".")[0] for name in found} & {"bench", "devtools", "whoosh"}, path
    # the engine is chosen in search.backends; web/cli.py's first-run index build aside
    engines = {n for n in found if n.startswith(("search.whoosh", "search.typesense"))}
    assert not engines or path.name == "cli.py", (path, engines)


def test_whoosh_is_imported_only_inside_its_package() -> None:
    for path in (ROOT / "search").rglob("*.py"):
        uses = any(name.split(".")[0] == "whoosh" for name in imports_of(path))
        assert not uses or path.parent.name == "whoosh", path


def test_modules_stay_small() -> None:
    for path in [*(ROOT / "search").rglob("*.py"), *(ROOT / "web").rglob("*.py")]:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 600, (path, lines)
