"""init: a site repository over the bundled catalogue that compiles out of the box and survives an upgrade."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from ccp_gitops.compile.pipeline import compile_env
from ccp_gitops.compile.render import Renderer
from ccp_gitops.source.catalogue import SCHEMA_DIR
from ccp_gitops.source.inputs import PACKAGE_CATALOGUE
from ccp_gitops.source.tree import load_source

from .conftest import ROOT
from .helpers import git
from .ux_support import assert_one_located_error, run

SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    dest = tmp_path / "my-site"
    proc = run("init", str(dest))
    assert proc.returncode == 0, proc.stderr
    return dest


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_writes_a_site_that_validates_and_compiles(site: Path, tmp_path: Path) -> None:
    assert (site / "ccp-gitops.yaml").is_file() and (site / "overlays/example/env.yaml").is_file()
    for name in ("README.md", ".pre-commit-hooks.yaml", ".pre-commit-config.yaml", ".github/workflows/ccp-gitops.yml", "requirements.txt"):
        assert (site / name).is_file(), name
    assert not (site / "components").exists() and not (site / "base").exists()  # the catalogue is not copied
    validate = run("validate", "--all", cwd=site)
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.startswith("env/example: ok")
    dry = run("compile", "example", "--dry-run", "--repo", str(tmp_path / "env-repo"), cwd=site)
    assert dry.returncode == 0, dry.stderr
    assert "env/example: would add keystone, mariadb, memcached" in dry.stdout
    real = run("compile", "env/example", "--repo", str(tmp_path / "env-repo"), cwd=site)
    assert real.returncode == 0, real.stderr
    assert "keystone" in git(tmp_path / "env-repo", "ls-tree", "--name-only", "main:env/example").split()


def test_every_yaml_file_names_a_schema_that_accepts_it(site: Path) -> None:
    """The editor line resolves, relative to the file, to a copy of the package's schema that validates the file."""
    checked = 0
    for path in [site / "ccp-gitops.yaml", *site.glob("overlays/*/env.yaml")]:
        match = SCHEMA_LINE.search(path.read_text())
        assert match, f"{path} has no yaml-language-server line"
        schema_path = (path.parent / match.group(1)).resolve()
        assert schema_path.is_file() and site.resolve() in schema_path.parents
        assert schema_path.read_text() == (SCHEMA_DIR / schema_path.name).read_text()
        jsonschema.Draft202012Validator(json.loads(schema_path.read_text())).validate(yaml.safe_load(path.read_text()))
        checked += 1
    assert checked == 2


