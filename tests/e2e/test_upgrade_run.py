"""The running e2e cloud upgraded from 2026.1 to 2026.2 phase by phase, as Argo CD applies each commit.

Runs last on the session's one cloud (conftest `cloud`; this module sorts after test_smoke and is
in the same xdist group): each phase is a commit of `ccp-gitops upgrade env/e2e --to 2026.2` /
`--next` on a copy of the env repo, synced into the running cloud (tests/e2e/rollout.py: changed
workloads roll, new Jobs run, removed objects are pruned, wave by wave), then every smoke check
runs again as the admin and as the member. The services of both releases are real: a pod runs
the e2e venv of the release its image tag names (profiles.yaml `release_tag`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cloud import Cloud, Creds
from tests.e2e.conftest import ENV, ON_THE_CLOUD, ROOT
from tests.e2e.kubelet import Pod
from tests.e2e.rollout import SyncReport, sync_commit
from tests.e2e.smoke import run_smoke_checks

pytestmark = [pytest.mark.e2e, ON_THE_CLOUD]

FROM, TO = "2026.1", "2026.2"
# phase 1 (--to), phases 2-5 (--next), then --next once more: the release's plain tree, upgrade complete
STEPS = [["--to", TO]] + [["--next"]] * 5
PHASE_TIMEOUT = 900.0


def upgrade(repo: Path, *args: str) -> str:
    """`ccp-gitops upgrade env/e2e ARGS` committing into `repo` (both deliveries, as the env repo was compiled)."""
    done = subprocess.run([sys.executable, "-m", "ccp_gitops", "upgrade", f"env/{ENV}", *args, "--engine", "both",
                           "--repo", str(repo)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1"}, check=False)
    assert done.returncode == 0, f"ccp-gitops upgrade {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout.splitlines()[0]


def lock(repo: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((repo / "env" / ENV / "ccp-gitops.lock.json").read_text())
    return data


def job_pods(cloud: Cloud, job_prefix: str) -> list[Pod]:
    return [p for p in cloud.run.cluster.pods.values()
            if p.owner.kind == "Job" and p.owner.name.startswith(f"{job_prefix}-")]


def releases_running(cloud: Cloud) -> dict[str, set[str]]:
    """Per OpenStack image release (its tag), the workloads whose pods run it now."""
    out: dict[str, set[str]] = {}
    for pod in cloud.run.cluster.pods.values():
        if pod.owner.kind == "Job":
            continue
        for c in pod.containers:
            tag = str(c.spec["image"]).rsplit(":", 1)[-1]
            if tag.startswith((FROM + "-", TO + "-")):
                out.setdefault(tag.split("-")[0], set()).add(pod.owner.name)
    return out


def test_upgrade_phase_by_phase_with_smoke_checks_after_each(cloud: Cloud, member: Creds, env_repo: Path,
                                                              tmp_path: Path) -> None:
    assert lock(env_repo)["openstack_release"] == FROM
    repo = tmp_path / "env-repo"  # other tests of the session read env_repo: the upgrade commits go to a copy
    shutil.copytree(env_repo, repo, symlinks=True)
    # every check after every phase as the admin; as the member too once the upgrade completed (the
    # member's runs double each round, and test_smoke ran them all before: make test's time budget)
    personas = [cloud.admin()]
    table: list[str] = []
    migrations: list[Pod] = []
    for number, step in enumerate(STEPS, 1):
        said = upgrade(repo, *step)
        with cloud.node.inside():  # drive the run in its node network, as the bring-up did
            report: SyncReport = sync_commit(cloud.run, repo, timeout=PHASE_TIMEOUT)
        failures = run_smoke_checks(cloud, personas + ([member] if number == len(STEPS) else []), tmp_path)
        running = {r: len(w) for r, w in sorted(releases_running(cloud).items())}
        table.append(f"{number}. {said}\n   synced in {report.seconds:.0f} s: {len(report.changed)} changed, "
                     f"{len(report.added)} added, {len(report.pruned)} pruned, {len(report.pods_started)} pods "
                     f"started; workloads per release {running}; smoke: "
                     f"{'all passed' if not failures else sorted(failures)}")
        print(table[-1], flush=True)
        assert not failures, f"after {said}:\n" + "\n".join(f"{k}: {v}" for k, v in failures.items())
        if number == 5:
            migrations = job_pods(cloud, "nova-online-data-migrations")
    print("\n".join(table))
    # the Job of phase 5 ran `nova-manage db online_data_migrations` until it exited 0
    assert migrations, "phase 5 ran no nova-online-data-migrations Job"
    assert [p.phase for p in migrations][-1] == "Succeeded"
    assert migrations[-1].containers[0].exit_code == 0
    record = lock(repo)
    assert record["openstack_release"] == TO
    assert record["upgrade"] == {"from": FROM, "to": TO, "phase": 5, "phase_name": "complete",
                                 "online_migrations": "completed"}
    assert set(releases_running(cloud)) == {TO}, "a workload still runs the old release"
