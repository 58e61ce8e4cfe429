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
