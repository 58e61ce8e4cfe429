"""Failed writes leave the old state or one the next compile repairs: disk full, permission denied, locks, kills."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from .conftest import cli
from .helpers import git, head
from .small_fs import SmallFs, mount_small_fs


def _variant(source: Path, replicas: int) -> None:
    env_file = source / "overlays/prod/env.yaml"
    env_file.write_text(env_file.read_text().replace("replicas: {api: 3}", f"replicas: {{api: {replicas}}}", 1))


def _fsck(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--no-dangling"], check=True, capture_output=True)


def _status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[SmallFs]:
    fs = mount_small_fs(tmp_path / "mnt", "32m")
    try:
        yield fs
    finally:
        fs.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A source whose prod differs from the bundled one, and the tree its compile commits."""
    base = tmp_path_factory.mktemp("reference")
    source = base / "source"
    root = Path(__file__).resolve().parents[1]
    source.mkdir()
    for part in ("base", "components", "overlays"):
        subprocess.run(["cp", "-a", str(root / part), str(source / part)], check=True)
    _variant(source, 7)
    repo = base / "repo"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(source)).returncode == 0
    return source, git(repo, "rev-parse", "main:env/prod")


@pytest.mark.parametrize("leave_kib", [4, 150, 400, 700])
def test_disk_full_leaves_the_old_state_or_one_the_next_compile_repairs(small_fs: SmallFs, reference: tuple[Path, str], leave_kib: int) -> None:
    source, new_tree = reference
    repo = small_fs.path / "repo"
    first = small_fs.cli("compile", "dev", "--repo", str(repo))
    assert first.returncode == 0, first.stderr  # prod adds ~300 files (~1.2 MB of tmpfs pages) beside it
    old = small_fs.run("git", "-C", str(repo), "rev-parse", "main").stdout.strip()
    small_fs.fill(leave_kib)
    full = small_fs.cli("compile", "prod", "--repo", str(repo), "--source", str(source))
    assert full.returncode == 1, full.stdout + full.stderr
    assert "Traceback" not in full.stderr and "moved while compiling" not in full.stderr
    # still full: a second attempt fails again, and never claims the environment unchanged
    again = small_fs.cli("compile", "prod", "--repo", str(repo), "--source", str(source))
    assert "unchanged" not in again.stdout
    now = small_fs.run("git", "-C", str(repo), "rev-parse", "main").stdout.strip()
    if now == old:
        assert small_fs.run("git", "-C", str(repo), "status", "--porcelain").stdout == ""
    small_fs.unfill()
    repaired = small_fs.cli("compile", "prod", "--repo", str(repo), "--source", str(source))
    assert repaired.returncode == 0, repaired.stderr
    assert small_fs.run("git", "-C", str(repo), "rev-parse", "main:env/prod").stdout.strip() == new_tree
    assert small_fs.run("git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all").stdout == ""
    assert small_fs.run("git", "-C", str(repo), "fsck", "--strict", "--no-dangling").returncode == 0
    assert "replicas: 7" in small_fs.run("cat", str(repo / "env/prod/keystone/deployment-keystone-api.yaml")).stdout
    assert small_fs.run("git", "-C", str(repo), "rev-list", "--count", "main").stdout.strip() == "2"


def test_a_full_disk_under_the_cache_only_costs_speed(small_fs: SmallFs, tmp_path: Path) -> None:
    cache = small_fs.path / "cache"
    small_fs.fill(0)
    repo = tmp_path / "repo"
    proc = small_fs.cli("compile", "prod", "--repo", str(repo), env={"CCP_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _status(repo) == ""


def _immutable(path: Path, on: bool) -> None:
    subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)


def test_permission_denied_in_the_work_tree_is_repaired_by_the_next_compile(tmp_path: Path, reference: tuple[Path, str]) -> None:
    source, new_tree = reference
    repo = tmp_path / "repo"
    assert cli("compile", "prod", "--repo", str(repo)).returncode == 0
    locked = repo / "env/prod/keystone"
    _immutable(locked, True)
    try:
        proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source))
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr and "Operation not permitted" in proc.stderr
        again = cli("compile", "prod", "--repo", str(repo), "--source", str(source))
        assert again.returncode == 1 and "unchanged" not in again.stdout
    finally:
        _immutable(locked, False)
    proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source))
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "rev-parse", "main:env/prod") == new_tree
    assert _status(repo) == ""
    _fsck(repo)


def test_permission_denied_in_the_object_store_leaves_the_old_state(tmp_path: Path, reference: tuple[Path, str]) -> None:
    source, new_tree = reference
    repo = tmp_path / "repo"
    assert cli("compile", "prod", "--repo", str(repo)).returncode == 0
    old = head(repo)
    objects = repo / ".git/objects"
    locked = [objects, *(p for p in objects.iterdir() if p.is_dir())]
    for path in locked:
        _immutable(path, True)
    try:
        proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source))
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert head(repo) == old and _status(repo) == ""
    finally:
        for path in locked:
            _immutable(path, False)
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(source)).returncode == 0
    assert git(repo, "rev-parse", "main:env/prod") == new_tree


@pytest.mark.parametrize("lock", [".git/index.lock", ".git/refs/heads/main.lock"])
def test_a_lock_left_by_another_process_is_named_and_nothing_moves(tmp_path: Path, reference: tuple[Path, str], lock: str) -> None:
    source, new_tree = reference
    repo = tmp_path / "repo"
    assert cli("compile", "prod", "--repo", str(repo)).returncode == 0
    old = head(repo)
    (repo / lock).write_text("")
    proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source))
    assert proc.returncode == 1
    assert lock.rsplit("/", 1)[-1] in proc.stderr and "moved while compiling" not in proc.stderr, proc.stderr
    assert head(repo) == old
    (repo / lock).unlink()
    assert _status(repo) == ""
    proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source))
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "rev-parse", "main:env/prod") == new_tree and _status(repo) == ""


@pytest.mark.parametrize("damage", ["delete-one", "delete-folder", "edit", "stage"])
def test_the_fast_path_never_reports_unchanged_over_a_differing_checkout(tmp_path: Path, damage: str) -> None:
    repo = tmp_path / "repo"
    assert cli("compile", "prod", "--repo", str(repo)).returncode == 0
    assert "unchanged" in cli("compile", "prod", "--repo", str(repo)).stdout
    target = repo / "env/prod/keystone/deployment-keystone-api.yaml"
    if damage == "delete-one":
        target.unlink()
    elif damage == "delete-folder":
        subprocess.run(["rm", "-r", str(repo / "env/prod/nova")], check=True)
    elif damage == "edit":
        target.write_text(target.read_text() + "# local edit\n")
    else:
        git(repo, "rm", "-q", "--cached", str(target.relative_to(repo)))
    proc = cli("compile", "prod", "--repo", str(repo))
    assert proc.returncode == 1, proc.stdout
    assert "unchanged" not in proc.stdout
    assert "env/prod/" in proc.stderr and "uncommitted changes" in proc.stderr
