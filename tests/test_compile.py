"""End-to-end compile into real git repositories, checked with git and kustomize."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ccp_gitops.checks.kustomize import build
from ccp_gitops.compile.parallel import compile_all

from .conftest import cli
from .helpers import commit_count, git, head, ids, objects


def test_fresh_compile_is_fsck_clean_and_builds_with_kustomize(tmp_path: Path, catalogue: Path) -> None:
    repo = tmp_path / "env-repo"
    proc = cli("compile", "env/prod", "--repo", str(repo), "--source", str(catalogue))
    assert proc.returncode == 0, proc.stderr
    assert "committed" in proc.stdout
    subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--no-dangling"], check=True, capture_output=True)
    assert git(repo, "status", "--porcelain") == ""  # work tree updated to the new commit
    [compiled] = compile_all(catalogue, ["prod"])
    rendered = ids([o.body for o in compiled.objects])
    env_dir = repo / "env" / "prod"
    assert ids(objects(build(env_dir))) == rendered
    per_component: set[tuple[str, str, str, str]] = set()
    for name in compiled.env.components:
        built = ids(objects(build(env_dir / name)))
        assert built == ids([o.body for o in compiled.objects if o.component == name])
        per_component |= built
    assert per_component == rendered


def test_commit_message_has_subject_body_and_trailers(tmp_path: Path, catalogue: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    message = git(repo, "log", "-1", "--format=%B")
    subject, _, rest = message.partition("\n")
    assert subject.startswith("env/prod: add ")
    assert "keystone" in subject
    assert "+ keystone 1.0.0" in rest
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)")
    assert "Compiler-Version: 0.1.0" in trailers
    assert "Source-Commit: " in trailers


def test_recompile_makes_no_commit_and_two_repos_share_the_tree(tmp_path: Path, catalogue: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for repo in (first, second):
        assert cli("compile", "env/prod", "env/dev", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    assert git(first, "rev-parse", "main^{tree}") == git(second, "rev-parse", "main^{tree}")
    before = head(first)
    proc = cli("compile", "env/prod", "env/dev", "--repo", str(first), "--source", str(catalogue))
    assert proc.returncode == 0
    assert "unchanged" in proc.stdout
    assert head(first) == before
    assert commit_count(first) == 1


def test_removed_component_folder_disappears(tmp_path: Path, source_copy: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "dev", "--repo", str(repo), "--source", str(source_copy)).returncode == 0
    assert (repo / "env/dev/monitoring/kustomization.yaml").exists()
    env_file = source_copy / "overlays/dev/env.yaml"
    env_file.write_text(env_file.read_text().replace("  monitoring: {}\n", ""))
    proc = cli("compile", "dev", "--repo", str(repo), "--source", str(source_copy))
    assert proc.returncode == 0, proc.stderr
    assert "remove monitoring" in proc.stdout
    assert not (repo / "env/dev/monitoring").exists()
    assert "env/dev/monitoring/" not in git(repo, "ls-tree", "-r", "--name-only", "main")
    assert "monitoring" not in (repo / "env/dev/kustomization.yaml").read_text()
    assert commit_count(repo) == 2


def test_other_environments_are_left_alone(tmp_path: Path, catalogue: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "dev", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    dev_tree = git(repo, "rev-parse", "main:env/dev")
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    assert git(repo, "rev-parse", "main:env/dev") == dev_tree


def test_dry_run_writes_nothing(tmp_path: Path, catalogue: Path) -> None:
    repo = tmp_path / "r"
    proc = cli("compile", "prod", "--dry-run", "--repo", str(repo), "--source", str(catalogue))
    assert proc.returncode == 0, proc.stderr
    assert "would add" in proc.stdout and "+ env/prod/keystone/kustomization.yaml" in proc.stdout
    assert not repo.exists()
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    before = head(repo)
    proc = cli("compile", "prod", "dev", "--dry-run", "--repo", str(repo), "--source", str(catalogue))
    assert "env/prod: unchanged" in proc.stdout and "env/dev: would add" in proc.stdout
    assert head(repo) == before


def test_dirty_work_tree_is_refused_with_the_file_list(tmp_path: Path, catalogue: Path, source_copy: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    (repo / "env/prod/README.md").write_text("edited by hand\n")
    (repo / "notes.txt").write_text("untracked\n")
    env_file = source_copy / "overlays/prod/env.yaml"
    env_file.write_text(env_file.read_text().replace("replicas: {api: 3}", "replicas: {api: 4}"))
    before = head(repo)
    proc = cli("compile", "prod", "--repo", str(repo), "--source", str(source_copy))
    assert proc.returncode == 1
    assert "uncommitted changes" in proc.stderr
    assert "env/prod/README.md" in proc.stderr and "notes.txt" in proc.stderr
    assert head(repo) == before


def test_review_branch_starts_from_the_default_branch(tmp_path: Path, catalogue: Path, source_copy: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    main_head = head(repo)
    env_file = source_copy / "overlays/prod/env.yaml"
    env_file.write_text(env_file.read_text().replace("replicas: {api: 3}", "replicas: {api: 5}"))
    proc = cli("compile", "prod", "--branch", "review/more-keystone", "--repo", str(repo), "--source", str(source_copy))
    assert proc.returncode == 0, proc.stderr
    assert head(repo) == main_head
    review = head(repo, "review/more-keystone")
    assert review and git(repo, "rev-parse", f"{review}^") == main_head
    assert "replicas: 5" in git(repo, "show", f"{review}:env/prod/keystone/deployment-keystone-api.yaml")


def test_bare_env_repo(tmp_path: Path, catalogue: Path) -> None:
    repo = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    assert "env/prod/kustomization.yaml" in git(repo, "ls-tree", "-r", "--name-only", "main")


def test_env_repo_default_comes_from_the_environment(tmp_path: Path, catalogue: Path) -> None:
    repo = tmp_path / "from-env"
    proc = cli("compile", "prod", "--source", str(catalogue), env={"CCP_ENV_REPO": str(repo)})
    assert proc.returncode == 0, proc.stderr
    assert head(repo)


def test_source_defaults_to_the_bundled_catalogue(tmp_path: Path) -> None:
    proc = cli("compile", "prod", "--repo", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r/env/prod/keystone").is_dir()


def test_missing_kustomize_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ccp_gitops.checks.kustomize import KustomizeError, command

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(KustomizeError, match="neither 'kustomize' nor 'kubectl'"):
        command()


def test_output_is_stable_yaml(tmp_path: Path, catalogue: Path) -> None:
    repo = tmp_path / "r"
    assert cli("compile", "prod", "--repo", str(repo), "--source", str(catalogue)).returncode == 0
    text = (repo / "env/prod/keystone/configmap-keystone-etc.yaml").read_text()
    assert text.startswith("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keystone-etc\n")
    assert "keystone.conf: |\n    [DEFAULT]\n" in text  # literal block, not an escaped string
    for path in (repo / "env/prod").rglob("*"):
        if path.is_file():
            assert "2026-" not in path.read_text() or path.name == "README.md"
    assert shutil.which("git")
