"""Shards of a fleet: a deterministic partition, and N shard processes racing on one repo all land, once each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccp_gitops.compile.shard import parse_shard, select_shard

from .conftest import ROOT, cli
from .helpers import git

sys.path.insert(0, str(ROOT / "benchmarks"))
from fleet import fleet_site  # noqa: E402

SHARDS = 3


def test_shards_partition_any_fleet() -> None:
    names = [f"r{i:03d}" for i in range(1, 301)]
    for count in (1, 2, 3, 8):
        parts = [select_shard(names, k, count) for k in range(1, count + 1)]
        assert sorted(n for part in parts for n in part) == names
        assert all(len(part) > len(names) / count / 2 for part in parts)  # no shard is starved
    # an environment stays in its shard when others come and go
    assert set(select_shard(names[:50], 2, 8)) == set(select_shard(names, 2, 8)) & set(names[:50])


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0", "-1/2"])
def test_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_shard(text)
    run = cli("compile", "--all", "--shard", text, "--dry-run")
    assert run.returncode == 2 and "--shard" in run.stderr and "Traceback" not in run.stderr


def test_racing_shards_land_every_environment_exactly_once(tmp_path: Path) -> None:
    site = tmp_path / "site"
    envs = ["prod", *fleet_site(site, 5)]
    repo = tmp_path / "env-repo.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch", "main", str(repo)], check=True)
    env = {**os.environ, "NO_COLOR": "1"}
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "ccp_gitops", "compile", "--all", "--source", str(site), "--repo", str(repo), "--shard", f"{k}/{SHARDS}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for k in range(1, SHARDS + 1)
    ]
    outputs = [p.communicate(timeout=600) for p in racers]
    assert [p.returncode for p in racers] == [0] * SHARDS, outputs
    landed = [select_shard(sorted(envs), k, SHARDS) for k in range(1, SHARDS + 1)]
    committing = sum(1 for part in landed if part)
    # linear history: one commit per shard that had environments, each with at most one parent
    history = git(repo, "rev-list", "--parents", "main").splitlines()
    assert len(history) == committing
    assert all(len(line.split()) <= 2 for line in history)
    git(repo, "fsck", "--strict", "--no-dangling")
    # every environment exactly once, each added by the commit of its own shard
    assert sorted(git(repo, "ls-tree", "--name-only", "main", "env/").split()) == sorted(f"env/{n}" for n in envs)
    for commit in git(repo, "rev-list", "main").split():
        touched = {p.split("/")[1] for p in git(repo, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", commit).split()}
        assert touched in [set(part) for part in landed], touched
    # every shard's tree is what a sequential compile of the whole fleet makes
    sequential = tmp_path / "sequential"
    assert cli("compile", *envs, "--source", str(site), "--repo", str(sequential)).returncode == 0
    assert git(repo, "rev-parse", "main^{tree}") == git(sequential, "rev-parse", "main^{tree}")
    # and recompiling a shard changes nothing
    again = cli("compile", "--all", "--source", str(site), "--repo", str(repo), "--shard", f"1/{SHARDS}")
    assert again.returncode == 0 and ("nothing to commit" in again.stdout or "unchanged" in again.stdout), again.stdout
