"""Support for the operator-experience tests: the layered fixture, goldens, a CLI run with or without NO_COLOR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .golden import assert_golden as check_golden  # noqa: F401  (re-exported for the ux tests)

__all__ = ["FIXTURE", "assert_one_located_error", "check_golden", "line_of", "run"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "layered"


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """``python -m ccp_gitops ARGS`` with NO_COLOR=1 unless ``drop`` removes it; ``env`` adds variables."""
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    for name in drop:
        full.pop(name, None)
    return subprocess.run([sys.executable, "-m", "ccp_gitops", *args], capture_output=True, text=True, cwd=cwd, env=full)


def line_of(path: Path, needle: str) -> int:
    """1-based number of the only line of ``path`` that contains ``needle``."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits} of {path}"
    return hits[0]


def assert_one_located_error(proc: subprocess.CompletedProcess[str], where: str, *phrases: str) -> str:
    """Exit 2, no traceback, one ``path:line:col: message`` line at ``where`` containing ``phrases``."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    located = [line for line in proc.stderr.splitlines() if not line.startswith("ccp-gitops:")]
    assert len(located) == 1, proc.stderr
    assert located[0].startswith(where), (located[0], where)
    for phrase in phrases:
        assert phrase in located[0], (phrase, located[0])
    return located[0]
