"""The disk cache stays under its size bound (least recently used first), `ccp-gitops cache` shows, prunes and clears it,
and processes sharing it at the same time, while it is pruned and cleared, never corrupt a result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccp_gitops.cache.disk import Cache, open_cache
from ccp_gitops.cache.prune import MARKER, parse_size, prune, scan, usage

from .conftest import cli
from .helpers import git


def _size(root: Path) -> int:
    return usage(root).bytes


def test_sizes_parse_and_bad_ones_are_refused() -> None:
    assert parse_size("512M") == 512 * 1024 * 1024 and parse_size("2g") == 2 * 1024**3 and parse_size("1000") == 1000
    for bad in ("", "M", "2X", "-1M", "1.5G", "12 MB!"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_pruning_removes_the_least_recently_used_first(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c")
    assert cache is not None
    for i in range(20):
        cache.put("k", f"e{i}", bytes(10_000))
        os.utime(cache.root / "k" / f"e{i}", (1000 + i, 1000 + i))
    assert cache.get("k", "e0") is not None  # a hit makes the oldest the most recently used
    removed, freed = prune(tmp_path / "c", 100_000)
    assert removed == 13 and freed >= 13 * 10_000
    left = {e.path.name for e in scan(tmp_path / "c")}
    assert "e0" in left and left == {"e0", *(f"e{i}" for i in range(14, 20))}
    assert _size(tmp_path / "c") <= 80_000


def test_pruning_never_touches_what_the_cache_did_not_write(tmp_path: Path) -> None:
    root = tmp_path / "c"
    cache = open_cache(root)
    assert cache is not None
    cache.put("k", "x", bytes(50_000))
    (root / "notes.txt").write_text("mine\n")
    (root / "other").mkdir()
    (root / "other/data").write_bytes(bytes(50_000))
    prune(root, 1)
    proc = cli("cache", "clear", env={"CCP_CACHE": str(root)})
    assert proc.returncode == 0, proc.stderr
    assert (root / "notes.txt").read_text() == "mine\n" and (root / "other/data").exists()
    assert scan(root) == []


def test_every_command_keeps_the_cache_under_its_bound(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    env = {"CCP_CACHE": str(root), "CCP_CACHE_MAX_SIZE": "1M"}
    proc = cli("compile", "prod", "dev", "--repo", str(tmp_path / "repo"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert 0 < _size(root) <= 1024 * 1024
    (root / MARKER).unlink()
    again = cli("compile", "staging", "--repo", str(tmp_path / "repo"), env=env)
    assert again.returncode == 0, again.stderr
    assert _size(root) <= 1024 * 1024
    assert git(tmp_path / "repo", "status", "--porcelain") == ""


def test_the_cache_command_shows_prunes_and_clears(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    env = {"CCP_CACHE": str(root)}
    assert cli("compile", "prod", "--repo", str(tmp_path / "repo"), env=env).returncode == 0
    before = _size(root)
    shown = cli("cache", "show", env=env)
    assert shown.returncode == 0 and str(root) in shown.stdout and "entries" in shown.stdout
    pruned = cli("cache", "prune", "--max-size", str(before // 2), env=env)
    assert pruned.returncode == 0 and pruned.stdout.startswith("removed ")
    assert _size(root) <= before // 2
    cleared = cli("cache", "clear", env=env)
    assert cleared.returncode == 0 and _size(root) == 0
    bad = cli("cache", "prune", "--max-size", "lots", env=env)
    assert bad.returncode == 2 and "--max-size" in bad.stderr and "Traceback" not in bad.stderr
    off = cli("cache", "show", env={"CCP_CACHE": "off"})
    assert off.returncode == 2 and "disabled" in off.stderr


def test_concurrent_compiles_sharing_a_cache_that_is_pruned_and_cleared_meanwhile(tmp_path: Path) -> None:
    """Two compiles at a time, over and over, on one small cache, while a third process prunes and clears it."""
    root = tmp_path / "cache"
    env = {**os.environ, "CCP_CACHE": str(root), "CCP_CACHE_MAX_SIZE": "600K", "NO_COLOR": "1"}
    reference = tmp_path / "reference"
    assert cli("compile", "prod", "dev", "--repo", str(reference), env={"CCP_CACHE": "off"}).returncode == 0
    expected = git(reference, "rev-parse", "main^{tree}")
    janitor = subprocess.Popen(
        [sys.executable, "-c", _JANITOR, str(root)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for round_ in range(3):
            repos = [tmp_path / f"repo{round_}-{n}" for n in range(2)]
            procs = [
                subprocess.Popen([sys.executable, "-m", "ccp_gitops", "compile", "prod", "dev", "--repo", str(r)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for r in repos
            ]
            for proc, repo in zip(procs, repos):
                out, err = proc.communicate(timeout=600)
                assert proc.returncode == 0, err
                assert "Traceback" not in err
                assert git(repo, "rev-parse", "main^{tree}") == expected
    finally:
        janitor.kill()
        janitor.wait()
    cache = open_cache(root)
    assert isinstance(cache, Cache)
    for entry in scan(root):  # every entry left is whole: its checksum holds
        if not entry.path.name.startswith(".tmp-"):
            kind = entry.path.parent
            assert Cache(kind.parent).get(kind.name, entry.path.name) is not None or not entry.path.exists()


_JANITOR = """
import sys, time
from pathlib import Path
from ccp_gitops.cache.prune import clear, prune
root = Path(sys.argv[1])
n = 0
while True:
    time.sleep(0.05)
    n += 1
    clear(root) if n % 20 == 0 else prune(root, 200_000)
"""
