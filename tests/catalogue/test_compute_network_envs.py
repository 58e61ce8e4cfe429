"""The compute and network components (openvswitch, libvirt, placement, neutron, nova) in every
environment that enables them: the kustomize build contains them, and each of their objects
validates against the Kubernetes 1.33 schema or the External Secrets CRDs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .support import compiled, kustomize_build, validate_builtin

MINE = ["openvswitch", "libvirt", "placement", "neutron", "nova"]
CRD_GROUPS = {"external-secrets.io", "generators.external-secrets.io"}


@functools.lru_cache(maxsize=None)
def _crd_validators(crds_dir: Path) -> dict[tuple[str, str, str], Any]:
    validators = {}
    for path in sorted(crds_dir.glob("*external-secrets.io_*.yaml")):
        for crd in yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                spec = crd["spec"]
                for version in spec["versions"]:
                    if version.get("served"):
                        validators[(spec["group"], version["name"], spec["names"]["kind"])] = \
                            jsonschema.Draft202012Validator(version["schema"]["openAPIV3Schema"])
    return validators


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_kustomize_build_has_compute_and_network(catalogue: Path, tmp_path: Path, env: str) -> None:
    docs = [d for d in yaml.safe_load_all(kustomize_build(catalogue, env, tmp_path)) if d]
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for workload in (("DaemonSet", "openvswitch"), ("DaemonSet", "libvirt"), ("DaemonSet", "nova-compute"),
                     ("DaemonSet", "neutron-openvswitch-agent"), ("Deployment", "neutron-server"),
                     ("Deployment", "placement-api"), ("Deployment", "nova-api"), ("CronJob", "nova-cell-setup")):
        assert workload in names
    jobs = {d["metadata"]["labels"]["ccp-gitops.io/job"] for d in docs if d["kind"] == "Job"}
    assert {"placement-db-sync", "neutron-db-sync", "nova-db-sync", "nova-cell-setup"} <= jobs
    assert "Secret" not in {d["kind"] for d in docs}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_objects_match_their_schemas(catalogue: Path, crds_dir: Path, env: str) -> None:
    result = compiled(catalogue, env)
    version = str(result.env.settings["kubernetes_version"])
    crds = _crd_validators(crds_dir)
    checked = 0
    for obj in result.objects:
        if obj.component not in MINE:
            continue
        if obj.id.group in CRD_GROUPS:
            group, api_version = obj.body["apiVersion"].split("/")
            crds[(group, api_version, obj.id.kind)].validate(obj.body)
        else:
            validate_builtin(obj.body, version)
        checked += 1
    assert checked > 100


def test_waves(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    waves = {name: env.components[name].wave for name in MINE}
    assert waves["openvswitch"] < waves["libvirt"] < waves["nova"]
    assert waves["openvswitch"] < waves["neutron"] < waves["nova"]
    assert waves["placement"] < waves["nova"]
    assert waves["placement"] > env.components["keystone"].wave
