"""The rendered env/e2e (dev, less what this machine cannot run) comes up as real processes, in Argo CD's order and in Flux's (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cloud import Cloud
from tests.e2e.conftest import CORE, ON_THE_CLOUD, RunFactory, openstack
from tests.e2e.kubelet import ns_init_pid

pytestmark = pytest.mark.e2e


@ON_THE_CLOUD
def test_everything_comes_up_in_argocd_order(cloud: Cloud) -> None:
    """The session's cloud (shared with the smoke checks): every Application healthy, wave by wave."""
    run = cloud.run
    assert run.opts.engine == "argocd" and run.opts.only is None
    assert {s.unit.name for s in run.units if s.done_at is None} == set()
    token = cloud.openstack(cloud.admin(), "token", "issue", "-f", "value", "-c", "id")
    assert len(token.stdout.strip()) > 20


def test_infrastructure_and_keystone_come_up_in_flux_order(env_repo: Path, start_run: RunFactory) -> None:
    run = start_run(env_repo, "flux", CORE)
    run.run()
    assert {s.unit.name for s in run.units if s.done_at is None} == set()
    token = openstack(run, "token", "issue", "-f", "value", "-c", "id")
    assert token.returncode == 0, token.stderr
    assert len(token.stdout.strip()) > 20
    endpoints = openstack(run, "endpoint", "list", "--service", "identity", "-f", "value", "-c", "URL")
    assert "http://keystone-api:5000/v3" in endpoints.stdout, endpoints.stderr
    token = openstack(run, "token", "issue", "-f", "value", "-c", "id")
    assert token.returncode == 0, token.stderr
    assert len(token.stdout.strip()) > 20
    endpoints = openstack(run, "endpoint", "list", "--service", "identity", "-f", "value", "-c", "URL")
    assert "http://keystone-api:5000/v3" in endpoints.stdout, endpoints.stderr


def test_stopping_leaves_no_process_behind(env_repo: Path, start_run: RunFactory) -> None:
    run = start_run(env_repo, "argocd", {"memcached"})
    run.run()
    pods = list(run.cluster.pods.values())
    pids = [p.sandbox.holder.pid for p in pods if p.sandbox]
    pids += [pid for p in pods for c in p.containers if c.proc for pid in (c.proc.pid, ns_init_pid(c.proc)) if pid]
    assert len(pids) >= 3 and all(Path(f"/proc/{pid}").exists() for pid in pids)
    run.stop()
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
