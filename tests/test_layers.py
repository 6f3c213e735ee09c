"""The app's layers import downwards only, as docs/ARCHITECTURE.md draws them.

Read from the source (every ``import`` of a ``chalicelib`` module, at any
depth, deferred ones included), so a new module or a new import that breaks
the picture fails here rather than in a reader's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chalicelib"

# Bottom first. A module may import from its own layer's *other* groups only where
# ALSO lists it, and from any layer below; never from above.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset(
        {"settings", "errors", "failures", "logs", "gateway", "lists", "observability", "discovery"}
    ),
    frozenset({"security", "cursors"}),
    frozenset({"storage"}),
    frozenset({"accounts", "auth", "schemas"}),
    frozenset({"presenters", "http"}),
    frozenset({"openapi"}),
    frozenset({"routes", "streams"}),
)
ALSO = {"cursors": {"security"}}
# Below it, but not for it: storage reports domain failures and knows no HTTP errors.
NEVER = {"storage": {"errors"}}
# Each route module is one blueprint; what two share lives below them (e.g. ``lists``).
ONE_BLUEPRINT_PER_MODULE = "routes"


def group_of(module: str) -> str:
    """``chalicelib.storage.movies`` -> ``storage``; ``chalicelib.cursors`` -> ``cursors``."""
    return module.split(".")[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "chalicelib":
                found |= {f"chalicelib.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
    return {name for name in found if name.startswith("chalicelib.")}


SOURCES = sorted(
    path for path in PACKAGE.rglob("*.py") if "docs_assets" not in path.relative_to(ROOT).parts
)


def layer_of(group: str) -> int:
    for number, layer in enumerate(LAYERS):
        if group in layer:
            return number
    raise AssertionError(f"chalicelib.{group} is in no layer: add it to LAYERS")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_a_module_imports_only_from_below_it(path: Path) -> None:
    module = module_name(path)
    if module == "chalicelib":
        return
    group = group_of(module)
    upward = []
    for imported in sorted(imports_of(path)):
        other = group_of(imported)
        if other == group:
            continue
        below = layer_of(other) < layer_of(group)
        allowed = other in ALSO.get(group, set())
        if not (below or allowed) or other in NEVER.get(group, set()):
            upward.append(imported)
    assert upward == [], f"{module} imports from its own layer or above, or what it must not"


def test_route_modules_do_not_import_each_other() -> None:
    routes = [path for path in SOURCES if module_name(path).startswith("chalicelib.routes.")]
    assert routes
    for path in routes:
        siblings = {name for name in imports_of(path) if name.startswith("chalicelib.routes.")}
        assert siblings == set(), module_name(path)


def test_every_module_has_a_layer() -> None:
    groups = {group_of(module_name(path)) for path in SOURCES if module_name(path) != "chalicelib"}
    assert {group for group in groups if not any(group in layer for layer in LAYERS)} == set()


def test_test_modules_share_only_through_tests_helpers() -> None:
    tests = ROOT / "tests"
    for path in sorted(tests.rglob("*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        others = {
            name
            for name in imported
            if name.startswith("tests.") and not name.startswith("tests.helpers")
        }
        assert others == set(), path.relative_to(ROOT)
