"""Shared fixtures: the bundled catalogue, the reference CRDs beside the project, CLI runners."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CRDS = SHARED / "crds"

# Every compile in the suite validates custom resources against the real reference CRDs.
os.environ.setdefault("CCP_CRDS", str(CRDS))


@pytest.fixture(scope="session", autouse=True)
def shared_disk_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CLI runs share one disk cache per test session (xdist workers too): every test exercises it."""
    root = tmp_path_factory.getbasetemp().parent / "ccp-gitops-cache"
    os.environ["CCP_CACHE"] = str(root)
    return root


@pytest.fixture
def catalogue() -> Path:
    return ROOT


@pytest.fixture
def crds_dir() -> Path:
    assert CRDS.is_dir(), f"reference CRDs missing at {CRDS}"
    return CRDS


@pytest.fixture
def source_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled catalogue (base/, components/, overlays/)."""
    dest = tmp_path / "source"
    dest.mkdir()
    for part in ("base", "components", "overlays"):
        shutil.copytree(ROOT / part, dest / part)
    return dest


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (exit codes and stderr as a user sees them)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ccp_gitops", *args], capture_output=True, text=True, cwd=cwd, env=full_env
    )


@pytest.fixture
def run_cli():  # type: ignore[no-untyped-def]
    return cli
