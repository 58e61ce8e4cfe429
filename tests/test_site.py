"""A site repository layers its own overlays, base and components over the bundled catalogue."""

from __future__ import annotations

from pathlib import Path

from ccp_gitops.compile.parallel import compile_all

from .conftest import cli


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "overlays/lab").mkdir(parents=True)
    (site / "ccp-gitops.yaml").write_text("catalogue: bundled\n")
    (site / "overlays/lab/env.yaml").write_text("namespace: lab\ncomponents:\n  memcached: {replicas: {memcached: 4}}\n")
    return site


def test_site_uses_the_bundled_catalogue(tmp_path: Path) -> None:
    [compiled] = compile_all(_site(tmp_path), ["lab"])
    statefulset = next(o for o in compiled.objects if o.id.kind == "StatefulSet" and o.id.name == "memcached")
    assert statefulset.body["spec"]["replicas"] == 4
    assert statefulset.id.namespace == "lab"


def test_site_base_and_components_override_the_catalogue(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "base").mkdir()
    (site / "base/defaults.yaml").write_text("labels: {team: cloud}\nvalues: {public_domain: lab.example.net}\n")
    comp = site / "components/memcached"
    (comp / "templates").mkdir(parents=True)
    (comp / "component.yaml").write_text("name: memcached\nversion: 9.0.0\ndefaults: {replicas: {memcached: 1}}\n")
    (comp / "templates/cm.yaml.j2").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: own-memcached}\ndata: {replicas: {{ replicas.memcached | quote }}}\n")
    [compiled] = compile_all(site, ["lab"])
    assert [str(o.id) for o in compiled.objects] == ["ConfigMap/lab/own-memcached"]
    assert compiled.objects[0].body["metadata"]["labels"]["team"] == "cloud"
    assert compiled.objects[0].body["metadata"]["labels"]["app.kubernetes.io/part-of"] == "openstack"  # catalogue base
    assert compiled.env.components["memcached"].version == "9.0.0"


def test_site_errors_name_the_site_file(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "ccp-gitops.yaml").write_text("catalogue: bundled\ncatalog: x\n")
    proc = cli("compile", "lab", "--source", str(site), "--repo", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "ccp-gitops.yaml:2:1: unknown field 'catalog'" in proc.stderr


def test_site_lock_does_not_depend_on_where_the_catalogue_lives(tmp_path: Path, catalogue: Path) -> None:
    import shutil

    from ccp_gitops.compile.pipeline import compile_env, source_commit
    from ccp_gitops.compile.render import Renderer
    from ccp_gitops.source.tree import load_source

    site = _site(tmp_path)
    digests = []
    for where in ("one", "two/deeper"):
        copy = tmp_path / where
        for part in ("base", "components", "overlays"):
            shutil.copytree(catalogue / part, copy / part)
        source = load_source(site, catalogue=copy)
        compiled = compile_env(source, Renderer(source), "lab", source_commit(site))
        digests.append(compiled.tree.lock["input_digest"])
    assert digests[0] == digests[1]
