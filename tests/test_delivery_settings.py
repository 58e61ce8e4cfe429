"""Delivery settings: what they change (only delivery objects), what they refuse, and --engine."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccp_gitops.model.problems import InputError

from .compiled import FIXTURE, compile_env, copy_source, objects, set_delivery

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return copy_source(FIXTURE, tmp_path / "source")


def changed_objects(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    old, new = objects(before), objects(after)
    return {p for p in set(old) | set(new) if old.get(p) != new.get(p)}


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {p for p in set(before) | set(after) if before.get(p) != after.get(p)}


ARGO_APPS = {f"env/prod/delivery/argocd/application-prod-{c}.yaml" for c in ("database", "queue", "identity", "compute")}
ROOT_APP = "env/prod/delivery/argocd/bootstrap/application-prod.yaml"
PROJECTS = {"env/prod/delivery/argocd/bootstrap/appproject-cloud-prod.yaml", "env/prod/delivery/argocd/bootstrap/appproject-cloud-prod-root.yaml"}
GIT_REPO = "env/prod/delivery/flux/bootstrap/gitrepository-prod.yaml"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"repo_url": "ssh://git@git.example.com/fixture/other-env.git"}, ARGO_APPS | {ROOT_APP, GIT_REPO} | PROJECTS),
        ({"branch": "release-1"}, ARGO_APPS | {ROOT_APP, GIT_REPO}),
    ],
    ids=["repo-url", "branch"],
)
def test_repo_url_or_branch_change_exactly_the_delivery_objects_that_name_them(source: Path, change: dict[str, Any], expected: set[str]) -> None:
    before = compile_env(source, "prod").tree.files
    set_delivery(source, "prod", **change)
    after = compile_env(source, "prod").tree.files
    assert changed_objects(before, after) == expected
    assert changed_files(before, after) - expected == {"env/prod/README.md", "env/prod/ccp-gitops.lock.json"}


def test_changing_the_engine_changes_only_the_delivery_folders(source: Path) -> None:
    before = compile_env(source, "prod").tree.files
    set_delivery(source, "prod", engines=["argocd"])
    after = compile_env(source, "prod").tree.files
    gone = changed_files(before, after) - {"env/prod/README.md", "env/prod/ccp-gitops.lock.json"}
    assert gone and all(p.startswith("env/prod/delivery/flux/") and p not in after for p in gone)
    flux_only = compile_env(source, "prod", ["flux"]).tree.files
    gone = changed_files(before, flux_only) - {"env/prod/README.md", "env/prod/ccp-gitops.lock.json"}
    assert gone and all(p.startswith("env/prod/delivery/argocd/") and p not in flux_only for p in gone)


def test_components_do_not_depend_on_the_engine(source: Path) -> None:
    """Switching engines must not touch an ExternalSecret's annotations: that would regenerate its password."""
    argo = compile_env(source, "prod", ["argocd"]).tree.files
    flux = compile_env(source, "prod", ["flux"]).tree.files
    components = [p for p in argo if "/delivery/" not in p and p.endswith(".yaml")]
    assert len(components) > 20 and all(argo[p] == flux[p] for p in components)


def problems_of(source: Path, env: str = "prod") -> list[str]:
    with pytest.raises(InputError) as exc:
        compile_env(source, env)
    return [str(p) for p in exc.value.problems]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_flux_refuses_an_scp_style_url_at_its_line(source: Path) -> None:
    set_delivery(source, "prod", repo_url="git@git.example.com:fixture/env.git")
    overlay = source / "overlays/prod/env.yaml"
    (problem,) = problems_of(source)
    assert problem.startswith(f"overlays/prod/env.yaml:{line_of(overlay, 'repo_url')}:")
    assert "Flux needs an http://, https:// or ssh:// URL" in problem
    set_delivery(source, "prod", engines=["argocd"])
    compile_env(source, "prod")  # Argo CD takes scp-style URLs


def test_cluster_with_both_server_and_name_is_refused(source: Path) -> None:
    set_delivery(source, "prod", cluster={"server": "https://k8s.example.com", "name": "prod"})
    (problem,) = problems_of(source)
    assert "give either server or name, not both" in problem and problem.startswith("overlays/prod/env.yaml:")


def test_fleet_cluster_listed_twice_is_refused(source: Path) -> None:
    set_delivery(source, "fleet", clusters=[{"name": "eu-1"}, {"name": "eu-1"}])
    assert any("cluster 'eu-1' is listed twice" in p for p in problems_of(source, "fleet"))


def test_names_too_long_for_label_values_are_refused(source: Path) -> None:
    set_delivery(source, "fleet", clusters=[{"name": "c" * 40}])
    long_env = source / "overlays" / ("e" * 30)
    long_env.mkdir()
    (long_env / "env.yaml").write_text("extends: fleet\n")
    problems = problems_of(source, long_env.name)
    assert any("longer than 63 characters" in p for p in problems)


def test_unknown_delivery_setting_is_reported_with_its_location(source: Path, run_cli: Any) -> None:
    overlay = source / "overlays/prod/env.yaml"
    overlay.write_text(overlay.read_text().replace("  project: cloud-prod\n", "  project: cloud-prod\n  enigne: flux\n"))
    proc = run_cli("compile", "env/prod", "--source", str(source), "--repo", str(source.parent / "repo"))
    assert proc.returncode == 2
    assert f"overlays/prod/env.yaml:{line_of(overlay, 'enigne')}:3: delivery: unknown field 'enigne'" in proc.stderr
    assert not (source.parent / "repo").exists() or not any((source.parent / "repo").iterdir())


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_compile_engine_option_replaces_the_delivery_folders_in_the_env_repo(source: Path, run_cli: Any) -> None:
    repo = source.parent / "repo"
    first = run_cli("compile", "env/prod", "--source", str(source), "--repo", str(repo), "--engine", "flux")
    assert first.returncode == 0, first.stderr
    files = git(repo, "ls-files").split()
    assert "env/prod/delivery/flux/bootstrap/gitrepository-prod.yaml" in files and not any("/argocd/" in f for f in files)
    second = run_cli("compile", "env/prod", "--source", str(source), "--repo", str(repo), "--engine", "argocd")
    assert second.returncode == 0, second.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "env/prod: update delivery"
    touched = git(repo, "diff", "--name-only", "HEAD~1", "HEAD").split()
    assert touched and all(p.startswith("env/prod/delivery/") or p in ("env/prod/README.md", "env/prod/ccp-gitops.lock.json") for p in touched)
    files = git(repo, "ls-files").split()
    assert not any("/delivery/flux/" in f for f in files) and "env/prod/delivery/argocd/kustomization.yaml" in files
    bad = run_cli("compile", "env/prod", "--source", str(source), "--repo", str(repo), "--engine", "jenkins")
    assert bad.returncode == 2 and "--engine must be one of argocd, flux, both" in bad.stderr


def test_bundled_overlays_still_validate_with_the_extended_schema() -> None:
    for env in ("prod", "dev"):
        compiled = compile_env(ROOT, env)
        assert compiled.delivery.engines == ("argocd",)
        app = yaml.safe_load(compiled.tree.files[f"env/{env}/delivery/argocd/application-{env}-memcached.yaml"])
        assert app["spec"]["destination"]["namespace"] == compiled.env.namespace
