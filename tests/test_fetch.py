"""Components from other git repositories: pinned by tag or commit, cached, offline once fetched, recorded in the lock."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ccp_gitops.compile.parallel import compile_all
from ccp_gitops.source.tree import load_source

from .helpers import git
from .ux_support import assert_one_located_error, line_of, run

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}}}
data:
  release: {release}
  replicas: {{{{ replicas.{name} | quote }}}}
"""


def _component(folder: Path, name: str, release: str, version: str = "1.0.0") -> None:
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "component.yaml").write_text(f"name: {name}\nversion: {version}\ndefaults:\n  replicas: {{{name}: 1}}\n")
    (folder / "templates/configmap.yaml.j2").write_text(CONFIGMAP.format(name=name, release=release))


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """A component repository: tag v1.0 ("one"), then a second commit ("two") on main."""
    repo = tmp_path / "upstream"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    _component(repo / "components/extra", "extra", "one")
    _commit(repo, "one")
    git(repo, "tag", "v1.0")
    _component(repo / "components/extra", "extra", "two", "1.1.0")
    _commit(repo, "two")
    return repo


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("CCP_CACHE", str(path))
    return path


def _site(tmp_path: Path, git_url: str, ref: str, extra: str = "") -> Path:
    site = tmp_path / "site"
    (site / "overlays/lab").mkdir(parents=True, exist_ok=True)
    (site / "ccp-gitops.yaml").write_text(f"catalogue: bundled\nsources:\n  - name: extras\n    git: {git_url}\n    ref: {ref}\n{extra}")
    (site / "overlays/lab/env.yaml").write_text("namespace: lab\ncomponents:\n  memcached: {}\n  extra: {}\n")
    return site


def _release(site: Path) -> str:
    [compiled] = compile_all(site, ["lab"], check=False)
    [obj] = [o for o in compiled.objects if o.component == "extra"]
    return str(obj.body["data"]["release"])


def test_pinned_by_tag_and_recorded_in_the_lock(tmp_path: Path, upstream: Path, cache: Path) -> None:
    site = _site(tmp_path, str(upstream), "v1.0")
    [compiled] = compile_all(site, ["lab"], check=False)
    [extra] = [o for o in compiled.objects if o.component == "extra"]
    assert extra.body["data"]["release"] == "one" and extra.id.namespace == "lab"
    assert compiled.env.components["extra"].version == "1.0.0"
    lock = json.loads(compiled.tree.files["env/lab/ccp-gitops.lock.json"])
    assert lock["sources"] == {"extras": {"git": str(upstream), "ref": "v1.0", "commit": git(upstream, "rev-parse", "v1.0")}}
    assert "memcached" in compiled.env.components  # the catalogue is still under the source


def test_pinned_by_commit_with_a_relative_path(tmp_path: Path, upstream: Path, cache: Path) -> None:
    first = git(upstream, "rev-parse", "HEAD~1")
    site = _site(tmp_path, "../upstream", first)
    assert _release(site) == "one"
    (site / "ccp-gitops.yaml").write_text((site / "ccp-gitops.yaml").read_text().replace(first, first[:10]))
    assert _release(site) == "one"  # an abbreviated commit resolves to the same
    head = git(upstream, "rev-parse", "HEAD")
    (site / "ccp-gitops.yaml").write_text((site / "ccp-gitops.yaml").read_text().replace(first[:10], head))
    assert _release(site) == "two"


