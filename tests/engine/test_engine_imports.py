"""engine/ is the bottom layer: it imports nothing of ours, and its core does no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"
# The pure core: arrays in, arrays out; no clock, no event loop, no sockets, no files.
PURE = [
    "_pixels.py",
    "errors.py",
    "geometry.py",
    "context.py",
    "composite.py",
    "seam.py",
    "_bands.py",
    "_poisson.py",
    "_seam_score.py",
    "png.py",
    "timelapse.py",
    "generators/_mock_paint.py",
    "generators/_openai_pixels.py",
]
# The rest, each for its reason: the package faces and the generators, which wait on a clock or
# on the OpenAI SDK. A new file must join one list or the other, so none goes unchecked.
EDGE = [
    "__init__.py",
    "generators/__init__.py",
    "generators/base.py",
    "generators/mock.py",
    "generators/openai_images.py",
    "generators/_openai_errors.py",
]
PURE_ALLOWED = {
    "__future__",
    "collections",
    "colorsys",
    "dataclasses",
    "enum",
    "functools",
    "hashlib",
    "io",
    "math",
    "struct",
    "typing",
    "zlib",
    "numpy",
    "PIL",
    "engine",
}


def _modules(path: Path) -> set[str]:
    """Every module `path` imports, dotted (a relative import counts as "engine")."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("engine" if node.level else node.module or "")
    return names


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


def test_every_engine_file_is_classified_pure_or_edge():
    files = {p.relative_to(ENGINE).as_posix() for p in ENGINE.rglob("*.py")}
    assert files == set(PURE) | set(EDGE), files ^ (set(PURE) | set(EDGE))
    assert not set(PURE) & set(EDGE)


@pytest.mark.parametrize("path", sorted(ENGINE.rglob("*.py")), ids=lambda p: p.relative_to(ENGINE).as_posix())
def test_engine_imports_nothing_from_server_or_storage(path):
    assert not _imports(path) & {"server", "storage"}


@pytest.mark.parametrize("name", PURE)
def test_pure_core_imports_only_numpy_pillow_and_plain_stdlib(name):
    imported = _imports(ENGINE / name)
    assert imported <= PURE_ALLOWED, imported - PURE_ALLOWED
    assert all(module in sys.stdlib_module_names or module in {"numpy", "PIL", "engine"} for module in imported)
    # Ours only from the pure core too, so nothing impure comes in through the back door.
    ours = {m for m in _modules(ENGINE / name) if m.split(".")[0] == "engine"}
    assert {m.removeprefix("engine.").replace(".", "/") + ".py" for m in ours} <= set(PURE)