def test_pre_commit_hook_runs_validate_on_overlays(site: Path) -> None:
    [hook] = yaml.safe_load((site / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "ccp-gitops-validate" and hook["entry"].startswith("ccp-gitops validate")
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert files.search("overlays/example/env.yaml") and files.search("ccp-gitops.yaml")
    assert not files.search("README.md") and not files.search(".github/workflows/ccp-gitops.yml")
    config = yaml.safe_load((site / ".pre-commit-config.yaml").read_text())
    assert config["repos"][0]["hooks"] == [hook]
    # the hook's command, as pre-commit would run it in the site
    argv = shlex.split(hook["entry"])
    assert argv[0] == "ccp-gitops"
    proc = run(*argv[1:], cwd=site)
    assert proc.returncode == 0, proc.stderr
    workflow = yaml.safe_load((site / ".github/workflows/ccp-gitops.yml").read_text())
    steps = [s.get("run", "") for s in workflow["jobs"]["validate"]["steps"]]
    assert "ccp-gitops validate --all" in steps


def test_project_pre_commit_hook_matches_the_scaffolded_one(site: Path) -> None:
    """ccp-gitops itself defines the hook (language: python) for sites that want pre-commit to install it."""
    [ours] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [theirs] = yaml.safe_load((site / ".pre-commit-hooks.yaml").read_text())
    assert ours["language"] == "python"
    assert {k: v for k, v in ours.items() if k != "language"} == {k: v for k, v in theirs.items() if k != "language"}


def test_upgrading_the_package_catalogue_recompiles_the_site_unchanged(site: Path, tmp_path: Path) -> None:
    """A newer catalogue (keystone 1.1.0, a new keystone image) reaches the site without touching it."""
    before = _snapshot(site)
    old = load_source(site)
    old_compiled = compile_env(old, Renderer(old), "example", "none")
    assert old_compiled.env.components["keystone"].version == "1.0.0"
    newer = tmp_path / "newer-catalogue"
    for part in ("base", "components", "overlays"):
        shutil.copytree(PACKAGE_CATALOGUE / part, newer / part)
    component = newer / "components/keystone/component.yaml"
    component.write_text(component.read_text().replace("version: 1.0.0", "version: 1.1.0", 1))
    defaults = newer / "base/defaults.yaml"
    old_image = old_compiled.env.components["keystone"].values["images"]["api"]
    defaults.write_text(defaults.read_text().replace(old_image, old_image + "-newer", 1))
    new = load_source(site, catalogue=newer)
    compiled = compile_env(new, Renderer(new), "example", "none")
    assert compiled.env.components["keystone"].version == "1.1.0"
    assert compiled.env.components["keystone"].values["images"]["api"] == old_image + "-newer"
    lock = json.loads(compiled.tree.files["env/example/ccp-gitops.lock.json"])
    assert lock["components"]["keystone"]["version"] == "1.1.0"
    assert lock["components"]["mariadb"] == json.loads(old_compiled.tree.files["env/example/ccp-gitops.lock.json"])["components"]["mariadb"]
    assert _snapshot(site) == before


def test_from_catalogue_copies_the_overlays_as_starting_points(tmp_path: Path) -> None:
    dest = tmp_path / "site"
    proc = run("init", str(dest), "--from-catalogue", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    files = json.loads(proc.stdout)["files"]
    catalogue = sorted(p.name for p in (PACKAGE_CATALOGUE / "overlays").iterdir())
    assert sorted(f"overlays/{name}/env.yaml" for name in catalogue) == sorted(f for f in files if f.startswith("overlays/") and "example" not in f)
    prod = (dest / "overlays/prod/env.yaml").read_text()
    assert prod.startswith("# yaml-language-server: $schema=../../.ccp-gitops/schemas/env.schema.json\n")
    assert yaml.safe_load(prod) == yaml.safe_load((PACKAGE_CATALOGUE / "overlays/prod/env.yaml").read_text())
    proc = run("validate", "dev", "prod", cwd=dest)
    assert proc.returncode == 0, proc.stderr


def test_update_schemas_refreshes_only_the_schema_copies(site: Path) -> None:
    stale = site / ".ccp-gitops/schemas/env.schema.json"
    stale.write_text("{}\n")
    env_before = (site / "overlays/example/env.yaml").read_text()
    proc = run("init", "--update-schemas", str(site))
    assert proc.returncode == 0, proc.stderr
    assert "1 schema file(s) updated" in proc.stdout and ".ccp-gitops/schemas/env.schema.json" in proc.stdout
    assert stale.read_text() == (SCHEMA_DIR / "env.schema.json").read_text()
    assert (site / "overlays/example/env.yaml").read_text() == env_before
    assert "schemas are up to date" in run("init", "--update-schemas", str(site)).stdout


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    proc = run("init", str(dest))
    assert_one_located_error(proc, f"{dest}:1:1:", "directory is not empty (notes.txt)")
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]


def test_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert_one_located_error(run("init", str(target)), f"{target}:1:1:", "exists and is not a directory")


def test_update_schemas_outside_a_site(tmp_path: Path) -> None:
    assert_one_located_error(run("init", "--update-schemas", str(tmp_path)), f"{tmp_path}:1:1:", "not a ccp-gitops site repository")


def test_init_in_an_empty_directory_then_git_init_gives_a_clean_source_commit(tmp_path: Path) -> None:
    dest = tmp_path / "empty"
    dest.mkdir()
    assert run("init", str(dest)).returncode == 0
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "site")
    assert git(dest, "status", "--porcelain") == ""  # init writes nothing a compile would dirty


def test_pre_commit_runs_the_hook_of_the_scaffolded_site(site: Path, tmp_path: Path) -> None:
    """The real pre-commit accepts both files and runs the hook: it passes, then fails on a broken overlay."""
    import os
    import sys

    pre_commit = [sys.executable, "-m", "pre_commit"]
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def pc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*pre_commit, *args], cwd=site, capture_output=True, text=True, env=env)

    assert pc("validate-manifest", ".pre-commit-hooks.yaml").returncode == 0
    assert pc("validate-config", ".pre-commit-config.yaml").returncode == 0
    subprocess.run(["git", "init", "-q", str(site)], check=True)
    git(site, "add", "-A")
    ok = pc("run", "--all-files")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ccp-gitops validate" in ok.stdout and "Passed" in ok.stdout
    overlay = site / "overlays/example/env.yaml"
    overlay.write_text(overlay.read_text().replace("  keystone: {}", "  keystone: {replicas: {api: many}}"))
    git(site, "add", "-A")
    failed = pc("run", "--files", "overlays/example/env.yaml")
    assert failed.returncode == 1, failed.stdout
    assert "Failed" in failed.stdout and "overlays/example/env.yaml:" in failed.stdout
    readme_only = pc("run", "--files", "README.md")
    assert readme_only.returncode == 0 and "no files to check" in readme_only.stdout.lower()
