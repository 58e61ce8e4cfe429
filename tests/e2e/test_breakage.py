"""Breaking the rendered output breaks the run, naming the pod (issue 12: a, b, c)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ENV, RunFactory
from tests.e2e.objects import RunError

pytestmark = pytest.mark.e2e
ONLY = {"mariadb", "keystone"}


def _edit(path: Path, change: str, to: str) -> None:
    text = path.read_text()
    assert change in text, f"{path.name} no longer holds {change!r}"
    path.write_text(text.replace(change, to))


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_a_job_whose_command_fails_fails_the_run(broken_repo: Path, start_run: RunFactory) -> None:
    job = _one(broken_repo / "env" / ENV / "keystone", "job-keystone-db-init-*.yaml")
    doc = yaml.safe_load(job.read_text())
    doc["spec"]["template"]["spec"]["containers"][0]["command"] = ["/bin/sh", "-ec", "echo broken on purpose; exit 3"]
    job.write_text(yaml.safe_dump(doc))
    with pytest.raises(RunError) as failed:
        start_run(broken_repo, "argocd", ONLY).run()
    assert re.search(r"Job keystone-db-init-\w+ failed: its pod keystone-db-init-\w+-\w+ failed", str(failed.value))
    assert "broken on purpose" in str(failed.value)


def test_b_a_wait_for_a_service_never_created_fails_the_run(broken_repo: Path, start_run: RunFactory) -> None:
    job = _one(broken_repo / "env" / ENV / "keystone", "job-keystone-db-init-*.yaml")
    _edit(job, "value: openstack-dev:mariadb", "value: openstack-dev:mariadb,openstack-dev:no-such-service")
    with pytest.raises(RunError) as failed:
        start_run(broken_repo, "argocd", ONLY).run()
    assert re.search(r"pod keystone-db-init-\w+-\w+ \(Job/openstack-dev/keystone-db-init-\w+\) waits for "
                     r"Service openstack-dev/no-such-service, which nothing in the environment creates",
                     str(failed.value))


def test_c_a_wrong_database_password_fails_the_run(broken_repo: Path, start_run: RunFactory) -> None:
    secret = broken_repo / "env" / ENV / "keystone" / "externalsecret-keystone-db.yaml"
    _edit(secret, "keystone:{{ .password }}@mariadb", "keystone:not-the-password@mariadb")
    with pytest.raises(RunError) as failed:
        start_run(broken_repo, "argocd", ONLY).run()
    assert re.search(r"Job keystone-db-sync-\w+ failed: its pod keystone-db-sync-\w+-\w+ failed", str(failed.value))
    assert "Access denied for user 'keystone'" in str(failed.value)


def test_a_wait_that_can_never_be_satisfied_stops_the_run_with_the_chain(broken_repo: Path,
                                                                         start_run: RunFactory) -> None:
    """db-init made to wait for db-sync, which Argo CD applies only after db-init completed."""
    folder = broken_repo / "env" / ENV / "keystone"
    sync = _one(folder, "job-keystone-db-sync-*.yaml").name.removeprefix("job-").removesuffix(".yaml")
    _edit(_one(folder, "job-keystone-db-init-*.yaml"), "name: DEPENDENCY_JOBS\n          value: ''",
          f"name: DEPENDENCY_JOBS\n          value: {sync}")
    with pytest.raises(RunError) as failed:
        start_run(broken_repo, "argocd", ONLY, stall=15.0).run()
    chain = str(failed.value)
    assert chain.startswith("no progress for"), chain
    assert re.search(r"Job/openstack-dev/keystone-db-init-\w+ running\n +pod keystone-db-init-\w+-\w+ \(Pending", chain)
    assert f"waits for Job openstack-dev/{sync} (not complete)" in chain
    assert f"Job/openstack-dev/{sync} is not applied yet (its unit waits: e2e-keystone" in chain


def test_an_image_without_a_profile_fails_the_run_naming_it(broken_repo: Path, start_run: RunFactory) -> None:
    statefulset = broken_repo / "env" / ENV / "memcached" / "statefulset-memcached.yaml"
    text = statefulset.read_text()
    image = re.search(r"image: (\S+)", text)
    assert image
    statefulset.write_text(text.replace(image.group(1), "registry.example.com/unknown/memcached:1"))
    with pytest.raises(RunError) as failed:
        start_run(broken_repo, "argocd", {"memcached"}).run()
    assert re.search(r"pod memcached-0 \(StatefulSet/openstack-dev/memcached\), container memcached: image "
                     r"registry.example.com/unknown/memcached:1 has no profile", str(failed.value))