def test_offline_once_fetched(tmp_path: Path, upstream: Path, cache: Path) -> None:
    site = _site(tmp_path, upstream.as_uri(), "v1.0")
    fetched = run("fetch", "--source", str(site), env={"CCP_CACHE": str(cache)})
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith(f"extras: {upstream.as_uri()} v1.0 -> {git(upstream, 'rev-parse', 'v1.0')[:12]} (fetched: {cache}/sources/")
    shutil.rmtree(upstream)  # the origin is gone: everything must come from the cache
    again = run("fetch", "--source", str(site), "--format", "json", env={"CCP_CACHE": str(cache)})
    assert again.returncode == 0, again.stderr
    [entry] = json.loads(again.stdout)["sources"]
    assert entry["fetched"] is False and entry["ref"] == "v1.0"
    assert _release(site) == "one"
    proc = run("compile", "lab", "--repo", str(tmp_path / "env-repo"), "--source", str(site), env={"CCP_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    lock = json.loads(git(tmp_path / "env-repo", "show", "main:env/lab/ccp-gitops.lock.json"))
    assert lock["sources"]["extras"]["commit"] == entry["commit"]


def test_missing_ref_is_a_located_input_error(tmp_path: Path, upstream: Path, cache: Path) -> None:
    site = _site(tmp_path, str(upstream), "v1.1")
    proc = run("compile", "lab", "--dry-run", "--source", str(site), env={"CCP_CACHE": str(cache)})
    where = f"ccp-gitops.yaml:{line_of(site / 'ccp-gitops.yaml', 'ref: v1.1')}:10:"
    assert_one_located_error(proc, where, "source 'extras': no tag or commit 'v1.1'", "did you mean 'v1.0'?")


def test_a_branch_is_refused(tmp_path: Path, upstream: Path, cache: Path) -> None:
    site = _site(tmp_path, str(upstream), "main")
    proc = run("explain", "lab", "extra", "--source", str(site), env={"CCP_CACHE": str(cache)})
    assert_one_located_error(proc, "ccp-gitops.yaml:5:10:", "'main' is a branch, which moves; pin a tag or a commit")


def test_an_unreachable_repository(tmp_path: Path, cache: Path) -> None:
    site = _site(tmp_path, str(tmp_path / "nowhere"), "v1.0")
    proc = run("fetch", "--source", str(site), env={"CCP_CACHE": str(cache)})
    assert_one_located_error(proc, "ccp-gitops.yaml:4:10:", "source 'extras': cannot fetch", "nowhere")


def test_a_missing_path(tmp_path: Path, upstream: Path, cache: Path) -> None:
    site = _site(tmp_path, str(upstream), "v1.0", "    path: deploy\n")
    proc = run("fetch", "--source", str(site), env={"CCP_CACHE": str(cache)})
    assert_one_located_error(proc, "ccp-gitops.yaml:6:11:", "no folder 'deploy'")


def test_refs_and_paths_that_could_escape_are_schema_errors(tmp_path: Path, cache: Path) -> None:
    site = _site(tmp_path, "--upload-pack=touch /tmp/x", "--output=x", "    path: ../../etc\n")
    proc = run("fetch", "--source", str(site), env={"CCP_CACHE": str(cache)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "sources[0].git:" in proc.stderr and "sources[0].ref:" in proc.stderr and "sources[0].path:" in proc.stderr
    assert not cache.exists()


def test_new_tag_upstream_is_fetched_into_the_existing_cache(tmp_path: Path, upstream: Path, cache: Path) -> None:
    site = _site(tmp_path, str(upstream), "v1.0")
    assert _release(site) == "one"
    git(upstream, "tag", "v2.0")
    (site / "ccp-gitops.yaml").write_text((site / "ccp-gitops.yaml").read_text().replace("v1.0", "v2.0"))
    assert _release(site) == "two"
    assert len(list((cache / "sources").iterdir())) == 1  # one bare clone per repository


def test_single_component_repository_and_layer_order(tmp_path: Path, cache: Path) -> None:
    """A repository holding one component.yaml names it after the source; sources sit between catalogue and site."""
    repo = tmp_path / "memcached-repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _component(repo, "memcached", "from-source", "7.0.0")
    commit = _commit(repo, "memcached")
    site = tmp_path / "site"
    (site / "overlays/lab").mkdir(parents=True)
    (site / "ccp-gitops.yaml").write_text(f"catalogue: bundled\nsources:\n  - {{name: memcached, git: {repo}, ref: {commit}, path: .}}\n")
    (site / "overlays/lab/env.yaml").write_text("components:\n  memcached: {}\n")
    source = load_source(site)
    assert source.roots[1] == source.sources[0].tree and source.roots[-1] == site.resolve()
    assert source.components["memcached"].version == "7.0.0"  # over the catalogue's memcached
    assert source.components["memcached"].doc.path == str(source.sources[0].tree / "component.yaml")
    [compiled] = compile_all(site, ["lab"], check=False)
    assert [o.body["data"]["release"] for o in compiled.objects] == ["from-source"]
    _component(site / "components/memcached", "memcached", "from-site", "8.0.0")  # the site over the source
    [compiled] = compile_all(site, ["lab"], check=False)
    assert [o.body["data"]["release"] for o in compiled.objects] == ["from-site"]


def test_two_sources_with_the_same_name(tmp_path: Path, upstream: Path, cache: Path) -> None:
    site = _site(tmp_path, str(upstream), "v1.0", "  - {name: extras, git: x, ref: v1}\n")
    proc = run("fetch", "--source", str(site), env={"CCP_CACHE": str(cache)})
    assert_one_located_error(proc, "ccp-gitops.yaml:6:12:", "source 'extras' is listed twice (first at ccp-gitops.yaml:3:11)")


def test_fetch_outside_a_source(tmp_path: Path) -> None:
    assert_one_located_error(run("fetch", "--source", str(tmp_path)), f"{tmp_path}:1:1:", "not a ccp-gitops source")


def test_fetch_without_sources(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run("init", str(site)).returncode == 0
    proc = run("fetch", "--source", str(site))
    assert proc.returncode == 0 and proc.stdout == f"{site}: no sources in ccp-gitops.yaml\n"
