"""Modules small enough to read at once, as docs/ARCHITECTURE.md states the rule.

A test module is one topic's specification: at most 400 lines. An app module
(``chalicelib/``, its downloaded ``docs_assets`` aside) at most 500, which
today's largest leave about 70 lines of room under. Lines are counted as
``wc -l`` counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_MODULE_LINES = 400
APP_MODULE_LINES = 500


def lengths(paths: Iterable[Path]) -> dict[str, int]:
    return {str(path.relative_to(ROOT)): path.read_bytes().count(b"\n") for path in paths}


def suite_modules() -> dict[str, int]:
    return lengths((ROOT / "tests").glob("test_*.py"))


def app_modules() -> dict[str, int]:
    sources = (ROOT / "chalicelib").rglob("*.py")
    return lengths(path for path in sources if "docs_assets" not in path.parts)


def test_no_test_module_is_over_400_lines() -> None:
    sizes = suite_modules()
    assert "tests/test_layout.py" in sizes
    assert {name: n for name, n in sizes.items() if n > TEST_MODULE_LINES} == {}, (
        "split it by topic (tests/helpers holds what the parts share)"
    )


def test_no_app_module_is_over_500_lines() -> None:
    sizes = app_modules()
    assert "chalicelib/storage/engine.py" in sizes
    too_long = {name: n for name, n in sizes.items() if n > APP_MODULE_LINES}
    assert too_long == {}, "split it by concern, so each part reads at once"
