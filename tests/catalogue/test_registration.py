"""Keystone registration Jobs: a service user's password follows its Secret when the user already
exists (probe first, update only on 401), and every script is valid POSIX shell."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .support import base_name, compiled, containers, env_of

ENVS = ["dev", "prod"]


def registration_jobs(catalogue: Path, env: str) -> list[dict[str, Any]]:
    jobs = [o.body for o in compiled(catalogue, env).objects if o.id.kind == "Job" and base_name(o.body).endswith("-ks-register")]
    assert {base_name(j) for j in jobs} >= {"glance-ks-register", "placement-ks-register", "nova-ks-register", "neutron-ks-register"}
    return jobs


@pytest.mark.parametrize("env", ENVS)
def test_password_follows_the_secret(catalogue: Path, env: str) -> None:
    for job in registration_jobs(catalogue, env):
        service = base_name(job).removesuffix("-ks-register")
        (container,) = containers(job)
        assert env_of(container)["SERVICE_PASSWORD"] == (f"{service}-keystone", "password")
        script = container["command"][-1]
        create = script.index("openstack user create --or-show")
        probe = script.index("openstack token issue")
        on_401 = script.index('grep -q "HTTP 401"')
        update = script.index('openstack user set --password "$SERVICE_PASSWORD"')
        assert create < probe < on_401 < update, f"{service}: create, probe, then update only on 401"
        assert f"OS_USERNAME={service} " in script[create:on_401], "the probe authenticates as the service user"
        assert "exit 1" in script[update:], "any other probe failure fails the Job"


@pytest.mark.parametrize("env", ENVS)
def test_registration_scripts_are_valid_shell(catalogue: Path, env: str, tmp_path: Path) -> None:
    for job in registration_jobs(catalogue, env):
        (container,) = containers(job)
        assert container["command"][:2] == ["/bin/sh", "-ec"]
        script = tmp_path / f"{base_name(job)}.sh"
        script.write_text(container["command"][-1])
        result = subprocess.run(["/bin/sh", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{base_name(job)}: {result.stderr}"
