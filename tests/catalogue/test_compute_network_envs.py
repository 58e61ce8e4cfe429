"""The compute and network components (openvswitch, libvirt, placement, neutron, nova) in every
environment that enables them: the kustomize build contains them, in dependency order
(schemas of every object: test_env_builds.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .support import compiled, kustomize_build

MINE = ["openvswitch", "libvirt", "placement", "neutron", "nova"]


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


def test_waves(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    waves = {name: env.components[name].wave for name in MINE}
    assert waves["openvswitch"] < waves["libvirt"] < waves["nova"]
    assert waves["openvswitch"] < waves["neutron"] < waves["nova"]
    assert waves["placement"] < waves["nova"]
    assert waves["placement"] > env.components["keystone"].wave
