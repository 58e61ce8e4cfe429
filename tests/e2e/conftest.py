"""Fixtures of the end-to-end run: the env repo compiled by the real CLI, and runs in their own network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.cloud import Cloud, Creds
from tests.e2e.network import NodeNetwork, private_network
from tests.e2e.profiles import CACHE
from tests.e2e.runner import Options, Run
from tests.e2e.smoke import drop_member, make_member

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "2026.1"
VENV = CACHE / f"e2e-{RELEASE}" / "venv"
ENV = "e2e"  # overlays/e2e: dev with what this machine cannot do taken out, each with its reason
# What the first slice brings up: the infrastructure and Keystone.
CORE = {"mariadb", "memcached", "rabbitmq", "keystone"}


@pytest.fixture(scope="session")
def env_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """env/e2e compiled by `ccp-gitops compile --engine both` into a fresh env repo (Argo CD and Flux)."""
    repo = tmp_path_factory.mktemp("e2e-env") / "env-repo"
    done = subprocess.run([sys.executable, "-m", "ccp_gitops", "compile", f"env/{ENV}", "--engine", "both",
                           "--repo", str(repo)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    return repo


@pytest.fixture
def broken_repo(env_repo: Path, tmp_path: Path) -> Path:
    """A copy of the env repo a test may break."""
    copy = tmp_path / "env-repo"
    shutil.copytree(env_repo, copy, symlinks=True)
    return copy


RunFactory = Callable[..., Run]
# The tests on the one running cloud share an xdist group: one worker, one bring-up (make test and
# make e2e use --dist loadgroup).
ON_THE_CLOUD = pytest.mark.xdist_group("e2e-cloud")


@pytest.fixture(scope="session")
def cloud(env_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """The whole env/e2e up in Argo CD's order, once per session: the Argo CD order test, the smoke
    checks and later phases (an upgrade) all use this one run; stopped and removed at the end."""
    scratch = tmp_path_factory.mktemp("cloud-run")
    node = NodeNetwork()  # entered only while the cloud is driven or called: other tests keep the host's
    try:
        with node.inside():
            run = Run(Options(env_repo, ENV, "argocd", scratch, None, timeout=900.0, stall=180.0,
                              report=lambda s: print(s, flush=True)))
        try:
            with node.inside():
                run.run()
            yield Cloud(run, node)
        finally:
            with node.inside():
                run.stop()
            print("\n".join(run.summary()))
    finally:
        node.close()
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def member(cloud: Cloud) -> Iterator[Creds]:
    """A fresh user in a fresh project, with the member role there only (made by the tests)."""
    creds = make_member(cloud)
    yield creds
    drop_member(cloud, creds)


@pytest.fixture
def start_run(tmp_path: Path) -> Iterator[RunFactory]:
    """Runs inside a private network namespace; each stopped and its scratch removed at the end."""
    runs: list[Run] = []
    with private_network():
        def start(repo: Path, engine: str, only: set[str] | None = None, timeout: float = 400.0,
                  stall: float = 120.0) -> Run:
            scratch = tmp_path / f"run-{len(runs)}"
            run = Run(Options(repo, ENV, engine, scratch, only, timeout, stall=stall,
                              report=lambda s: print(s, flush=True)))
            runs.append(run)
            return run
        try:
            yield start
        finally:
            for run in runs:
                run.stop()
                print("\n".join(run.summary()))
                shutil.rmtree(run.opts.scratch, ignore_errors=True)


def admin_env(run: Run) -> dict[str, str]:
    """The environment of an `openstack` call as the Keystone admin, through the internal endpoints."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OS_AUTH_URL": "http://keystone-api:5000/v3",
            "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "internal",
            "OS_USERNAME": "admin", "OS_PROJECT_NAME": "admin", "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default", "OS_PASSWORD": run.secret("keystone-admin", "password")}


def openstack(run: Run, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """python-openstackclient against the running services, as a client pod would call it."""
    # The venv's scripts name /var/lib/openstack/bin/python (where the images keep it): call its python.
    argv = [str(VENV / "bin" / "python"), str(VENV / "bin" / "openstack"), *args]
    return subprocess.run(run.client_command(argv), capture_output=True, text=True,
                          env=env or admin_env(run), timeout=120, check=False)
