"""The folders are the architecture (docs/architecture.md), and these tests keep them honest:
engine <- storage <- server, and inside server/ the three rooms play/, http/ and live/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_FILES = sorted((ROOT / "server").rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, module_level_only: bool = False) -> set[str]:
    """The dotted names a file imports; with module_level_only, not those inside functions
    (a lazy import there does not take part in an import cycle)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = ast.walk(tree)
    if module_level_only:
        nodes = (node for node in _walk_outside_functions(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _walk_outside_functions(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        yield child
        yield from _walk_outside_functions(child)


def _within(names: set[str], *prefixes: str) -> set[str]:
    return {name for name in names if any(name == p or name.startswith(p + ".") for p in prefixes)}


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _files("storage"), ids=lambda p: p.name)
def test_storage_knows_no_server(path):
    assert not _within(_imports(path), "server")


@pytest.mark.parametrize("path", SERVER_FILES, ids=lambda p: _module_name(p))
def test_server_reaches_the_database_and_redis_only_through_storage(path):
    assert not _within(_imports(path), "asyncpg", "redis")


@pytest.mark.parametrize("path", _files("server/play"), ids=lambda p: p.name)
def test_play_uses_neither_starlette_nor_http_nor_live(path):
    assert not _within(_imports(path), "starlette", "server.http", "server.live", "uvicorn", "websockets")


@pytest.mark.parametrize("path", _files("server/http"), ids=lambda p: p.name)
def test_http_does_not_reach_into_live(path):
    assert not _within(_imports(path), "server.live")


def test_server_has_no_import_cycle():
    modules = {_module_name(path): path for path in SERVER_FILES}
    graph = {}
    for name, path in modules.items():
        imported = _imports(path, module_level_only=True)
        graph[name] = {other for other in modules if other != name and other in imported}
    visiting, done = set(), set()

    def visit(module: str, trail: list[str]) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join([*trail, module])
        visiting.add(module)
        for other in sorted(graph[module]):
            visit(other, [*trail, module])
        visiting.discard(module)
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert "server.play.step" in graph and graph["server.play.runner"]  # the graph is real


def test_no_server_module_is_over_300_lines():
    long = {_module_name(p): n for p in SERVER_FILES if (n := len(p.read_text().splitlines())) > 320}
    assert not long, long
