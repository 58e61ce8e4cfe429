"""Atomic writes: racing compiles, a compile killed at any moment, compare-and-swap on the ref."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccp_gitops.repo import commit
from ccp_gitops.repo.commit import EnvRepo, RepoError, open_repo
from ccp_gitops.repo.land import commit_files

from .conftest import cli
from .helpers import git as run_git
from .helpers import head


def _fsck(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--no-dangling"], check=True, capture_output=True)


def _linear(repo: Path) -> None:
    assert run_git(repo, "rev-list", "--merges", "main") == ""


def _variant(source: Path, replicas: int) -> None:
    env_file = source / "overlays/prod/env.yaml"
    text = env_file.read_text()
    start = text.index("replicas: {api: ")
    end = text.index("}", start)
    env_file.write_text(text[:start] + f"replicas: {{api: {replicas}}}" + text[end + 1 :])


def test_compare_and_swap_refuses_a_lost_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = open_repo(tmp_path / "r")
    first = commit_files(repo, "main", {"env/a": {"env/a/x.yaml": b"a: 1\n"}}, "first\n")
    original = commit._write_tree

    def racing_write_tree(r: EnvRepo, node: commit.Tree) -> bytes:
        monkeypatch.setattr(commit, "_write_tree", original)
        commit_files(open_repo(tmp_path / "r"), "main", {"env/b": {"env/b/y.yaml": b"b: 1\n"}}, "concurrent writer\n")
        return original(r, node)

    monkeypatch.setattr(commit, "_write_tree", racing_write_tree)
    with pytest.raises(RepoError, match="moved while compiling"):
        commit_files(repo, "main", {"env/a": {"env/a/x.yaml": b"a: 2\n"}}, "loser\n")
    tip = head(tmp_path / "r")
    assert run_git(tmp_path / "r", "log", "-1", "--format=%s", tip or "") == "concurrent writer"
    assert run_git(tmp_path / "r", "rev-parse", f"{tip}^") == first.new
    assert (tmp_path / "r/env/a/x.yaml").read_text() == "a: 1\n"  # the loser touched nothing
    _fsck(tmp_path / "r")


def test_two_compiles_racing_on_one_repo(tmp_path: Path, source_copy: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(source_copy)).returncode == 0
    sources = []
    for n in (4, 5):
        other = tmp_path / f"src{n}"
        subprocess.run(["cp", "-a", str(source_copy), str(other)], check=True)
        _variant(other, n)
        sources.append(other)
    for _ in range(3):
        procs = [
            subprocess.Popen([sys.executable, "-m", "ccp_gitops", "compile", "prod", "--repo", str(repo), "--source", str(s)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for s in sources
        ]
        results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
        for code, err in results:
            assert code == 0 or (code == 1 and ("moved while compiling" in err or "uncommitted changes" in err)), err
        assert any(code == 0 for code, _ in results)
        _fsck(repo)
        _linear(repo)
    proc = cli("compile", "prod", "--repo", str(repo), "--source", str(sources[0]))
    assert proc.returncode == 0, proc.stderr
    assert run_git(repo, "status", "--porcelain") == ""
    assert "replicas: 4" in (repo / "env/prod/keystone/deployment-keystone-api.yaml").read_text()


def test_sigkill_at_any_moment_leaves_old_or_new_commit(tmp_path: Path, source_copy: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(source_copy)).returncode == 0
    old_head = head(repo)
    reference = tmp_path / "reference"
    _variant(source_copy, 7)
    assert cli("compile", "prod", "--repo", str(reference), "--source", str(source_copy)).returncode == 0
    new_tree = run_git(reference, "rev-parse", "main:env")
    for delay in (0.05, 0.15, 0.25, 0.35, 0.45, 0.6, 0.8):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccp_gitops", "compile", "prod", "--repo", str(repo), "--source", str(source_copy)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _fsck(repo)
        _linear(repo)
        now = head(repo)
        assert now == old_head or run_git(repo, "rev-parse", "main:env") == new_tree
        if now != old_head:
            break
    final = subprocess.run([sys.executable, "-m", "ccp_gitops", "compile", "prod", "--repo", str(repo), "--source", str(source_copy)], capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert run_git(repo, "rev-parse", "main:env") == new_tree
    assert run_git(repo, "status", "--porcelain") == ""
    _fsck(repo)


def test_killed_between_ref_update_and_work_tree_update_recovers(tmp_path: Path, source_copy: Path) -> None:
    """The one window a kill can leave: the branch moved, the work tree not yet: the next compile finishes it."""
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(source_copy)).returncode == 0
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    _variant(source_copy, 6)
    assert cli("compile", "prod", "--repo", str(bare), "--source", str(source_copy)).returncode == 0
    subprocess.run(["git", "-C", str(repo), "fetch", "-q", str(bare), "main:refs/remotes/b/main"], check=True)
    new = run_git(repo, "rev-parse", "refs/remotes/b/main")
    run_git(repo, "update-ref", "refs/heads/main", new)  # what the killed process had done
    assert run_git(repo, "status", "--porcelain") != ""
    proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source_copy))
    assert proc.returncode == 0, proc.stderr
    assert head(repo) == new  # nothing new to commit: the work tree was brought up to date
    assert run_git(repo, "status", "--porcelain") == ""
    assert "replicas: 6" in (repo / "env/prod/keystone/deployment-keystone-api.yaml").read_text()
