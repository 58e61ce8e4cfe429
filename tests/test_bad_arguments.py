"""Command-line arguments are checked before any work: exit 2 naming the argument, no ref, no file written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import cli
from .helpers import git, head


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("args") / "repo"
    assert cli("compile", "prod", "--repo", str(repo)).returncode == 0
    return repo


def _refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


BAD_BRANCHES = ["-x", "--all", "a..b", "x.lock", "a/.hidden", "trailing/", "two//slashes", "with space", "HEAD", "@{-1}", "a~1", "x:y", "q?", "star*", "back\\slash", ".dot", "end.", ""]


@pytest.mark.parametrize("name", BAD_BRANCHES)
def test_an_invalid_branch_name_is_refused_before_any_work_and_writes_no_ref(compiled: Path, tmp_path: Path, name: str) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(compiled), str(repo)], check=True)
    before = _refs(repo)
    proc = cli("compile", "prod", "--repo", str(repo), f"--branch={name}")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("ccp-gitops: --branch: ") and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "moved while compiling" not in proc.stderr
    assert _refs(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_git_agrees_with_every_refused_branch_name(tmp_path: Path) -> None:
    for name in BAD_BRANCHES:
        assert subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True, cwd=tmp_path).returncode != 0, name


@pytest.mark.parametrize("name", ["review/bump-nova", "release-2026.1", "feature/x.y", "user@host"])
def test_valid_branch_names_are_accepted(compiled: Path, tmp_path: Path, name: str) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(compiled), str(repo)], check=True)
    proc = cli("compile", "prod", "--repo", str(repo), "--branch", name)
    assert proc.returncode == 0, proc.stderr
    # the source did not change: the new branch still points at a commit holding the environment
    assert head(repo, name) == head(repo)
    assert git(repo, "ls-tree", "--name-only", name, "env/prod/ccp-gitops.lock.json") == "env/prod/ccp-gitops.lock.json"


def test_a_new_branch_over_an_unchanged_source_is_created_and_then_unchanged(compiled: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(compiled), str(repo)], check=True)
    first = cli("compile", "prod", "--repo", str(repo), "--branch", "review/a")
    assert first.returncode == 0 and "created branch review/a" in first.stdout, first.stdout + first.stderr
    again = cli("compile", "prod", "--repo", str(repo), "--branch", "review/a")
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert head(repo, "review/a") == head(repo)


def test_a_new_branch_without_the_fast_path_is_created_too(compiled: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(compiled), str(repo)], check=True)
    proc = cli("compile", "prod", "--repo", str(repo), "--branch", "review/b", env={"CCP_CACHE": "off"})
    assert proc.returncode == 0, proc.stderr
    assert head(repo, "review/b") == head(repo)


def test_an_invalid_branch_in_an_overlay_is_a_located_error(source_copy: Path, tmp_path: Path) -> None:
    env_file = source_copy / "overlays/prod/env.yaml"
    env_file.write_text(env_file.read_text() + "delivery:\n  branch: -main\n")
    proc = cli("compile", "prod", "--repo", str(tmp_path / "r"), "--source", str(source_copy))
    assert proc.returncode == 2
    lines = env_file.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "branch: -main" in text)
    assert f"overlays/prod/env.yaml:{line}:" in proc.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "args,named",
    [
        (["plan", "prod", "--repo", "{repo}", "--branch", "-x"], "ccp-gitops: --branch: "),
        (["bundle", "prod", "--repo", "{repo}", "--output", "{tmp}/oci", "--rev", "-x"], "unknown revision '-x'"),
        (["compile", "prod", "--repo", "/etc/hostname"], "ccp-gitops: --repo: "),
        (["compile", "prod", "--repo", "{tmp}/not-a-repo"], "ccp-gitops: --repo: "),
        (["diff", "prod", "--repo", "{tmp}/not-a-repo"], "ccp-gitops: --repo: "),
        (["compile", "prod", "--repo", "{repo}", "--message", " "], "ccp-gitops: --message: "),
        (["graph", "prod", "--output", "{tmp}"], "ccp-gitops: --output: "),
        (["graph", "prod", "--output", "{tmp}/missing/graph.mmd"], "ccp-gitops: --output: "),
        (["diff", "prod", "--repo", "{repo}", "--output-dir", "/etc/hostname"], "ccp-gitops: --output-dir: "),
        (["compile", "prod", "--repo", "{repo}", "--jobs", "-1"], "--jobs"),
        (["compile", "prod", "--repo", "{repo}", "--engine", "spinnaker"], "--engine"),
    ],
)
def test_every_argument_is_checked_before_any_work(compiled: Path, tmp_path: Path, args: list[str], named: str) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(compiled), str(repo)], check=True)
    (tmp_path / "not-a-repo").mkdir()
    (tmp_path / "not-a-repo/notes.txt").write_text("not an env repo\n")
    before = _refs(repo)
    proc = cli(*(a.format(repo=repo, tmp=tmp_path) for a in args))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert named in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr  # one line (and the summary line of input problems)
    assert _refs(repo) == before and git(repo, "status", "--porcelain") == ""
    assert not (tmp_path / "oci").exists() and not (tmp_path / "missing").exists()


def test_a_file_named_by_ccp_env_repo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x\n")
    proc = cli("compile", "prod", env={"CCP_ENV_REPO": str(tmp_path / "file")})
    assert proc.returncode == 2 and "$CCP_ENV_REPO" in proc.stderr
