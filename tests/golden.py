"""Test helper: compare output with a golden file; ``make golden`` (UPDATE_GOLDEN=1) rewrites them."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, actual: str) -> None:
    """Fail with a unified diff when ``actual`` differs from tests/golden/<name>."""
    path = GOLDEN_DIR / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing; create it with: make golden (UPDATE_GOLDEN=1 make test)")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), f"golden/{name}", "actual"))
        pytest.fail(f"output differs from golden/{name} (if intended, regenerate with: make golden):\n{diff}", pytrace=False)
