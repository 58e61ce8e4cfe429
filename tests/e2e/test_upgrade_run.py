"""A running env/e2e core (infrastructure + Keystone) upgraded from 2026.1 to 2026.2 phase by phase.

Each step is a commit of `ccp-gitops upgrade env/e2e --to 2026.2` / `--next` on a copy of the env
repo, synced into the running cloud as Argo CD applies it (tests/e2e/rollout.py: changed workloads
roll, new Jobs run, the phase's removed Jobs are pruned, wave by wave); after each, Keystone
issues a token and lists its endpoints through the Service names. The services of both releases
are real: a pod runs the e2e venv of the release its image tag names (profiles.yaml
`release_tag`). The whole cloud's upgrade (nova's online data migrations) is not in `make test`
yet: docs/upgrades.md, *The end-to-end upgrade run*.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import CORE, ENV, ROOT, RunFactory, openstack
from tests.e2e.rollout import sync_commit
from tests.e2e.runner import Run

pytestmark = pytest.mark.e2e

FROM, TO = "2026.1", "2026.2"
# phase 1 (--to), phases 2-5 (--next), then --next once more: the release's plain tree, upgrade complete
STEPS = [["--to", TO]] + [["--next"]] * 5


def upgrade(repo: Path, *args: str) -> str:
    """`ccp-gitops upgrade env/e2e ARGS` committing into `repo` (both deliveries, as the env repo was compiled)."""
    done = subprocess.run([sys.executable, "-m", "ccp_gitops", "upgrade", f"env/{ENV}", *args, "--engine", "both",
                           "--repo", str(repo)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1"}, check=False)
    assert done.returncode == 0, f"ccp-gitops upgrade {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout.splitlines()[0]


def images(run: Run, workload: str) -> set[str]:
    return {str(c.spec["image"]) for p in run.cluster.pods.values() if p.owner.name == workload for c in p.containers}


def job_succeeded(run: Run, prefix: str) -> bool:
    return any(p.phase == "Succeeded" for p in run.cluster.pods.values()
               if p.owner.kind == "Job" and p.owner.name.startswith(f"{prefix}-"))


def test_core_upgrades_phase_by_phase_and_keystone_answers_after_each(env_repo: Path, start_run: RunFactory,
                                                                      tmp_path: Path) -> None:
    repo = tmp_path / "env-repo"  # other tests read env_repo: the upgrade commits go to a copy
    shutil.copytree(env_repo, repo, symlinks=True)
    run = start_run(repo, "argocd", CORE, timeout=600.0, stall=180.0)
    run.run()
    assert any(i.endswith(f":{FROM}-ubuntu_noble") for i in images(run, "keystone-api"))
    lines = []
    for number, step in enumerate(STEPS, 1):
        said = upgrade(repo, *step)
        report = sync_commit(run, repo, timeout=600.0)
        token = openstack(run, "token", "issue", "-f", "value", "-c", "id")
        endpoints = openstack(run, "endpoint", "list", "--service", "identity", "-f", "value", "-c", "URL")
        lines.append(f"{number}. {said}: synced in {report.seconds:.0f} s, {len(report.changed)} changed, "
                     f"{len(report.added)} added, {len(report.pruned)} pruned, pods started {report.pods_started}; "
                     f"token rc {token.returncode}, endpoint list rc {endpoints.returncode}")
        print(lines[-1], flush=True)
        assert token.returncode == 0 and len(token.stdout.strip()) > 20, f"after {said}: {token.stderr}"
        assert "http://keystone-api:5000/v3" in endpoints.stdout, f"after {said}: {endpoints.stderr}"
        if number == 1:  # infrastructure rolled: each StatefulSet's pod made again on the new image
            assert {"mariadb-0", "rabbitmq-0", "memcached-0"} <= set(report.pods_started)
            assert job_succeeded(run, "rabbitmq-feature-flags")
        if number == 2:  # the new code expands the schema while 2026.1's API runs
            assert job_succeeded(run, "keystone-db-expand")
            assert any(i.endswith(f":{FROM}-ubuntu_noble") for i in images(run, "keystone-api"))
        if number == 3:
            assert any(i.endswith(f":{TO}-ubuntu_noble") for i in images(run, "keystone-api"))
        if number == 5:
            assert job_succeeded(run, "keystone-db-contract")
    print("\n".join(lines))
    lock = json.loads((repo / "env" / ENV / "ccp-gitops.lock.json").read_text())
    assert lock["openstack_release"] == TO
    assert lock["upgrade"] == {"from": FROM, "to": TO, "phase": 5, "phase_name": "complete",
                               "online_migrations": "completed"}
    assert images(run, "keystone-api") == {f"quay.io/airshipit/keystone:{TO}-ubuntu_noble"}
